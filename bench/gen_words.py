"""What the generator's names, labels and dates are made of: word lists, the kinds of
organizations and agreements with their weights, the range of dates, and the small helpers
that turn them into text (a weighted kind, a slug, a date in words, a list of names)."""

from __future__ import annotations

import datetime as dt
import random

SYLLABLES = (
    "ka ri to mel an sor vi da len por tu ne ba lo sa mi ra gon del fa ri zu vel or "
    "ta pe bro nal vor is ul em ar"
).split()
FIRST_NAMES = (
    "Anna Ben Carla David Elena Farid Grace Hugo Ines Jonas Kofi Lena Marta Nadia Omar Paula "
    "Rafael Sara Tomas Uma Victor Wen Yara Zoran Amira Bruno Chen Dara Emil Fatima"
).split()
SURNAMES = (
    "Berg Costa Diallo Eriksen Fischer Garcia Haddad Ivanova Jensen Kowal Lindqvist Mensah "
    "Novak Okafor Petrov Quispe Rossi Santos Tanaka Umarov Vargas Weber Xu Yilmaz Zimmer "
    "Abebe Brandt Cruz Dubois Esposito"
).split()
CRIME_AREAS = (
    "terrorism",
    "organized crime",
    "transnational organized crime",
    "cybercrime",
    "drug trafficking",
    "human trafficking",
    "migrant smuggling",
    "firearms trafficking",
    "money laundering",
    "corruption",
    "financial crime",
    "environmental crime",
    "wildlife crime",
    "forest crime",
    "fisheries crime",
    "maritime piracy",
    "counterfeit medicines",
    "intellectual property crime",
    "cultural property trafficking",
    "crimes against children",
    "online child sexual abuse",
    "fraud",
    "vehicle crime",
    "fugitive investigations",
    "war crimes",
    "terrorist financing",
    "foreign terrorist fighters",
    "violent extremism",
    "improvised explosive devices",
    "chemical and biological threats",
    "nuclear and radiological threats",
    "smuggling of excise goods",
    "illicit mining",
    "sports corruption",
    "identity fraud",
    "ransomware",
    "trafficking in stolen art",
    "kidnapping",
    "extortion",
    "illegal logging",
)
ACTIVITY_AREAS = (
    "information exchange",
    "training",
    "capacity building",
    "border management",
    "forensics",
    "joint operations",
    "peacekeeping operations",
    "research",
    "technical assistance",
    "criminal analysis",
    "databases",
    "secondment of officers",
    "legal assistance",
    "crisis response",
    "victim support",
)
TOP_KINDS = (
    ("coop:IntergovernmentalOrganization", "International Organization", 60),
    ("coop:RegionalPoliceOrganization", "Regional Police Organization", 20),
    ("coop:UNBody", "Council of the United Nations", 10),
    ("coop:Consortium", "Consortium against Crime", 10),
)
SUB_KINDS = (
    ("coop:Office", "Office", 25),
    ("coop:UNOffice", "Office on Crime", 10),
    ("coop:Secretariat", "Secretariat", 15),
    ("coop:GoverningBody", "General Assembly", 10),
    ("coop:Council", "Council", 10),
    ("coop:Commission", "Commission on Crime Prevention", 10),
    ("coop:Academy", "Police Academy", 10),
    ("coop:RepresentativeOffice", "Representative Office", 10),
)
POSTS = ("Secretary General", "Executive Director", "Director", "President", "Chief of Staff")
AGREEMENT_KINDS = (
    ("coop:CooperationAgreement", "cooperation agreement", 40),
    ("coop:CooperationArrangement", "cooperation arrangement", 15),
    ("coop:MemorandumOfUnderstanding", "memorandum of understanding", 25),
    ("coop:Agreement", "agreement", 12),
    ("coop:SupplementalAgreement", "supplemental agreement", 8),
)
MONTHS = (
    "January February March April May June July August September October November December"
).split()
FIRST_DAY = dt.date(1990, 1, 1).toordinal()
LAST_DAY = dt.date(2025, 12, 31).toordinal()


def weighted(rng: random.Random, choices: tuple[tuple[str, str, int], ...]) -> tuple[str, str]:
    """A (kind, label) of ``choices``, drawn by their weights."""
    kind, label, _ = rng.choices(choices, weights=[w for *_, w in choices])[0]
    return kind, label


def slug(text: str) -> str:
    """``text`` in lower case, its words joined by hyphens (``organized-crime``)."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def day_texts(day: int) -> tuple[str, str]:
    """An ordinal day as an xsd:date and as words."""
    date = dt.date.fromordinal(day)
    return date.isoformat(), f"{date.day} {MONTHS[date.month - 1]} {date.year}"


def name_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

"""Generate a synthetic cooperation graph of a chosen size, as a coopgraph project.

    python bench/generate.py --triples 100000 --seed 1 -o DIR [--nquads]

DIR becomes a project that every coopgraph command accepts (``coopgraph --root DIR
validate``, ``coopgraph --root DIR serve``):

- ``data/<stem>.ttl`` and ``data/sources/<stem>.txt``: one synthetic source document each,
  its facts in the graph named after it: agreements of several kinds with two to four
  parties, their signings (an ``xsd:date`` and a city) and one signature per party (a
  person acting for the party in a post of it), partnerships, resolutions, assembly
  sessions that approve agreements, launches of goal frameworks; every fact-bearing node
  has ``coop:evidence`` quotes whose sentences are the lines of the source text;
- ``data/reference/*.ttl``: places (regions, countries, cities), organizations of several
  kinds in sub-organization hierarchies, posts and the persons holding them, crime and
  activity areas (SKOS concepts in their schemes), goal frameworks and their goals;
- ``ontology/`` and ``shapes/``: copies of the project's, so that the graph is checked
  against the real shapes;
- ``dataset.nq`` (with ``--nquads``): the same quads, plus the ontology's graphs, in one
  N-Quads file, for servers that load a single file;
- ``generated.json``: the parameters and the counts.

The size is the number of data triples (the ontology's ~700 come on top). Every triple is
stated in exactly one graph. The output depends only on the seed and the size (the same
bytes on every run), and it is written as it is generated: memory grows with the number
of named entities (about 5 per 100 triples), never with the triples.

Terms are checked against the ontology before anything is written: a term the ontology
does not declare stops the generator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from coopgraph.namespace import GRAPH as REFERENCE_GRAPHS
from coopgraph.namespace import ID_SPACE as ID
from coopgraph.namespace import PREFIXES as PROJECT_PREFIXES

#: Bump when the output for a given seed and size changes.
GENERATOR_VERSION = 1

ROOT = Path(__file__).resolve().parents[1]

XSD = PROJECT_PREFIXES["xsd"]
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

#: Prefixes of the generated Turtle: the project's (``coopgraph.namespace.PREFIXES``) that
#: the generated graphs use.
PREFIXES: dict[str, str] = {
    name: PROJECT_PREFIXES[name]
    for name in (
        "coop dcterms prov rdf rdfs skos xsd o person post place agr res meeting event "
        "signing sig pship q src scheme ca aa"
    ).split()
}
#: Graph names of the reference files (``coopgraph.namespace.reference_graph``).
GRAPH = str(REFERENCE_GRAPHS)

#: Every ontology term the generator writes; checked against the ontology first.
TERMS = (
    # classes
    "coop:Academy coop:ActivityArea coop:Agreement coop:AssemblySession coop:City "
    "coop:Commission coop:Consortium coop:CooperationAgreement coop:CooperationArrangement "
    "coop:Council coop:Country coop:CrimeArea coop:Goal coop:GoalFramework "
    "coop:GoverningBody coop:IntergovernmentalOrganization coop:Launch "
    "coop:MemorandumOfUnderstanding coop:Office coop:Partnership coop:Person coop:Post "
    "coop:Quote coop:Region coop:RegionalPoliceOrganization coop:RepresentativeOffice "
    "coop:Resolution coop:Secretariat coop:Signature coop:Signing coop:SourceDocument "
    "coop:SupplementalAgreement coop:UNBody coop:UNOffice skos:ConceptScheme "
    # properties
    "coop:adoptedBy coop:approvedAt coop:areaOfCooperation coop:atPlace coop:basedIn "
    "coop:date coop:evidence coop:formalizes coop:hasMandate coop:hasMember "
    "coop:hasMemberCountry coop:hasParty coop:hasSignature coop:hasSigning coop:holdsPost "
    "coop:implementationPartner coop:inCapacityOf coop:jurisdiction coop:launched "
    "coop:offers coop:onBehalfOf coop:organizer coop:partOfEvent coop:partner "
    "coop:plannedArea coop:postIn coop:representativeTo coop:serves coop:sessionNumber "
    "coop:sessionOf coop:signatory coop:sourceFile coop:subOrganizationOf coop:supplements "
    "coop:withinPlace coop:year coop:alignedWith prov:value prov:wasQuotedFrom "
    "skos:altLabel skos:broader skos:definition skos:inScheme dcterms:identifier "
    "dcterms:issued dcterms:language dcterms:title"
).split()

# --------------------------------------------------------------------------- word lists

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


class GeneratorError(Exception):
    """A problem reported as one line."""


# --------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """How many entities of each kind a graph of ``triples`` triples gets."""

    triples: int
    regions: int
    countries: int
    cities: int
    orgs: int
    top_orgs: int
    frameworks: int
    docs: int

    @classmethod
    def for_size(cls, triples: int) -> Plan:
        orgs = max(20, triples // 120)
        return cls(
            triples=triples,
            regions=min(50, max(5, triples // 20_000)),
            countries=min(195, max(20, triples // 2_000)),
            cities=max(20, triples // 400),
            orgs=orgs,
            top_orgs=max(5, orgs // 10),
            frameworks=min(100, max(2, triples // 100_000)),
            docs=max(3, triples // 2_000),
        )

    @property
    def posts(self) -> int:
        """Two posts per organization, each held by its own person."""
        return 2 * self.orgs


@dataclass
class Summary:
    """What was written (also saved as ``generated.json``)."""

    generator_version: int
    seed: int
    target_triples: int
    triples: int = 0
    graphs: int = 0
    agreements: int = 0
    resolutions: int = 0
    signatures: int = 0
    quotes: int = 0
    plan: dict[str, int] = field(default_factory=dict)
    search_word: str = ""
    nquads: str | None = None


# --------------------------------------------------------------------------- terms


def declared_terms(root: Path) -> set[str]:
    """The terms the ontology files in ``root/ontology`` declare, as prefixed names."""
    import pyoxigraph as ox

    declared: set[str] = set()
    for path in sorted((root / "ontology").glob("*.ttl")):
        for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if triple.predicate.value == RDF_TYPE and isinstance(triple.subject, ox.NamedNode):
                declared.add(triple.subject.value)
    shortened = set()
    for iri in declared:
        for prefix, namespace in PREFIXES.items():
            if iri.startswith(namespace) and "/" not in iri[len(namespace) :]:
                shortened.add(f"{prefix}:{iri[len(namespace) :]}")
    return shortened


def check_terms(root: Path) -> None:
    """Raise GeneratorError when the ontology does not declare a term the generator uses."""
    if not (root / "ontology").is_dir():
        raise GeneratorError(f"{root}: no ontology/ folder to read the terms from")
    missing = sorted(set(TERMS) - declared_terms(root))
    if missing:
        raise GeneratorError(
            f"the ontology in {root / 'ontology'} does not declare {', '.join(missing)}, "
            "which bench/generate.py writes; update the generator"
        )


# --------------------------------------------------------------------------- writing


def lit(text: str, lang: str | None = "en") -> str:
    """A Turtle string literal (tagged ``@en`` unless ``lang`` is None)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"' + (f"@{lang}" if lang else "")


def typed(value: str, datatype: str) -> str:
    """A typed literal, ``datatype`` as a prefixed name (``xsd:date``)."""
    return f'"{value}"^^{datatype}'


def iri(value: str) -> str:
    """A full IRI as a Turtle term."""
    return f"<{value}>"


def _expand(token: str) -> str:
    """A Turtle term written by this module, as an N-Triples term."""
    if token.startswith("<"):
        return token
    if token.startswith('"'):
        if token.endswith('"') or token.endswith("@en"):
            return token
        value, datatype = token.rsplit("^^", 1)
        return f"{value}^^{_expand(datatype)}"
    if token.isdigit():
        return f'"{token}"^^<{XSD}integer>'
    if token == "a":
        return f"<{RDF_TYPE}>"
    prefix, local = token.split(":", 1)
    return f"<{PREFIXES[prefix]}{local}>"


#: Tokens of these prefixes (classes, schemes) recur often: their expansions are kept.
_VOCABULARY_PREFIXES = ("coop:", "skos:", "schem")
_expanded: dict[str, str] = {}


def _vocabulary(token: str) -> str:
    """:func:`_expand` for the few tokens that recur (predicates, classes)."""
    found = _expanded.get(token)
    if found is None:
        found = _expanded[token] = _expand(token)
    return found


Pairs = list[tuple[str, list[str]]]
#: Writes a quote (a sentence of the source) and returns its token.
Quoter = Callable[[str], str]


class GraphWriter:
    """One named graph: its Turtle file, and its quads in the shared N-Quads file."""

    def __init__(self, path: Path, graph: str, nquads: IO[str] | None, counter: list[int]):
        self.path = path
        self.graph = f"<{graph}>"
        self.nquads = nquads
        self.counter = counter
        self.handle = path.open("w", encoding="utf-8", newline="\n")
        self.handle.write("".join(f"@prefix {p}: <{n}> .\n" for p, n in PREFIXES.items()))

    def comment(self, text: str) -> None:
        """A section heading in the Turtle file."""
        self.handle.write(f"\n# {'-' * 64} {text}\n")

    def block(self, subject: str, pairs: Pairs) -> None:
        """Write ``subject`` with its predicates and objects (empty object lists skipped)."""
        pairs = [(p, objects) for p, objects in pairs if objects]
        lines = [
            f"    {p} {' , '.join(objects)}" if i else f"{subject} {p} {' , '.join(objects)}"
            for i, (p, objects) in enumerate(pairs)
        ]
        self.handle.write("\n" + " ;\n".join(lines) + " .\n")
        self.counter[0] += sum(len(objects) for _, objects in pairs)
        if self.nquads is not None:
            s = _expand(subject)
            lines = []
            for p, objects in pairs:
                head = f"{s} {_vocabulary(p)} "
                for o in objects:
                    term = _vocabulary(o) if o[:5] in _VOCABULARY_PREFIXES else _expand(o)
                    lines.append(f"{head}{term} {self.graph} .\n")
            self.nquads.write("".join(lines))

    def close(self) -> None:
        self.handle.close()


# --------------------------------------------------------------------------- the generator


def _weighted(rng: random.Random, choices: tuple[tuple[str, str, int], ...]) -> tuple[str, str]:
    kind, label, _ = rng.choices(choices, weights=[w for *_, w in choices])[0]
    return kind, label


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _date(day: int) -> tuple[str, str]:
    """An ordinal day as an xsd:date and as words."""
    date = dt.date.fromordinal(day)
    return date.isoformat(), f"{date.day} {MONTHS[date.month - 1]} {date.year}"


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class Generator:
    """Writes the graph; see the module docstring."""

    def __init__(
        self, out: Path, plan: Plan, seed: int, nquads: IO[str] | None, progress: bool
    ) -> None:
        self.out = out
        self.plan = plan
        self.rng = random.Random(seed)
        self.nquads = nquads
        self.progress = progress
        self.counter = [0]
        self.summary = Summary(GENERATOR_VERSION, seed, plan.triples, plan=asdict(plan))
        self.started = time.monotonic()
        self.last_report = self.started
        # Labels and a few facts of the named entities, kept to write quotes about them.
        self.place_labels: list[str] = []
        self.city_tokens: list[str] = []
        self.country_tokens: list[str] = []
        self.org_labels: list[str] = []
        self.org_city: list[int] = []
        self.person_labels: list[str] = []
        self.post_labels: list[str] = []
        self.goal_tokens: list[list[str]] = []
        self.goal_labels: list[list[str]] = []
        self.framework_labels: list[str] = []
        self.crime_tokens = [f"ca:{_slug(name)}" for name in CRIME_AREAS]
        self.activity_tokens = [f"aa:{_slug(name)}" for name in ACTIVITY_AREAS]

    # ------------------------------------------------------------------ helpers

    def graph(self, path: Path, name: str) -> GraphWriter:
        self.summary.graphs += 1
        return GraphWriter(path, name, self.nquads, self.counter)

    def word(self) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3))).title()

    def popular(self, count: int) -> int:
        """An index below ``count``, the low ones much more often (a few big players)."""
        return min(count - 1, int(count * self.rng.random() ** 2.5))

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self.last_report >= 2.0):
            self.last_report = now
            print(
                f"generate: {self.counter[0]:,}/{self.plan.triples:,} triples "
                f"({now - self.started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    @staticmethod
    def org(i: int) -> str:
        return f"o:org-{i:06d}"

    @staticmethod
    def post(i: int) -> str:
        return f"post:post-{i:07d}"

    @staticmethod
    def person(i: int) -> str:
        return f"person:person-{i:07d}"

    # ------------------------------------------------------------------ reference data

    def reference(self) -> None:
        folder = self.out / "data" / "reference"
        folder.mkdir(parents=True)
        self.write_areas(folder)
        self.write_places(folder)
        self.write_organizations(folder)
        self.write_people(folder)
        self.write_goals(folder)

    def write_areas(self, folder: Path) -> None:
        crime = self.graph(folder / "crime-areas.ttl", GRAPH + "crime-areas")
        crime.block(
            "scheme:crime-areas",
            [
                ("a", ["skos:ConceptScheme"]),
                ("rdfs:label", [lit("Crime areas")]),
                ("skos:definition", [lit("Kinds of crime named by the synthetic sources.")]),
            ],
        )
        for i, (token, name) in enumerate(zip(self.crime_tokens, CRIME_AREAS, strict=True)):
            broader = [self.crime_tokens[i % 3]] if i >= 3 and i % 4 == 0 else []
            crime.block(
                token,
                [
                    ("a", ["coop:CrimeArea"]),
                    ("rdfs:label", [lit(name)]),
                    ("skos:inScheme", ["scheme:crime-areas"]),
                    ("skos:broader", broader),
                ],
            )
        crime.close()
        activity = self.graph(folder / "activity-areas.ttl", GRAPH + "activity-areas")
        activity.block(
            "scheme:activity-areas",
            [("a", ["skos:ConceptScheme"]), ("rdfs:label", [lit("Activity areas")])],
        )
        for token, name in zip(self.activity_tokens, ACTIVITY_AREAS, strict=True):
            activity.block(
                token,
                [
                    ("a", ["coop:ActivityArea"]),
                    ("rdfs:label", [lit(name)]),
                    ("skos:inScheme", ["scheme:activity-areas"]),
                ],
            )
        activity.close()

    def write_places(self, folder: Path) -> None:
        places = self.graph(folder / "places.ttl", GRAPH + "places")
        plan = self.plan
        regions = [f"place:region-{i:03d}" for i in range(plan.regions)]
        places.comment("regions")
        for token in regions:
            label = f"{self.word()} Region"
            self.place_labels.append(label)
            places.block(token, [("a", ["coop:Region"]), ("rdfs:label", [lit(label)])])
        places.comment("countries")
        for i in range(plan.countries):
            token = f"place:country-{i:03d}"
            label = self.word() + self.rng.choice(("ia", "land", "stan", "ar", "ovia"))
            self.country_tokens.append(token)
            self.place_labels.append(label)
            places.block(
                token,
                [
                    ("a", ["coop:Country"]),
                    ("rdfs:label", [lit(label)]),
                    ("coop:withinPlace", [regions[i % plan.regions]]),
                ],
            )
        places.comment("cities")
        for i in range(plan.cities):
            token = f"place:city-{i:06d}"
            label = f"{self.word()} City" if i % 7 == 0 else self.word()
            self.city_tokens.append(token)
            self.place_labels.append(label)
            places.block(
                token,
                [
                    ("a", ["coop:City"]),
                    ("rdfs:label", [lit(label)]),
                    ("coop:withinPlace", [self.country_tokens[i % plan.countries]]),
                ],
            )
            self.report()
        places.close()

    def write_organizations(self, folder: Path) -> None:
        orgs = self.graph(folder / "organizations.ttl", GRAPH + "organizations")
        plan = self.plan
        rng = self.rng
        for i in range(plan.orgs):
            top = i < plan.top_orgs
            kind, phrase = _weighted(rng, TOP_KINDS if top else SUB_KINDS)
            city = rng.randrange(plan.cities)
            name = self.word()
            label = f"{name} {phrase}"
            parent = [] if top else [self.org(self.popular(i))]
            pairs: Pairs = [
                ("a", [kind]),
                ("rdfs:label", [lit(label)]),
                ("skos:altLabel", [lit("".join(w[0] for w in label.split()).upper() + str(i))]),
                ("coop:subOrganizationOf", parent),
                ("coop:basedIn", [self.city_tokens[city]]),
                ("coop:hasMandate", sorted(rng.sample(self.crime_tokens, rng.randint(1, 3)))),
            ]
            if rng.random() < 0.3:
                pairs.append(("coop:offers", sorted(rng.sample(self.activity_tokens, 2))))
            if kind == "coop:IntergovernmentalOrganization":
                members = rng.sample(self.country_tokens, min(4, plan.countries))
                pairs.append(("coop:hasMemberCountry", sorted(members)))
                pairs.append(("coop:serves", [self.region(rng)]))
            if kind == "coop:Consortium" and i >= 3:
                members = sorted({self.org(rng.randrange(i)) for _ in range(3)})
                pairs.append(("coop:hasMember", members))
            if kind == "coop:RepresentativeOffice":
                pairs.append(("coop:representativeTo", [self.org(rng.randrange(plan.top_orgs))]))
            orgs.block(self.org(i), pairs)
            self.org_labels.append(label)
            self.org_city.append(city)
            self.report()
        orgs.close()

    def region(self, rng: random.Random) -> str:
        return f"place:region-{rng.randrange(self.plan.regions):03d}"

    def write_people(self, folder: Path) -> None:
        people = self.graph(folder / "persons.ttl", GRAPH + "persons")
        rng = self.rng
        people.comment("posts: two per organization")
        for k in range(self.plan.posts):
            org = k // 2
            title = POSTS[0 if k % 2 == 0 else 1 + rng.randrange(len(POSTS) - 1)]
            label = f"{title} of {self.org_labels[org]}"
            jurisdiction = [] if k % 5 else [self.city_tokens[self.org_city[org]]]
            people.block(
                self.post(k),
                [
                    ("a", ["coop:Post"]),
                    ("rdfs:label", [lit(label)]),
                    ("coop:postIn", [self.org(org)]),
                    ("coop:jurisdiction", jurisdiction),
                ],
            )
            self.post_labels.append(label)
            self.report()
        people.comment("persons: the holder of each post")
        for k in range(self.plan.posts):
            label = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            people.block(
                self.person(k),
                [
                    ("a", ["coop:Person"]),
                    ("rdfs:label", [lit(label)]),
                    ("coop:holdsPost", [self.post(k)]),
                ],
            )
            self.person_labels.append(label)
            self.report()
        people.close()

    def write_goals(self, folder: Path) -> None:
        goals = self.graph(folder / "goals.ttl", GRAPH + "goals")
        for f in range(self.plan.frameworks):
            token = f"scheme:framework-{f:03d}"
            label = f"{self.word()} Goals for Security"
            self.framework_labels.append(label)
            goals.block(
                token,
                [("a", ["skos:ConceptScheme", "coop:GoalFramework"]), ("rdfs:label", [lit(label)])],
            )
            tokens, labels = [], []
            for g in range(5 + f % 13):
                goal = iri(f"{ID}scheme/framework-{f:03d}/goal-{g:02d}")
                area = self.rng.choice(CRIME_AREAS + ACTIVITY_AREAS)
                text = f"{self.rng.choice(('Countering', 'Reducing', 'Preventing'))} {area}"
                goals.block(
                    goal,
                    [
                        ("a", ["coop:Goal"]),
                        ("rdfs:label", [lit(text)]),
                        ("skos:inScheme", [token]),
                    ],
                )
                tokens.append(goal)
                labels.append(text)
            self.goal_tokens.append(tokens)
            self.goal_labels.append(labels)
        goals.close()

    # ------------------------------------------------------------------ entities needing evidence

    def entity(self, e: int) -> tuple[str, str]:
        """The ``e``-th reference entity that needs evidence: (token, label)."""
        plan = self.plan
        places = plan.regions + plan.countries + plan.cities
        if e < places:
            if e < plan.regions:
                token = f"place:region-{e:03d}"
            elif e < plan.regions + plan.countries:
                token = self.country_tokens[e - plan.regions]
            else:
                token = self.city_tokens[e - plan.regions - plan.countries]
            return token, self.place_labels[e]
        e -= places
        if e < plan.orgs:
            return self.org(e), self.org_labels[e]
        e -= plan.orgs
        if e < plan.posts:
            return self.post(e), self.post_labels[e]
        e -= plan.posts
        if e < plan.posts:
            return self.person(e), self.person_labels[e]
        e -= plan.posts
        for f, tokens in enumerate(self.goal_tokens):
            if e == 0:
                return f"scheme:framework-{f:03d}", self.framework_labels[f]
            if e <= len(tokens):
                return tokens[e - 1], self.goal_labels[f][e - 1]
            e -= len(tokens) + 1
        raise IndexError(e)

    def entity_count(self) -> int:
        plan = self.plan
        goals = sum(len(t) + 1 for t in self.goal_tokens)
        return plan.regions + plan.countries + plan.cities + plan.orgs + 2 * plan.posts + goals

    # ------------------------------------------------------------------ source documents

    def sources(self) -> None:
        plan = self.plan
        (self.out / "data" / "sources").mkdir(parents=True)
        reference = self.counter[0]
        budget = max(0, plan.triples - reference)
        for d in range(plan.docs):
            goal = reference + budget * (d + 1) // plan.docs
            self.document(d, goal)
            self.report()

    def document(self, d: int, goal: int) -> None:
        rng = self.rng
        stem = f"gen-{d:06d}"
        source = f"src:{stem}"
        out = self.graph(self.out / "data" / f"{stem}.ttl", f"{ID}source/{stem}")
        text = (self.out / "data" / "sources" / f"{stem}.txt").open(
            "w", encoding="utf-8", newline="\n"
        )
        issued, issued_words = _date(rng.randint(FIRST_DAY, LAST_DAY))
        title = f"{self.word()} Bulletin on International Police Cooperation, {issued_words}"
        text.write(title + "\n\n")
        out.block(
            source,
            [
                ("a", ["coop:SourceDocument"]),
                ("rdfs:label", [lit(title)]),
                ("dcterms:title", [lit(title)]),
                ("dcterms:issued", [typed(issued, "xsd:date")]),
                ("dcterms:language", [lit("en", None)]),
                ("coop:sourceFile", [lit(f"sources/{stem}.txt", None)]),
            ],
        )
        quotes = [0]

        def quote(sentence: str) -> str:
            quotes[0] += 1
            self.summary.quotes += 1
            token = f"q:{stem}-{quotes[0]:04d}"
            text.write(sentence + "\n")
            out.block(
                token,
                [
                    ("a", ["coop:Quote"]),
                    ("rdfs:label", [lit(f"Quote {stem}-{quotes[0]:04d}")]),
                    ("prov:value", [lit(sentence)]),
                    ("prov:wasQuotedFrom", [source]),
                ],
            )
            return token

        out.comment("reference entities this source names")
        mentioned = [self.entity(e) for e in range(d, self.entity_count(), self.plan.docs)]
        for start in range(0, len(mentioned), 5):
            group = mentioned[start : start + 5]
            q = quote(f"The bulletin names {_names([label for _, label in group])}.")
            for token, _ in group:
                out.block(token, [("coop:evidence", [q])])
        meeting = self.meeting(out, quote, stem) if rng.random() < 0.5 else None
        for f in range(d, self.plan.frameworks, self.plan.docs):
            self.launch(out, quote, f)
        out.comment("instruments")
        while self.counter[0] < goal:
            if rng.random() < 0.05:
                self.resolution(out, quote)
            else:
                self.agreement(out, quote, meeting)
        out.close()
        text.close()

    def meeting(self, out: GraphWriter, quote: Quoter, stem: str) -> tuple[str, int]:
        rng = self.rng
        org = self.popular(self.plan.top_orgs)
        number = rng.randint(1, 95)
        city = rng.randrange(self.plan.cities)
        day = rng.randint(FIRST_DAY, LAST_DAY)
        date, words = _date(day)
        label = f"Session {number} of the General Assembly of {self.org_labels[org]}"
        city_label = self.place_labels[self.plan.regions + self.plan.countries + city]
        q = quote(f"{label} was held in {city_label} on {words}.")
        token = f"meeting:{stem}-assembly"
        out.comment("an assembly session")
        out.block(
            token,
            [
                ("a", ["coop:AssemblySession"]),
                ("rdfs:label", [lit(label)]),
                ("coop:sessionOf", [self.org(org)]),
                ("coop:sessionNumber", [str(number)]),
                ("coop:date", [typed(date, "xsd:date")]),
                ("coop:atPlace", [self.city_tokens[city]]),
                ("coop:evidence", [q]),
            ],
        )
        return token, day

    def launch(self, out: GraphWriter, quote: Quoter, f: int) -> None:
        rng = self.rng
        orgs = sorted({self.popular(self.plan.top_orgs) for _ in range(2)})
        city = rng.randrange(self.plan.cities)
        date, words = _date(rng.randint(FIRST_DAY, LAST_DAY))
        framework = f"scheme:framework-{f:03d}"
        goals = self.goal_labels[f][:2]
        q = quote(
            f"{_names([self.org_labels[o] for o in orgs])} launched the "
            f"{self.framework_labels[f]} on {words}, among them {_names(goals)}."
        )
        out.comment("the launch of a goal framework")
        out.block(
            f"event:launch-framework-{f:03d}",
            [
                ("a", ["coop:Launch"]),
                ("rdfs:label", [lit(f"Launch of the {self.framework_labels[f]}")]),
                ("coop:launched", [framework]),
                ("coop:organizer", [self.org(o) for o in orgs]),
                ("coop:atPlace", [self.city_tokens[city]]),
                ("coop:date", [typed(date, "xsd:date")]),
                ("coop:evidence", [q]),
            ],
        )
        aligned = [f"scheme:framework-{f - 1:03d}"] if f else []
        out.block(
            framework,
            [
                ("coop:implementationPartner", [self.org(o) for o in orgs]),
                ("coop:alignedWith", aligned),
            ],
        )

    def parties(self) -> list[int]:
        count = self.rng.choices((2, 3, 4), weights=(80, 15, 5))[0]
        found: list[int] = []
        while len(found) < count:
            org = self.popular(self.plan.orgs)
            if org not in found:
                found.append(org)
        return found

    def agreement(self, out: GraphWriter, quote: Quoter, meeting: tuple[str, int] | None) -> None:
        rng = self.rng
        plan = self.plan
        n = self.summary.agreements + 1
        self.summary.agreements = n
        slug = f"a-{n:07d}"
        kind, kind_label = _weighted(rng, AGREEMENT_KINDS)
        if kind == "coop:SupplementalAgreement" and n == 1:
            kind, kind_label = "coop:CooperationAgreement", "cooperation agreement"
        parties = self.parties()
        names = [self.org_labels[o] for o in parties]
        areas = sorted(rng.sample(self.crime_tokens, rng.randint(1, 3)))
        if rng.random() < 0.4:
            areas.append(rng.choice(self.activity_tokens))
        area_names = [self._area_label(a) for a in areas]
        city = rng.randrange(plan.cities)
        city_label = self.place_labels[plan.regions + plan.countries + city]
        approved = meeting is not None and rng.random() < 0.3
        day = meeting[1] if approved and meeting else rng.randint(FIRST_DAY, LAST_DAY)
        date, words = _date(day)
        label = f"{_names(names)} {kind_label} of {dt.date.fromordinal(day).year}"
        signers = [2 * o + (0 if rng.random() < 0.7 else 1) for o in parties]
        q_signing = quote(
            f"{_names(names)} signed a {kind_label} in {city_label} on {words}; it was signed "
            + _names([f"by {self.person_labels[s]}, {self.post_labels[s]}" for s in signers])
            + "."
        )
        q_areas = quote(f"The {kind_label} covers {_names(area_names)}.")
        pairs: Pairs = [
            ("a", [kind]),
            ("rdfs:label", [lit(label[:1].upper() + label[1:])]),
            ("coop:hasParty", [self.org(o) for o in parties]),
            ("coop:areaOfCooperation", areas),
            ("coop:hasSigning", [f"signing:{slug}"]),
        ]
        if kind == "coop:SupplementalAgreement":
            pairs.append(("coop:supplements", [f"agr:a-{rng.randrange(1, n):07d}"]))
        if rng.random() < 0.2:
            pairs.append(("coop:plannedArea", [rng.choice(self.activity_tokens)]))
        if rng.random() < 0.5:
            pairs.append(("coop:year", [typed(str(dt.date.fromordinal(day).year), "xsd:gYear")]))
        if approved and meeting:
            pairs.append(("coop:approvedAt", [meeting[0]]))
        partnership = rng.random() < 0.3
        if partnership:
            pairs.append(("coop:formalizes", [f"pship:{slug}"]))
        pairs.append(("coop:evidence", [q_signing, q_areas]))
        out.block(f"agr:{slug}", pairs)
        out.block(
            f"signing:{slug}",
            [
                ("a", ["coop:Signing"]),
                ("rdfs:label", [lit(f"Signing of the {label}")]),
                ("coop:date", [typed(date, "xsd:date")]),
                ("coop:atPlace", [self.city_tokens[city]]),
                ("coop:partOfEvent", [meeting[0]] if approved and meeting else []),
                ("coop:hasSignature", [f"sig:{slug}-{i + 1}" for i in range(len(parties))]),
                ("coop:evidence", [q_signing]),
            ],
        )
        for i, (org, signer) in enumerate(zip(parties, signers, strict=True)):
            out.block(
                f"sig:{slug}-{i + 1}",
                [
                    ("a", ["coop:Signature"]),
                    ("rdfs:label", [lit(f"{self.person_labels[signer]}'s signature: {label}")]),
                    ("coop:signatory", [self.person(signer)]),
                    ("coop:onBehalfOf", [self.org(org)]),
                    ("coop:inCapacityOf", [self.post(signer)]),
                    ("coop:evidence", [q_signing]),
                ],
            )
            self.summary.signatures += 1
        if partnership:
            out.block(
                f"pship:{slug}",
                [
                    ("a", ["coop:Partnership"]),
                    ("rdfs:label", [lit(f"Cooperation between {_names(names)}")]),
                    ("coop:partner", [self.org(o) for o in parties]),
                    ("coop:areaOfCooperation", areas[:1]),
                    ("coop:evidence", [q_areas]),
                ],
            )

    def resolution(self, out: GraphWriter, quote: Quoter) -> None:
        rng = self.rng
        n = self.summary.resolutions + 1
        self.summary.resolutions = n
        organ = self.popular(self.plan.orgs)
        number = f"{rng.randint(1, 80)}/{n}"
        area = rng.choice(self.crime_tokens)
        q = quote(
            f"{self.org_labels[organ]} adopted resolution {number} on {self._area_label(area)}."
        )
        out.block(
            f"res:r-{n:07d}",
            [
                ("a", ["coop:Resolution"]),
                ("rdfs:label", [lit(f"Resolution {number}")]),
                ("dcterms:identifier", [lit(number, None)]),
                ("coop:adoptedBy", [self.org(organ)]),
                ("coop:areaOfCooperation", [area]),
                ("coop:evidence", [q]),
            ],
        )

    def _area_label(self, token: str) -> str:
        if token.startswith("ca:"):
            return CRIME_AREAS[self.crime_tokens.index(token)]
        return ACTIVITY_AREAS[self.activity_tokens.index(token)]


# --------------------------------------------------------------------------- entry points


def ontology_quads(root: Path) -> Iterable[str]:
    """The ontology files' triples as N-Quads lines, each file in its ontology's graph."""
    import pyoxigraph as ox

    for path in sorted((root / "ontology").glob("*.ttl")):
        triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
        names = [
            t.subject
            for t in triples
            if t.predicate.value == RDF_TYPE
            and t.object == ox.NamedNode("http://www.w3.org/2002/07/owl#Ontology")
        ]
        if len(names) != 1:
            raise GeneratorError(f"{path}: needs exactly one owl:Ontology, found {len(names)}")
        # The parser names blank nodes at random: rename them in order, for the same bytes.
        renamed = _BlankNodes(_slug(path.stem).replace("-", ""))
        quads = [
            ox.Quad(renamed(t.subject), t.predicate, renamed(t.object), names[0]) for t in triples
        ]
        yield ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode("utf-8")


class _BlankNodes:
    """Renames blank nodes ``{prefix}0``, ``{prefix}1``, ... in the order they are met."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: dict[str, Any] = {}

    def __call__(self, term: Any) -> Any:
        """``term`` (a pyoxigraph term), or the blank node it is renamed to."""
        import pyoxigraph as ox

        if isinstance(term, ox.BlankNode):
            if term.value not in self.names:
                self.names[term.value] = ox.BlankNode(f"{self.prefix}{len(self.names)}")
            return self.names[term.value]
        return term


def prepare(out: Path) -> None:
    """Make ``out`` an empty folder; a folder written by this generator is emptied first."""
    if out.exists():
        if not out.is_dir():
            raise GeneratorError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / "generated.json").is_file():
            raise GeneratorError(
                f"{out}: not empty and not written by bench/generate.py; give a new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)


def generate(
    out: Path,
    triples: int,
    seed: int = 1,
    nquads: bool = False,
    root: Path = ROOT,
    progress: bool = True,
) -> Summary:
    """Write a synthetic project of about ``triples`` data triples to ``out``.

    Raises:
        GeneratorError: for a bad size or folder, or an ontology lacking a term.
    """
    if triples < 1000:
        raise GeneratorError(f"--triples must be at least 1000, not {triples}")
    check_terms(root)
    prepare(out)
    for folder in ("ontology", "shapes"):
        shutil.copytree(root / folder, out / folder)
    plan = Plan.for_size(triples)
    handle = (out / "dataset.nq").open("w", encoding="utf-8", newline="\n") if nquads else None
    try:
        gen = Generator(out, plan, seed, handle, progress)
        gen.reference()
        gen.sources()
        if handle is not None:
            for text in ontology_quads(root):
                handle.write(text)
    finally:
        if handle is not None:
            handle.close()
    summary = gen.summary
    summary.triples = gen.counter[0]
    summary.search_word = gen.org_labels[0].split()[0]
    summary.nquads = "dataset.nq" if nquads else None
    text = json.dumps(asdict(summary), indent=2, sort_keys=True) + "\n"
    (out / "generated.json").write_text(text, encoding="utf-8")
    gen.report(force=True)
    return summary


def parse_size(text: str) -> int:
    """``10k``, ``1m``, ``1.5M``, ``100000`` -> a number of triples."""
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if cleaned and cleaned[-1] in "km":
        factor = 1000 if cleaned[-1] == "k" else 1_000_000
        cleaned = cleaned[:-1]
    try:
        value = int(float(cleaned) * factor)
    except ValueError:
        raise GeneratorError(f"not a size: {text!r} (use e.g. 10000, 10k, 1m)") from None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", required=True, help="data triples: 10000, 10k, 1m, ...")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="the project folder")
    parser.add_argument(
        "--nquads", action="store_true", help="also write DIR/dataset.nq (with the ontology)"
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="project whose ontology/ and shapes/ to copy"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        summary = generate(
            args.output,
            parse_size(args.triples),
            args.seed,
            args.nquads,
            args.root.resolve(),
            not args.quiet,
        )
    except (GeneratorError, OSError) as err:
        print(f"generate: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("generate: interrupted", file=sys.stderr)
        return 130
    print(
        f"generate: wrote {summary.triples:,} triples (target {summary.target_triples:,}) in "
        f"{summary.graphs} graphs, {summary.agreements:,} agreements, to {args.output} "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

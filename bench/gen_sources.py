"""The source documents, ``data/<stem>.ttl`` and ``data/sources/<stem>.txt``: one synthetic
bulletin each, its facts in the graph named after it: agreements with their signings and
signatures, partnerships, resolutions, assembly sessions, launches of goal frameworks, and
the quotes (the lines of the bulletin's text) that are their evidence.

:class:`Generator` is the whole generator: the reference graphs it inherits
(:class:`gen_reference.ReferenceGenerator`), then these documents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO

from gen_plan import Summary
from gen_reference import ReferenceGenerator
from gen_turtle import GraphWriter, Pairs, Quoter, lit, typed
from gen_words import (
    ACTIVITY_AREAS,
    AGREEMENT_KINDS,
    CRIME_AREAS,
    FIRST_DAY,
    LAST_DAY,
    day_texts,
    name_list,
    weighted,
)

from coopgraph.namespace import ID_SPACE as ID


@dataclass
class Deal:
    """An agreement as drawn, before it is written."""

    n: int  # the agreement's number, from 1
    slug: str
    kind: str
    kind_label: str
    parties: list[int]  # organizations
    names: list[str]  # the parties' labels
    areas: list[str]  # crime areas, maybe an activity area
    city: int
    day: int  # of the signing, an ordinal
    session: str | None  # the assembly session that approved it
    label: str
    signers: list[int]  # a post (and its holder) of each party


class Quotes:
    """The quotes of one source document: called with a sentence, it writes the sentence as
    the next line of the document's text and a ``coop:Quote`` of it, and returns its token."""

    def __init__(self, out: GraphWriter, text: IO[str], stem: str, summary: Summary) -> None:
        self.out = out
        self.text = text
        self.stem = stem
        self.summary = summary
        self.count = 0

    def __call__(self, sentence: str) -> str:
        self.count += 1
        self.summary.quotes += 1
        token = f"q:{self.stem}-{self.count:04d}"
        self.text.write(sentence + "\n")
        self.out.block(
            token,
            [
                ("a", ["coop:Quote"]),
                ("rdfs:label", [lit(f"Quote {self.stem}-{self.count:04d}")]),
                ("prov:value", [lit(sentence)]),
                ("prov:wasQuotedFrom", [f"src:{self.stem}"]),
            ],
        )
        return token


class Generator(ReferenceGenerator):
    """Writes the graph: the reference graphs, then the source documents."""

    def sources(self) -> None:
        """Write the source documents, the data triples left after the reference graphs
        shared out evenly among them."""
        plan = self.plan
        (self.out / "data" / "sources").mkdir(parents=True)
        reference = self.counter[0]
        budget = max(0, plan.triples - reference)
        for d in range(plan.docs):
            goal = reference + budget * (d + 1) // plan.docs
            self.document(d, goal)
            self.report()

    def document(self, d: int, goal: int) -> None:
        """Write the ``d``-th source document: its text and graph, the reference entities it
        names, maybe an assembly session, launches, then instruments up to ``goal`` triples."""
        rng = self.rng
        stem = f"gen-{d:06d}"
        source = f"src:{stem}"
        out = self.graph(self.out / "data" / f"{stem}.ttl", f"{ID}source/{stem}")
        text = (self.out / "data" / "sources" / f"{stem}.txt").open(
            "w", encoding="utf-8", newline="\n"
        )
        issued, issued_words = day_texts(rng.randint(FIRST_DAY, LAST_DAY))
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
        quote = Quotes(out, text, stem, self.summary)
        self.mentions(out, quote, d)
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

    def mentions(self, out: GraphWriter, quote: Quoter, d: int) -> None:
        """Quote the ``d``-th document's share of the reference entities, five to a
        sentence, as their evidence."""
        out.comment("reference entities this source names")
        mentioned = [self.entity(e) for e in range(d, self.entity_count(), self.plan.docs)]
        for start in range(0, len(mentioned), 5):
            group = mentioned[start : start + 5]
            q = quote(f"The bulletin names {name_list([label for _, label in group])}.")
            for token, _ in group:
                out.block(token, [("coop:evidence", [q])])

    def meeting(self, out: GraphWriter, quote: Quoter, stem: str) -> tuple[str, int]:
        rng = self.rng
        org = self.popular(self.plan.top_orgs)
        number = rng.randint(1, 95)
        city = rng.randrange(self.plan.cities)
        day = rng.randint(FIRST_DAY, LAST_DAY)
        date, words = day_texts(day)
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
        date, words = day_texts(rng.randint(FIRST_DAY, LAST_DAY))
        framework = f"scheme:framework-{f:03d}"
        goals = self.goal_labels[f][:2]
        q = quote(
            f"{name_list([self.org_labels[o] for o in orgs])} launched the "
            f"{self.framework_labels[f]} on {words}, among them {name_list(goals)}."
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
        """Write an agreement: its block, its signing and signatures, maybe a partnership."""
        n = self.summary.agreements + 1
        self.summary.agreements = n
        deal = self.draw_agreement(n, meeting)
        city_label = self.place_labels[self.plan.regions + self.plan.countries + deal.city]
        _, words = day_texts(deal.day)
        signed_by = [f"by {self.person_labels[s]}, {self.post_labels[s]}" for s in deal.signers]
        q_signing = quote(
            f"{name_list(deal.names)} signed a {deal.kind_label} in {city_label} on {words}; "
            f"it was signed {name_list(signed_by)}."
        )
        area_names = [self._area_label(a) for a in deal.areas]
        q_areas = quote(f"The {deal.kind_label} covers {name_list(area_names)}.")
        partnership = self.write_agreement(out, deal, [q_signing, q_areas])
        self.write_signing(out, deal, q_signing)
        if partnership:
            self.write_partnership(out, deal, q_areas)

    def draw_agreement(self, n: int, meeting: tuple[str, int] | None) -> Deal:
        """Draw the ``n``-th agreement: its kind, parties, areas, city, day and signers; it is
        approved at ``meeting`` (an assembly session and its day) now and then."""
        rng = self.rng
        kind, kind_label = weighted(rng, AGREEMENT_KINDS)
        if kind == "coop:SupplementalAgreement" and n == 1:
            kind, kind_label = "coop:CooperationAgreement", "cooperation agreement"
        parties = self.parties()
        names = [self.org_labels[o] for o in parties]
        areas = sorted(rng.sample(self.crime_tokens, rng.randint(1, 3)))
        if rng.random() < 0.4:
            areas.append(rng.choice(self.activity_tokens))
        city = rng.randrange(self.plan.cities)
        approved = meeting is not None and rng.random() < 0.3
        day = meeting[1] if approved and meeting else rng.randint(FIRST_DAY, LAST_DAY)
        return Deal(
            n=n,
            slug=f"a-{n:07d}",
            kind=kind,
            kind_label=kind_label,
            parties=parties,
            names=names,
            areas=areas,
            city=city,
            day=day,
            session=meeting[0] if approved and meeting else None,
            label=f"{name_list(names)} {kind_label} of {dt.date.fromordinal(day).year}",
            signers=[2 * o + (0 if rng.random() < 0.7 else 1) for o in parties],
        )

    def write_agreement(self, out: GraphWriter, deal: Deal, evidence: list[str]) -> bool:
        """Write the agreement's own block; True when it formalizes a partnership."""
        rng = self.rng
        pairs: Pairs = [
            ("a", [deal.kind]),
            ("rdfs:label", [lit(deal.label[:1].upper() + deal.label[1:])]),
            ("coop:hasParty", [self.org(o) for o in deal.parties]),
            ("coop:areaOfCooperation", deal.areas),
            ("coop:hasSigning", [f"signing:{deal.slug}"]),
        ]
        if deal.kind == "coop:SupplementalAgreement":
            pairs.append(("coop:supplements", [f"agr:a-{rng.randrange(1, deal.n):07d}"]))
        if rng.random() < 0.2:
            pairs.append(("coop:plannedArea", [rng.choice(self.activity_tokens)]))
        if rng.random() < 0.5:
            year = str(dt.date.fromordinal(deal.day).year)
            pairs.append(("coop:year", [typed(year, "xsd:gYear")]))
        if deal.session is not None:
            pairs.append(("coop:approvedAt", [deal.session]))
        partnership = rng.random() < 0.3
        if partnership:
            pairs.append(("coop:formalizes", [f"pship:{deal.slug}"]))
        pairs.append(("coop:evidence", evidence))
        out.block(f"agr:{deal.slug}", pairs)
        return partnership

    def write_signing(self, out: GraphWriter, deal: Deal, quote: str) -> None:
        """Write the agreement's signing, and one signature per party."""
        date, _ = day_texts(deal.day)
        out.block(
            f"signing:{deal.slug}",
            [
                ("a", ["coop:Signing"]),
                ("rdfs:label", [lit(f"Signing of the {deal.label}")]),
                ("coop:date", [typed(date, "xsd:date")]),
                ("coop:atPlace", [self.city_tokens[deal.city]]),
                ("coop:partOfEvent", [deal.session] if deal.session is not None else []),
                (
                    "coop:hasSignature",
                    [f"sig:{deal.slug}-{i + 1}" for i in range(len(deal.parties))],
                ),
                ("coop:evidence", [quote]),
            ],
        )
        for i, (org, signer) in enumerate(zip(deal.parties, deal.signers, strict=True)):
            out.block(
                f"sig:{deal.slug}-{i + 1}",
                [
                    ("a", ["coop:Signature"]),
                    (
                        "rdfs:label",
                        [lit(f"{self.person_labels[signer]}'s signature: {deal.label}")],
                    ),
                    ("coop:signatory", [self.person(signer)]),
                    ("coop:onBehalfOf", [self.org(org)]),
                    ("coop:inCapacityOf", [self.post(signer)]),
                    ("coop:evidence", [quote]),
                ],
            )
            self.summary.signatures += 1

    def write_partnership(self, out: GraphWriter, deal: Deal, quote: str) -> None:
        """Write the partnership between the agreement's parties that it formalizes."""
        out.block(
            f"pship:{deal.slug}",
            [
                ("a", ["coop:Partnership"]),
                ("rdfs:label", [lit(f"Cooperation between {name_list(deal.names)}")]),
                ("coop:partner", [self.org(o) for o in deal.parties]),
                ("coop:areaOfCooperation", deal.areas[:1]),
                ("coop:evidence", [quote]),
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

"""The reference graphs, ``data/reference/*.ttl``: crime and activity areas (SKOS concepts
in their schemes), places (regions, countries, cities), organizations in sub-organization
hierarchies, their posts and the persons holding them, goal frameworks and their goals.

:class:`ReferenceGenerator` writes them and keeps the labels and a few facts of these named
entities, which the source documents (:class:`gen_sources.Generator`) quote and cite.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO

from gen_plan import GENERATOR_VERSION, Plan, Summary
from gen_turtle import GraphWriter, Pairs, iri, lit
from gen_words import (
    ACTIVITY_AREAS,
    CRIME_AREAS,
    FIRST_NAMES,
    POSTS,
    SUB_KINDS,
    SURNAMES,
    SYLLABLES,
    TOP_KINDS,
    slug,
    weighted,
)

from coopgraph.namespace import GRAPH as REFERENCE_GRAPHS
from coopgraph.namespace import ID_SPACE as ID

#: Graph names of the reference files (``coopgraph.namespace.reference_graph``).
GRAPH = str(REFERENCE_GRAPHS)


class ReferenceGenerator:
    """Writes the reference graphs; see the module docstring."""

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
        self.crime_tokens = [f"ca:{slug(name)}" for name in CRIME_AREAS]
        self.activity_tokens = [f"aa:{slug(name)}" for name in ACTIVITY_AREAS]

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
            kind, phrase = weighted(rng, TOP_KINDS if top else SUB_KINDS)
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

"""The generator's sizes and results: how many entities of each kind a graph of a given size
gets (:class:`Plan`), what was written (:class:`Summary`, saved as ``generated.json``), the
generator's version, and its error."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Bump when the output for a given seed and size changes.
GENERATOR_VERSION = 1


class GeneratorError(Exception):
    """A problem reported as one line."""


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

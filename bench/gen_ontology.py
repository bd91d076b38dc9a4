"""The ontology, as the generator reads it: the terms the generator writes (:data:`TERMS`),
checked against those the ontology declares before anything is written, and the ontology's
triples as N-Quads, each file in its ontology's graph, for ``dataset.nq``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gen_plan import GeneratorError
from gen_turtle import PREFIXES, RDF_TYPE
from gen_words import slug

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


def check_terms(root: Path, terms: Iterable[str]) -> None:
    """Raise GeneratorError when the ontology does not declare one of ``terms`` (the
    generator passes :data:`TERMS`)."""
    if not (root / "ontology").is_dir():
        raise GeneratorError(f"{root}: no ontology/ folder to read the terms from")
    missing = sorted(set(terms) - declared_terms(root))
    if missing:
        raise GeneratorError(
            f"the ontology in {root / 'ontology'} does not declare {', '.join(missing)}, "
            "which bench/generate.py writes; update the generator"
        )


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
        renamed = _BlankNodes(slug(path.stem).replace("-", ""))
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

"""Why the graph is inconsistent: a justification (a minimal set of axioms inconsistent on
its own) found by asking HermiT only "consistent?", as :mod:`coopgraph.quality.dl`
describes: the locality module of the facts, expanded from the suspects, then contracted
one by one or by QuickXplain (Junker 2004)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF
from rdflib.term import Node

from coopgraph.quality.dl_axioms import (
    Axiom,
    Axioms,
    Triple,
    locality_module,
    signature_of,
)
from coopgraph.quality.hermit import run_hermit

#: The most HermiT runs one explanation may take; past it the explanation is given up.
MAX_CHECKS = 150


#: The individual that stands for "some instance" of a class whose unsatisfiability is
#: explained; it is in no graph.
WITNESS = URIRef("urn:coopgraph:dl:witness")


@dataclass
class Explanation:
    """A justification: a minimal set of axioms that HermiT finds inconsistent together.

    Attributes:
        axioms: The axioms (without the witness of an unsatisfiable class).
        unsatisfiable: The class explained, when it explains an unsatisfiable class.
        origins: Each axiom -> the graphs that state it (none for the witness).
        checks: The HermiT runs it took.
        seconds: The time it took.
    """

    axioms: list[Axiom]
    unsatisfiable: URIRef | None
    origins: dict[Axiom, list[URIRef]]
    checks: int
    seconds: float


#: The facts added at each step of the expansion, given the individuals met last: their
#: types, then whatever else is said of them, then the facts that point at them.
_NEAREST_FIRST: tuple[Callable[[Axiom, set[Node]], bool], ...] = (
    lambda a, near: a.kind == "type" and a.terms[0] in near,
    lambda a, near: a.subject in near,
    lambda a, near: a.kind in ("fact", "same", "different") and a.terms[-1] in near,
)


T = TypeVar("T")


class _GaveUp(Exception):
    """The explanation took more HermiT runs than it may."""


class _Oracle:
    """Asks HermiT whether a set of axioms (with the declarations of the terms it uses) is
    consistent, once per set, and at most ``limit`` times."""

    def __init__(self, declarations: list[Triple], limit: int) -> None:
        self.declarations = declarations
        self.limit = limit
        self.checks = 0
        self._known: dict[frozenset[Axiom], bool] = {}

    def consistent(self, axioms: Iterable[Axiom]) -> bool:
        key = frozenset(axioms)
        if not key:
            return True
        if key not in self._known:
            if self.checks >= self.limit:
                raise _GaveUp
            self.checks += 1
            graph = Graph()
            used = signature_of(key)
            for triple in self.declarations:
                if triple[0] in used:
                    graph.add(triple)
            for axiom in key:
                for triple in axiom.triples:
                    graph.add(triple)
            self._known[key] = run_hermit([(None, graph)], quick=True)[0]
        return self._known[key]


def explain_inconsistency(
    axioms: Axioms, unsatisfiable: URIRef | None = None, max_checks: int = MAX_CHECKS
) -> Explanation | str:
    """Find a minimal set of axioms that is inconsistent on its own.

    Args:
        axioms: The graph, cut into axioms (:func:`collect`).
        unsatisfiable: Explain why this class is unsatisfiable instead (a witness instance
            of it is the suspect).
        max_checks: The most HermiT runs to take.

    Returns:
        The explanation, or a sentence saying why there is none.
    """
    start = time.monotonic()
    oracle = _Oracle(axioms.declarations, max_checks)
    if unsatisfiable is not None:
        witness = Axiom(
            "type", (WITNESS, unsatisfiable), frozenset({(WITNESS, RDF.type, unsatisfiable)})
        )
        seed, pool = [witness], []
    else:
        suspects = set(axioms.extra)
        seed = [a for a in axioms.abox if a in suspects]
        pool = [a for a in axioms.abox if a not in suspects]
    try:
        chosen = _expand(seed, pool, axioms, oracle)
        if chosen is None:
            return "HermiT finds every subset it was shown consistent; no explanation found"
        found = _contract(chosen, axioms.tbox, oracle)
    except _GaveUp:
        return f"no explanation within {max_checks} HermiT runs"
    if unsatisfiable is not None:
        found = [a for a in found if a.subject != WITNESS]
    origins = {a: axioms.origins[a] for a in found if a in axioms.origins}
    return Explanation(found, unsatisfiable, origins, oracle.checks, time.monotonic() - start)


def _with_module(facts: Sequence[Axiom], tbox: Sequence[Axiom]) -> list[Axiom]:
    return [*facts, *locality_module(tbox, signature_of(facts))]


def _individuals(facts: Iterable[Axiom]) -> set[Node]:
    found: set[Node] = set()
    for axiom in facts:
        if axiom.kind in ("type", "data", "fact", "same", "different"):
            found.add(axiom.terms[0])
        if axiom.kind in ("same", "different"):
            found.add(axiom.terms[1])
        if axiom.kind == "fact":
            found.add(axiom.terms[2])
    return found


def _expand(
    seed: list[Axiom], pool: list[Axiom], axioms: Axioms, oracle: _Oracle
) -> list[Axiom] | None:
    """Grow a set of facts, nearest first, until HermiT finds it inconsistent."""
    chosen = list(seed)
    rest = list(pool)
    if not chosen:
        chosen = _suspect_graphs(rest, axioms, oracle)
        taken = set(chosen)
        rest = [a for a in rest if a not in taken]
    if not oracle.consistent(_with_module(chosen, axioms.tbox)):
        return chosen
    visited: set[Node] = set()
    while True:
        near = _individuals(chosen) - visited
        if not near:
            break
        visited |= near
        for step in _NEAREST_FIRST:
            batch = [a for a in rest if step(a, near)]
            if not batch:
                continue
            taken = set(batch)
            chosen += batch
            rest = [a for a in rest if a not in taken]
            if not oracle.consistent(_with_module(chosen, axioms.tbox)):
                return chosen
    if rest and not oracle.consistent(_with_module(chosen + rest, axioms.tbox)):
        return chosen + rest
    return None


def _suspect_graphs(pool: list[Axiom], axioms: Axioms, oracle: _Oracle) -> list[Axiom]:
    """With no suspects: the facts of the smallest graph of a minimal set of data graphs
    that clash (all of them if they do not)."""
    by_graph: dict[URIRef, list[Axiom]] = {}
    for axiom in pool:
        by_graph.setdefault(axioms.origins[axiom][0], []).append(axiom)
    units = [tuple(group) for group in by_graph.values()]

    def flat(chosen: Iterable[tuple[Axiom, ...]]) -> list[Axiom]:
        return [a for unit in chosen for a in unit]

    if oracle.consistent(_with_module(flat(units), axioms.tbox)):
        return flat(units)
    found = _quickxplain(
        [], units, lambda chosen: oracle.consistent(_with_module(flat(chosen), axioms.tbox))
    )
    # Every graph of a minimal clashing set holds a fact the clash needs: the smallest one
    # is the best start for expanding nearest first.
    return list(min(found, key=len))


def _contract(chosen: list[Axiom], tbox: list[Axiom], oracle: _Oracle) -> list[Axiom]:
    """Shrink an inconsistent set of facts, and the TBox axioms they need, to a minimum."""
    # A set of facts with the module for its own signature is consistent exactly when it is
    # with the whole TBox: so each subset is asked with its own module, and the runs the
    # expansion made (the suspects alone, say) are not made again.
    facts = minimal_subset([], chosen, lambda subset: oracle.consistent(_with_module(subset, tbox)))
    module = locality_module(tbox, signature_of(facts))
    near = upward(module, facts)
    if len(near) < len(module) and not oracle.consistent([*facts, *near]):
        module = near
    rules = minimal_subset(facts, module, oracle.consistent)
    return [*facts, *_reading_order(rules, facts)]


def _reading_order(rules: list[Axiom], facts: list[Axiom]) -> list[Axiom]:
    """Order TBox axioms as a reader follows them: up from the facts' classes and
    properties, chain by chain, the disjointness (and anything else) last."""
    reached = {t for fact in facts for t in fact.terms}
    ordered: list[Axiom] = []
    rest = list(rules)
    while True:
        step = next((r for r in rest if r.kind not in _LAST and r.terms[0] in reached), None)
        if step is None:
            return ordered + rest
        ordered.append(step)
        rest.remove(step)
        reached.update(step.terms)


_LAST = frozenset({"disjoint", "alldisjoint", "disjointprop", "other"})


def upward(tbox: Sequence[Axiom], facts: Iterable[Axiom]) -> list[Axiom]:
    """The TBox axioms reached upwards from the facts, a guess at what their clash needs.

    From the classes the facts assert and the properties they use, follow superclasses,
    domains, ranges, superproperties and inverses; keep those axioms, and the disjointness
    axioms between two classes reached. A locality module is always enough; this subset is
    often much smaller (it leaves out, say, a disjointness between classes no fact can
    reach), and is only used when HermiT confirms that it is enough.
    """
    facts = list(facts)
    classes: set[Node] = {OWL.Thing} | {a.terms[1] for a in facts if a.kind == "type"}
    props: set[Node] = {a.terms[1] for a in facts if a.kind in ("fact", "data")}
    chosen = [False] * len(tbox)
    changed = True
    while changed:
        changed = False
        for i, axiom in enumerate(tbox):
            if not chosen[i] and _reached(axiom, classes, props):
                chosen[i] = changed = True
    return locality_module(
        [a for i, a in enumerate(tbox) if chosen[i]], signature_of(facts) | {OWL.Thing}
    )


def _reached(axiom: Axiom, classes: set[Node], props: set[Node]) -> bool:
    """Whether ``axiom`` is reached from ``classes`` and ``props``; extends them if so."""
    kind, t = axiom.kind, axiom.terms
    if kind == "sub" and t[0] in classes:
        classes.add(t[1])
    elif kind == "equiv" and (t[0] in classes or t[1] in classes):
        classes.update(t)
    elif kind in ("domain", "range") and t[0] in props:
        classes.add(t[1])
    elif kind == "subprop" and t[0] in props:
        props.add(t[1])
    elif kind in ("inverse", "equivprop") and (t[0] in props or t[1] in props):
        props.update(t)
    elif kind in ("disjoint", "alldisjoint"):
        return sum(c in classes for c in t) >= 2
    elif kind in ("drange", "char", "disjointprop"):
        return t[0] in props
    else:
        return kind == "other"
    return True


#: Up to this many candidates, dropping them one by one takes fewer HermiT runs than
#: QuickXplain (which pays off when few of many candidates are needed).
LINEAR_UP_TO = 8


def minimal_subset(
    fixed: Sequence[T], candidates: Sequence[T], consistent: Callable[[list[T]], bool]
) -> list[T]:
    """A minimal subset of ``candidates`` that, with ``fixed``, is inconsistent: by dropping
    candidates one by one up to :data:`LINEAR_UP_TO` of them, by QuickXplain beyond.

    ``fixed`` + ``candidates`` must be inconsistent.
    """
    if len(candidates) > LINEAR_UP_TO:
        return _quickxplain(fixed, candidates, consistent)
    kept = list(candidates)
    for item in candidates:
        trial = [x for x in kept if x is not item]
        if not consistent([*fixed, *trial]):
            kept = trial
    return kept


def _quickxplain(
    fixed: Sequence[T], candidates: Sequence[T], consistent: Callable[[list[T]], bool]
) -> list[T]:
    """A minimal subset of ``candidates`` that, with ``fixed``, is inconsistent (QuickXplain).

    ``fixed`` + ``candidates`` must be inconsistent.
    """

    def search(background: list[T], added: bool, items: Sequence[T]) -> list[T]:
        if added and not consistent(background):
            return []
        if len(items) == 1:
            return list(items)
        half = len(items) // 2
        first, second = items[:half], items[half:]
        needed_second = search(background + list(first), True, second)
        needed_first = search(background + needed_second, bool(needed_second), first)
        return needed_first + needed_second

    if not candidates:
        return []
    return search(list(fixed), True, candidates)

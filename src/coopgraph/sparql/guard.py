"""Keep SPARQL evaluation in this process: no network, no files.

rdflib's SPARQL engine, by default, fetches the graphs named in ``FROM``/``FROM NAMED``
(and by ``LOAD``) when they are not in the dataset, and sends ``SERVICE`` clauses to the
remote endpoint (see the "Caution" in ``rdflib.plugins.sparql.processor``). Both are
switched off here, for every query rdflib evaluates in this process, including the
SPARQL-based constraints pyshacl runs:

- ``SPARQL_LOAD_GRAPHS = False``: ``FROM <g>`` only ever reads the named graph ``g``;
- a custom evaluation step refuses ``SERVICE`` with a :class:`QueryError`.
"""

from __future__ import annotations

from typing import NoReturn

import rdflib.plugins.sparql
from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import QueryContext

from coopgraph.errors import QueryError

SERVICE_REFUSED = (
    "SERVICE is not allowed: queries run by coopgraph never reach the network; "
    "query the local graphs instead"
)

_GUARD_NAME = "coopgraph-refuse-service"


def _refuse_service(ctx: QueryContext, part: CompValue) -> NoReturn:
    if part.name == "ServiceGraphPattern":
        raise QueryError(SERVICE_REFUSED)
    raise NotImplementedError  # not ours: rdflib evaluates it as usual


def install_network_guard() -> None:
    """Stop rdflib's SPARQL engine from loading remote graphs or calling SERVICE.

    Safe to call many times. It changes process-wide rdflib settings.
    """
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    CUSTOM_EVALS[_GUARD_NAME] = _refuse_service

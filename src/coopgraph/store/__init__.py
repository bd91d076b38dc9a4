"""The store: the dataset held by one engine, and the query workers that evaluate outside
queries on it.

- :mod:`~coopgraph.store.engine`: what every engine offers, the jobs and their replies;
- :mod:`~coopgraph.store.oxigraph`, :mod:`~coopgraph.store.rdflib`,
  :mod:`~coopgraph.store.remote`: the engines;
- :mod:`~coopgraph.store.answers`: answers under the row and byte caps;
- :mod:`~coopgraph.store.updates`: SPARQL Update's graph rules, where rdflib differs;
- :mod:`~coopgraph.store.opening`: opening an engine on the sources.
"""

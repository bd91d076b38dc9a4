"""coopgraph: a knowledge graph of international cooperation.

The package loads the ontology and data into one rdflib Dataset (:mod:`coopgraph.graph.load`),
validates it with SHACL (:mod:`coopgraph.quality.validate`), materialises OWL RL inferences into a
separate graph (:mod:`coopgraph.reason`), runs SPARQL queries (:mod:`coopgraph.sparql.query`) and
counts what is there (:mod:`coopgraph.graph.stats`). The ``coopgraph`` command wraps them all.
"""

__version__ = "0.1.0"

"""coopgraph: a knowledge graph of international cooperation.

The package loads the ontology and data into one rdflib Dataset (:mod:`coopgraph.load`),
validates it with SHACL (:mod:`coopgraph.validate`), materialises OWL RL inferences into a
separate graph (:mod:`coopgraph.reason`), runs SPARQL queries (:mod:`coopgraph.query`) and
counts what is there (:mod:`coopgraph.stats`). The ``coopgraph`` command wraps them all.
"""

__version__ = "0.1.0"

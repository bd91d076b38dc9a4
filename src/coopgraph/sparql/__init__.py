"""SPARQL text: the scanner that reads a query's form and clauses (and refuses what is not
allowed, with the position), the dataset a request names, the guard against network access
in rdflib's evaluation, rdflib's query runner, and the results writers."""

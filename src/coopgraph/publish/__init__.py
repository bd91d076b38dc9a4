"""What is published from the graph: the ontology's documentation (pyLODE pages and the
class diagram), releases (files, versions and the change log) and the dataset's VoID."""

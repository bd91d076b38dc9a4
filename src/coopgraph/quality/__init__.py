"""The checks a change must pass: SHACL validation (and its report), the QA checks and their
SPARQL files (``checks/*.rq``), the OWL API's profile check, and HermiT's DL reasoning."""

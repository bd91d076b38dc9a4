"""Run the command line as ``python -m coopgraph``."""

from coopgraph.cli.main import cli

if __name__ == "__main__":
    cli(prog_name="coopgraph")

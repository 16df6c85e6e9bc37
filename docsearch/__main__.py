"""`python -m docsearch` runs the command-line interface."""

from docsearch.cli import cli

cli(prog_name="docsearch")

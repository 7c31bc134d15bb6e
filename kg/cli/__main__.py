"""``python -m kg.cli`` runs the painkg command line."""

from . import main

main()

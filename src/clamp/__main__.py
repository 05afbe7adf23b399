"""``python -m clamp`` runs the command line."""

from clamp.cli.main import main

main()

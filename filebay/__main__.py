"""``python -m filebay`` is the ``filebay`` command."""

from filebay.cli.main import main

main()

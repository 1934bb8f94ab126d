"""``python -m filebay_server`` is the ``filebay`` command."""

from filebay_server.cli import main

main()

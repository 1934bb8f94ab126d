"""The ``filebay`` command line."""

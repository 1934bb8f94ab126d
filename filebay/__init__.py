"""filebay: a self-hosted, authenticated, multi-user file portal."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root: templates/ and static/ live beside the service folders.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

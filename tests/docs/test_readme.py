"""The README documents every setting and every command (a missing line fails the suite)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from filebay.config import Settings
from filebay_server.cli import app, main  # noqa: F401  (main registers the sub-commands)

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"FILEBAY_{name.upper()}"
        for name in Settings.model_fields
        if f"FILEBAY_{name.upper()}" not in README
    ]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_command_is_in_the_readme() -> None:
    from filebay.client import commands
    from filebay_server import users

    commands.register(app)
    if not any(group.name == "user" for group in app.registered_groups):
        app.add_typer(users.user_app, name="user")
    click_app = typer.main.get_command(app)
    names = list(click_app.commands)  # type: ignore[attr-defined]
    missing = [name for name in names if f"filebay {name}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"

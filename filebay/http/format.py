"""Jinja filters for the pages."""

from __future__ import annotations

from datetime import datetime

from fastapi.templating import Jinja2Templates

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int) -> str:
    value = float(size)
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def iso_time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def install_filters(templates: Jinja2Templates) -> None:
    templates.env.filters["human_size"] = human_size
    templates.env.filters["iso_time"] = iso_time

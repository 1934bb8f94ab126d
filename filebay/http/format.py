"""Jinja filters for the pages."""

from __future__ import annotations

from datetime import datetime

from fastapi.templating import Jinja2Templates

from filebay.sizes import human_size


def iso_time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def install_filters(templates: Jinja2Templates) -> None:
    templates.env.filters["human_size"] = human_size
    templates.env.filters["iso_time"] = iso_time

"""How ``filebay ls`` shows entries: a table that fits the terminal. On a narrow one the
columns a reader needs least go first (owner, then created), and when even that leaves the
name too little room each entry gets two lines, its whole name on the first."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from filebay.client.records import is_folder
from filebay.sizes import human_size

ID_WIDTH = 32
#: The name column must keep at least this many characters, or the layout changes.
NAME_MIN = 24
SIZE_WIDTH = 10
CREATED_WIDTH = 16
#: What a column costs besides its text (padding and the rule between columns).
GAP = 2


def name_of(item: dict[str, Any]) -> str:
    return f"{item['name']}/" if is_folder(item) else str(item["name"])


def size_of(item: dict[str, Any]) -> str:
    return "-" if is_folder(item) else human_size(int(item.get("size", 0)))


def created_of(item: dict[str, Any]) -> str:
    return str(item.get("created_at", ""))[:16].replace("T", " ")


def columns_for(width: int, owner_width: int) -> list[str] | None:
    """The columns that leave the name ``NAME_MIN`` characters, or ``None`` (two lines)."""
    wanted = ["id", "name", "size", "created", "owner"]
    cost = {"id": ID_WIDTH, "size": SIZE_WIDTH, "created": CREATED_WIDTH, "owner": owner_width}
    for drop in ([], ["owner"], ["owner", "created"]):
        kept = [c for c in wanted if c not in drop]
        used = sum(cost[c] + GAP for c in kept if c != "name") + GAP
        if width - used >= NAME_MIN:
            return kept
    return None


def print_json(out: Console, items: Sequence[dict[str, Any]], cursor: str | None) -> None:
    document = {"items": list(items), "next_cursor": cursor}
    if out.is_terminal:
        out.print_json(json.dumps(document))
    else:
        out.file.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def print_table(out: Console, items: Sequence[dict[str, Any]]) -> None:
    owner_width = max([5, *(len(str(i.get("owner", ""))) for i in items)])
    kept = columns_for(out.width, owner_width)
    if kept is None:
        _print_stacked(out, items)
        return
    cells = {
        "id": lambda i: str(i["id"]),
        "name": lambda i: escape(name_of(i)),
        "size": size_of,
        "created": created_of,
        "owner": lambda i: escape(str(i.get("owner", ""))),
    }
    table = Table(
        *[
            Column(c, overflow="fold", ratio=1)
            if c == "name"
            else Column(c, no_wrap=True, justify="right" if c == "size" else "left")
            for c in kept
        ],
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        expand=False,
    )
    for item in items:
        table.add_row(*[cells[c](item) for c in kept])
    out.print(table)


def _print_stacked(out: Console, items: Sequence[dict[str, Any]]) -> None:
    for item in items:
        out.print(escape(name_of(item)), highlight=False, soft_wrap=True)
        out.print(f"  {item['id']}  {size_of(item)}", style="dim", highlight=False, soft_wrap=True)

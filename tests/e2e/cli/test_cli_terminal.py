"""The ``filebay`` client at a terminal: results above live bars (never inside them),
Ctrl-C, "not logged in", and tables on narrow terminals."""

from __future__ import annotations

import re

import pytest

from tests.e2e.cli.support import MIB, Cli, random_file, uploaded
from tests.e2e.cli.terminal import run_in_terminal

ID_LINE = re.compile(r"([0-9a-f]{32})\s+(\S.*)")
INTERRUPTED = "interrupted: run the same command again to resume"


def _terminal_env(cli: Cli) -> dict[str, str]:
    env = cli.env(TERM="xterm-256color")
    env.pop("COLUMNS")  # the terminal's own width
    return env


def test_results_go_above_the_live_bars_not_into_them(logged_in: Cli) -> None:
    names = [f"bar-{n}.bin" for n in range(4)]
    for name in names:
        random_file(logged_in.cwd / name, 3 * MIB)
    session = run_in_terminal(
        logged_in.command("upload", *names, "--chunk-size", "1", "--limit-rate", "8M"),
        _terminal_env(logged_in),
        logged_in.cwd,
    )
    assert session.exit_code == 0, session.raw
    screen = session.screen()
    results = {m.group(2): m.group(1) for row in screen if (m := ID_LINE.fullmatch(row))}
    assert sorted(results) == names, "\n".join(screen)
    # Each bar once (redrawn in place), and no row where a result and a bar share a line.
    assert [row.split()[0] for row in screen if "━" in row] == ["total", *names]
    assert not [row for row in screen if "━" in row and re.search(r"[0-9a-f]{32}", row)]
    with logged_in.client() as client:
        for name, file_id in results.items():
            assert client.file(file_id)["name"] == name


def test_ctrl_c_says_how_to_go_on_and_exits_130_then_the_same_command_resumes(
    logged_in: Cli,
) -> None:
    random_file(logged_in.cwd / "stopped.bin", 24 * MIB)
    argv = ("upload", "stopped.bin", "--chunk-size", "1", "--limit-rate", "4M")
    state = logged_in.config / "uploads.json"
    session = run_in_terminal(
        logged_in.command(*argv),
        _terminal_env(logged_in),
        logged_in.cwd,
        interrupt_when=lambda _output: state.exists(),
    )
    assert session.exit_code == 130, session.raw
    assert INTERRUPTED in session.screen()
    assert "Traceback" not in session.raw and "Aborted" not in session.raw

    again = logged_in(*argv)
    assert re.search(r"resuming at byte \d+ of 25165824", again.stderr), again.stderr
    assert list(uploaded(again)) == ["stopped.bin"]


def test_ctrl_c_during_a_download_keeps_the_part_file(logged_in: Cli) -> None:
    source = random_file(logged_in.cwd / "slow.bin", 24 * MIB)
    file_id = uploaded(logged_in("upload", "slow.bin"))["slow.bin"]
    source.unlink()
    part = logged_in.cwd / "slow.bin.part"
    session = run_in_terminal(
        logged_in.command("get", file_id, "--limit-rate", "4M"),
        _terminal_env(logged_in),
        logged_in.cwd,
        interrupt_when=lambda _output: part.exists() and part.stat().st_size > 0,
    )
    assert session.exit_code == 130, session.raw
    assert INTERRUPTED in session.screen()
    assert part.exists()


@pytest.mark.parametrize(
    "argv",
    [("ls",), ("ls", "/"), ("upload", "a.txt"), ("get", "/a.txt"), ("mkdir", "/x"), ("rm", "/a")],
)
def test_not_logged_in_exits_3_and_says_so(cli: Cli, argv: tuple[str, ...]) -> None:
    (cli.cwd / "a.txt").write_text("a")
    done = cli(*argv, FILEBAY_URL=cli.server)
    assert done.returncode == 3, done.stderr
    assert f"not logged in to {cli.server}" in done.stderr
    assert "filebay login" in done.stderr
    assert "Traceback" not in done.stderr


def test_ls_keeps_names_whole_on_a_narrow_terminal(logged_in: Cli) -> None:
    name = "Quarterly report for the board, final version (2026).pdf"
    (logged_in.cwd / name).write_bytes(b"%PDF-1.4\n")
    file_id = uploaded(logged_in("upload", name))[name]

    for columns in ("40", "60"):
        narrow = logged_in("ls", "--query", "Quarterly report", COLUMNS=columns)
        assert narrow.returncode == 0, narrow.stderr
        lines = narrow.stdout.splitlines()
        assert name in lines, narrow.stdout  # the whole name on a line of its own
        assert any(file_id in line for line in lines)

    medium = logged_in("ls", "--query", "Quarterly report", COLUMNS="80")
    lines = medium.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "size"]  # owner and created gave way
    row = next(line for line in lines if file_id in line)
    assert name.startswith(row.split(file_id, 1)[1].strip().rsplit("  ", 1)[0].strip())
    assert len(row.split(file_id, 1)[1].strip()) >= 24  # a readable stretch, not 3 letters

    wide = logged_in("ls", "--query", "Quarterly report", COLUMNS="200")
    assert wide.stdout.splitlines()[0].split() == ["id", "name", "size", "created", "owner"]
    assert any(name in line and file_id in line for line in wide.stdout.splitlines())


def test_results_on_stdout_stay_plain_when_redirected(logged_in: Cli) -> None:
    """Redirected (``> ids.txt``), results keep their tab and go to stdout alone."""
    (logged_in.cwd / "plain.txt").write_text("plain")
    done = logged_in("upload", "plain.txt", TTY_COMPATIBLE="1")
    assert re.fullmatch(r"[0-9a-f]{32}\tplain\.txt\n", done.stdout), done.stdout

"""Running ``filebay`` in a pseudo-terminal, as a person at a shell does: stdout and stderr
are the same terminal, Ctrl-C is a byte typed at it, and Rich draws live bars."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import struct
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fcntl import ioctl
from pathlib import Path

#: CSI sequences (cursor moves, erases, colours) and OSC ones (titles, links).
_ESCAPES = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]"
)


@dataclass
class Session:
    """What the terminal received, and how the command ended."""

    raw: str
    exit_code: int

    def screen(self) -> list[str]:
        """The lines a person sees at the end: the output played on a small terminal model
        (text overwrites, ``\r``, ``\n``, cursor up, erase line), trailing spaces cut."""
        return Screen().play(self.raw)


class Screen:
    """Just enough of a terminal for what Rich sends: it redraws live bars by moving the
    cursor up and erasing lines, then writing them again."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = [[]]
        self.row = self.col = 0

    def play(self, raw: str) -> list[str]:
        position = 0
        for match in _TOKENS.finditer(raw):
            self._text(raw[position : match.start()])
            self._control(match.group())
            position = match.end()
        self._text(raw[position:])
        return ["".join(r).rstrip() for r in self.rows]

    def _text(self, text: str) -> None:
        line = self.rows[self.row]
        for ch in text:
            if self.col >= len(line):
                line.extend(" " * (self.col - len(line) + 1))
            line[self.col] = ch
            self.col += 1

    def _control(self, token: str) -> None:
        if token == "\r":
            self.col = 0
        elif token == "\n":
            self.row += 1
            self.col = 0
            while len(self.rows) <= self.row:
                self.rows.append([])
        elif token.startswith("\x1b[") and token[-1] == "A":
            self.row = max(0, self.row - int(token[2:-1] or 1))
        elif token in ("\x1b[2K", "\x1b[K", "\x1b[0K"):
            kept = 0 if token == "\x1b[2K" else self.col
            del self.rows[self.row][kept:]
        # Colours, cursor visibility, titles: nothing to see.


_TOKENS = re.compile(rf"\r|\n|{_ESCAPES.pattern}")


def run_in_terminal(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    columns: int = 120,
    interrupt_when: Callable[[str], bool] | None = None,
    timeout: float = 120,
) -> Session:
    """``argv`` with a pseudo-terminal as its controlling terminal. With ``interrupt_when``,
    Ctrl-C is typed once the output so far satisfies it."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is already its stdin, stdout and stderr
        ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        # As a terminal's shell would: a test run started in the background (CI's `cmd &`)
        # has SIGINT ignored, and an ignored signal survives exec, so Ctrl-C would do nothing.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(cwd)
        os.execve(argv[0], list(argv), dict(env))
    received: list[bytes] = []
    typed = interrupt_when is None
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"timed out; output so far:\n{b''.join(received).decode()}")
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if not data:
                break
            received.append(data)
        if not typed and interrupt_when(b"".join(received).decode(errors="replace")):
            os.write(fd, b"\x03")
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return Session(b"".join(received).decode(errors="replace"), os.waitstatus_to_exitcode(status))

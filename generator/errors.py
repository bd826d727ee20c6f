"""Problems found in a site, reported as ``path:line: message``.

A build collects every problem it finds in a phase and stops at the end of that
phase, so an editor sees all of them at once instead of fixing them one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning tied to a file and, where known, a line."""

    path: Path | None
    line: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}{prefix}{one_line(self.message)}"


def one_line(message: str) -> str:
    """A message on one line, as editors and CI read ``path:line: message`` (a value it
    quotes may hold line breaks: a front-matter string with \\n in it)."""
    return LINE_BREAKS.sub(" ", message) if LINE_BREAKS.search(message) else message


LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


class SiteError(Exception):
    """The site cannot be built; carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def error(path: Path | None, line: int | None, message: str) -> Problem:
    return Problem(path, line, message, "error")


def warning(path: Path | None, line: int | None, message: str) -> Problem:
    return Problem(path, line, message, "warning")


def raise_if_errors(problems: list[Problem]) -> None:
    """Stop the build when any problem is an error."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SiteError(errors)

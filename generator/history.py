"""What git knows of the site's files: when each was last committed.

Read with one ``git log`` for all the paths asked about (file modification times are
never used: a fresh clone gives every file the same one)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path


def committed_times(root: Path, paths: Sequence[str] = ("content/",)) -> dict[str, datetime] | None:
    """The newest commit touching each file under ``paths`` (relative to ``root``), or
    None when the site is not in a git work tree or git knows no history for them."""
    log = _git(root, "-c", "log.showSignature=false", "log", "--format=%x00%ct", "--name-only",
               "--no-renames", "--relative", "--", *paths)
    if not log:
        return None
    times: dict[str, datetime] = {}
    for chunk in log.split("\0")[1:]:
        stamp, _, names = chunk.partition("\n")
        when = datetime.fromtimestamp(int(stamp), UTC)
        for name in filter(None, names.splitlines()):
            if name not in times or times[name] < when:
                times[name] = when
    return times


def uncommitted(root: Path) -> list[str]:
    """Files under content/ with uncommitted changes or untracked, relative to ``root``."""
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all",
                  "--no-renames", "--", "content/")
    if not status:
        return []
    prefix = (_git(root, "rev-parse", "--show-prefix") or "").strip()  # porcelain: from top
    entries = status.split("\0")
    return [entry[3:].removeprefix(prefix) for entry in entries
            if len(entry) > 3 and "D" not in entry[:2]]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), "-c", "core.quotepath=off", *args],
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", check=False)
    except OSError:  # git is not installed
        return None
    return done.stdout if done.returncode == 0 else None

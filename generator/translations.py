"""Translation status: for each story, which languages have it, lack it, or lag behind.

A story is a translation group (``Site.translations``). Its source is the default
language's version, or the oldest version when the default language has none. A
translation is *outdated* when its source changed after the translation was last
touched. "Changed" comes from git when the site is in a work tree (the newest commit
touching each file, read from one ``git log``; uncommitted edits count as now) and
from front matter ``updated`` (else ``date``) otherwise, because a fresh clone gives
every file the same modification time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator import history
from generator.config import SiteConfig
from generator.errors import Problem
from generator.link import link_site
from generator.load import load_site
from generator.model import Page, Site

SOURCE, CURRENT, OUTDATED, MISSING, UNKNOWN = "source", "current", "outdated", "missing", "unknown"
SYMBOLS = {SOURCE: "●", CURRENT: "✓", OUTDATED: "!", MISSING: "✗", UNKNOWN: "?"}
LEGEND = ("● source  ✓ up to date  ! outdated (source changed since)  ✗ missing  "
          "? no date to compare  d draft")


@dataclass(frozen=True, slots=True)
class Version:
    """One language version of a story and when it last changed (None: unknown)."""

    lang: str
    page_id: str
    file: str
    title: str
    changed: datetime | None
    draft: bool


@dataclass(frozen=True, slots=True)
class Story:
    """A translation group with the status of each site language."""

    key: str
    source: Version
    versions: Mapping[str, Version]
    status: Mapping[str, str]  # lang → SOURCE, CURRENT, OUTDATED, MISSING or UNKNOWN

    @property
    def path(self) -> str:
        """The source's path under ``content/<lang>/``, for ``newshub new``."""
        relative = Path(self.source.file).relative_to("content", self.source.lang)
        parent = relative.parent if relative.name == "index.md" else relative.with_suffix("")
        return parent.as_posix()


@dataclass(frozen=True, slots=True)
class Status:
    languages: tuple[str, ...]
    origin: str  # "git" or "front matter"
    stories: tuple[Story, ...]
    problems: tuple[Problem, ...]  # files left out because they do not load

    def totals(self, lang: str) -> dict[str, int]:
        counts = dict.fromkeys((SOURCE, CURRENT, OUTDATED, MISSING, UNKNOWN), 0)
        for story in self.stories:
            counts[story.status[lang]] += 1
        return counts


def translation_status(config: SiteConfig, now: datetime | None = None) -> Status:
    """The status of every story, drafts included (config should include drafts)."""
    loaded = load_site(config)
    site, link_problems = link_site(config, loaded.pages, loaded.assets)
    now = now or datetime.now(UTC)
    times = git_times(config.root, now)
    origin = "git" if times is not None else "front matter"
    stories = tuple(_story(site, key, ids, times) for key, ids in site.translations.items())
    problems = tuple(p for p in (*loaded.problems, *link_problems) if p.severity == "error")
    return Status(config.language_codes, origin, stories, problems)


def git_times(root: Path, now: datetime) -> dict[str, datetime] | None:
    """Last change of each file under ``root/content`` (paths relative to ``root``),
    uncommitted edits counting as ``now``; None outside git or without history."""
    times = history.committed_times(root)
    if times is None:
        return None
    for name in history.uncommitted(root):
        times[name] = now
    return times


def _story(site: Site, key: str, ids: tuple[str, ...],
           times: Mapping[str, datetime] | None) -> Story:
    versions = {site.pages[pid].lang: _version(site.pages[pid], times) for pid in ids}
    source = versions.get(site.config.default_language) or min(
        versions.values(), key=lambda v: _created(site.pages[v.page_id], v))
    status = {}
    for lang in site.config.language_codes:
        version = versions.get(lang)
        if version is None:
            status[lang] = MISSING
        elif version is source:
            status[lang] = SOURCE
        elif version.changed is None or source.changed is None:
            status[lang] = UNKNOWN
        else:
            status[lang] = OUTDATED if source.changed > version.changed else CURRENT
    return Story(key, source, versions, status)


def _version(page: Page, times: Mapping[str, datetime] | None) -> Version:
    file = page.source.as_posix()
    changed = (times or {}).get(file) or page.updated or page.date  # untracked: front matter
    return Version(page.lang, page.id, file, page.title, changed, page.draft)


def _created(page: Page, version: Version) -> float:
    """Order for finding the oldest version: publication date, else last change."""
    when = page.date or version.changed
    return when.timestamp() if when else float("inf")


def to_json(status: Status, lang: str | None = None) -> dict[str, Any]:
    """The status as plain data for scripts."""
    languages = (lang,) if lang else status.languages
    return {
        "languages": list(languages),
        "changed_from": status.origin,
        "stories": [{
            "key": story.key,
            "path": story.path,
            "source": story.source.lang,
            "title": story.source.title,
            "languages": {code: _version_json(story, code) for code in
                          dict.fromkeys((story.source.lang, *languages))},
        } for story in status.stories],
        "totals": {code: status.totals(code) for code in languages},
        "problems": [str(problem) for problem in status.problems],
    }


def _version_json(story: Story, lang: str) -> dict[str, Any]:
    version = story.versions.get(lang)
    if version is None:
        return {"status": MISSING}
    return {"status": story.status[lang], "file": version.file, "draft": version.draft,
            "changed": version.changed.isoformat() if version.changed else None}


def to_text(status: Status, lang: str | None = None) -> str:
    """A table for the terminal: one row per story, one column per language."""
    languages = (lang,) if lang else status.languages
    width = max([len("story"), *(len(story.key) for story in status.stories)])
    columns = [max(len(code), 2) for code in languages]
    lines = [f"Translation status ({len(status.stories)} stories; changes from "
             f"{status.origin})", ""]
    lines.append("  ".join(["story".ljust(width),
                            *(code.ljust(w) for code, w in zip(languages, columns, strict=True))]))
    for story in status.stories:
        cells = [_cell(story, code).ljust(w) for code, w in zip(languages, columns, strict=True)]
        lines.append("  ".join([story.key.ljust(width), *cells]).rstrip())
    lines += ["", LEGEND, ""]
    for code in languages:
        counts = status.totals(code)
        parts = [f"{counts[SOURCE]} source"] if counts[SOURCE] else []
        parts += [f"{counts[CURRENT]} up to date", f"{counts[OUTDATED]} outdated",
                  f"{counts[MISSING]} missing"]
        parts += [f"{counts[UNKNOWN]} without dates"] if counts[UNKNOWN] else []
        lines.append(f"{code}: {', '.join(parts)}")
    lines += _todo(status, languages, with_missing=lang is not None)
    lines += [f"left out (does not load): {problem}" for problem in status.problems]
    return "\n".join(lines)


def _cell(story: Story, lang: str) -> str:
    version = story.versions.get(lang)
    return SYMBOLS[story.status[lang]] + ("d" if version is not None and version.draft else "")


def _todo(status: Status, languages: tuple[str, ...], *, with_missing: bool) -> list[str]:
    """What to do: outdated files with both dates, and (for one language) what to create."""
    lines = []
    for story in status.stories:
        for code in languages:
            version = story.versions.get(code)
            if story.status[code] == OUTDATED and version is not None:
                lines.append(f"outdated: {version.file} (last changed {_day(version.changed)}; "
                             f"source {story.source.file} changed {_day(story.source.changed)})")
            elif story.status[code] == MISSING and with_missing:
                lines.append(f"missing: {story.key} in {code}: newshub new {story.path} "
                             f"--lang {code} --from {story.source.lang}")
    return ["", *lines] if lines else []


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M %Z").strip() if value else "?"

"""Where a Hugo site's content and static files go in a newshub site.

newshub keeps one folder per language, ``content/<folder>/``. A Hugo site either has
one ``contentDir`` per language (``content/en``, ``content/zh-tw``: copied as they
are) or one folder for all, with translations named by suffix (``about.fr.md``). The
second is converted file by file, ``about.fr.md`` → ``content/fr/about.md``, files
without a suffix going to the default language and a bundle's shared images to every
language that has a page in it, but only when no two files would land on the same
name; otherwise the folder is copied as it is and the report says what to do.

Symlinks are followed only when they stay inside the Hugo site; editor, VCS and OS
noise is never copied (``generator.files``, the same rules as the build).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Problem
from generator.files import walk

CONTENT_EXTENSIONS = (".md", ".markdown", ".mdown", ".html", ".htm", ".adoc", ".asciidoc",
                      ".org", ".pandoc", ".pdc", ".rst", ".ipynb")
SUFFIXED = re.compile(r"^(?P<stem>.+)\.(?P<lang>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)"
                      r"(?P<extension>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True, slots=True)
class Root:
    """The folder a language's content is read from, and where it is written."""

    key: str  # the Hugo language key (lower case)
    code: str  # canonical BCP 47
    folder: str  # the folder under content/ in the newshub site
    path: Path | None  # None: outside the Hugo site, or missing


@dataclass(frozen=True, slots=True)
class Item:
    """One file to copy: ``target`` is relative to the new site ('/'-separated)."""

    source: Path
    target: str
    code: str = ""  # the language of a content file ('' for static files)
    rel: str = ""  # its path under content/<folder>/


@dataclass(slots=True)
class Plan:
    items: list[Item]
    notes: list[str]  # what the report says about the layout
    problems: list[Problem]  # symlinks refused, loops
    converted: bool = False  # files were moved into language folders
    as_is: bool = False  # the folder was copied as it is (it could not be converted)


def is_content(name: str) -> bool:
    return name.lower().endswith(CONTENT_EXTENSIONS)


def content_plan(site: Path, roots: Sequence[Root], default_key: str,
                 top: Path) -> Plan:
    """The content files of every language, with their places in the new site."""
    plan = Plan([], [], [])
    by_path: dict[str, list[Root]] = {}
    for root in roots:
        if root.path is not None and root.path.is_dir():
            by_path.setdefault(os.path.realpath(root.path), []).append(root)
    keys = {root.key: root for root in roots}
    shared = False
    for real, group in by_path.items():
        owner = next((r for r in group if r.key == default_key), group[0])
        others = {other for other in by_path if other != real}
        files = list(_files(group[0].path, site, others, plan.problems))
        if len(group) > 1:
            shared = True
            plan.items.extend(_split(group[0].path, files, owner, keys))
        else:
            plan.items.extend(_item(group[0].path, parts, name, owner)
                              for parts, name in files)
    collisions = _collisions(plan.items, site)
    if collisions:
        plan.notes.extend(collisions)
        plan.notes.append(f"{top.relative_to(site).as_posix()}/ was copied as it is: newshub "
                          "wants one folder per language (content/<lang>/…); move the files "
                          "named above by hand")
        plan.items = [Item(top.joinpath(*parts, name), "content/" + "/".join((*parts, name)))
                      for parts, name in _files(top, site, set(), [])]
        plan.as_is = True
    elif shared:
        plan.converted = True
        plan.notes.append("one content folder holds every language (translations named "
                          "like page.fr.md): newshub wants one folder per language, so each "
                          "file was moved into content/<lang>/ without its language suffix; "
                          "files without a suffix went to the default language")
    plan.items.sort(key=lambda item: item.target)
    return plan


def static_plan(site: Path, folders: Sequence[Path], problems: list[Problem]) -> list[Item]:
    """The static files (a later folder's file replaces an earlier one's, as in Hugo)."""
    found: dict[str, Item] = {}
    for folder in folders:
        for directory, _folders, names in walk(folder, site, problems,
                                               keep=frozenset({".well-known"})):
            parts = Path(directory).relative_to(folder).parts
            for name in names:
                target = "static/" + "/".join((*parts, name))
                found[target] = Item(Path(directory, name), target)
    return [found[target] for target in sorted(found)]


def _files(top: Path, site: Path, others: set[str], problems: list[Problem]
           ) -> list[tuple[tuple[str, ...], str]]:
    """(folders under ``top``, name) of each file, leaving out other languages' roots."""
    found = []
    for directory, folders, names in walk(top, site, problems):
        folders[:] = [name for name in folders
                      if os.path.realpath(os.path.join(directory, name)) not in others]
        parts = Path(directory).relative_to(top).parts
        found.extend((parts, name) for name in names)
    return found


def _item(top: Path, parts: tuple[str, ...], name: str, root: Root) -> Item:
    rel = "/".join((*parts, name))
    return Item(top.joinpath(*parts, name), f"content/{root.folder}/{rel}", root.code, rel)


def _suffix_lang(name: str, keys: dict[str, Root]) -> Root | None:
    match = SUFFIXED.match(name)
    return keys.get(match.group("lang").lower()) if match else None


def _split(top: Path, files: list[tuple[tuple[str, ...], str]], owner: Root,
           keys: dict[str, Root]) -> list[Item]:
    """Files of one folder shared by languages, each moved to its language's folder."""
    pages: dict[tuple[str, ...], set[str]] = {}  # folder → languages with a page in it
    placed: list[tuple[tuple[str, ...], str, Root | None]] = []
    for parts, name in files:
        root = _suffix_lang(name, keys)
        if root is not None:
            match = SUFFIXED.match(name)
            assert match is not None
            name = match.group("stem") + match.group("extension")
        if is_content(name):
            pages.setdefault(parts, set()).add((root or owner).key)
        placed.append((parts, name, root))
    items = []
    for (parts, name, root), (_, original) in zip(placed, files, strict=True):
        source = top.joinpath(*parts, original)
        if root is not None or is_content(name):
            targets = [root or owner]
        else:  # a resource shared by the translations of its bundle
            targets = [keys[key] for key in sorted(_nearest(pages, parts) or {owner.key},
                                                   key=list(keys).index)]
        for target in targets:
            rel = "/".join((*parts, name))
            items.append(Item(source, f"content/{target.folder}/{rel}", target.code, rel))
    return items


def _nearest(pages: dict[tuple[str, ...], set[str]], parts: tuple[str, ...]) -> set[str]:
    for end in range(len(parts), -1, -1):
        if parts[:end] in pages:
            return pages[parts[:end]]
    return set()


def _collisions(items: list[Item], site: Path) -> list[str]:
    seen: dict[str, Path] = {}
    found = []
    for item in items:
        if item.target in seen and seen[item.target] != item.source:
            first, second = (p.relative_to(site).as_posix()
                             for p in (seen[item.target], item.source))
            found.append(f"{first} and {second} would both become {item.target}")
        seen.setdefault(item.target, item.source)
    return found

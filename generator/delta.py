"""Small changes rebuilt in proportion to their size, not to the site's.

An edit that leaves the site's shape as it was (every page at its address, in the
lists, tags, feeds and translation groups where it was, in the same order) changes
only the outputs that show an edited page: its own page, the list pages and feeds it
is on, its share card, the offline lists. Each output kind names those outputs itself
(``showing`` in its module: the reverse index, page → outputs that show it), so such
a build neither links nor plans the whole site. Anything else (a file added or
removed, a template, catalog, setting or static file changed, a page moved, dated,
tagged or filed anew, a page every page of its language shows: the menu's, the urgent
banner's, a section's introduction, the footer's) takes the full path.

A running session keeps its last linked site in memory. A new process reads the last
build's *layout* instead: the linked site without its page records (every list of
ids, the frames, the translation groups), and the page records it needs from shards
of linked pages, one per language and month, so the neighbours on a list page or in
a feed sit together (an edit of the newest story reads a few shards of 100,000).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from generator import shortcodes
from generator.cache import Store
from generator.config import SiteConfig
from generator.deps import digest, page_key
from generator.errors import Problem
from generator.link import (
    _expired,
    _inherit_from,
    _permalinked,
    _prefixes,
    _schedule,
    inherit,
    section_key,
)
from generator.load import (
    INDEX_REDUCERS,
    SECTION_FILE,
    Parsed,
    Source,
    _parse,
    bundle_file,
    reusable,
)
from generator.model import Asset, Page, Site, field_names, replaced
from generator.outputs import KINDS, cards, feeds, listings
from generator.render import Job

LAYOUT_ENTRY = "layout"
LAYOUT_MARK = "layout-inputs"  # the inputs the stored layout and shards were made from
SHARD_DIGESTS_ENTRY = "linked-digests"
SHARD_PREFIX = "linked-"
# What an edit may change in a page record without changing the site's shape: each is
# shown only by the outputs that show the page (``showing``); every other field places
# the page (address, date, lists, groups, images, build options).
CONTENT_FIELDS = frozenset({"title", "summary", "body_html", "digest", "description",
                            "link_title", "image_alt", "extra", "fields_set"})
STRUCTURE_FIELDS = tuple(name for name in field_names(Page) if name not in CONTENT_FIELDS)
SHOWN_FIELDS = tuple(sorted(CONTENT_FIELDS - {"body_html"}))  # a stored record has no body
V = TypeVar("V")
SITE_MAPS = ("translations", "articles", "tags", "static_pages", "urgent", "frames",
             "listed", "menus", "intros", "children", "terms")


# The layout: the linked site without its page records -------------------------------

@dataclass(frozen=True, slots=True)
class Layout:
    """The last full build's linked site as lists of ids (plain data in the cache)."""

    settings: str  # digest of the settings it was linked under
    maps: Mapping[str, Any]  # the Site's fields named in SITE_MAPS
    assets: tuple[Asset, ...]
    shards: Mapping[str, str]  # page id → its shard, in the site's page order
    frame_ids: frozenset[str]  # pages every page of their language shows
    inherited: frozenset[str]  # translation keys whose versions take fields from another
    # Whether the link left a page out (a draft, a future or expired post), and whether
    # a page expires: unknown (True) in a layout stored without them.
    hidden: bool = True
    expiring: bool = True


def settings_digest(config: SiteConfig) -> str:
    return digest(repr(config))


def shard_of(page: Page) -> str:
    """A page's shard: its language and month (undated pages: their language's)."""
    date = page.date
    if date is None:
        return f"{page.lang}-undated"
    if date.year >= 1000:  # as strftime("%Y-%m") writes it, at a fifth of its time
        return f"{page.lang}-{date.year}-{date.month:02d}"
    return f"{page.lang}-{date.strftime('%Y-%m')}"


def frame_ids(site: Site) -> frozenset[str]:
    """Pages whose records reach every page of their language (``Site.frames``): the
    footer's pages, the urgent banner's story, section introductions, menu targets."""
    found = {pid for ids in site.static_pages.values() for pid in ids}
    found.update(pid for pid in site.urgent.values() if pid)
    found.update(pid for intros in site.intros.values() for pid in intros.values())
    targets = {path for items in site.menus.values() for _name, path in items}
    if targets:
        found.update(pid for pid, page in site.pages.items() if page.path in targets)
    return frozenset(found)


def layout_of(site: Site) -> Layout:
    maps = {name: _plain(getattr(site, name)) for name in SITE_MAPS}
    names: dict[str, str] = {}  # one string per shard name, stored once
    return Layout(settings_digest(site.config), maps, site.assets,
                  {pid: names.setdefault(name, name) for pid, page in site.pages.items()
                   if (name := shard_of(page))},
                  frame_ids(site), site.inherited)


def _plain(value: Any) -> Any:
    """Read-only mappings as dicts, for the cache (its reader builds no other type)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def save_layout(store: Store, site: Site, hidden: bool = True) -> None:
    """Write the layout and the shards of linked pages that changed (each shard's digest
    covers its pages' keys and the settings, which decide the rest of a record). Valid
    only once ``mark_layout`` names the inputs, when the build has finished. ``hidden``:
    the link left a page out (a server showing drafts links another site)."""
    store.delete(LAYOUT_MARK)
    layout = replace(layout_of(site), hidden=hidden, expiring=any(
        page.expires is not None for page in site.pages.values()))
    members: dict[str, list[str]] = {}
    for pid, shard in layout.shards.items():
        members.setdefault(shard, []).append(pid)
    stored = store.read(SHARD_DIGESTS_ENTRY)
    stored = stored if isinstance(stored, dict) else {}
    digests = {shard: digest(layout.settings, tuple(site.keys[pid] for pid in ids))
               for shard, ids in members.items()}
    for shard, ids in members.items():
        if stored.get(shard) != digests[shard]:
            store.write(SHARD_PREFIX + shard, {pid: site.pages[pid] for pid in ids},
                        INDEX_REDUCERS)
    for shard in stored.keys() - digests.keys():
        store.delete(SHARD_PREFIX + shard)
    store.write(SHARD_DIGESTS_ENTRY, digests)
    store.write(LAYOUT_ENTRY, _as_plain(layout))


def mark_layout(store: Store, inputs: str) -> None:
    """The stored layout is the linked site of these inputs (a snapshot's digest)."""
    store.write(LAYOUT_MARK, inputs)


def _as_plain(layout: Layout) -> dict[str, Any]:
    return {"settings": layout.settings, "maps": layout.maps,
            "assets": tuple((str(a.source), a.path, a.owner) for a in layout.assets),
            "shards": layout.shards, "frame_ids": tuple(sorted(layout.frame_ids)),
            "inherited": tuple(sorted(layout.inherited)), "hidden": layout.hidden,
            "expiring": layout.expiring}


def read_layout(store: Store, inputs: str, config: SiteConfig) -> Layout | None:
    """The stored layout when it is the linked site of ``inputs`` under ``config``; None
    when it is another's, missing, or not as this version writes it."""
    if store.read(LAYOUT_MARK) != inputs:
        return None
    value = store.read(LAYOUT_ENTRY)
    try:
        maps = value["maps"]
        if not (isinstance(maps, dict) and set(maps) == set(SITE_MAPS) and
                all(isinstance(item, dict) for item in maps.values()) and
                isinstance(value["shards"], dict) and
                value["settings"] == settings_digest(config)):
            return None
        assets = tuple(Asset(Path(source), path, owner)
                       for source, path, owner in value["assets"])
        return Layout(value["settings"], maps, assets, value["shards"],
                      frozenset(value["frame_ids"]), frozenset(value["inherited"]),
                      value.get("hidden") is not False, value.get("expiring") is not False)
    except (TypeError, KeyError, ValueError):
        return None


def update_shards(store: Store, layout: Layout, pages: Iterable[Page],
                  lookup: Mapping[str, Page]) -> None:
    """Write the shards holding ``pages`` (edited records) again, with their digests
    (the layout is another's until ``mark_layout`` names the new inputs)."""
    store.delete(LAYOUT_MARK)
    touched = {layout.shards[page.id] for page in pages}
    stored = store.read(SHARD_DIGESTS_ENTRY)
    stored = dict(stored) if isinstance(stored, dict) else {}
    for shard in touched:
        ids = [pid for pid, name in layout.shards.items() if name == shard]
        records = {pid: lookup[pid] for pid in ids}
        store.write(SHARD_PREFIX + shard, records, INDEX_REDUCERS)
        stored[shard] = digest(layout.settings, tuple(page_key(records[pid]) for pid in ids))
    store.write(SHARD_DIGESTS_ENTRY, stored)


class ShardedPages(Mapping[str, Page]):
    """The site's page records, read shard by shard as they are asked for (iterating
    reads them all); ``edited`` records stand in for their stored ones."""

    def __init__(self, store: Store, shards: Mapping[str, str],
                 edited: Mapping[str, Page] | None = None) -> None:
        self.store = store
        self.shards = shards
        self.edited = dict(edited or {})
        self._loaded: dict[str, dict[str, Page]] = {}

    def with_edits(self, edited: Mapping[str, Page]) -> ShardedPages:
        pages = ShardedPages(self.store, self.shards, {**self.edited, **edited})
        pages._loaded = self._loaded
        return pages

    def __getitem__(self, pid: str) -> Page:
        page = self.edited.get(pid)
        if page is not None:
            return page
        shard = self.shards[pid]
        records = self._loaded.get(shard)
        if records is None:
            records = self._loaded[shard] = _records(self.store.read(SHARD_PREFIX + shard))
        found = records.get(pid)
        if found is None:
            raise MissingRecord(pid)
        return found

    @property
    def shards_read(self) -> int:
        """How many shards were read (what an edit costs grows with this)."""
        return len(self._loaded)

    def __contains__(self, pid: object) -> bool:
        return pid in self.shards

    def __iter__(self) -> Iterator[str]:
        return iter(self.shards)

    def __len__(self) -> int:
        return len(self.shards)


class MissingRecord(KeyError):
    """A shard lost or damaged: the build takes the full path."""


def _records(value: object) -> dict[str, Page]:
    if not isinstance(value, dict):
        return {}
    return {pid: page for pid, page in value.items()
            if type(pid) is str and reusable(Parsed((), "", page, ()))}


class _Derived(Mapping[str, Any]):
    """A mapping made on demand from another (page keys, translation groups' paths)."""

    def __init__(self, keys: Mapping[str, Any], make: Callable[[str], Any]) -> None:
        self.keys_of, self.make = keys, make
        self.made: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self.made:
            if key not in self.keys_of:
                raise KeyError(key)
            self.made[key] = self.make(key)
        return self.made[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_of)

    def __len__(self) -> int:
        return len(self.keys_of)


def site_from(config: SiteConfig, layout: Layout, pages: Mapping[str, Page],
              bodies: Callable[[Page], str] | None) -> Site:
    """The site the layout describes, its page records read as needed."""
    maps = {name: MappingProxyType(value) for name, value in layout.maps.items()}
    translations = maps["translations"]
    return Site(config=config, pages=pages, assets=layout.assets, bodies=bodies,
                keys=_Derived(pages, lambda pid: page_key(pages[pid])),
                versions=_Derived(translations, lambda key: tuple(
                    (pages[pid].lang, pages[pid].path) for pid in translations[key])),
                inherited=layout.inherited, **{name: maps[name] for name in SITE_MAPS
                                               if name != "translations"},
                translations=translations)


class Overlay(Mapping[str, V]):
    """A mapping with a few values replaced or added, over another left as it is: an
    edit's records over the last build's 100,000, without copying them (an overlay of
    an overlay holds the first one's base and the changes of both)."""

    def __init__(self, base: Mapping[str, V], changed: Mapping[str, V]) -> None:
        if isinstance(base, Overlay):
            base, changed = base.base, {**base.changed, **changed}
        self.base: Mapping[str, V] = base
        self.changed: dict[str, V] = dict(changed)
        self.added = tuple(key for key in self.changed if key not in base)

    def __getitem__(self, key: str) -> V:
        changed = self.changed
        return changed[key] if key in changed else self.base[key]

    def __contains__(self, key: object) -> bool:
        return key in self.changed or key in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.base
        yield from self.added

    def __len__(self) -> int:
        return len(self.base) + len(self.added)


def with_edits(site: Site, edited: Mapping[str, Page]) -> Site:
    """The site with edited page records that keep its shape."""
    pages = site.pages.with_edits(edited) if isinstance(site.pages, ShardedPages) else \
        Overlay(site.pages, edited)
    keys = _Derived(pages, lambda pid: page_key(pages[pid])) \
        if isinstance(site.keys, _Derived) else \
        Overlay(site.keys, {pid: page_key(p) for pid, p in edited.items()})
    return Site(config=site.config, pages=pages, translations=site.translations,
                articles=site.articles, tags=site.tags, static_pages=site.static_pages,
                assets=site.assets, urgent=site.urgent, frames=site.frames,
                listed=site.listed, menus=site.menus, intros=site.intros,
                children=site.children, terms=site.terms, keys=keys,
                versions=site.versions, bodies=site.bodies, inherited=site.inherited)


# An edit ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Edit:
    """Sources edited in place whose pages keep the site's shape."""

    site: Site  # the site with the edited records
    pages: tuple[Page, ...]  # the edited pages, as linked
    parsed: Mapping[str, Parsed]  # each source's new load result


def source_of(config: SiteConfig, path: str) -> Source | None:
    """The source record of a Markdown file that is a page of its own or a bundle's
    ``index.md`` (not a section's ``_index.md``, a Markdown resource inside a bundle, or
    a file in a ``_`` folder), as the load phase's walk makes it."""
    content = str(config.content_dir) + os.sep
    if not path.startswith(content) or not path.endswith(".md"):
        return None
    parts = tuple(path[len(content):].split(os.sep))
    lang = config.language_of_folder(parts[0]) if len(parts) > 1 else None
    bundle = parts[-1] == "index.md"
    if lang is None or parts[-1] == SECTION_FILE or (bundle and len(parts) < 3) or \
            any(part.startswith("_") or part.startswith(".") for part in parts):
        return None
    folder = config.content_dir / parts[0]
    for part in parts[1:-2 if bundle else -1]:  # inside a bundle: a resource, not a page
        folder = folder / part
        if (folder / "index.md").exists():
            return None
    resources = _bundle_resources(os.path.dirname(path)) if bundle else ()
    return Source(lang, path, parts[1:], resources) if resources is not None else None


def _bundle_resources(folder: str) -> tuple[Path, ...] | None:
    """A bundle's resources as the load phase's walk finds them (its files beside
    ``index.md`` but Markdown, ``_`` names and noise); None when one is a link (the
    walk's checks are the full path's)."""
    resources = []
    try:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda entry: entry.name)
    except OSError:
        return None
    for entry in entries:
        name = entry.name
        if not bundle_file(name):
            continue
        if entry.is_symlink():
            return None
        if entry.is_file():
            resources.append(Path(folder, name))
    return tuple(resources)


def edit_of(config: SiteConfig, site: Site, frames: frozenset[str], paths: Iterable[str],
            previous: Mapping[str, Parsed], warned: Iterable[Path | None],
            now: datetime | None = None) -> Edit | None:
    """The edit of ``paths`` (absolute paths of Markdown sources that were pages of
    ``site`` and still exist), or None when it changes the site's shape or needs the
    full path for another reason (a problem to report, a page of ``frames``)."""
    now = now or datetime.now(UTC)
    warned = set(warned)
    templates = shortcodes.templates_digest(config)
    edited: dict[str, Page] = {}
    parsed: dict[str, Parsed] = {}
    for path in paths:
        source = source_of(config, path)
        if source is None:
            return None
        result = _parse(config, previous, templates, source)
        page = result.page
        if page is None or result.problems or page.source in warned or \
                page.id in frames or page.id in edited:
            return None
        parsed[path] = result
        edited[page.id] = page
    linked: dict[str, Page] = {}
    for page in edited.values():
        story = _linked_story(config, site, page, edited, previous, templates, now)
        if story is None:
            return None
        for pid, new in story.items():
            old = site.pages.get(pid)
            if old is None or any(getattr(old, name) != getattr(new, name)
                                  for name in STRUCTURE_FIELDS):
                return None
            if pid in edited or any(getattr(old, name) != getattr(new, name)
                                    for name in SHOWN_FIELDS):
                linked[pid] = new
    result_site = with_edits(site, linked)
    if not all(_same_place(result_site, site.pages[pid], page)
               for pid, page in linked.items()):
        return None
    if config.share_cards and not all(_drawable(result_site, page)
                                      for page in (*linked.values(),
                                                   *(site.pages[pid] for pid in linked))):
        return None
    return Edit(result_site, tuple(linked.values()), parsed)


def _linked_story(config: SiteConfig, site: Site, page: Page, edited: Mapping[str, Page],
                  previous: Mapping[str, Parsed], templates: str,
                  now: datetime) -> dict[str, Page] | None:
    """The records linking would make of an edited page, and of the other versions of
    its story when they take fields from one another (read again, then linked as a
    group, as the full path does); None when linking is the full path's (a version
    unreadable or no longer published)."""
    group = {pid: edited.get(pid) or site.pages[pid]
             for pid in site.translations.get(page.translation_key, ())}
    group[page.id] = page
    if page.translation_key not in site.inherited and not _takes_fields(config, group):
        new = _published(config, [page], now)
        return {page.id: new[0]} if new else None
    versions = [edited.get(pid) or _read_again(config, site.pages[pid], previous, templates)
                for pid in group]
    if None in versions:
        return None
    problems: list[Problem] = []
    linked = _published(config, inherit(config, versions, problems), now)
    return {version.id: version for version in linked} if linked and not problems else None


def _takes_fields(config: SiteConfig, group: Mapping[str, Page]) -> bool:
    """Whether a version of the story takes a field from its source."""
    versions = {version.lang: version for version in group.values()}
    for version in group.values():
        source = versions.get(version.translation_of or config.default_language)
        if source is not None and source is not version and \
                _inherit_from(version, source) is not version:
            return True
    return False


def _read_again(config: SiteConfig, page: Page, previous: Mapping[str, Parsed],
                templates: str) -> Page | None:
    """A version's record as loading makes it (before linking), from its source."""
    source = source_of(config, str(config.root / page.source))
    result = _parse(config, previous, templates, source) if source is not None else None
    return result.page if result is not None and not result.problems else None


def _published(config: SiteConfig, pages: list[Page], now: datetime) -> list[Page] | None:
    """Pages (a story's versions, each with its source's fields) as linking places
    them: at their ``[permalinks]`` address, scheduled; None when one is left out."""
    pages = [replaced(page, kind="page") if page.kind == "article" and page.date is None
             else page for page in pages]
    if config.permalinks:  # an address may follow a title or slug
        problems: list[Problem] = []
        pages = _permalinked(config, pages, problems)
        if problems:
            return None
    pages = [_schedule(page, now) for page in pages]
    if not config.include_drafts and any(page.draft or page.scheduled or _expired(page, now)
                                         for page in pages):
        return None
    return pages


def _same_place(site: Site, old: Page, new: Page) -> bool:
    """Whether the page keeps its place in the section lists, which order a section's
    undated pages (and pages of one date and weight) by title."""
    if (old.title, old.link_title) == (new.title, new.link_title) or not new.sections:
        return True
    mine = section_key(new)
    for lang in listings.languages_listing(site, {new.lang}):
        listed = site.listed.get(lang, {})
        for prefix in _prefixes(new.sections):
            ids = listed.get(prefix, ())
            if new.id not in ids:
                continue
            at = ids.index(new.id)
            if (at > 0 and section_key(site.pages[ids[at - 1]]) >= mine) or \
                    (at + 1 < len(ids) and section_key(site.pages[ids[at + 1]]) <= mine):
                return False
    return True


def _drawable(site: Site, page: Page) -> bool:
    """Whether the page's share card has every character in a font (else the card
    warnings, counted over the whole site, are the full path's to make)."""
    if page.kind != "article":
        return True
    card = cards.article_card(site, page)
    text = "\n".join((card.title, card.kicker, card.meta, card.organisation, card.host))
    return not cards.card_fonts(site).unavailable(card.lang, text)


def feed_bodies(site: Site) -> Iterator[str]:
    """The digests of the bodies the site's feeds show that its records lack (read from
    the cache as a feed is rendered: an edit of a recent story renders its feeds, whose
    bodies lie in as many shards of the cache, each of ~400 bodies at 100,000)."""
    for feed in feeds.feeds_of(site):
        for page in feed.pages:
            if not page.body_html:
                yield page.digest


def affected(site: Site, assets: Mapping[str, str], pages: tuple[Page, ...]) -> list[Job]:
    """The outputs that show the edited pages, as each output kind names them (kinds
    without ``showing`` have no output that shows a page's words)."""
    jobs: dict[str, Job] = {}
    for kind in KINDS:
        showing = getattr(kind, "showing", None)
        if showing is not None:
            jobs.update((job.path, job) for job in showing(site, assets, pages))
    if site.config.share_cards:
        for page in pages:
            if page.kind == "article":
                job = cards.article_job(site, page)
                jobs[job.path] = job
    return list(jobs.values())

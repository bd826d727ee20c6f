"""The pipeline: load → link → plan → render → write, each phase timed.

An error in any phase before *write* stops the build with every problem found
in that phase, and leaves the previous output untouched.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from generator import compress, delta, i18n, imaging, sanitize
from generator.cache import (
    CACHE_FOLDER,
    Body,
    BodyStore,
    DamagedShard,
    JournaledMapping,
    ShardedView,
    Store,
    body_shard,
    manifest_name,
)
from generator.config import SiteConfig
from generator.deps import catalog_digests, digest, site_salt, template_digests
from generator.errors import Problem, SiteError, error, raise_if_errors
from generator.link import link_site, publication_window
from generator.load import (
    FRONT_MATTER_ONLY,
    INDEX_REDUCERS,
    Parsed,
    Scan,
    load_site,
    reusable,
    source_body,
)
from generator.lock import build_locks
from generator.model import Page, Site, well_typed
from generator.outputs import (
    KINDS,
    aliases,
    cards,
    feeds,
    headers,
    listings,
    pages,
    search,
    sitemap,
)
from generator.outputs.static import theme_assets
from generator.parallel import Background, Later, default_workers
from generator.render import Job, Renderer, render_all
from generator.snapshot import (
    SNAPSHOT_PREFIX,
    WRITING_PREFIX,
    Entry,
    Snapshot,
    Stamps,
    Taken,
    changed_stamps,
    reseal_outputs,
    seal_outputs,
    summary_line,
    take,
    valid_manifest,
    valid_snapshot,
)
from generator.spill import Spill
from generator.theme import locale_layers, theme_folders
from generator.write import (
    Staged,
    WriteStats,
    as_staged,
    check_paths,
    commit,
    discard,
    stage,
    sweep,
)

R = TypeVar("R")
PAGES_ENTRY = "pages"
NOT_BUILT: Entry = ("", -1, -1)
GAPS_ENTRY = "translation-gaps"
STAMPS_PREFIX = "stamps-"  # each input file's stamp at the last build, to find what changed
JOURNAL = "-journal"  # beside the stamps: those an edit's build took (delta.py)
POLICIES_PREFIX = "policies-"  # each page's CSP, for /_headers (outputs/headers.py)
SEARCH_PREFIX = "search-shards-"  # each language's search shards (outputs/search.py)
# Kinds whose files cost the most to make each, rendered first: workers then end the
# phase on small pages together instead of one of them on a sitemap or a last list.
COSTLIEST_FIRST = ("image", "card", "sitemap", "feed", "listing")
# Kinds a build can plan while its workers render the rest (``build(behind=…)``).
PLANNED_BEHIND = {pages: "page", listings: "listing", feeds: "feed", sitemap: "sitemap"}


@dataclass(frozen=True, slots=True)
class Remembered:
    """A session's last build, for the next one to start from (``generator.delta``)."""

    config: SiteConfig
    templates: Mapping[str, str]
    catalogs: Mapping[str, str]
    site: Site
    counts: dict[str, int]
    warnings: tuple[Problem, ...]
    articles: tuple[tuple[str, int], ...]
    frame_ids: frozenset[str]  # pages every page of their language shows (delta.frame_ids)
    window: tuple[float, float]  # the clocks it holds for (link.publication_window)


@dataclass(frozen=True, slots=True)
class Unplanned:
    """Share cards a build left unplanned for ``finish`` (``build(later={"card"})``: a
    server answers before planning 100,000 cards): where each one is, and what planning
    one needs. Their files stay, recorded as the build found them, until ``finish``."""

    site: Site
    assets: Mapping[str, str]
    renderer: Renderer
    config: SiteConfig
    templates: Mapping[str, str]
    catalogs: Mapping[str, str]
    cards: Mapping[str, tuple[str, Page | None]]  # path → language, article (None: home)

    def job(self, path: str) -> Job | None:
        """The card at ``path``, planned now (None: no card of this build's there)."""
        found = self.cards.get(path)
        if found is None:
            return None
        lang, page = found
        return cards.home_job(self.site, lang) if page is None else \
            cards.article_job(self.site, page)


class PagesBehind:
    """The pages a build plans behind its answer (``build(behind={"page"})``), found by
    output path until then: a server asked for one plans its job alone, as the plan
    then makes it (``pages.page_job``), instead of waiting for 50,000 to be planned."""

    def __init__(self, site: Site, assets: Mapping[str, str], renderer: Renderer) -> None:
        self.site = site
        self.assets = assets
        self.renderer = renderer
        # By site path, made here (~10 ms at 50,000 pages): in a request's thread it
        # would share the interpreter with the plan made meanwhile, and take twice that.
        self.at = {page.path: page for page in site.pages.values()}

    def job(self, path: str) -> Job | None:
        """The job of the page at ``path`` (a file's, or its folder's index.html)."""
        folder = path.rstrip("/")
        for output in (path, f"{folder}/index.html" if folder else "index.html"):
            for site_path in _site_paths(output):
                page = self.at.get(site_path)
                if page is not None and page.output_path == output and \
                        pages.has_output(page) and self.site.config.owns(output):
                    return pages.page_job(self.site, self.assets, page)
        return None


def _site_paths(output: str) -> tuple[str, ...]:
    """The site paths whose output file is ``output`` (``model.url_to_output_path``):
    ``/en/x.html`` for en/x.html, and ``/en/`` too for en/index.html."""
    folder, _slash, name = output.rpartition("/")
    return ("/" + output, f"/{folder}/" if folder else "/") if name == "index.html" \
        else ("/" + output,)


# What a build planned behind (``BuildSession._behind``): the jobs, their keys, those to
# render, whether one's file was disturbed, and the share cards found then (path → where).
Behind = tuple[list[Job], dict[str, str], list[Job], bool, dict[str, tuple[str, Page | None]]]


@dataclass(frozen=True, slots=True)
class BuildResult:
    site: Site | None  # None when nothing had changed and the build had nothing to do
    stats: WriteStats
    counts: dict[str, int]
    warnings: tuple[Problem, ...]
    rendered: frozenset[str] = frozenset()  # outputs rendered (the rest were up to date)
    timings: dict[str, float] = field(default_factory=dict)
    articles: tuple[tuple[str, int], ...] = ()  # articles per language, in site order
    pages: int = 0
    search: tuple[search.SearchIndex, ...] = ()  # each language's search bundle
    planned: int = 0  # outputs planned (an edit's: those that show the edited pages)

    def summary(self, seconds: float, output: Path) -> str:
        return summary_line(self.pages, self.articles, self.counts, len(self.rendered),
                            self.stats.written, self.stats.unchanged, self.stats.removed,
                            search.describe(self.search), seconds, output)


def build(config: SiteConfig, output: Path, *, jobs: int | None = None,
          log: Callable[[str], None] | None = None, use_cache: bool = True,
          progress: Callable[[str, int, int], None] | None = None,
          shortcut: bool = True, precompress: bool = True,
          taken: Taken | None = None, now: datetime | None = None) -> BuildResult:
    """Build the site into ``output``; raise ``SiteError`` with every problem found.

    With the cache, unchanged sources are not parsed again and outputs whose inputs
    did not change are not rendered again; the result is byte-identical either way.
    ``taken``: the inputs' stamps, just taken by the caller (``snapshot.unchanged``).
    ``now``: the moment that decides what is published (``--now``; None: the time the
    build starts).
    """
    session = BuildSession(config, output, jobs=jobs, use_cache=use_cache, log=log,
                           progress=progress, precompress=precompress)
    session.taken = taken
    session.clock = now
    return session.build(shortcut=shortcut)


class BuildSession:
    """Builds one site into one output folder, as often as asked.

    Between builds it keeps the parsed sources and the output manifest in memory, so a
    long-running ``newshub serve`` pays neither for reading the cache nor for writing
    it after every save (``close`` saves the parsed sources for the next process).
    """

    def __init__(self, config: SiteConfig, output: Path, *, jobs: int | None = None,
                 use_cache: bool = True, log: Callable[[str], None] | None = None,
                 persist: bool = True,
                 progress: Callable[[str, int, int], None] | None = None,
                 precompress: bool = True) -> None:
        self.config = config
        self.output = output
        self.workers = jobs or default_workers()
        self.store = Store(config.root) if use_cache else None
        if not use_cache and persist:
            # --force: the stored manifest will not know what this build writes, and a
            # later build trusting it would leave files no source has any more.
            stale = Store(config.root)
            for name in (manifest_name(output), SNAPSHOT_PREFIX + manifest_name(output)):
                stale.delete(name)
            stale.delete_sharded(manifest_name(output))
        self.bodies = BodyStore(self.store) if self.store else None
        self.spill: Spill | None = None  # bodies parse workers made, until saved (spill.py)
        self.index = JournaledMapping(self.store, PAGES_ENTRY, reducers=INDEX_REDUCERS) \
            if self.store else None
        self.stored: set[str] = set()  # digests of the bodies in the cache's shards
        # The parse workers' pickled records, until the index is saved (Loaded.index_parts)
        self.index_parts: tuple[Mapping[str, Parsed], tuple[tuple[bytes, int], ...]] | None \
            = None
        self.log = log
        self.persist = persist
        self.progress = progress
        self.parsed: Mapping[str, Parsed] | None = None
        self.manifest: Mapping[str, Entry] | None = None
        self.wrote_manifest = False  # this session wrote the manifest in memory (serve)
        self.unsaved = False
        self.translation_gaps: tuple[str, tuple[Problem, ...]] = ("", ())
        self.renderer: tuple[object, Renderer] | None = None
        self.scan: Scan | None = None  # the last walk of content/, for a watcher's builds
        # What the last build left for ``finish``: the renderer, the jobs, their keys.
        self.pending: tuple[Renderer, list[Job], dict[str, str]] | None = None
        self.pending_search: Callable[[], search.Indexed] | None = None  # the same, for search
        self.unplanned: Unplanned | None = None  # cards left for ``finish`` to plan
        self.pages_behind: PagesBehind | None = None  # while the pages are planned behind
        self.niceness = 0  # of workers that render what was planned behind (``Later``)
        self.search_plan: dict[str, tuple[search.Shard, ...]] | None = None  # its shards
        self.stamps = Stamps.of({})  # input files, taken for the snapshot
        self.taken: Taken | None = None  # the next snapshot's stamps, taken by the caller
        self.precompress = precompress  # .br and .gz beside text outputs (compress.py)
        self.policies: dict[str, str] | None = None  # each page's CSP, for /_headers
        # The search indexes a manifest records, with its settings and the manifest
        # (``_indexes_in``: an edit's manifest is the last one's and a few pages).
        self.indexes: tuple[SiteConfig, Mapping[str, Entry],
                            tuple[search.SearchIndex, ...]] | None = None
        self.last: Remembered | None = None  # the last build, for an edit's (delta.py)
        self.settings = ""  # the settings and refused links, as the snapshot took them
        self.clock: datetime | None = None  # when builds publish at (None: as each starts)
        self.now = datetime.now(UTC)  # the moment of the running (or last) build
        # Told the renderer and the jobs once a build's render phase began (after its
        # workers forked): a server renders a requested output itself until it is written.
        # Told again, complete, once the kinds planned behind are planned (``build``).
        self.rendering: Callable[[Renderer, list[Job], bool], None] | None = None
        self.background: list[Callable[[], None]] = []  # what takes each one's outcome

    def build(self, config: SiteConfig | None = None, *, shortcut: bool = True,
              touched: frozenset[str] | None = None,
              later: frozenset[str] = frozenset(),
              behind: frozenset[str] = frozenset()) -> BuildResult:
        """Build; with ``shortcut``, a build whose inputs all match the last finished
        build's returns at once (no parsing, planning or rendering). ``touched``: a
        watcher saw only these Markdown sources change (absolute paths), so the content
        folder need not be walked again. Outputs of the kinds in ``later`` (a server's
        share cards: no page shows them) are left for ``finish``; until it runs they
        count as not built; with "card" in it, a full build does not even plan the
        cards (``unplanned``, ``finish`` does). Outputs of the kinds in ``behind`` (of
        ``PLANNED_BEHIND``: a server answers before planning its lists, feeds and
        sitemaps) are planned once the workers render the rest, and rendered by them
        after it (not with precompression: which outputs to leave uncompressed is known
        before they render)."""
        behind = frozenset() if self.precompress else behind - later
        with self._locked(), _collector_paused():
            try:
                return self._build(config or self.config, shortcut, touched, later, behind)
            finally:
                self.pages_behind = None  # (a build that stopped before planning them)
                self._join_background(quiet=True)  # (a build that stopped: none runs on)

    def finish(self) -> None:
        """Plan, render and commit what the last build left for later."""
        if self.pending_search is not None:
            self._finish_search()
        if self.unplanned is not None:
            with _collector_paused():
                self._plan_unplanned(self.unplanned)
        if self.pending is None:
            self.unplanned = None
            return
        renderer, jobs, keys = self.pending
        self.pending = None
        with self._locked(), _collector_paused():
            staged, _policies = self._render(renderer, jobs, None)  # not pages: cards
            built = set(self.manifest or keys)
            commit(staged, self.output, built, built)  # nothing to remove
            made = {item.path: (_key_of(keys, item.path), *item.stamp) for item in staged}
            before, self.manifest = self.manifest, \
                {**(self.manifest or {}), **made} if self.store else None
            if self.manifest is not None:
                self._indexes_in(self.config, self.manifest, before, made)
            if self.store and self.persist:
                self.store.write_sharded(manifest_name(self.output), self.manifest)
        self.unplanned = None  # (until now, a card asked for is planned on its own)

    def _plan_unplanned(self, left: Unplanned) -> None:
        """Plan the cards the last build left unplanned: those not as the manifest
        records them join ``pending``."""
        jobs = [job for job in cards.plan(left.site, left.assets) if job.path in left.cards]
        keys = output_keys(left.config, jobs, left.assets, left.templates, left.catalogs)
        stale, _disturbed = _stale(jobs, keys, self.manifest, self.output,
                                   self.wrote_manifest, self.precompress)
        if self.pending is not None:
            _renderer, pending, pending_keys = self.pending
            stale, keys = [*pending, *stale], {**pending_keys, **keys}
        self.pending = (left.renderer, stale, keys) if stale else self.pending

    def unplanned_job(self, path: str) -> tuple[Renderer, Job] | None:
        """The job of a card the last build left unplanned, planned now (a server asked
        for it before ``finish`` drew it); None when ``path`` is no such card."""
        left = self.unplanned
        job = left.job(path) if left is not None else None
        return (left.renderer, job) if left is not None and job is not None else None

    def page_behind(self, path: str) -> tuple[Renderer, Job] | None:
        """The job of the page whose output is at ``path`` (a file's, or its folder's
        index.html), planned now: the running build plans its pages behind its answer
        (``build(behind={"page"})``) and has not yet; None otherwise."""
        behind = self.pages_behind
        job = behind.job(path) if behind is not None else None
        return (behind.renderer, job) if behind is not None and job is not None else None

    def _finish_search(self) -> None:
        """Index what the last build left for later (its warnings are the server's log's:
        none is expected once a build passed)."""
        run, self.pending_search = self.pending_search, None
        assert run is not None
        with self._locked():
            self._mark_writing(True)
            indexed = run()
            manifest = {path: entry for path, entry in (self.manifest or {}).items()
                        if not (path.startswith(indexed.folders) if indexed.complete
                                else path in indexed.removed)}
            self.manifest = {**manifest, **indexed.entries} if self.store else None
            if self.manifest is not None:  # (a walk here, after the pages were shown,
                self._indexes_in(self.config, self.manifest)  # is none in the next edit)
            if self.store and self.persist:
                self.store.write_sharded(manifest_name(self.output), self.manifest)
            self._mark_writing(False)
        if indexed.problems:
            raise SiteError(list(indexed.problems))

    def _locked(self) -> AbstractContextManager[None]:
        """One build at a time in the output folder and in the site's cache."""
        root = self.config.root
        shown = f"{self.output.relative_to(root)}/" if self.output.is_relative_to(root) \
            else str(self.output)
        return build_locks(self.output, root / CACHE_FOLDER, shown)

    def _build(self, config: SiteConfig, shortcut: bool, touched: frozenset[str] | None,
               later: frozenset[str], behind: frozenset[str]) -> BuildResult:
        config, search_problems = search.effective(config)  # no Pagefind: no search
        self.now = self.clock or datetime.now(UTC)  # one moment for the whole build
        scan = self.scan if touched is not None and config == self.config else None
        self.config = config
        snapshot = self._snapshot(config) if self.store and self.persist else None
        if shortcut and snapshot is not None:
            done = self._unchanged_result(config, snapshot)
            if done is not None:
                return done
        if shortcut and (snapshot is not None or touched is not None):
            done = self._edited(config, snapshot, touched, later)
            if done is not None:
                return done
        self.last = None
        timings: dict[str, float] = {}
        templates = template_digests(theme_folders(config, "templates"), self.store)
        catalogs = catalog_digests(config)
        with _phase("load", timings):
            previous = self._previous_parsed()
            loaded = load_site(config, previous=previous, workers=self.workers,
                               progress=self._progress("parsing"), scan=scan, touched=touched,
                               stamps=self.stamps if snapshot is not None else None,
                               meanwhile=partial(self._compile_templates, config, templates,
                                                 catalogs), spill=self._spill())
            self.parsed, self.scan = loaded.parsed, loaded.scan
            self.index_parts = (loaded.parsed, loaded.index_parts) \
                if loaded.index_parts and self.persist else None  # (saved as it renders)
            if self.log and loaded.scan is not None:
                for path, why in loaded.scan.ignored:
                    self.log(f"ignored {path}: {why}")
            if self.store and _changed(previous, loaded.parsed):
                self.unsaved = True
        # The parse cache is saved by a background process while this one links and
        # plans; where none can be forked, while the workers render (or now, if the
        # build stops).
        save = self._save_parsed if self.unsaved and self.persist else None
        if save is not None and self._in_background(self._save_parsed_state,
                                                    partial(self._took_parse_state,
                                                            self.parsed)):
            save = None
        layout = partial(_save_layout, self.store, len(loaded.pages)) \
            if snapshot is not None and self.store else None  # (for the next build's edits)
        try:
            with _phase("link", timings):  # linked even when a source failed: one report
                site, link_problems = link_site(config, loaded.pages, loaded.assets,
                                                now=self.now, bodies=self._stored_body)
                raise_if_errors([*loaded.problems, *link_problems])
            if layout is not None and self._in_background(partial(layout, site)):
                layout = None
            with _phase("plan", timings):
                planned, assets, unplanned = _plan(site, "card" in later, behind)
                planned = [job for job in planned if config.owns(job.path)]
                unplanned = {path: where for path, where in unplanned.items()
                             if config.owns(path)}
                keys = output_keys(config, planned, assets, templates, catalogs)
                manifest = self._previous_manifest()
                stale, disturbed = _stale(planned, keys, manifest, self.output,
                                          self.wrote_manifest, self.precompress)
                deferred = [job for job in stale if job.kind in later]
                stale = [job for job in stale if job.kind not in later] if deferred else stale
                # A file changed by hand or by another build, or a build that stopped
                # half way: files the manifest does not know may lie there too.
                trusted = manifest is not None and not disturbed and not self._interrupted()
                empty = _empty(self.output) if behind or not trusted else False
                previous_paths = set(manifest) if trusted else \
                    set() if empty else None  # None: scan for leftovers
        except SiteError:
            self._join_background()
            if save is not None:
                save()  # what was parsed serves the next build, whatever failed after
            if not self.unsaved:
                self._drop_spill()
            raise
        renderer = self._renderer(config, templates, catalogs)
        self.unplanned = Unplanned(site, assets, renderer, config, templates, catalogs,
                                   unplanned) if unplanned else None
        self.pages_behind = PagesBehind(site, assets, renderer) if "page" in behind else None
        self._mark_writing(True)
        uncompressed = _uncompressed(planned) if self.precompress else frozenset()
        if layout is not None:
            save = _then(save, partial(layout, site))
        found: list[Behind] = []
        more = self._behind(site, assets, behind, (templates, catalogs), manifest,
                            (planned, unplanned, stale), renderer, found,
                            "card" in later) if behind else None
        with _phase("render", timings):
            staged, policies = self._render(renderer, stale, self._meanwhile(
                save, renderer, stale, more is None), uncompressed, more, fresh=empty)
            if found:  # what was planned behind joins what was planned first
                jobs, more_keys, more_stale, disturbed, more_cards = found[0]
                planned, stale = [*planned, *jobs], [*stale, *more_stale]
                keys.update(more_keys)
                unplanned = {**unplanned, **more_cards}
                if disturbed and previous_paths:
                    previous_paths = set() if empty else None
            staged += self._headers_file(config, planned, policies)
        with _phase("write", timings):
            old = manifest or {}
            bundles = search.bundle_files(  # the search phase's to keep: as recorded, when
                self.output, config, old if previous_paths is not None else None)  # trusted
            kept = _kept_copies(planned, stale, old, uncompressed) if self.precompress else {}
            paths = list(map(_path_of, planned))
            made = {path: (keys[path] if path in keys else _key_of(keys, path), *stamp)
                    for path, _staging, _created, stamp in staged}
            stats = commit(staged, self.output, made.keys() | paths | bundles | kept.keys() |
                           unplanned.keys(), previous_paths, config.owns)
            entries = {path: entry for path, entry in old.items()
                       if not config.owns(path)}  # other languages' files, from their builds
            entries.update(zip(paths, map(made.get, paths), strict=True))  # None: not rendered
            entries.update((path, old.get(path, NOT_BUILT)) for path in paths - made.keys())
            entries.update(kept)  # compressed copies of outputs not rendered again
            entries.update((path, entry) for path, entry in made.items() if path not in keys)
            entries.update((job.path, old.get(job.path, NOT_BUILT)) for job in deferred)
            entries.update((path, old.get(path, NOT_BUILT)) for path in unplanned)
            self.pending = (renderer, deferred, {job.path: keys[job.path] for job in deferred}) \
                if deferred else None
        indexed = self._search(site, entries, old, bundles, later, timings) \
            if config.search else None
        self._join_background()
        if not self.unsaved:
            self._drop_spill()  # every body is in the cache (or nothing needs one again)
        self.manifest = entries if self.store else None
        self.wrote_manifest = self.manifest is not None and not self.persist
        if self.store and self.persist:
            name = manifest_name(self.output)
            self.store.write_sharded(name, entries)
            self.store.write_sharded(POLICIES_PREFIX + name, self.policies or {})
            if not config.only_languages:  # sealed as written, for the next no-change check
                seal_outputs(self.store, name, entries, self.output)
        self._mark_writing(False)
        counts: dict[str, int] = {}
        for job in planned:
            counts[job.kind] = counts.get(job.kind, 0) + 1
        if unplanned:
            counts["card"] = counts.get("card", 0) + len(unplanned)
        warnings = (*search_problems, *loaded.problems, *link_problems,
                    *self._missing_translations(config, templates, catalogs),
                    *cards.problems(site), *(indexed.problems if indexed else ()))
        if self.log:
            self.log(" ".join(f"{name} {seconds * 1000:.0f} ms"
                              for name, seconds in timings.items()))
        articles = tuple((lang, len(site.articles.get(lang, ())))
                         for lang in config.language_codes)
        result = BuildResult(site, stats, counts, tuple(warnings),
                             frozenset(job.path for job in stale), timings, articles,
                             len(site.pages), indexed.indexes if indexed else
                             self._indexes_in(config, entries), len(planned))
        since, due = publication_window(loaded.pages, self.now)
        if snapshot is not None and self.store:
            self.store.write(SNAPSHOT_PREFIX + manifest_name(self.output),
                             Snapshot(snapshot, due, counts, warnings, articles,
                                      len(site.pages),
                                      search.describe(search.indexes_in(config, entries)),
                                      since=since))
            self.store.delete(STAMPS_PREFIX + manifest_name(self.output) + JOURNAL)
            self.store.write(STAMPS_PREFIX + manifest_name(self.output),
                             (self.settings, self.stamps.stored()))
            delta.mark_layout(self.store, snapshot)
        self.last = Remembered(config, templates, catalogs, site, counts, tuple(warnings),
                               articles, delta.frame_ids(site), (since, due))
        return result

    def _edited(self, config: SiteConfig, snapshot: str | None,
                touched: frozenset[str] | None, later: frozenset[str]) -> BuildResult | None:
        """A build of Markdown sources edited in place that keep the site's shape: only
        the outputs showing the edited pages are planned and rendered (``delta.py``).
        None when the full path is needed (then nothing was written)."""
        start = time.perf_counter()
        if self.pending is not None or self.pending_search is not None or \
                self.unplanned is not None or self._interrupted():
            return None
        templates = template_digests(theme_folders(config, "templates"), self.store)
        catalogs = catalog_digests(config)
        last = self.last
        layout = None
        if last is not None and ((last.config, last.templates, last.catalogs) !=
                                 (config, templates, catalogs) or
                                 not last.window[0] <= self.now.timestamp() < last.window[1]):
            last = None  # (a story fell due or expired since: the full path links it)
        if snapshot is not None:  # what changed since this folder's last build
            found = self._changed_sources(config)
            if found is None:
                return None
            stored, changed = found
            counts, warnings, articles = stored.counts, stored.warnings, stored.articles
            if last is None:
                assert self.store is not None
                layout = delta.read_layout(self.store, stored.inputs, config)
                if layout is None:
                    return None
                site = delta.site_from(config, layout, delta.ShardedPages(
                    self.store, layout.shards), self._stored_body)
            else:
                site = last.site
        else:  # a session told what its watcher saw
            parsed = self.parsed  # the last load's results: one per source of its scan
            if last is None or touched is None or self.scan is None or parsed is None or \
                    not all(path in parsed for path in touched):
                return None
            site, changed = last.site, sorted(touched)
            counts, warnings, articles = last.counts, last.warnings, last.articles
        if not changed:
            return None
        timings: dict[str, float] = {}
        try:
            with _phase("load", timings):
                edit = delta.edit_of(config, site, layout.frame_ids if layout else
                                     last.frame_ids if last else frozenset(), changed,
                                     self.parsed or {}, (problem.path for problem in warnings),
                                     now=self.now)
            if edit is None:
                return None
            with _phase("plan", timings):
                assets = theme_assets(config)
                jobs = [job for job in delta.affected(edit.site, assets, edit.pages)
                        if config.owns(job.path)]
                keys = output_keys(config, jobs, assets, templates, catalogs)
            manifest = self.manifest if self.manifest is not None else self._manifest_view()
            if manifest is None:
                return None
            stale, disturbed = _stale(jobs, keys, manifest, self.output, self.wrote_manifest,
                                      self.precompress)
            uncompressed = frozenset(job.path for job in jobs for copy in
                                     compress.siblings(job.path)
                                     if copy in manifest and manifest[copy][0] !=
                                     manifest.get(job.path, NOT_BUILT)[0])
            recorded = self._recorded_policies(jobs)
        except (delta.MissingRecord, DamagedShard):
            return None
        if disturbed:
            return None  # a file changed by hand: the full path looks at every file
        deferred = [job for job in stale if job.kind in later]
        stale = [job for job in stale if job.kind not in later]
        renderer = self._renderer(config, templates, catalogs)
        self._mark_writing(True)
        with _phase("render", timings):
            staged, policies = self._render(renderer, stale,
                                            self._meanwhile(None, renderer, stale), uncompressed)
            same = recorded is not None and all(recorded.get(path) == policy
                                                for path, policy in policies.items())
            whole = manifest if isinstance(manifest, dict) else _whole(manifest) \
                if config.search or not same else None  # None: damaged, or not needed
            if not same and whole is not None:  # scripts changed: /_headers from every page's
                staged += self._headers_file(config, [  # policy (and the site's own file)
                    Job(path, "page") for path, entry in whole.items()
                    if path.endswith(".html") or (path == headers.PATH and entry[0])], policies)
        with _phase("write", timings):
            paths = {job.path for job in jobs} | {item.path for item in staged}
            written = commit(staged, self.output, paths, paths, config.owns).written
            made = {item.path: (_key_of(keys, item.path), *item.stamp) for item in staged}
            entries = {**whole, **made} if whole is not None else None
            self.pending = (renderer, deferred, {job.path: keys[job.path] for job in deferred}) \
                if deferred else None
        indexed = None
        if entries is not None and config.search:
            indexed = self._search(edit.site, entries, manifest, None, later, timings,
                                   same_shape=True, changed=made)
        self._keep_edit(edit, layout, snapshot, entries, whole, made, not same,
                        (counts, warnings, articles))
        self._mark_writing(False)
        self.last = Remembered(config, templates, catalogs, edit.site, counts, warnings,
                               articles, last.frame_ids if last else layout.frame_ids
                               if layout else delta.frame_ids(edit.site),
                               last.window if last else (stored.since, stored.due))
        timings["edit"] = time.perf_counter() - start
        if self.log:
            self.log(" ".join(f"{name} {seconds * 1000:.0f} ms"
                              for name, seconds in timings.items()))
        owned = len(entries if entries is not None else manifest)
        return BuildResult(edit.site, WriteStats(written, owned - written, 0), dict(counts),
                           warnings, frozenset(job.path for job in stale), timings, articles,
                           len(edit.site.pages), indexed.indexes if indexed else
                           self._indexes_in(config, entries or {}, manifest, made), len(jobs))

    def _changed_sources(self, config: SiteConfig) -> tuple[Snapshot, list[str]] | None:
        """The last snapshot of this folder and the input files changed since (stamps
        taken by ``_snapshot``); None when a file came or went, or the settings changed."""
        assert self.store is not None
        name = manifest_name(self.output)
        last = self.store.read(SNAPSHOT_PREFIX + name)
        stored = self.store.read(STAMPS_PREFIX + name)
        since = self.store.read(STAMPS_PREFIX + name + JOURNAL)  # what edits stamped since
        since = since if type(since) is dict else {}
        if not _valid_snapshot(last) or not last.holds(self.now.timestamp()) or \
                not (type(stored) is tuple and len(stored) == 2 and
                     stored[0] == self.settings):
            return None
        changed = changed_stamps(stored[1], since, self.stamps)
        return (last, changed) if changed is not None else None

    def _manifest_view(self) -> Mapping[str, Entry] | None:
        """The stored manifest, read shard by shard as an edit looks outputs up."""
        if self.store is None or not self.persist or not self.output.is_dir():
            return None
        return self.store.sharded_view(manifest_name(self.output), _valid_manifest)

    def _recorded_policies(self, jobs: list[Job]) -> Mapping[str, str] | None:
        """The policies the last build recorded for these outputs' pages."""
        if self.policies is not None:
            return self.policies
        view = self.store.sharded_view(POLICIES_PREFIX + manifest_name(self.output),
                                       _valid_policies) if self.store else None
        return {job.path: view[job.path] for job in jobs if job.path in view} \
            if view is not None else None

    def _keep_edit(self, edit: delta.Edit, layout: delta.Layout | None, snapshot: str | None,
                   entries: dict[str, Entry] | None, whole: Mapping[str, Entry] | None,
                   made: dict[str, Entry],
                   policies_changed: bool, last: tuple[dict[str, int], tuple[Problem, ...],
                                                       tuple[tuple[str, int], ...]]) -> None:
        """Record an edit's build: in memory for a session, in the cache for the next
        process (the manifest's changed shards, the parse results, the edited records'
        shards, the snapshot)."""
        if self.parsed is not None:
            self.parsed = delta.Overlay(self.parsed, edit.parsed)  # not a copy of all
            self.unsaved = True
        self.manifest = entries if self.store else None
        self.wrote_manifest = self.manifest is not None and not self.persist
        if not (self.store and self.persist and snapshot is not None):
            return
        name = manifest_name(self.output)
        if entries is not None and whole is not None:  # what changed: made, and search's
            made = {path: entry for path, entry in entries.items() if whole.get(path) != entry}
            made.update(dict.fromkeys(whole.keys() - entries.keys()))  # None: removed
        before = self.store.sharded_identity(name)
        if not self.store.update_sharded(name, made):
            if entries is None:
                return  # a damaged manifest: no snapshot, the next build takes the full path
            self.store.write_sharded(name, entries)
        if not self.config.only_languages:
            reseal_outputs(self.store, name, before, made, self.output)
        if policies_changed and self.policies is not None:
            self.store.write_sharded(POLICIES_PREFIX + name, self.policies)
        if self.unsaved:
            self._save_parsed()
        elif self.index is not None and self.bodies is not None:
            self.index.amend(edit.parsed)
            self.bodies.add({page.digest: page.body_html for page in
                             (parsed.page for parsed in edit.parsed.values()) if page})
        if layout is not None:
            delta.update_shards(self.store, layout, edit.pages, edit.site.pages)
        stored = self.store.read(SNAPSHOT_PREFIX + name)
        if _valid_snapshot(stored):  # (an edit moves no date: the same window)
            self.store.write(SNAPSHOT_PREFIX + name, Snapshot(
                snapshot, stored.due, *last, stored.pages, stored.search if entries is None
                else search.describe(search.indexes_in(self.config, entries)),
                since=stored.since))
        since = self.store.read(STAMPS_PREFIX + name + JOURNAL)  # the full copy's, and
        self.store.write(STAMPS_PREFIX + name + JOURNAL, {  # those of every edit since
            **(since if type(since) is dict else {}),
            **{path: self.stamps.stamp(path) for path in edit.parsed}})
        if layout is not None:
            delta.mark_layout(self.store, snapshot)

    def _search(self, site: Site, entries: dict[str, Entry], old: Mapping[str, Entry],
                bundles: set[str] | None, later: frozenset[str],
                timings: dict[str, float], same_shape: bool = False,
                changed: Collection[str] | None = None) -> search.Indexed | None:
        """The search phase: Pagefind indexes the pages as written (``entries`` gains
        the files of each language's bundle; ``bundles``: those the last build left,
        None: look on disk). With "search" in ``later`` (a server, so that browsers
        reload first), ``finish`` runs it; until then the bundles on disk stay as they
        are. ``same_shape``: no page came, went or moved since the last build (an edit,
        ``delta.py``): its shards serve again, no page record is read, and only the
        shards of the pages in ``changed`` (the outputs it wrote) are looked at."""
        plan = self._search_plan() if same_shape else None
        some = plan is not None and changed is not None
        run = partial(self._run_search, partial(
            search.index, site, self.output, entries if some else dict(entries), old,
            self.config.root / CACHE_FOLDER, self.precompress, bundles, self.workers, plan,
            changed if some else None))
        if "search" in later:
            self.pending_search = run
            entries.update((path, old[path]) for path in bundles or () if path in old)
            return None
        self.pending_search = None
        with _phase("search", timings):
            indexed = run()
        gone = indexed.removed if not indexed.complete else \
            (bundles if bundles is not None else entries.keys()) - indexed.entries.keys()
        for path in [path for path in gone if path.startswith(indexed.folders)]:
            entries.pop(path, None)  # files of the shards made again (or gone)
        entries.update(indexed.entries)
        return indexed

    def _run_search(self, run: Callable[[], search.Indexed]) -> search.Indexed:
        """Run the search phase; keep its shards for the next edit's (and store them)."""
        indexed = run()
        if indexed.plan != self.search_plan:
            self.search_plan = indexed.plan
            if self.store and self.persist:
                self.store.write(SEARCH_PREFIX + manifest_name(self.output),
                                 search.plan_data(indexed.plan))
        return indexed

    def _indexes_in(self, config: SiteConfig, manifest: Mapping[str, Entry],
                    since: Mapping[str, Entry] | None = None,
                    added: Collection[str] = ()) -> tuple[search.SearchIndex, ...]:
        """``search.indexes_in``, remembered with its manifest: when ``manifest`` is the
        remembered one (``since``) with outputs ``added``, none a search bundle's file,
        the remembered indexes (an edit walks no manifest of 100,000 entries)."""
        known = self.indexes
        if known is not None and since is not None and known[1] is since and \
                known[0] == config and not search.in_bundles(config, added):
            found = known[2]
        else:
            found = search.indexes_in(config, manifest)
        self.indexes = (config, manifest, found)
        return found

    def _search_plan(self) -> dict[str, tuple[search.Shard, ...]] | None:
        """The last search phase's shards: kept by this session, else stored."""
        if self.search_plan is None and self.store is not None:
            self.search_plan = search.plan_from(
                self.store.read(SEARCH_PREFIX + manifest_name(self.output)))
        return self.search_plan

    def _headers_file(self, config: SiteConfig, planned: list[Job],
                      rendered: Mapping[str, str]) -> list[Staged]:
        """``/_headers`` (outputs/headers.py), from the policy of every page: as rendered
        now, else as recorded by the last build. None when the site publishes its own,
        or when this build does not own the site root (``--languages``)."""
        recorded = self.policies
        if recorded is None and self.store is not None:
            stored = self.store.read_sharded(POLICIES_PREFIX + manifest_name(self.output))
            valid = isinstance(stored, dict) and all(
                type(path) is str and type(policy) is str for path, policy in stored.items())
            recorded = stored if valid else None
        recorded = recorded or {}
        paths = {job.path for job in planned}
        pages = [path for path in paths if path.endswith(".html")]
        self.policies = {path: policy for path, policy in recorded.items()
                         if not config.owns(path)}  # other languages' pages, from their builds
        self.policies.update(headers.policies(pages, rendered, recorded, self.output))
        if headers.PATH in paths or not config.owns(headers.PATH):
            return []
        data = headers.headers_file(config, self.policies.values())
        return [stage(self.output, headers.PATH, data)]

    def _renderer(self, config: SiteConfig, templates: Mapping[str, str],
                  catalogs: Mapping[str, str]) -> Renderer:
        """The session's renderer (its compiled templates), new when the settings, a
        template or a catalog changed."""
        key = (config, tuple(templates.items()), tuple(catalogs.items()))
        if self.renderer is None or self.renderer[0] != key:
            compiled = self.store.folder / "templates" if self.store else None
            self.renderer = (key, Renderer(config, compiled=compiled, catalogs=catalogs))
        return self.renderer[1]

    def _compile_templates(self, config: SiteConfig, templates: Mapping[str, str],
                           catalogs: Mapping[str, str]) -> None:
        """Compile the theme for every language while the workers parse: render workers
        forked later inherit it instead of each compiling it again. The catalogs' gaps
        are found then too (a cold build extracted the theme's strings after writing)."""
        self._renderer(config, templates, catalogs)
        self.prepare()
        self._missing_translations(config, templates, catalogs)

    def prepare(self) -> None:
        """Compile every template for every language now (a server does this while it
        waits for the first save), so the next rebuild renders at once; make Markdown's
        converters (its extensions imported, their patterns compiled: ~60 ms), which a
        first build read from the cache never needed; and read the bodies the last
        build's feeds show, which an edit's feeds show again."""
        if self.renderer is None:
            return
        renderer = self.renderer[1]
        for code in self.config.language_codes:
            renderer.compile_all(code)
        sanitize.body_html("", self.config.markdown.html)
        i18n.load_locales(self.config.language_codes)
        if self.bodies is not None and self.last is not None:
            self.bodies.keep(delta.feed_bodies(self.last.site))

    def _render(self, renderer: Renderer, jobs: list[Job],
                meanwhile: Callable[[], None] | None,
                uncompressed: frozenset[str] = frozenset(),
                later: Later[Job] | None = None,
                fresh: bool = False) -> tuple[list[Staged], dict[str, str]]:
        """Render the jobs, staging changed bytes beside their targets with their
        compressed copies (``meanwhile`` is this process's work while workers render);
        on any problem, remove what was staged and stop. Also returns each rendered
        page's Content-Security-Policy, for ``/_headers``. ``fresh``: the output folder
        was empty (``write.stage``)."""
        existed = self.output.exists()
        try:
            with nullcontext() if self.store is not None else imaging.remaking():
                delivered, problems = render_all(
                    renderer, _costliest_first(jobs), self.workers,
                    partial(_stage, self.output, self.precompress, uncompressed, fresh),
                    self._progress("rendering"), meanwhile, later)
        except BaseException:  # an interrupt, or a failure outside any one job
            sweep(self.output)  # what was staged is not known here: no staging file stays
            raise
        staged = list(map(as_staged, chain.from_iterable(files for files, _policy in delivered)))
        policies = {files[0][0]: policy for files, policy in delivered if policy is not None}
        if problems:
            discard(staged, self.output)
            if not existed and self.output.is_dir() and not any(self.output.iterdir()):
                self.output.rmdir()
            raise_if_errors(problems)
        return staged, policies

    def _missing_translations(self, config: SiteConfig, templates: Mapping[str, str],
                              catalogs: Mapping[str, str]) -> tuple[Problem, ...]:
        """The catalogs' gaps, found again only when a template or catalog changed (kept
        in the cache too: extracting the theme's strings costs a new process 60 ms)."""
        key = digest(config.language_codes, locale_layers(config), tuple(templates.items()),
                     tuple(catalogs.items()))
        if self.translation_gaps[0] != key and self.store is not None:
            stored = self.store.read(GAPS_ENTRY)
            if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key and \
                    isinstance(stored[1], tuple) and all(map(_is_problem, stored[1])):
                self.translation_gaps = stored
        if self.translation_gaps[0] != key:
            self.translation_gaps = (key, tuple(i18n.missing_translations(config)))
            if self.store is not None and self.persist:
                self.store.write(GAPS_ENTRY, self.translation_gaps)
        return self.translation_gaps[1]

    def _snapshot(self, config: SiteConfig) -> str:
        """A digest of every input's stamp and the settings: equal means nothing changed.
        (The stamps are kept for the load phase, which then stats no file again.)"""
        taken, self.taken = self.taken or take(config), None
        self.stamps = taken.stamps
        self.settings = taken.settings(config)
        return taken.inputs(config)

    def _unchanged_result(self, config: SiteConfig, snapshot: str) -> BuildResult | None:
        assert self.store is not None
        last = self.store.read(SNAPSHOT_PREFIX + manifest_name(self.output))
        if not _valid_snapshot(last) or last.inputs != snapshot \
                or not last.holds(self.now.timestamp()) or self._interrupted():
            return None
        manifest = self._previous_manifest()
        if manifest is None:
            return None
        owned = [(path, entry) for path, entry in manifest.items() if config.owns(path)]
        prefix = os.path.join(self.output, "")
        if not all(_intact(prefix + path, entry) for path, entry in owned):
            return None  # output files changed or removed: the full path repairs them
        return BuildResult(None, WriteStats(0, len(owned), 0), dict(last.counts),
                           last.warnings, frozenset(), {}, last.articles, last.pages,
                           search.indexes_in(config, manifest))

    def _progress(self, phase: str) -> Callable[[int, int], None] | None:
        report = self.progress
        return (lambda done, total: report(phase, done, total)) if report else None

    def _meanwhile(self, save: Callable[[], None] | None, renderer: Renderer,
                   jobs: list[Job], complete: bool = True) -> Callable[[], None] | None:
        """This process's work while the workers render: save the parse cache, and tell
        ``rendering`` what is being rendered (``complete``: all of it, none planned
        behind)."""
        tell = self.rendering
        if tell is None:
            return save

        def both() -> None:
            tell(renderer, jobs, complete)
            if save is not None:
                save()

        return both

    def _behind(self, site: Site, assets: Mapping[str, str], behind: frozenset[str],
                digests: tuple[Mapping[str, str], Mapping[str, str]],
                manifest: Mapping[str, Entry] | None,
                first: tuple[list[Job], Mapping[str, tuple[str, Page | None]], list[Job]],
                renderer: Renderer, found: list[Behind], later_cards: bool) -> Later[Job]:
        """The outputs of the kinds in ``behind``, planned while the workers render the
        rest (``first``: what was planned, found unplanned, and is rendered), checked
        against them as ``_plan`` checks a whole plan; ``found`` gets the jobs, their
        keys, those to render, whether one's file was disturbed, and (``later_cards``)
        the share cards, found then and left for ``finish``."""
        config = self.config
        planned, unplanned, stale = first

        def find() -> list[Job]:  # in a worker too: from the site it was forked with
            return [job for job in _plan_kinds(site, assets, behind) if config.owns(job.path)]

        def choose(jobs: Sequence[Job]) -> list[tuple[int, str]]:
            cards_found = {path: where for path, where in _card_paths(site).items()
                           if config.owns(path)} if later_cards else {}
            _check_owners(site, [*planned, *jobs], {**unplanned, **cards_found})
            keys = output_keys(config, list(jobs), assets, *digests)
            more, disturbed = _stale(list(jobs), keys, manifest, self.output,
                                     self.wrote_manifest, self.precompress)
            found.append((list(jobs), keys, more, disturbed, cards_found))
            if cards_found:  # (before a request waiting for the plan looks for one)
                self.unplanned = Unplanned(site, assets, renderer, config, *digests,
                                           cards_found)
            if self.rendering is not None:
                self.rendering(renderer, [*stale, *more], True)
            self.pages_behind = None  # (the rendering build's jobs have them now)
            chosen = {id(job) for job in more}
            return [(index, job.path) for index, job in enumerate(jobs) if id(job) in chosen]

        return Later(find, choose, _path_of, expected=len(site.pages),  # ~ an output each
                     niceness=self.niceness)

    def resume(self) -> None:
        """Start from the manifest ``keep`` left for this output folder (a server's own
        folder, between runs), so only what changed since is rendered; and take it out
        of the cache, since this session's builds change the folder without writing it
        there (a session that dies without ``keep`` leaves none to trust)."""
        if self.store is None or not self.output.is_dir():
            return
        name = manifest_name(self.output)
        stored = self.store.read_sharded(name)
        self.store.delete(name)
        if _valid_manifest(stored) and not self._interrupted():
            self.manifest = stored

    def keep(self) -> None:
        """Store the manifest and the pages' policies of the last build for ``resume``
        (a session with ``persist=False`` writes neither after each build)."""
        if self.store is None or self.manifest is None:
            return  # (outputs left for ``finish`` are recorded as the folder still has them)
        with self._locked():
            self.store.write_sharded(manifest_name(self.output), self.manifest)
            if self.policies is not None:
                self.store.write_sharded(POLICIES_PREFIX + manifest_name(self.output),
                                         self.policies)

    def close(self) -> None:
        """Save what only memory holds, for the next process's first build."""
        if self.unsaved:
            with self._locked():
                self._save_parsed()
        self._drop_spill()

    def _previous_parsed(self) -> Mapping[str, Parsed]:
        if self.parsed is None and self.index is not None:
            self.parsed = {name: parsed for name, parsed in self.index.read().items()
                           if type(name) is str and reusable(parsed)}  # else: parsed again
            self.stored = {p.page.digest for p in self.parsed.values() if p.page is not None}
        return self.parsed or {}

    def _stored_body(self, page: Page) -> str:
        """The body of a page record restored from the cache index (or, if the cache
        lost it, made again from the source)."""
        body = self.spill.body(page.digest) if self.spill is not None else None
        if body is None and self.bodies is not None:
            body = self.bodies.body(page.digest)
        return body if body is not None else source_body(self.config, page)

    def _spill(self) -> Spill:
        """Where this session's parse workers keep the bodies they make."""
        if self.spill is None:
            self.spill = Spill.beside(self.store.folder if self.store else None)
        return self.spill

    def _drop_spill(self) -> None:
        if self.spill is not None:
            self.spill.discard()
            self.spill = None

    def _save_bodies(self, new: dict[str, str], live: set[str], gone: set[str]) -> None:
        """``BodyStore.save`` a shard at a time, spilled bodies read back for their shard
        only (as bytes, stored so): a cold build's 100,000 bodies are never in memory
        at once."""
        assert self.store is not None
        shards: dict[str, tuple[dict[str, Body], set[str]]] = {}
        for key, body in new.items():
            shards.setdefault(body_shard(key), ({}, set()))[0][key] = body
        for key in gone:
            shards.setdefault(body_shard(key), ({}, set()))[1].add(key)
        while shards:
            _name, (bodies, dropped) = shards.popitem()
            if self.spill is not None:
                for key, body in bodies.items():
                    bodies[key] = body or self.spill.raw(key) or ""
            BodyStore(self.store).save(bodies, live, dropped)  # keeps no shard after

    def _previous_manifest(self) -> Mapping[str, Entry] | None:
        if not self.store or not self.output.is_dir():
            return None
        if self.manifest is None and self.persist:
            stored = self.store.read_sharded(manifest_name(self.output))
            self.manifest = stored if _valid_manifest(stored) else None
        return self.manifest

    def _writing_marker(self) -> Path:
        return self.config.root / CACHE_FOLDER / (WRITING_PREFIX + manifest_name(self.output))

    def _mark_writing(self, writing: bool) -> None:
        """A file beside the cache's lock while this build renders and writes: if the
        process dies meanwhile, the next build knows the manifest missed what it wrote
        (staging files, files made but not recorded) and looks through the folder."""
        marker = self._writing_marker()
        try:
            if writing:
                marker.touch()
            else:
                marker.unlink(missing_ok=True)
        except OSError:
            pass

    def _interrupted(self) -> bool:
        return self._writing_marker().exists()

    def _in_background(self, save: Callable[[], R],
                       then: Callable[[R], None] | None = None) -> bool:
        """Start ``save`` in a background process (``Background``), whose result
        ``then`` takes once ``_join_background`` waits for it; False where none can be
        forked (a server's session has threads: it saves as it renders)."""
        started = Background.start(save)
        if started is None:
            return False
        self.background.append(partial(_took, started, then))
        return True

    def _join_background(self, quiet: bool = False) -> None:
        """Wait for the background saves, taking their outcomes; the first one's error
        raised once all ended (unless ``quiet``: the build already failed)."""
        waiting, self.background = self.background, []
        failure: Exception | None = None
        for outcome in waiting:
            try:
                outcome()
            except Exception as error:  # (every process is waited for first)
                failure = failure or error
        if failure is not None and not quiet:
            raise failure

    def _save_parsed_state(self) -> tuple[dict[str, Any], bool, set[str]]:
        """``_save_parsed`` in a background process: what this session keeps of the
        save (the index's journal and whether it is complete, the stored bodies)."""
        self._save_parsed()
        assert self.index is not None
        return self.index.journal, self.index.complete, self.stored

    def _took_parse_state(self, parsed: Mapping[str, Parsed],
                          state: tuple[dict[str, Any], bool, set[str]]) -> None:
        """This session as ``_save_parsed`` leaves it, from the background save of
        ``parsed``."""
        assert self.index is not None
        self.index.journal, self.index.complete, stored = state
        self.index.saved = dict(parsed)
        self._parse_saved(stored)

    def _save_parsed(self) -> None:
        """Write the index of page records, and the bodies of pages parsed since the
        last save into their shards."""
        assert self.index is not None and self.bodies is not None and self.parsed is not None
        pages = [parsed.page for parsed in self.parsed.values() if parsed.page is not None]
        live = {page.digest for page in pages}
        bodiless = {parsed.page.digest for parsed in self.parsed.values() if parsed.page
                    and parsed.digest.endswith(FRONT_MATTER_ONLY)} - self.stored
        new = {page.digest: page.body_html for page in pages
               if page.digest not in self.stored and page.digest not in bodiless}
        self._save_bodies(new, live, self.stored - live)
        parts = self.index_parts
        self.index.write(self.parsed, parts[1] if parts and parts[0] is self.parsed else None)
        self._parse_saved(live - bodiless)

    def _parse_saved(self, stored: set[str]) -> None:
        """This session once the parse cache is saved (here or in a background process):
        nothing left unsaved, the bodies ``stored`` in their shards, which are read
        afresh (those read before are stale), no index parts kept to store."""
        assert self.store is not None
        self.stored = stored
        self.unsaved, self.index_parts = False, None
        self.bodies = BodyStore(self.store)


def _made_by(job: Job) -> str:
    """What a job is, as a collision message names it."""
    return "the search page" if job.template == "search.html" else job.kind


def plan(site: Site) -> tuple[list[Job], Mapping[str, str]]:
    """Every output file of the site, and the theme's asset URLs; two jobs claiming one
    path stop the build."""
    jobs, assets, _unplanned = _plan(site, False)
    return jobs, assets


def _plan(site: Site, later_cards: bool, behind: frozenset[str] = frozenset()) -> tuple[
        list[Job], Mapping[str, str], dict[str, tuple[str, Page | None]]]:
    """``plan``; with ``later_cards``, the share cards are not planned, only found
    (``cards.paths``: where each is, checked like the outputs planned); the kinds in
    ``behind`` are not planned (``BuildSession._behind`` plans and checks them, and
    finds the cards then)."""
    assets = theme_assets(site.config)
    unplanned = _card_paths(site) if later_cards and not behind else {}
    jobs = [job for kind in KINDS if not (later_cards and kind is cards)
            and PLANNED_BEHIND.get(kind) not in behind for job in kind.plan(site, assets)]
    _check_owners(site, jobs, unplanned)
    return jobs, assets, unplanned


def _card_paths(site: Site) -> dict[str, tuple[str, Page | None]]:
    """Where each share card is: path → language, article (None: a home's card)."""
    return {path: (lang, page) for path, lang, page in cards.paths(site)}


def _plan_kinds(site: Site, assets: Mapping[str, str], kinds: frozenset[str]) -> list[Job]:
    """The outputs of these kinds of ``PLANNED_BEHIND``, in ``plan``'s order."""
    return [job for kind in KINDS if PLANNED_BEHIND.get(kind) in kinds
            for job in kind.plan(site, assets)]


def _check_owners(site: Site, jobs: Sequence[Job],
                  unplanned: Mapping[str, tuple[str, Page | None]]) -> None:
    """Stop the build when two outputs claim one path, or one cannot be written.
    (An unplanned card is claimed by one job per language, with no path: a card's job
    names no source, and 100,000 of them cost 0.1 s to make.)"""
    languages = {lang: Job("", "card", lang) for lang in site.config.language_codes} \
        if unplanned else {}
    cards = ((path, languages[lang]) for path, (lang, _page) in unplanned.items())
    owners = {job.path: job for job in jobs}  # (a comprehension: no path claimed twice, mostly)
    problems: list[Problem] = []
    if len(owners) == len(jobs) and owners.keys().isdisjoint(unplanned):
        owners.update(cards)
    else:
        owners = {}
        for path, job in chain(((job.path, job) for job in jobs), cards):
            other = owners.setdefault(path, job)
            if other is not job:
                source = _job_source(site, job) or _job_source(site, other)
                line = 1 if source is not None and source.suffix == ".md" else None
                problems.append(error(source, line,
                                      f"output {path} is produced twice ({_made_by(other)} "
                                      f"and {_made_by(job)}); rename the page, section or "
                                      "tag"))
    problems += _unwritable(site, owners)
    raise_if_errors(problems)
    check_paths(owners)


def _path_of(job: Job) -> str:
    return job.path


NAME_BYTES = 255 - len(".") - len(".newshub-tmp") - len(".br")  # a staging copy of a .br


def _unwritable(site: Site, owners: Mapping[str, Job]) -> list[Problem]:
    """Outputs no file system can hold: a name too long (with its staging or compressed
    copy's suffix), or a path inside another output's file (a page whose address is
    /en/news/index.html/). Found here, they are errors naming the source, not a
    'cannot write' after rendering."""
    folders: set[str] = set()
    for folder in {path.rpartition("/")[0] for path in owners}:
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    problems = []
    for path in sorted(owners.keys() & folders):  # a file other outputs need as a folder
        within = sorted(other for other in owners if other.startswith(path + "/"))
        named = [(other, _job_source(site, owners[other])) for other in within]
        inside, source = next(((o, s) for o, s in named if s is not None), named[0])
        source = source or _job_source(site, owners[path])
        problems.append(error(source, _first_line(source),
                              f"output {_shown_path(inside)} would be inside {path}, which is "
                              f"a file of the site ({owners[path].kind}): rename the page or "
                              "file"))
    if not any(filter(NAME_BYTES.__lt__, map(len, map(str.encode, owners)))):
        return problems  # no name in any can be too long (looked at in C)
    for path, job in owners.items():
        if len(path.encode()) <= NAME_BYTES:
            continue  # no name in it can be too long
        longest = max(len(part.encode()) for part in path.split("/"))
        if longest > NAME_BYTES:
            source = _job_source(site, job)
            problems.append(error(source, _first_line(source),
                                  f"output {_shown_path(path)} has a name of {longest} bytes "
                                  f"(more than {NAME_BYTES}, which file systems refuse): "
                                  "shorten the file name, slug, tag or address"))
    return problems


def _first_line(source: Path | None) -> int | None:
    return 1 if source is not None and source.suffix == ".md" else None


def _shown_path(path: str) -> str:
    return path if len(path) <= 100 else path[:60] + "…" + path[-30:]


_POLICIES: dict[str, str] = {}


def _stage(output: Path, precompress: bool, uncompressed: frozenset[str], fresh: bool,
           job: Job, data: bytes) -> tuple[tuple[tuple[object, ...], ...], str | None]:
    """Stage an output and its compressed copies (in the render worker: compressing is
    parallel too); with the page's policy when it is HTML (None otherwise). ``fresh``:
    the output folder was empty when the build began (the copies' folder is then made).
    Each ``Staged`` goes back as a plain tuple (``write.as_staged`` makes it one again)."""
    staged = stage(output, job.path, data, fresh)
    copies = compress.encoded(job.path, data) \
        if precompress and job.path not in uncompressed else ()
    policy = headers.policy_of(data) if job.path.endswith(".html") else None
    if policy is not None:  # most pages have one of a few: one string each, not a copy a page
        policy = _POLICIES.setdefault(policy, policy) if len(_POLICIES) < 1000 else policy
    files = (staged, *(stage(output, path, packed) for path, packed in copies)) if copies \
        else (staged,)
    return tuple(map(tuple, files)), policy


def output_keys(config: SiteConfig, jobs: list[Job], assets: Mapping[str, str],
                templates: Mapping[str, str], catalogs: Mapping[str, str]) -> dict[str, str]:
    """Each output's full key: its job's key followed by a digest of the site salt, its
    template closure and its language's catalog, made once per template and language
    ("" for outputs that are always rendered)."""
    salt = site_salt(config, assets)
    settings: dict[tuple[str, str | None], str] = {}
    keys = {}
    for job in jobs:
        if not job.key:
            keys[job.path] = ""
            continue
        shared = settings.get((job.template, job.lang))
        if shared is None:
            shared = settings[(job.template, job.lang)] = digest(
                salt, templates.get(job.template, ""), catalogs.get(job.lang or "", ""))
        keys[job.path] = job.key + shared
    return keys


def _stale(jobs: list[Job], keys: Mapping[str, str], manifest: Mapping[str, Entry] | None,
           output: Path, trusted: bool, precompress: bool = False) -> tuple[list[Job], bool]:
    """The jobs to render: their key differs from the manifest's, or their file is not
    as the last build left it (changed or removed by hand or by another build; one stat
    each). And whether any file was so disturbed. ``trusted``: this session wrote the
    manifest into a folder of its own, as ``newshub serve`` does: no file is looked at.
    With ``precompress``, the same holds for an output's compressed copies, and one
    that should have them but has none (the last build made none) is rendered again."""
    if manifest is None:
        return list(jobs), False
    stale = []
    disturbed = False
    prefix = os.path.join(output, "")
    for job in jobs:
        key = keys[job.path]
        entry = manifest.get(job.path)
        if not key or entry is None or entry[0] != key:
            stale.append(job)
        elif not trusted and not _intact(prefix + job.path, entry):
            stale.append(job)
            disturbed = True
        elif precompress and entry[1] > compress.MIN_BYTES and compress.compressible(job.path):
            copies = [(path, manifest.get(path)) for path in compress.siblings(job.path)]
            if any(copy is None for _path, copy in copies):
                stale.append(job)
            elif not trusted and not all(_intact(prefix + path, copy)
                                         for path, copy in copies if copy is not None):
                stale.append(job)
                disturbed = True
    return stale, disturbed


def _uncompressed(jobs: list[Job]) -> frozenset[str]:
    """Outputs not to compress: the site publishes files at their copies' paths itself
    (``x.html.gz`` beside ``x.html`` in static/)."""
    paths = {job.path for job in jobs}
    return frozenset(source for path in paths
                     if (source := compress.original(path)) is not None and source in paths)


def _kept_copies(jobs: list[Job], rendered: list[Job], old: Mapping[str, Entry],
                 uncompressed: frozenset[str]) -> dict[str, Entry]:
    """The compressed copies of outputs not rendered again, as the last build recorded
    them (``_stale`` checked they are intact)."""
    again = {job.path for job in rendered}
    return {path: old[path] for job in jobs if job.path not in again
            and job.path not in uncompressed
            for path in compress.siblings(job.path) if path in old}


def _key_of(keys: Mapping[str, str], path: str) -> str:
    """An output's key; a compressed copy's is its original's, and ``/_headers`` (made
    from every page after rendering) has none."""
    if path in keys:
        return keys[path]
    source = compress.original(path)
    return keys.get(source, "") if source is not None else ""


def _intact(file: str, entry: Entry) -> bool:
    """The output file has the size and mtime the build that wrote it recorded."""
    try:
        status = os.stat(file)
    except OSError:
        return False
    return status.st_size == entry[1] and status.st_mtime_ns == entry[2]


_valid_manifest = valid_manifest


def _whole(manifest: Mapping[str, Entry]) -> dict[str, Entry] | None:
    """Every entry of a manifest (None when a shard of it is damaged)."""
    try:
        return manifest.whole() if isinstance(manifest, ShardedView) else dict(manifest)
    except DamagedShard:
        return None


def _valid_policies(value: dict[str, object]) -> bool:
    return all(type(path) is str and type(policy) is str for path, policy in value.items())


_valid_snapshot = valid_snapshot


def _is_problem(value: object) -> bool:
    return well_typed(value, Problem)


def _save_layout(store: Store, loaded: int, site: Site) -> None:
    """``delta.save_layout``: hidden when the link left out one of the ``loaded`` pages."""
    delta.save_layout(store, site, hidden=len(site.pages) != loaded)


def _took(started: Background[R], then: Callable[[R], None] | None) -> None:
    """A background process's result, handed to ``then``."""
    result = started.wait()
    if then is not None:
        then(result)


def _then(first: Callable[[], None] | None, then: Callable[[], None]) -> Callable[[], None]:
    """``first`` (if any), then ``then``."""
    if first is None:
        return then

    def both() -> None:
        first()
        then()

    return both


def _costliest_first(jobs: list[Job]) -> list[Job]:
    rank = {kind: index for index, kind in enumerate(COSTLIEST_FIRST)}
    return sorted(jobs, key=lambda job: rank.get(job.kind, len(rank)))


def _changed(previous: Mapping[str, Parsed], current: Mapping[str, Parsed]) -> bool:
    return previous.keys() != current.keys() or any(
        previous[name] is not parsed for name, parsed in current.items())


def _empty(folder: Path) -> bool:
    if not folder.is_dir():
        return True
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def _job_source(site: Site, job: Job) -> Path | None:
    """The file an output comes from, as messages name it: the file it copies, the page
    it renders or redirects to (an alias), the bundle or content file it publishes."""
    root = site.config.root
    if job.source is not None:
        return job.source.relative_to(root) if job.source.is_relative_to(root) else job.source
    for page in site.pages.values():
        if page.output_path == job.path or (job.kind == "alias" and
                                            job.path in aliases.output_paths(page)):
            return page.source
        for resource in page.resources:
            if page.path.lstrip("/") + resource.name == job.path:
                return resource.relative_to(root) if resource.is_relative_to(root) \
                    else page.source
    for asset in site.assets:
        if asset.path.lstrip("/") == job.path and asset.source.is_relative_to(root):
            return asset.source.relative_to(root)
    return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during a build: it allocates hundreds of thousands
    of long-lived records, and the collector would walk them all again and again
    (immutable records make few cycles; they are collected after the build)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start

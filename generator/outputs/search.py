"""Full-text search: a search page per language (this output kind), and the *search*
phase after write, in which Pagefind indexes each language's articles and pages.

Pagefind (https://pagefind.app) is a tool of its own: a binary that reads built HTML
and writes a static index cut into small files, which its script fetches as a reader
types, so one search costs tens of kilobytes even on a site of thousands of articles.
PyPI's ``pagefind[extended]`` ships it; its extended build segments Chinese and
Japanese into words. Without it the build warns once and makes no search page, link
or index (a site's own environment may lack it; nothing breaks).

An index per language, beside its search page (``/fr/search/pagefind/``), rather
than one for the site: a reader downloads only their language's index (Pagefind picks
by ``<html lang>`` anyway) and the folders of a ``--languages`` CI matrix merge into
the full site. Pagefind is given exactly the pages to index (hard links in a scratch
folder at their output paths): a language at the site root never mixes with the other
languages' folders. Only what a browser needs is published (the script, its worker, the
WebAssembly for the language, the index); Pagefind's own interface files are left out:
the theme's search page has its own, translated through the theme's catalogs.

Pagefind cannot update an index in place, so a language's index is cut into *shards*,
each a Pagefind bundle of its own, and an edit re-indexes only the shard of the pages it
changed. The search page's script merges them in the browser (Pagefind's
``mergeIndex``), so one search box searches them all and results are ranked together.
Where a shard ends depends only on the pages next to that end (a page whose path's
checksum is a multiple of the shard size ends one, within bounds), so adding or
removing a page moves no other shard's pages. The newest year's pages (and undated
ones) go in small shards: they are the ones edited, and an edit re-indexes about
``RECENT_PAGES`` pages; earlier years in larger ones: each shard costs a search a
request per word, so fewer of them cost readers less. When a new year begins, the one
before is cut again into the larger shards (once a year). The first shard holds
Pagefind's script, worker and WebAssembly; ``shards.json`` beside it names the others.
Pagefind scores a page by how rare the words found are in its own bundle (BM25's
IDF), so the scores of two shards compare as one index's would where a word is about
as common in both; a word far more common in one period weighs less in its shards.
Pagefind's script gives no way to rescore across bundles (each result's bundle and
word counts are not exposed), so this is where sharding costs some ranking.

A shard is up to date while its key (the Pagefind version, its folder and the size and
mtime of each page it indexes, as the write phase recorded them) is the one its files
were made under and its folders are as that build left them (their mtimes, and the
stamps of the files at its top: a removed or added file changes its folder's mtime), a
few stats per shard whatever its size. Pagefind's output is deterministic (the same
pages give the same bytes), so an incremental build still equals a clean one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path

from babel.plural import PluralRule
from markupsafe import Markup

from generator import compress, i18n
from generator.config import SiteConfig
from generator.deps import digest
from generator.errors import Problem, warning
from generator.model import Page, Site
from generator.render import Job
from generator.views import base_context, search_path, url
from generator.write import commit, stage

BUNDLE_FOLDER = "pagefind/"  # a language's index, in its search page's folder
INDEX_VERSION = 2  # bump when the same pages should give a different bundle
ENTRY = "pagefind-entry.json"  # a bundle's entry: the file its up-to-date mark is kept on
SHARDS_FILE = "shards.json"  # in the first shard's folder: the others, for the script
SHARD_PREFIX = "shard-"  # a shard's folder beside the first's files: shard-<digest>/
RECENT_PAGES = 256  # the average shard of the newest year's pages: what an edit indexes
ARCHIVE_PAGES = 1024  # of earlier years' pages: fewer requests per search word
RUNTIME = frozenset({"pagefind.js", "pagefind-worker.js"})
DATA_FOLDERS = ("index/", "fragment/", "filter/")
DATA_SUFFIXES = (".pf_meta",)
INDEXED_KINDS = frozenset({"article", "page"})
# The search page runs files, not inline scripts: its own, Pagefind's and Pagefind's worker,
# all from this site; Pagefind compiles WebAssembly, which needs 'wasm-unsafe-eval' where it
# runs in the page itself (in its worker, the page's policy does not apply).
SCRIPT_SOURCES = "'self' 'wasm-unsafe-eval'"
PLURAL_SAMPLES = range(0, 1001)  # counts tried to find a form for each plural category
INSTALL_HINT = "pip install 'pagefind[extended]'"
Entry = tuple[str, int, int]  # as the build's manifest: key, size, mtime_ns


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """One language's search index after a build: the bytes of its index (what grows
    with the site) and of Pagefind's script, worker and WebAssembly (the same for any
    site), its number of shards, and how many of them (and of their pages) this build
    indexed (none: the last build's, still up to date)."""

    lang: str
    index_bytes: int
    runtime_bytes: int
    shards: int = 1
    shards_indexed: int = 0
    pages_indexed: int = 0

    @property
    def indexed(self) -> bool:
        return self.shards_indexed > 0

    @classmethod
    def of(cls, lang: str, sizes: Mapping[str, int], shards_indexed: int = 0,
           pages_indexed: int = 0) -> SearchIndex:
        """From the sizes of its files (paths ending in their names in the bundle)."""
        sizes = {path: size for path, size in sizes.items() if compress.original(path) is None}
        runtime = sum(size for path, size in sizes.items() if _is_runtime(path))
        shards = sum(1 for path in sizes if path.endswith("/" + ENTRY))
        return cls(lang, sum(sizes.values()) - runtime, runtime, shards, shards_indexed,
                   pages_indexed)


@dataclass(frozen=True, slots=True)
class Indexed:
    """What the search phase did: the manifest entries of every bundle file it keeps,
    each language's bundle, and what went wrong (as warnings: the pages are written);
    and each language's shards (``plan``), which a build that leaves every page where
    it was (``generator.delta``) hands to the next instead of reading every page."""

    entries: dict[str, Entry]
    indexes: tuple[SearchIndex, ...]
    problems: tuple[Problem, ...]
    folders: tuple[str, ...]  # the bundle folders it looked after
    plan: dict[str, tuple[Shard, ...]] = field(default_factory=dict)
    # False: ``entries`` holds only the shards it looked at (an edit's: ``changed``), and
    # ``removed`` the files they no longer have; the other entries stay as they were.
    complete: bool = True
    removed: frozenset[str] = frozenset()


# Settings --------------------------------------------------------------------------------

def executable() -> Path | None:
    """The Pagefind binary: ``$PAGEFIND_BINARY_PATH`` (Pagefind's own variable), the
    extended build from PyPI, the plain one, or one on PATH; None when there is none."""
    named = os.environ.get("PAGEFIND_BINARY_PATH")
    if named is not None:
        return Path(named) if os.access(named, os.X_OK) and os.path.isfile(named) else None
    for module in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            found = Path(__import__(module).get_executable())
        except (ImportError, FileNotFoundError, AttributeError):
            continue
        if os.access(found, os.X_OK):
            return found
    on_path = shutil.which("pagefind_extended") or shutil.which("pagefind")
    return Path(on_path) if on_path else None


def effective(config: SiteConfig) -> tuple[SiteConfig, tuple[Problem, ...]]:
    """The settings a build runs with: search stays on only where Pagefind is installed
    (else one warning, and the pages neither link to search nor have a search page)."""
    if not config.search or executable() is not None:
        return config, ()
    return replace(config, search=False), (warning(
        None, None, f"search skipped: Pagefind is not installed ({INSTALL_HINT}); the "
                    "pages are built without a search page"),)


def bundle_folder(config: SiteConfig, lang: str) -> str:
    """A language's bundle folder, relative to the output folder: ``fr/search/pagefind/``."""
    return f"{search_path(config, lang)}{BUNDLE_FOLDER}".lstrip("/")


# The search page -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SearchView:
    """What the search page's script needs: where the bundle is, the site's base path
    (result URLs are relative to it), the language's digits, and for each plural
    category of the language a count for which the catalog's form is shown."""

    bundle: str
    base: str
    digits: str
    plurals: tuple[tuple[str, int], ...]


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    config = site.config
    if not config.search:
        return
    for lang in config.language_codes:
        yield Job(search_path(config, lang).lstrip("/") + "index.html", "page", lang,
                  "search.html", partial(_context, site, assets, lang),
                  key=digest("search", site.frames[lang]))


def _context(site: Site, assets: Mapping[str, str], lang: str) -> dict:
    config = site.config
    versions = {code: search_path(config, code) for code in config.language_codes}
    context = base_context(site, assets, lang, title="", description="",
                           site_path=versions[lang], versions=versions)
    context["noindex"] = True  # a search page has nothing for a search engine
    context["script_sources"] = Markup(SCRIPT_SOURCES)  # keywords in quotes, as written
    digits = i18n.digits_of(lang, config.language(lang).digits)
    context["search"] = SearchView(
        bundle=url(config, "/" + bundle_folder(config, lang)),
        base=config.path_prefix + "/",
        digits="0123456789".translate(digits),
        plurals=plural_samples(lang))
    return context


@lru_cache(maxsize=64)
def plural_samples(lang: str) -> tuple[tuple[str, int], ...]:
    """A count for each CLDR plural category of the language (``one`` 1, ``few`` 3…):
    the page renders the catalog's form for each, and the script picks one with
    ``Intl.PluralRules``, which names the same categories."""
    rule: PluralRule = i18n.locale_of(lang).plural_form
    found: dict[str, int] = {}
    for count in PLURAL_SAMPLES:
        found.setdefault(rule(count), count)
    return tuple(sorted(found.items()))


# The search phase ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Shard:
    """A part of a language's index: a Pagefind bundle of its own in ``folder`` (a path
    in the output folder) of ``pages`` (output paths). The language's first shard sits
    in the bundle folder itself and holds Pagefind's script, worker and WebAssembly."""

    folder: str
    pages: tuple[str, ...]
    first: bool


def searchable_pages(site: Site) -> dict[str, list[Page]]:
    """Each language's pages that search finds: its articles and pages, except those
    kept out of search engines (``noindex``)."""
    found: dict[str, list[Page]] = defaultdict(list)
    for page in site.pages.values():
        if _searchable(page):
            found[page.lang].append(page)
    return found


def _searchable(page: Page) -> bool:
    return page.kind in INDEXED_KINDS and page.render and not page.noindex


def shards(folder: str, pages: list[Page]) -> list[Shard]:
    """A language's pages (in ``folder``, its bundle folder) cut into shards, oldest
    first: the years before the newest dated page's in shards of about
    ``ARCHIVE_PAGES``, the newest year and the undated pages in shards of about
    ``RECENT_PAGES``."""
    dated = sorted((page for page in pages if page.date is not None),
                   key=lambda page: (page.date.timestamp(), page.output_path))
    newest = dated[-1].date.year if dated else 0
    archive = [page.output_path for page in dated if page.date.year < newest]
    recent = [page.output_path for page in dated if page.date.year >= newest]
    recent += sorted(page.output_path for page in pages if page.date is None)
    runs = [*_runs(archive, ARCHIVE_PAGES), *_runs(recent, RECENT_PAGES)]
    return [Shard(folder if number == 0 else f"{folder}{SHARD_PREFIX}{digest(run[0])[:10]}/",
                  tuple(run), number == 0) for number, run in enumerate(runs)]


def _runs(paths: list[str], average: int) -> Iterator[list[str]]:
    """``paths`` cut after each path whose checksum is a multiple of ``average``, once a
    run has a quarter of that, and at twice that whatever the checksums: where a run
    ends depends on the paths before it back to the last such path, never on how many
    came before, so an added or removed page changes its own run (now and then the one
    after too), not every run after it."""
    run: list[str] = []
    least, most = max(1, average // 4), 2 * average
    for path in paths:
        run.append(path)
        if len(run) >= most or (len(run) >= least and _spread(path) % average == 0):
            yield run
            run = []
    if run:
        yield run


def _spread(path: str) -> int:
    """A checksum of the path with its bits spread (CRC-32's low bits follow the last
    characters, which sibling paths share), quicker than a cryptographic digest."""
    return ((zlib.crc32(path.encode("utf-8")) * 0x9E3779B1) & 0xFFFFFFFF) >> 12


def bundle_files(output: Path, config: SiteConfig,
                 manifest: Mapping[str, Entry] | None = None) -> set[str]:
    """Every file in the bundles of the languages this build indexes (the write phase
    leaves them to the search phase): as ``manifest`` (the last build's, when the
    output folder is as it left it) records them, else as found on disk."""
    if not config.search:
        return set()
    folders = tuple(folder for lang in config.language_codes
                    if config.owns(folder := bundle_folder(config, lang)))
    if manifest is not None:
        return {path for path in manifest if path.startswith(folders)}
    found: set[str] = set()
    for folder in folders:
        found.update(_files_under(output, folder))
    return found


def index(site: Site, output: Path, written: Mapping[str, Entry],
          previous: Mapping[str, Entry], scratch: Path | None = None,
          precompress: bool = False, bundles: set[str] | None = None,
          workers: int = 1, plan: Mapping[str, tuple[Shard, ...]] | None = None,
          changed: Collection[str] | None = None) -> Indexed:
    """Bring each language's shards up to date with its pages as ``written`` (the
    manifest entries this build recorded); ``previous`` is the last build's manifest and
    ``bundles`` the files in the bundle folders (``bundle_files``; None: look on disk).
    Pagefind reads the pages from a folder made in ``scratch`` (best on the output's
    file system: the pages are hard-linked there, else copied), up to ``workers``
    shards at once. With ``precompress``, Pagefind's script and worker get .br and .gz
    copies like every text output (its index files are compressed already). ``plan``:
    the shards of the last build (``Indexed.plan``), when no page came, went, moved or
    changed its date since: the pages are not read at all. With ``changed`` too (the
    pages this build wrote), only the shards holding one of them are looked at, their
    files found on disk: a search phase in proportion to the edit (``complete`` False)."""
    if plan is not None and changed is not None:
        return _index_changed(site, output, written, previous, scratch, precompress,
                              workers, plan, changed)
    config = site.config
    binary = executable()
    version = _version(binary)
    searchable = searchable_pages(site) if plan is None else {}
    folders = [folder for lang in config.language_codes
               if config.owns(folder := bundle_folder(config, lang))]
    on_disk = _by_shard(folders, bundles if bundles is not None else
                        {path for folder in folders for path in _files_under(output, folder)})
    entries: dict[str, Entry] = {}
    indexes: list[SearchIndex] = []
    problems: list[Problem] = []
    layout: dict[str, tuple[Shard, ...]] = {}
    for lang in config.language_codes:
        folder = bundle_folder(config, lang)
        if not config.owns(folder):
            continue
        parts = [] if not binary else list(plan.get(lang, ())) if plan is not None else \
            shards(folder, searchable.get(lang, []))
        layout[lang] = tuple(parts)
        made: dict[str, Entry] = {}
        stale: list[tuple[Shard, str, set[str]]] = []
        for shard in parts:
            key = _key(version, shard, precompress, written)
            had = on_disk.pop(shard.folder, set())
            if _up_to_date(output, shard, key, had, previous):
                made.update((path, previous[path]) for path in had)
            else:
                stale.append((shard, key, had))
        done = pages_done = 0
        for shard, _had, files in _index_stale(binary, output, lang, stale, scratch,
                                               precompress, workers, problems):
            made.update(files)
            done, pages_done = done + 1, pages_done + len(shard.pages)
        for gone in [folder_ for folder_ in on_disk if folder_.startswith(folder)]:
            commit([], output, set(), on_disk.pop(gone), config.owns)  # shards no more
        made.update(_shard_list(output, folder, parts, on_disk.pop(SHARDS_FILE + folder, set()),
                                precompress))
        entries.update(made)
        if parts:
            indexes.append(SearchIndex.of(lang, {path: entry[1] for path, entry in made.items()},
                                          done, pages_done))
    return Indexed(entries, tuple(indexes), tuple(problems), tuple(folders), layout)


def _index_changed(site: Site, output: Path, written: Mapping[str, Entry],
                   previous: Mapping[str, Entry], scratch: Path | None, precompress: bool,
                   workers: int, plan: Mapping[str, tuple[Shard, ...]],
                   changed: Collection[str]) -> Indexed:
    """``index`` for an edit that kept every page in place: the shards of the pages in
    ``changed`` only, their files read from their folders, the manifests looked up by
    path (either may be read lazily)."""
    config = site.config
    binary = executable()
    version = _version(binary)
    changed = set(changed)
    entries: dict[str, Entry] = {}
    removed: set[str] = set()
    indexes: list[SearchIndex] = []
    problems: list[Problem] = []
    folders = []
    for lang in config.language_codes:
        folder = bundle_folder(config, lang)
        if not config.owns(folder):
            continue
        folders.append(folder)
        parts = plan.get(lang, ()) if binary else ()
        stale = []
        for shard in parts:
            if changed.isdisjoint(shard.pages):
                continue
            key = _key(version, shard, precompress, written)
            had = _files_of(output, shard)
            if not _up_to_date(output, shard, key, had, previous):
                stale.append((shard, key, had))
        done = pages_done = 0
        for shard, had, made in _index_stale(binary, output, lang, stale, scratch,
                                             precompress, workers, problems):
            entries.update(made)
            removed.update(had - made.keys())
            done, pages_done = done + 1, pages_done + len(shard.pages)
        if done:
            indexes.append(SearchIndex(lang, -1, -1, len(parts), done, pages_done))
    return Indexed(entries, tuple(indexes), tuple(problems), tuple(folders), dict(plan),
                   complete=False, removed=frozenset(removed))


def _index_stale(binary: Path | None, output: Path, lang: str,
                 stale: list[tuple[Shard, str, set[str]]], scratch: Path | None,
                 precompress: bool, workers: int, problems: list[Problem],
                 ) -> Iterator[tuple[Shard, set[str], dict[str, Entry]]]:
    """Index a language's stale shards and commit each: (shard, the files it had, its
    entries now) for every shard made. A shard Pagefind failed on is a warning; its last
    bundle stays, not recorded, so the next build tries again."""
    for (shard, key, had), files in zip(stale, _index_all(binary, output, stale,
                                                           scratch, workers), strict=True):
        if isinstance(files, Exception):
            problems.append(warning(None, None, f"search index for {lang} not made: {files}"))
            continue
        yield shard, had, _commit_shard(output, shard, key, files, had, precompress)


def _key(version: str, shard: Shard, precompress: bool, written: Mapping[str, Entry]) -> str:
    """What a shard's files are made from: Pagefind's version, where the shard is, the
    stamps of its pages as written (and whether Pagefind's script is compressed)."""
    return digest(INDEX_VERSION, version, shard.folder, shard.first and precompress,
                  tuple((path, *written.get(path, ("", -1, -1))[1:]) for path in shard.pages))


def plan_data(plan: Mapping[str, tuple[Shard, ...]]) -> dict[str, list[tuple]]:
    """``Indexed.plan`` as plain values, for the build's cache."""
    return {lang: [(shard.folder, shard.pages, shard.first) for shard in parts]
            for lang, parts in plan.items()}


def plan_from(data: object) -> dict[str, tuple[Shard, ...]] | None:
    """A plan from ``plan_data``; None when what was read is not one."""
    if not isinstance(data, dict):
        return None
    try:
        plan = {lang: tuple(Shard(folder, tuple(pages), first) for folder, pages, first
                            in parts) for lang, parts in data.items()}
    except (TypeError, ValueError):
        return None
    valid = all(type(lang) is str and all(
        type(shard.folder) is str and type(shard.first) is bool and
        all(type(page) is str for page in shard.pages) for shard in parts)
        for lang, parts in plan.items())
    return plan if valid else None


def _by_shard(folders: list[str], paths: Iterable[str]) -> dict[str, set[str]]:
    """Bundle files by the folder of the shard they belong to (a language's list of
    shards under the key ``SHARDS_FILE + folder``)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        folder = next((folder for folder in folders if path.startswith(folder)), None)
        if folder is None:
            continue
        rest = path[len(folder):]
        if rest.startswith(SHARDS_FILE):  # and its compressed copies
            found[SHARDS_FILE + folder].add(path)
        elif rest.startswith(SHARD_PREFIX) and "/" in rest:
            found[folder + rest.split("/", 1)[0] + "/"].add(path)
        else:
            found[folder].add(path)
    return found


def _up_to_date(output: Path, shard: Shard, key: str, had: set[str],
                previous: Mapping[str, Entry]) -> bool:
    """The shard's files are the ones the last build made under ``key``, and its
    folders and top files are as it left them (its entry's mark)."""
    mark = previous.get(shard.folder + ENTRY)
    if mark is None or shard.folder + ENTRY not in had:
        return False
    if not all(previous.get(path, ("",))[0] in (key, mark[0]) for path in had):
        return False
    return mark[0] == _mark(key, _stamps(output, shard, had))


def _mark(key: str, stamps: tuple) -> str:
    return digest(key, stamps)


def _stamps(output: Path, shard: Shard, files: Iterable[str]) -> tuple:
    """What shows the shard's files changed, a few stats whatever its size: the size and
    mtime of each file at its top (the entry, the metadata, Pagefind's script) and the
    mtimes of its folders (a file added to or removed from a folder changes them)."""
    top = sorted(path for path in files if "/" not in path[len(shard.folder):])
    folders = [shard.folder + name for name in DATA_FOLDERS]
    if not shard.first:
        folders.append(shard.folder)
    found = []
    for path in (*top, *folders):
        try:
            status = os.stat(output / path)
        except OSError:
            found.append((path, -1, -1))
            continue
        found.append((path, -1 if path in folders else status.st_size, status.st_mtime_ns))
    return tuple(found)


def _index_all(binary: Path | None, output: Path, stale: list[tuple[Shard, str, set[str]]],
               scratch: Path | None, workers: int) -> Iterator[dict[str, bytes] | Exception]:
    """Each stale shard's bundle files (or what went wrong), in order, ``workers`` at a
    time (Pagefind runs in a process of its own: threads suffice)."""
    def run(shard: Shard) -> dict[str, bytes] | Exception:
        try:
            return _run_pagefind(binary, output, list(shard.pages), scratch, shard.first) \
                if binary else {}
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            return exc

    if workers <= 1 or len(stale) <= 1:
        yield from (run(shard) for shard, _key, _had in stale)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # A few shards ahead at most: each shard's files are held until committed.
        for start in range(0, len(stale), 2 * workers):
            yield from pool.map(run, [shard for shard, _key, _had
                                      in stale[start:start + 2 * workers]])


def _commit_shard(output: Path, shard: Shard, key: str, files: dict[str, bytes],
                  had: set[str], precompress: bool) -> dict[str, Entry]:
    """Write a shard's files (only those whose bytes changed), remove the ones it no
    longer has, and give the manifest entries: the entry's key is the shard's mark."""
    if precompress:
        files.update(copy for name, data in list(files.items()) if _is_runtime(name)
                     for copy in compress.encoded(name, data))
    staged = [stage(output, shard.folder + name, data) for name, data in sorted(files.items())]
    commit(staged, output, {item.path for item in staged}, had | _files_of(output, shard))
    stamps = {item.path: item.stamp for item in staged}
    mark = _mark(key, _stamps(output, shard, stamps))
    return {path: (mark if path == shard.folder + ENTRY else key, *stamp)
            for path, stamp in stamps.items()}


def _files_of(output: Path, shard: Shard) -> set[str]:
    """The files in a shard's folders now (what the last build made, and whatever else
    came there), not the other shards' or their list."""
    found = {path for name in DATA_FOLDERS for path in _files_under(output, shard.folder + name)}
    try:
        with os.scandir(output / shard.folder) as entries:
            found.update(shard.folder + entry.name for entry in entries
                         if entry.is_file() and not entry.name.startswith(SHARDS_FILE))
    except OSError:
        pass
    return found


def _shard_list(output: Path, folder: str, parts: list[Shard], had: set[str],
                precompress: bool) -> dict[str, Entry]:
    """``shards.json`` in the first shard's folder: the others' folders (relative to
    it), oldest first, which the search page's script merges into the first."""
    path = folder + SHARDS_FILE
    if not parts:
        commit([], output, set(), had)
        return {}
    others = [shard.folder[len(folder):] for shard in parts if not shard.first]
    data = (json.dumps({"shards": others}, indent=0) + "\n").encode("utf-8")
    files = {path: data, **dict(compress.encoded(path, data) if precompress else ())}
    staged = [stage(output, name, value) for name, value in sorted(files.items())]
    commit(staged, output, set(files), had)
    return {item.path: (digest(data), *item.stamp) for item in staged}


def in_bundles(config: SiteConfig, paths: Iterable[str]) -> bool:
    """Whether one of these outputs is a file of a language's bundle."""
    folders = tuple(bundle_folder(config, lang) for lang in config.language_codes)
    return any(path.startswith(folders) for path in paths)


def indexes_in(config: SiteConfig, manifest: Mapping[str, Entry]) -> tuple[SearchIndex, ...]:
    """Each language's index as a manifest records it (a build with nothing to do)."""
    if not config.search:
        return ()
    folders = {lang: bundle_folder(config, lang) for lang in config.language_codes}
    sizes: dict[str, dict[str, int]] = {lang: {} for lang in folders}
    anywhere = tuple(folders.values())
    for path, entry in manifest.items():  # one pass over the manifest, not one a language
        if path.startswith(anywhere):
            for lang, folder in folders.items():
                if path.startswith(folder):
                    sizes[lang][path] = entry[1]
    return tuple(SearchIndex.of(lang, sizes[lang]) for lang, folder in folders.items()
                 if sizes[lang] and config.owns(folder))


def describe(indexes: tuple[SearchIndex, ...]) -> str:
    """``search index: en 61.2 KB, fr 58.0 KB (+ Pagefind 155.4 KB each); indexed now:
    fr (1 of 12 shards, 240 pages)`` for the build summary."""
    if not indexes:
        return ""
    known = [index for index in indexes if index.index_bytes >= 0]  # an edit's: unknown
    sizes = ", ".join(f"{index.lang} {_size(index.index_bytes)}" for index in known)
    runtime = max((index.runtime_bytes for index in known), default=0)
    fresh = [f"{index.lang} ({index.shards_indexed} of {index.shards} shard"
             f"{'' if index.shards == 1 else 's'}, {index.pages_indexed} pages)"
             for index in indexes if index.indexed]
    return "search index: " + "; ".join(
        ([f"{sizes} (+ Pagefind {_size(runtime)} each)"] if known else [])
        + ([f"indexed now: {', '.join(fresh)}"] if fresh else []))


def _size(count: int) -> str:
    return f"{count / 1024:.1f} KB" if count < 1024 * 1024 else f"{count / 1048576:.1f} MB"


def _is_runtime(path: str) -> bool:
    """Pagefind's script, its worker and its WebAssembly (not the index)."""
    name = path.rsplit("/", 1)[-1]
    return name in ("pagefind.js", "pagefind-worker.js") or name.endswith(".pagefind")


def _run_pagefind(binary: Path, output: Path, pages: list[str],
                  parent: Path | None, runtime: bool = True) -> dict[str, bytes]:
    """Index ``pages`` (paths in ``output``) with Pagefind; the bundle's files that a
    browser needs, by their path in the bundle (with ``runtime``, Pagefind's script,
    worker and WebAssembly too)."""
    parent = parent if parent is not None and parent.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="search-", dir=parent) as scratch:
        site, bundle = Path(scratch, "site"), Path(scratch, "bundle")
        for path in pages:
            _mirror(output / path, site / path)
        # In an empty folder with no PAGEFIND_ variable: no pagefind.yml or setting of
        # the user's changes what the build makes.
        environment = {name: value for name, value in os.environ.items()
                       if not name.startswith("PAGEFIND_")}
        done = subprocess.run([str(binary), "--site", str(site), "--output-path", str(bundle),
                               "--silent"], cwd=scratch, env=environment,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not (bundle / ENTRY).is_file():
            said = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f"Pagefind exited with {done.returncode}"
                               + (f": {said[-1]}" if said else ""))
        return {name: (bundle / name).read_bytes() for name in _published(bundle, runtime)}


def _mirror(source: Path, target: Path) -> None:
    """A hard link to an output page (a copy across file systems)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _published(bundle: Path, runtime: bool) -> list[str]:
    """The bundle files a browser fetches: the entry, the index and (with ``runtime``)
    the script and its worker and the WebAssembly its language uses; not Pagefind's
    interface files."""
    entry = json.loads((bundle / ENTRY).read_bytes())
    wasm = {f"wasm.{language.get('wasm') or 'unknown'}.pagefind"
            for language in entry.get("languages", {}).values()} if runtime else set()
    names = []
    for name in sorted(_files_under(bundle, "")):
        if name == ENTRY or (runtime and name in RUNTIME) or name in wasm or \
                name.endswith(DATA_SUFFIXES) or name.startswith(DATA_FOLDERS):
            names.append(name)
    return names


@lru_cache(maxsize=4)
def _version_of(binary: str, _stamp: tuple[int, int]) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _version(binary: Path | None) -> str:
    """``pagefind 1.5.2``: part of every bundle's key (asked once per binary)."""
    if binary is None:
        return ""
    try:
        status = binary.stat()
        return _version_of(str(binary), (status.st_mtime_ns, status.st_size))
    except (OSError, subprocess.SubprocessError):
        return ""


def _files_under(root: Path, folder: str) -> set[str]:
    """Files under ``root/folder``, as paths relative to ``root``."""
    found = set()
    for directory, _folders, files in os.walk(root / folder):
        relative = os.path.relpath(directory, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        found.update(prefix + name for name in files)
    return found


def _intact(path: Path, entry: Entry) -> bool:
    try:
        status = path.stat()
    except OSError:
        return False
    return status.st_size == entry[1] and status.st_mtime_ns == entry[2]

"""Full-text search: a search page per language (this output kind), and the *search*
phase after write, in which Pagefind indexes each language's articles and pages.

Pagefind (https://pagefind.app) is a tool of its own: a binary that reads built HTML
and writes a static index cut into small files, which its script fetches as a reader
types, so one search costs tens of kilobytes even on a site of thousands of articles.
PyPI's ``pagefind[extended]`` ships it; its extended build segments Chinese and
Japanese into words. Without it the build warns once and makes no search page, link
or index (a site's own environment may lack it; nothing breaks).

One bundle per language, beside its search page (``/fr/search/pagefind/``), rather
than one for the site: a reader downloads only their language's index (Pagefind picks
by ``<html lang>`` anyway), an edit re-indexes its own language only, and the folders
of a ``--languages`` CI matrix merge into the full site. Pagefind is given exactly the
pages to index (hard links in a scratch folder at their output paths): a language at
the site root never mixes with the other languages' folders. Only what a browser
needs is published (the script, its worker, the WebAssembly for the language, the
index); Pagefind's own interface files are left out: the theme's search page has its
own, translated through the theme's catalogs.

A language's bundle is up to date while its key (the Pagefind version and the size
and mtime of each page it indexes, as the write phase recorded them) is the one its
files were made under and they are as that build left them. Pagefind's output is
deterministic (the same pages give the same bytes), so an incremental build still
equals a clean one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
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
INDEX_VERSION = 1  # bump when the same pages should give a different bundle
RUNTIME = frozenset({"pagefind.js", "pagefind-worker.js", "pagefind-entry.json"})
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
    """One language's search bundle after a build: the bytes of its index (what grows
    with the site) and of Pagefind's script, worker and WebAssembly (the same for any
    site), and whether this build made it (False: the last build's, still up to date)."""

    lang: str
    index_bytes: int
    runtime_bytes: int
    indexed: bool

    @classmethod
    def of(cls, lang: str, sizes: Mapping[str, int], indexed: bool) -> SearchIndex:
        """From the sizes of its files (paths ending in their names in the bundle)."""
        sizes = {path: size for path, size in sizes.items() if compress.original(path) is None}
        runtime = sum(size for path, size in sizes.items() if _is_runtime(path))
        return cls(lang, sum(sizes.values()) - runtime, runtime, indexed)


@dataclass(frozen=True, slots=True)
class Indexed:
    """What the search phase did: the manifest entries of every bundle file it keeps,
    each language's bundle, and what went wrong (as warnings: the pages are written)."""

    entries: dict[str, Entry]
    indexes: tuple[SearchIndex, ...]
    problems: tuple[Problem, ...]
    folders: tuple[str, ...]  # the bundle folders it looked after


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

def indexed_pages(site: Site, lang: str) -> list[str]:
    """The output paths of a language's pages that search finds: its articles and
    pages, except those kept out of search engines (``noindex``)."""
    return sorted(page.output_path for page in site.pages.values()
                  if page.lang == lang and _searchable(page))


def _searchable(page: Page) -> bool:
    return page.kind in INDEXED_KINDS and page.render and not page.noindex


def bundle_files(output: Path, config: SiteConfig) -> set[str]:
    """Every file in the bundles of the languages this build indexes (the write phase
    leaves them to the search phase)."""
    if not config.search:
        return set()
    found: set[str] = set()
    for lang in config.language_codes:
        folder = bundle_folder(config, lang)
        if config.owns(folder):
            found.update(_files_under(output, folder))
    return found


def index(site: Site, output: Path, written: Mapping[str, Entry],
          previous: Mapping[str, Entry], scratch: Path | None = None,
          precompress: bool = False) -> Indexed:
    """Bring each language's bundle up to date with its pages as ``written`` (the
    manifest entries this build recorded); ``previous`` is the last build's manifest.
    Pagefind reads the pages from a folder made in ``scratch`` (best on the output's
    file system: the pages are hard-linked there, else copied). With ``precompress``,
    Pagefind's script and worker get .br and .gz copies like every text output (its
    index files are compressed already)."""
    config = site.config
    binary = executable()
    entries: dict[str, Entry] = {}
    indexes: list[SearchIndex] = []
    problems: list[Problem] = []
    folders: list[str] = []
    for lang in config.language_codes:
        folder = bundle_folder(config, lang)
        if not config.owns(folder):
            continue
        folders.append(folder)
        pages = indexed_pages(site, lang)
        existing = _files_under(output, folder)
        key = digest(INDEX_VERSION, _version(binary), precompress, tuple(
            (path, *written.get(path, ("", -1, -1))[1:]) for path in pages))
        # Up to date: the files the last build recorded, all there as it left them, no
        # other file beside them, and made under this key.
        kept = {path: entry for path, entry in previous.items() if path.startswith(folder)}
        if pages and kept and kept.keys() == existing and all(
                entry[0] == key and _intact(output / path, entry)
                for path, entry in kept.items()):
            entries.update(kept)
            indexes.append(SearchIndex.of(lang, {p: e[1] for p, e in kept.items()}, False))
            continue
        try:
            files = _run_pagefind(binary, output, pages, scratch) if pages and binary else {}
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            problems.append(warning(None, None, f"search index for {lang} not made: {exc}"))
            continue  # the last bundle stays, not recorded: the next build tries again
        if precompress:
            files.update(copy for name, data in list(files.items())
                         for copy in compress.encoded(name, data))
        staged = [stage(output, folder + name, data) for name, data in sorted(files.items())]
        commit(staged, output, {item.path for item in staged}, existing)
        entries.update((item.path, (key, *item.stamp)) for item in staged)
        if staged:
            indexes.append(SearchIndex.of(lang, {n: len(d) for n, d in files.items()}, True))
    return Indexed(entries, tuple(indexes), tuple(problems), tuple(folders))


def indexes_in(config: SiteConfig, manifest: Mapping[str, Entry]) -> tuple[SearchIndex, ...]:
    """Each language's bundle as a manifest records it (a build with nothing to do)."""
    if not config.search:
        return ()
    found = []
    for lang in config.language_codes:
        folder = bundle_folder(config, lang)
        sizes = {path: entry[1] for path, entry in manifest.items() if path.startswith(folder)}
        if sizes and config.owns(folder):
            found.append(SearchIndex.of(lang, sizes, False))
    return tuple(found)


def describe(indexes: tuple[SearchIndex, ...]) -> str:
    """``search index: en 61.2 KB, fr 58.0 KB (+ Pagefind 155.4 KB each); indexed now:
    fr`` for the build summary."""
    if not indexes:
        return ""
    sizes = ", ".join(f"{index.lang} {_size(index.index_bytes)}" for index in indexes)
    runtime = max(index.runtime_bytes for index in indexes)
    fresh = [index.lang for index in indexes if index.indexed]
    return (f"search index: {sizes} (+ Pagefind {_size(runtime)} each)"
            + (f"; indexed now: {', '.join(fresh)}" if fresh else ""))


def _size(count: int) -> str:
    return f"{count / 1024:.1f} KB" if count < 1024 * 1024 else f"{count / 1048576:.1f} MB"


def _is_runtime(path: str) -> bool:
    """Pagefind's script, its worker and its WebAssembly (not the index)."""
    name = path.rsplit("/", 1)[-1]
    return name in ("pagefind.js", "pagefind-worker.js") or name.endswith(".pagefind")


def _run_pagefind(binary: Path, output: Path, pages: list[str],
                  parent: Path | None) -> dict[str, bytes]:
    """Index ``pages`` (paths in ``output``) with Pagefind; the bundle's files that a
    browser needs, by their path in the bundle."""
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
        if done.returncode != 0 or not (bundle / "pagefind-entry.json").is_file():
            said = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f"Pagefind exited with {done.returncode}"
                               + (f": {said[-1]}" if said else ""))
        return {name: (bundle / name).read_bytes() for name in _published(bundle)}


def _mirror(source: Path, target: Path) -> None:
    """A hard link to an output page (a copy across file systems)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _published(bundle: Path) -> list[str]:
    """The bundle files a browser fetches: the script and its worker, the entry, the
    WebAssembly its language uses, the index; not Pagefind's interface files."""
    entry = json.loads((bundle / "pagefind-entry.json").read_bytes())
    wasm = {f"wasm.{language.get('wasm') or 'unknown'}.pagefind"
            for language in entry.get("languages", {}).values()}
    names = []
    for name in sorted(_files_under(bundle, "")):
        if name in RUNTIME or name in wasm or name.endswith(DATA_SUFFIXES) or \
                name.startswith(DATA_FOLDERS):
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

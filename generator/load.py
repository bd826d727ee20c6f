"""Load phase: Markdown sources under ``content/<lang>/`` read into ``Page`` records.

Every file is read and validated even when it will be left out (drafts, future
posts), and every problem is collected, so one build reports all of them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from html import unescape
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from generator import imaging, sanitize, shortcodes
from generator.cache import pickled
from generator.config import SiteConfig
from generator.errors import Problem, error, warning
from generator.files import is_noise, walk
from generator.frontmatter import (
    FrontMatter,
    FrontMatterError,
    MissingFrontMatter,
    parse_front_matter,
)
from generator.model import (
    EMPTY,
    Asset,
    Page,
    field_names,
    field_types,
    field_values,
    maker,
    path_of,
    pickled_by_fields,
    record_of,
    well_typed,
)
from generator.parallel import Packing, Progress, parallel_map

if TYPE_CHECKING:
    from generator.spill import Location, Spill

KNOWN_KEYS = {
    "title", "date", "updated", "summary", "tags", "image", "image_alt", "draft",
    "slug", "translation_key", "urgent", "translation_of", "description", "weight",
    "link_title", "aliases", "noindex", "robots", "expiry_date", "publish_date", "url",
    "headless", "build", "_build", "cover", "images",
}
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
BAD_SLUG = re.compile(r"[/\\?#%\s<>\"'\x00-\x1f\x7f]|^\.+$")
SUMMARY_LENGTH = 200
# Bytes in one name of an output path (a slug, a tag, a url's or alias's folders): file
# systems take 255, and a staging or .br copy adds to it.
SEGMENT_BYTES = 200
# What XML 1.0 forbids (C0 controls but tab, LF and CR; surrogates; U+FFFE, U+FFFF):
# one such character in a title or body makes every feed quoting it unreadable.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Bytes of UTF-8 text that cannot start one (all but C0 controls and 0xEF, which begins
# U+FFFE and U+FFFF): a file holding only these is looked at no further (translate is
# several times faster than any search).
XML_SAFE_BYTES = bytes(b for b in range(256) if (b >= 0x20 and b != 0xEF) or b in b"\t\n\r")
# Control characters that XML allows (tab, CR, DEL): all others are taken out of a text
# as it is read (``_xml_text``), so a file without these bytes makes a text without any.
XML_CONTROLS = (b"\t", b"\r", b"\x7f")
SECTION_FILE = "_index.md"  # a section's (or the home's) own front matter and introduction
SITE_FOLDERS = ("static", "themes", "locales")  # besides content/: published or read


LOAD_VERSION = 10  # bump when parsing changes what a source turns into (7: GitHub Markdown;
# 8: shortcode HTML under the raw HTML policy; 9: no character XML forbids from a reference;
# 10: a body whose only markup is a shortcode is cleaned too)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the load phase found: pages to publish, files to copy, problems."""

    pages: tuple[Page, ...]
    assets: tuple[Asset, ...]
    problems: tuple[Problem, ...]
    parsed: Mapping[str, Parsed] = field(default_factory=dict)  # for the next build's cache
    scan: Scan | None = None  # the walk of content/, for a watcher's next build
    # ``parsed`` as the parse workers pickled it, for the cache's index (``_IndexParts``):
    # when every source was parsed by them
    index_parts: tuple[tuple[bytes, int], ...] = ()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Parsed:
    """One source's load result, kept in the persistent cache between builds.

    ``inputs`` are the files it read with their (mtime_ns, size): while none of them
    changed, the result is reused without reading the source again. ``digest`` covers
    the source's bytes, so a touched but unchanged file is not parsed again either.
    """

    inputs: tuple[tuple[str, int, int], ...]
    digest: str
    page: Page | None
    problems: tuple[Problem, ...]
    settings: str = ""  # the reading settings it was made with (``markup_settings``)


_new_parsed, _new_page = maker(Parsed), maker(Page)  # (as Parsed() and Page(), faster)


def markup_settings(config: SiteConfig) -> str:
    """What besides its files decides what a source turns into: a result made under
    other settings (say, another raw HTML policy) is parsed again."""
    roots = ",".join(config.root_path(code) for code in config.language_codes)
    return (f"{LOAD_VERSION}:html={config.markdown.html}:tags={config.limits.tags}:"
            f"pixels={config.limits.image_pixels}:roots={roots}:"
            f"taxonomies={','.join(config.taxonomies)}:params={_digest_of(config.params)}")


def _digest_of(values: Mapping[str, Any]) -> str:
    return hashlib.blake2b(repr(sorted(values.items())).encode(), digest_size=8).hexdigest()


def reusable(value: object) -> bool:
    """Whether a cache index entry is a well-formed ``Parsed`` (else the source is parsed
    again: a damaged or crafted entry costs time, never a crash). ``model.well_typed``
    unrolled, with C-level loops: 10,000 entries cost about 30 ms."""
    if type(value) is not Parsed or not all(map(isinstance, _parsed_values(value),
                                                _PARSED_TYPES)):
        return False
    page = value.page
    if not all(map(_is_stamp, value.inputs)) or \
            not all(map(well_typed, value.problems, repeat(Problem))):
        return False
    return page is None or (
        all(map(isinstance, _page_values(page), _PAGE_TYPES)) and
        all(map(isinstance, page.tags, repeat(str))) and
        all(map(isinstance, page.resources, repeat(Path))) and
        (page.image_size is None or (len(page.image_size) == 2 and
                                     all(map(isinstance, page.image_size, repeat(int))))))


def _is_stamp(stamp: object) -> bool:
    return type(stamp) is tuple and len(stamp) == 3 and type(stamp[0]) is str and \
        type(stamp[1]) is int and type(stamp[2]) is int


_parsed_values, _PARSED_TYPES = field_values(Parsed), field_types(Parsed)
_page_values, _PAGE_TYPES = field_values(Page), field_types(Page)


@dataclass(frozen=True, slots=True)
class Source:
    """A Markdown file under ``content/<lang>/``, with its bundle resources."""

    lang: str
    path: str
    relative: tuple[str, ...]  # path parts under content/<lang>/
    resources: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Scan:
    """One walk of the content folder: the sources, files published as they are, and
    problems with the folder layout."""

    sources: tuple[Source, ...]
    assets: tuple[Asset, ...]
    problems: tuple[Problem, ...]
    ignored: tuple[tuple[str, str], ...] = ()  # (path under content/, why), for -v


PARALLEL_PARSE_THRESHOLD = 200
# Marks a result read without its body (a ``--languages`` build's other languages): never
# reused where a body is wanted, and its record's digest stays the source's own.
FRONT_MATTER_ONLY = "~front"


def bodiless_languages(config: SiteConfig) -> frozenset[str]:
    """The languages whose bodies a build does not read: none, or for a ``--languages``
    build those it does not write and no language it writes falls back to (their
    stories' summaries are on its lists). Their front matter is read: addresses,
    translations, dates and titles reach every language's pages."""
    if not config.only_languages:
        return frozenset()
    wanted, todo = set(config.only_languages), list(config.only_languages)
    while todo:
        for other in config.language(todo.pop()).fallback:
            if other not in wanted:
                wanted.add(other)
                todo.append(other)
    return frozenset(config.language_codes) - wanted


def load_site(config: SiteConfig, previous: Mapping[str, Parsed] | None = None,
              workers: int = 1, progress: Progress | None = None, *,
              scan: Scan | None = None, touched: frozenset[str] | None = None,
              stamps: Mapping[str, tuple[str, int, int]] | None = None,
              meanwhile: Callable[[], None] | None = None,
              spill: Spill | None = None) -> Loaded:
    """Read every language folder; collect pages (drafts and future posts too: the
    link phase decides what is published), assets and problems.

    ``previous`` is the last build's ``Loaded.parsed``: unchanged sources are reused.
    ``scan`` and ``touched`` come from a watcher that saw only these existing sources
    change: the folder is not walked again and no other source is looked at.
    ``stamps`` are the input files' (path, mtime, size) just taken by the caller;
    ``meanwhile`` is the caller's work while workers parse (skipped when none do).
    With a ``spill``, workers keep the bodies they make there (``generator.spill``).
    """
    previous = previous or {}
    settings = markup_settings(config)
    bodiless = bodiless_languages(config)
    imaging.limit_pixels(config.limits.image_pixels)
    known = {s.path for s in scan.sources} if scan is not None and touched is not None else set()
    if scan is None or touched is None or not touched <= known:  # a new file: walk again
        scan = scan_content(config)
        fresh = [s for s in scan.sources
                 if s.path not in previous or previous[s.path].settings != settings
                 or _wants_body(previous[s.path], s, bodiless)
                 or not _unchanged(previous[s.path].inputs, stamps)
                 or not _same_resources(previous[s.path].inputs, s.resources)]
    else:
        fresh = [s for s in scan.sources if s.path in touched or s.path not in previous
                 or previous[s.path].settings != settings
                 or _wants_body(previous[s.path], s, bodiless)]
    if workers <= 1 or len(fresh) < PARALLEL_PARSE_THRESHOLD:
        meanwhile = None  # no workers to wait for: it would only add to a small build
    parse = partial(_parse, config, previous, shortcodes.templates_digest(config),
                    bodiless=bodiless, settings=settings)
    spilling = spill is not None and workers > 1 and len(fresh) >= PARALLEL_PARSE_THRESHOLD
    parts = _IndexParts() if spilling and len(fresh) == len(scan.sources) else None
    if spilling:
        assert spill is not None
        packing = Packing(partial(_flushed, spill, parts.pack if parts else None),
                          parts.unpack if parts else list)
        spilled = parallel_map(partial(_parse_spilled, spill, parse), fresh, workers,
                               PARALLEL_PARSE_THRESHOLD, progress, meanwhile, packing=packing)
        spill.flush()  # (parsed here: no workers)
        results = {path: spill.received((result, location))
                   for path, result, location in spilled}
    else:
        results = dict(zip((s.path for s in fresh),
                           parallel_map(parse, fresh, workers, PARALLEL_PARSE_THRESHOLD,
                                        progress, meanwhile),
                           strict=True))
    parsed = {s.path: results.get(s.path) or previous[s.path] for s in scan.sources}
    problems = list(scan.problems)
    pages = []
    for result in parsed.values():
        problems.extend(result.problems)
        if result.page is not None:
            pages.append(result.page)
    return Loaded(tuple(pages), scan.assets, tuple(problems),
                  MappingProxyType(parsed), scan,  # type: ignore[arg-type]
                  tuple(parts.parts) if parts is not None else ())


Spilled = tuple[str, "Parsed", "Location | None"]  # a source's path, its result, its body's


def _parse_spilled(spill: Spill, parse: Callable[..., Parsed], source: Source) -> Spilled:
    """``spill.parse`` in a worker, with the source's path (the index's key)."""
    parsed, location = spill.parse(parse, source)
    return source.path, parsed, location


def _flushed(spill: Spill, pack: Callable[[list[Spilled]], Any] | None,
             results: list[Spilled]) -> Any:
    """A worker's chunk of results, packed once the spill has written its bodies."""
    spill.flush()
    return pack(results) if pack is not None else results


class _IndexParts:
    """Results parse workers send back pickled as the cache index stores them, a chunk
    at a time: this process reads each chunk and keeps its bytes, and a build stores
    them as its index (``Store.write_parts``) instead of pickling every record again."""

    def __init__(self) -> None:
        self.parts: list[tuple[bytes, int]] = []  # each chunk's bytes, and its records

    @staticmethod
    def pack(results: list[Spilled]) -> tuple[bytes, list[Location | None]]:
        """In a worker: a chunk's results, the records pickled by path."""
        records = {path: parsed for path, parsed, _location in results}
        return pickled(records, INDEX_REDUCERS), [location for *_parsed, location in results]

    def unpack(self, packed: tuple[bytes, list[Location | None]]) -> list[Spilled]:
        data, locations = packed
        records = pickle.loads(data)  # (a worker's, forked from this process: trusted)
        self.parts.append((data, len(records)))
        return list(zip(records, records.values(), locations, strict=True))


def scan_content(config: SiteConfig) -> Scan:
    """Walk ``content/``: a folder per configured language, Markdown and other files."""
    content = config.content_dir
    if not content.is_dir():
        return Scan((), (), (error(content, None, "content folder not found"),))
    problems: list[Problem] = []
    assets: list[Asset] = []
    sources: list[Source] = []
    ignored: list[tuple[str, str]] = []
    for folder in sorted(content.iterdir()):
        if is_noise(folder.name):
            continue
        if not folder.is_dir():
            problems.append(warning(folder, None, "ignored: files belong in content/<lang>/"))
            continue
        lang = config.language_of_folder(folder.name)
        if lang is None:
            problems.append(error(folder, None, _unknown_language(folder.name, config)))
            continue
        found, loose = _scan(config, lang, folder, problems, ignored)
        sources.extend(Source(lang, path, relative, resources)
                       for path, relative, resources in found)
        assets.extend(loose)
    for name in SITE_FOLDERS:  # their links are checked here, so check and build see them
        for _walked in walk(config.root / name, config.root, problems):
            pass
    return Scan(tuple(sources), tuple(assets), tuple(problems),
                tuple((os.path.relpath(path, config.root), why) for path, why in ignored))


def _stamp(path: Path | str) -> tuple[str, int, int]:
    name = str(path)
    try:
        stat = os.stat(name)
    except OSError:
        return (name, -1, -1)
    return (name, stat.st_mtime_ns, stat.st_size)


def _unchanged(inputs: tuple[tuple[str, int, int], ...],
               known: Mapping[str, tuple[str, int, int]] | None = None) -> bool:
    known = known or {}
    return all((known.get(stamp[0]) or _stamp(stamp[0])) == stamp for stamp in inputs)


def _same_resources(inputs: tuple[tuple[str, int, int], ...],
                    resources: tuple[Path, ...]) -> bool:
    """Whether a bundle holds the files it held when its page was read (its inputs are
    the source, then each resource, then other files): a file added beside index.md
    must be read with the page (published, or the image its front matter names)."""
    return len(inputs) > len(resources) and all(
        stamp[0] == str(path) for stamp, path in zip(inputs[1:], resources, strict=False))


def _wants_body(result: Parsed, source: Source, bodiless: frozenset[str]) -> bool:
    """Whether a result read without its body is one this build must read whole."""
    return result.digest.endswith(FRONT_MATTER_ONLY) and source.lang not in bodiless


def _parse(config: SiteConfig, previous_results: Mapping[str, Parsed],
           shortcode_templates: str, source: Source, *,
           bodiless: frozenset[str] = frozenset(), settings: str | None = None,
           keep: Callable[[str], object] | None = None) -> Parsed:
    """Read, validate and convert one source (or reuse its result if its bytes match);
    a source in a ``bodiless`` language is read without its body (``FRONT_MATTER_ONLY``).
    ``settings`` are ``markup_settings(config)``, made once for a whole load; ``keep``
    takes the HTML body this parse makes, and the record is made without it (a parse
    worker's spill)."""
    try:
        status, raw = _read(source.path)
    except OSError as exc:
        shown = _display_path(config, source.path)
        return Parsed((), "", None, (error(shown, None, f"cannot read: {exc.strerror}"),))
    stamp = (source.path, status.st_mtime_ns, status.st_size)
    resources = tuple(_stamp(p) for p in source.resources)
    hashed = hashlib.blake2b(raw, digest_size=16)
    hashed.update(repr((LOAD_VERSION, config.markdown.html,
                        [_resource_identity(Path(n), s) for n, _m, s in resources])).encode())
    if b"{" in raw and (b"{{<" in raw or b"{{%" in raw):  # made with the theme's shortcode
        # templates too (one byte is found several times faster than a longer mark)
        hashed.update(shortcode_templates.encode())
    digest = hashed.hexdigest()
    body = source.lang not in bodiless
    accepted = (digest,) if body else (digest, digest + FRONT_MATTER_ONLY)  # whole will do
    previous = previous_results.get(source.path)
    if previous is not None and previous.digest in accepted and \
            _unchanged(previous.inputs[1 + len(resources):]):
        return Parsed((stamp, *resources, *previous.inputs[1 + len(resources):]),
                      previous.digest, previous.page, previous.problems, previous.settings)
    problems: list[Problem] = []
    page, extra_inputs = _load_page(config, source, raw, digest, problems, body=body,
                                    keep=keep)
    return _new_parsed((stamp, *resources, *extra_inputs), digest if body else
                       digest + FRONT_MATTER_ONLY, page, tuple(problems),
                       _shared(settings or markup_settings(config)))


def _read(path: str) -> tuple[os.stat_result, bytes]:
    """A file's status and bytes, with plain system calls (``open`` makes a buffered
    reader and asks whether the file is a terminal, for each of 100,000 sources). The
    status is taken before reading: a file saved meanwhile is seen as changed next time."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        status = os.fstat(fd)
        data = os.read(fd, status.st_size + 1)  # one call, unless the file grew
        if len(data) > status.st_size:  # (a shorter read is the file's end)
            parts = [data]
            while parts[-1]:
                parts.append(os.read(fd, 1 << 16))
            data = b"".join(parts)
    finally:
        os.close(fd)
    return status, data


def _resource_identity(path: Path, size: int) -> tuple[str, int, str]:
    """What a page's record depends on in a bundle file: its name, and the bytes of a
    raster image (read to check it). Never its time: a fresh checkout (each machine of a
    ``--languages`` CI matrix) gives new times, and a page's digest reaches its bytes
    (the offline list's revisions, and so ``/sw.js``)."""
    if size < 0 or not imaging.is_raster(path):
        return (path.name, size, "")
    try:
        return (path.name, size, imaging.digest(path))
    except OSError:
        return (path.name, -1, "")


def source_body(config: SiteConfig, page: Page) -> str:
    """A page's HTML body made again from its file (when the cache lost it)."""
    path = config.root / page.source
    try:
        text = XML_FORBIDDEN.sub("", _decode(path.read_bytes()))
        front = parse_front_matter(text)
    except MissingFrontMatter:
        front = FrontMatter({}, {}, text, 1)
    except (OSError, ValueError):
        return ""
    folder = path.parent.relative_to(config.content_dir / page.lang).as_posix()
    info = shortcodes.PageInfo(page.lang, page.path, "" if folder == "." else folder,
                               MappingProxyType(dict(front.values)))
    try:
        return _body_html(config, front.body, info)[0]
    except (shortcodes.ShortcodeError, sanitize.TooDeep):
        return ""


def _body_html(config: SiteConfig, text: str, info: shortcodes.PageInfo, *,
               controls: bool = True) -> tuple[
        str, tuple[sanitize.Removal, ...], shortcodes.Expanded]:
    """A Markdown body as HTML: shortcodes expanded, raw HTML under the site's policy
    (the shortcodes' HTML too: it is put back before the policy applies), with what was
    removed and what the shortcodes did. Without ``controls``, the text holds no control
    character (what its shortcodes write may)."""
    expanded = shortcodes.expand(text, config, info)
    html, removed = sanitize.body_html(expanded.text, config.markdown.html,
                                       expanded.restore if expanded.stash else None, text,
                                       controls=controls or expanded.text is not text)
    return html, removed, expanded


BODY_FIELD = field_names(Page).index("body_html")


def _page_without_body(page: Page) -> tuple[Callable[..., Page], tuple[Any, ...]]:
    values = field_values(Page)(page)
    if not values[BODY_FIELD]:  # a spilled or stored record: as it is
        return record_of, (Page, values)
    return record_of, (Page, (*values[:BODY_FIELD], "", *values[BODY_FIELD + 1:]))


# The cache index holds page records without their HTML bodies (kept in shards).
INDEX_REDUCERS = MappingProxyType({Page: _page_without_body})


def _unknown_language(code: str, config: SiteConfig) -> str:
    configured = ", ".join(config.language_codes)
    return (f"unknown language folder '{code}': add [languages.{code}] to site.toml "
            f"or rename the folder (configured: {configured})")


def bundle_file(name: str) -> bool:
    """Whether a file beside a bundle's ``index.md`` is one of its resources (elsewhere,
    a file published as it is): not Markdown, not noise, not named with a leading ``_``."""
    return not is_noise(name) and not name.startswith("_") and not name.endswith(".md")


def _scan(config: SiteConfig, lang: str, folder: Path, problems: list[Problem],
          ignored: list[tuple[str, str]]) -> tuple[
        list[tuple[str, tuple[str, ...], tuple[Path, ...]]], list[Asset]]:
    """One walk of a language folder: each Markdown source (path, parts under the
    folder) with its bundle resources (the files beside an ``index.md``), and the other
    files, published as they are (those in a bundle's subfolders only with its page).

    As in Hugo, names starting with ``_`` (but ``_index.md``, a section's own page) are
    left out, and Markdown files inside a page bundle are its resources, not pages (they
    are not published). Noise is skipped; symlinks leading out of the site are reported
    in ``problems``."""
    sources: list[tuple[str, tuple[str, ...], tuple[Path, ...]]] = []
    assets: list[Asset] = []
    top = str(folder)
    root = config.root_path(lang)
    owners: dict[str, str] = {}  # folder → id of the bundle it is inside ("": none)
    for directory, folders, visible in walk(top, config.root, problems):
        ignored.extend((os.path.join(directory, name), "a folder whose name starts with _")
                       for name in folders if name.startswith("_"))
        folders[:] = [name for name in folders if not name.startswith("_")]
        within = tuple(os.path.relpath(directory, top).split(os.sep)) if directory != top \
            else ()
        prefix = os.path.join(directory, "")
        names = [name for name in visible if not name.startswith("_") or name == SECTION_FILE]
        if len(names) < len(visible):
            ignored.extend((prefix + name, "a file whose name starts with _")
                           for name in visible if name.startswith("_") and name != SECTION_FILE)
        others = [name for name in names if not name.endswith(".md") and bundle_file(name)]
        inside = owners.get(directory, "")
        bundle = "index.md" in names and not inside
        owner = "/".join((lang, *within)) if bundle else inside
        owners.update((os.path.join(directory, name), owner) for name in folders)
        resources = tuple(Path(directory, name) for name in others) if bundle else ()
        if bundle or inside:
            ignored.extend((os.path.join(directory, name), "Markdown inside a page bundle: "
                            "a resource of that page, not a page") for name in names
                           if name.endswith(".md") and (inside or name != "index.md"))
        if bundle:
            sources.append((os.path.join(directory, "index.md"), (*within, "index.md"),
                            resources))
        elif not inside:
            sources += [(prefix + name, (*within, name), ()) for name in names
                        if name.endswith(".md")]
        if not bundle:
            relative = "".join(f"{part}/" for part in within)
            assets.extend(Asset(Path(directory, name), f"{root}{relative}{name}", owner)
                          for name in others)
    sources.sort(key=itemgetter(0))
    assets.sort(key=attrgetter("path"))
    return sources, assets


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FrontMatterError(line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                      "save the file as UTF-8") from exc


def _load_page(config: SiteConfig, source: Source, raw: bytes, digest: str,
               problems: list[Problem], *, body: bool = True,
               keep: Callable[[str], object] | None = None
               ) -> tuple[Page | None, tuple[tuple[str, int, int], ...]]:
    """The page and the files it read besides the source and its resources (without
    ``body``: its front matter only, the body and a summary made from it left empty;
    with ``keep``, the body is handed to it and the record made without it)."""
    lang, resources = source.lang, source.resources
    shown = _display_path(config, source.path)
    try:
        text = _decode(raw)
        if raw.translate(None, XML_SAFE_BYTES):
            text = _xml_text(text, shown, problems)
        front = parse_front_matter(text)
    except MissingFrontMatter as exc:
        problems.append(warning(shown, exc.line, exc.message))
        front = FrontMatter({"title": _title_from(source.relative)}, {}, text, 1)
    except FrontMatterError as exc:
        problems.append(error(shown, exc.line, exc.message))
        return None, ()
    if b"\\" in raw:  # YAML, TOML and JSON write control characters only as escapes
        front = _xml_values(front, shown, problems)
    before = len(problems)
    fields = _Fields(front, shown, problems)
    *folders, name = source.relative  # under content/<lang>/
    section_page = name == SECTION_FILE
    parts = tuple(folders) if name in ("index.md", SECTION_FILE) else \
        (*folders, name.removesuffix(".md"))
    kind = "section" if section_page else "article" if len(parts) > 1 else "page"
    title = fields.title(required=not section_page)
    date = fields.datetime("date", required=False)  # a translation may inherit it
    updated = fields.datetime("updated", required=False)
    publish_at = fields.datetime("publish_date", required=False)
    slug = fields.slug(parts[-1]) if parts and not section_page else ""
    folders = parts if section_page else parts[:-1]
    named = (*folders, slug) if slug else folders
    site_path = fields.url() or config.root_path(lang) + "".join(f"{p}/" for p in named)
    image, image_alt, image_file = fields.image(config, resources, site_path)
    _check_images(config, front, shown, resources, image_file, problems)
    draft = fields.boolean("draft")
    urgent = fields.boolean("urgent")
    tags = fields.tags(config.limits.tags)
    key = fields.text("translation_key") or "/".join((*parts, "_index") if section_page
                                                     else parts)
    summary = fields.text("summary")
    description = fields.text("description")
    render, listed = fields.build_options()
    if updated and date and updated < date:
        problems.append(warning(shown, front.lines.get("updated"), "'updated' is before 'date'"))
    extra_inputs = (_stamp(image_file),) if image_file and \
        str(image_file.parent) != os.path.dirname(source.path) else ()
    if len(problems) > before and any(p.severity == "error" for p in problems[before:]):
        return None, extra_inputs
    info = shortcodes.PageInfo(lang, site_path, "/".join(source.relative[:-1]),
                               MappingProxyType(dict(front.values)))
    try:
        body_html, removed, expanded = _body_html(
            config, front.body, info, controls=_controls_in(raw)) if body else \
            ("", (), shortcodes.Expanded(""))
    except shortcodes.ShortcodeError as exc:
        problems.append(error(shown, front.body_line + exc.line - 1, exc.message))
        used = exc.expanded.template_files(config) if exc.expanded else ()
        return None, (*extra_inputs, *map(_stamp, used))
    except sanitize.TooDeep as exc:
        problems.append(error(shown, front.body_line + exc.line - 1, exc.message))
        return None, extra_inputs
    if expanded.used:
        extra_inputs = (*extra_inputs, *map(_stamp, expanded.template_files(config)))
    refs = shortcodes.refs_in(body_html) if expanded.refs else ()
    problems.extend(warning(shown, front.body_line + r.line - 1 if r.line else None, r.message)
                    for r in removed)
    summary = summary or description or summarise(body_html)
    if keep is not None and body_html:
        keep(body_html)
        body_html = ""
    page = _new_page(
        id="/".join((lang, *parts, "_index") if section_page else (lang, *parts)),
        lang=lang,
        kind=kind,
        section=_shared(folders[0]) if folders else "",
        slug=slug,
        title=title,
        date=date,
        updated=updated,
        summary=summary,
        tags=_shared(tags),
        image=image,
        image_alt=image_alt,
        image_size=_image_size(image_file),
        image_file=image_file,
        draft=draft,
        urgent=urgent,
        translation_key=key,
        body_html=body_html,
        source=shown,
        path=site_path,
        resources=resources,
        extra=MappingProxyType({k: v for k, v in front.values.items() if k not in KNOWN_KEYS})
        or EMPTY,  # (one shared mapping: pickled once a message or cache shard, not a page)
        fields_set=_shared(frozenset(front.values)),
        translation_of=fields.text("translation_of"),
        refs=refs,
        digest=digest,
        sections=_shared(tuple(folders)),
        weight=fields.integer("weight"),
        link_title=fields.text("link_title"),
        description=description,
        aliases=fields.aliases(config.root_path(lang), folders),
        noindex=fields.noindex(),
        expires=fields.datetime("expiry_date", required=False),
        publish_at=publish_at,
        render=render,
        listed=listed,
        terms=MappingProxyType({name: fields.terms(name) for name in config.taxonomies
                                if name != "tags" and name in front.values}) or EMPTY,
    )
    return page, extra_inputs


_SHARED: dict[Any, Any] = {}
SHARED_VALUES = 10_000


def _shared(value: Any) -> Any:
    """One object for equal values that many pages hold (their front matter's keys, a
    section, a pair of tags, the settings): a parsed page sent from a worker then holds
    the one its chunk sends, not a copy of its own (70 MB of 100,000 pages' key sets)."""
    if len(_SHARED) > SHARED_VALUES:
        _SHARED.clear()
    return _SHARED.setdefault(value, value)


class _Fields:
    """Typed access to front matter, recording a problem for each bad value."""

    def __init__(self, front: FrontMatter, path: Path, problems: list[Problem]) -> None:
        self.front = front
        self.path = path
        self.problems = problems

    def _fail(self, key: str, message: str) -> None:
        self.problems.append(error(self.path, self.front.lines.get(key, 1), message))

    def title(self, *, required: bool = True) -> str:
        value = self.front.values.get("title")
        if value is not None and not isinstance(value, str):
            self._fail("title", _not_text("title", value))
            return ""
        if value is None or value.strip() == "":
            if required:
                end = max(1, self.front.body_line - 2)
                self._fail("title", f"missing 'title' in the front matter (lines 1–{end}): "
                                    'add a line such as title: "Water points restored"')
            return ""
        text = value.strip()
        tag = HTML_TAG.search(text)
        if tag:
            self._fail("title", f"title contains HTML markup ({tag.group(0)}); titles are "
                                "plain text, remove the tags")
        return text

    def text(self, key: str) -> str:
        value = self.front.values.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self._fail(key, _not_text(key, value))
            return ""
        return value.strip()

    def boolean(self, key: str) -> bool:
        value = self.front.values.get(key, False)
        if value is None:  # `draft:` with nothing after it
            self.problems.append(warning(self.path, self.front.lines.get(key, 1),
                                         f"'{key}' is empty: read as false"))
            return False
        if not isinstance(value, bool):
            self._fail(key, f"'{key}' must be true or false, got {value!r}")
            return False
        return value

    def datetime(self, key: str, *, required: bool) -> datetime | None:
        value = self.front.values.get(key)
        if value is None:
            if required:
                self._fail(key, f"missing '{key}': articles need a {key} such as "
                                "2026-03-14T09:30:00+03:00")
            return None
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self._fail(key, f"'{key}' is not an ISO 8601 date: {value!r} "
                            "(write it like 2026-03-14 or 2026-03-14T09:30:00+03:00)")
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def integer(self, key: str) -> int:
        value = self.front.values.get(key, 0)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(key, f"'{key}' must be a whole number, got {value!r}")
            return 0
        return value

    def url(self) -> str:
        """A page's own address (``url: /about-us/``), from the site root."""
        value = self.text("url")
        if not value:
            return ""
        path = "/" + value.strip("/") + ("" if "." in value.rsplit("/", 1)[-1] else "/")
        if _bad_path(path):
            self._fail("url", f"url {_shown_value(value)} is not a site path such as "
                              f"/about-us/ (each name at most {SEGMENT_BYTES} bytes)")
            return ""
        if not path.endswith("/") and not path.lower().endswith((".html", ".htm")):
            self._fail("url", f"url {_shown_value(value)} names a "
                              f"{path.rsplit('.', 1)[-1][:10]} file, but a page is HTML: end "
                              "it with / or .html")
            return ""
        return path.replace("//", "/")

    def aliases(self, root: str, folders: tuple[str, ...]) -> tuple[str, ...]:
        """Old addresses of the page, as site paths (a relative one is in its section)."""
        value = self.front.values.get("aliases") or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._fail("aliases", "'aliases' must be a list of old addresses such as "
                                  "[/2024/05/old-title/]")
            return ()
        found: dict[str, None] = {}
        for alias in (v.strip() for v in value if v.strip()):
            if alias.startswith(("http://", "https://", "//")):
                self._fail("aliases", f"alias {alias!r} is another site's address; write the "
                                      "path only")
                continue
            path = alias if alias.startswith("/") else \
                root + "".join(f"{part}/" for part in folders) + alias
            if _bad_path(path.split("?", 1)[0]):
                self._fail("aliases", f"alias {_shown_value(alias)} is not a site path (each "
                                      f"name at most {SEGMENT_BYTES} bytes)")
                continue
            if re.search(r"[\s\x00-\x1f\x7f]", path):  # its query: one field of _redirects
                self._fail("aliases", f"alias {_shown_value(alias)} has a space or a line "
                                      "break: write it as one address (%20 for a space)")
                continue
            found[path] = None
        return tuple(found)

    def noindex(self) -> bool:
        robots = self.front.values.get("robots")
        noindex = self.front.values.get("noindex")
        return noindex is True or (isinstance(robots, str) and "noindex" in robots.lower())

    def build_options(self) -> tuple[bool, bool]:
        """Whether the page is rendered and listed: Hugo's ``headless: true`` and
        ``build``/``_build`` options (``render``, ``list``: never/always/…)."""
        if self.front.values.get("headless") is True:
            return False, False
        options = self.front.values.get("build") or self.front.values.get("_build") or {}
        if not isinstance(options, dict):
            return True, True
        render, listed = options.get("render", True), options.get("list", True)
        return (render not in (False, "never", "link", "false"),
                listed not in (False, "never", "false"))

    def terms(self, taxonomy: str) -> tuple[str, ...]:
        value = self.front.values.get(taxonomy) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self._fail(taxonomy, f"'{taxonomy}' must be a list such as [Field, Health]")
            return ()
        terms = tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
        for term in terms:
            if len(term.encode()) > SEGMENT_BYTES:
                self._fail(taxonomy, f"{taxonomy[:-1] if taxonomy.endswith('s') else taxonomy}"
                                     f" {_shown_value(term)} is {len(term.encode())} bytes: "
                                     f"it names a folder of the site, of at most "
                                     f"{SEGMENT_BYTES} bytes")
                return ()
        return terms

    def slug(self, default: str) -> str:
        value = self.text("slug") or default
        if BAD_SLUG.search(value) or ".." in value or len(value.encode()) > SEGMENT_BYTES:
            self._fail("slug", f"slug {_shown_value(value)} is not allowed: a slug is one URL "
                               f"segment without '/', '..', spaces or '?#%', of at most "
                               f"{SEGMENT_BYTES} bytes")
            return default
        return value

    def tags(self, limit: int) -> tuple[str, ...]:
        """The tags, once each; beyond ``limit`` dropped with a warning (each tag gets a
        page and a feed, and every feed entry lists its article's tags)."""
        value = self.front.values.get("tags") or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            self._fail("tags", "'tags' must be a list such as [water, health]")
            return ()
        tags: dict[str, None] = {}
        for tag in (t.strip() for t in value):
            if BAD_SLUG.search(tag.replace(" ", "-")) or ".." in tag:
                self._fail("tags", f"tag {_shown_value(tag)} cannot be a URL segment")
            elif len(tag.encode()) > SEGMENT_BYTES:
                self._fail("tags", f"tag {_shown_value(tag)} is {len(tag.encode())} bytes: a "
                                   f"tag names a folder of the site, of at most "
                                   f"{SEGMENT_BYTES} bytes (a comma inside quotes?)")
            elif tag:
                tags[tag] = None
        if len(tags) > limit:
            self.problems.append(warning(self.path, self.front.lines.get("tags"),
                                         f"{len(tags)} tags: only the first {limit} are kept "
                                         "([limits] tags in site.toml)"))
        return tuple(tags)[:limit]

    def image(self, config: SiteConfig, resources: tuple[Path, ...],
              site_path: str) -> tuple[str, str, Path | None]:
        """The image's site path, alt text and file (bundle resource or site static)."""
        image = self.text("image")
        alt = self.text("image_alt")
        if not image:  # a translation's own alt text for the image it inherits
            return "", alt, None
        if image.startswith(("http://", "https://", "//")):
            self._fail("image", "'image' must be a file of the site, not another host "
                                "(visitors' privacy)")
            return "", "", None
        if image.startswith("/"):
            file = config.root / "static" / image.lstrip("/")
            where = "in static/"
        else:
            file = next((p for p in resources if p.name == image), config.root / "missing")
            where = "beside this page (put it in the page bundle folder)"
            image = site_path + image
        if ".." in image or not file.is_file():
            self._fail("image", f"image {self.text('image')!r} not found {where}")
            return "", "", None
        if not alt:
            self.problems.append(warning(self.path, self.front.lines.get("image"),
                                         "'image' has no 'image_alt' text"))
        return image, alt, file


def _check_images(config: SiteConfig, front: FrontMatter, shown: Path,
                  resources: tuple[Path, ...], image_file: Path | None,
                  problems: list[Problem]) -> None:
    """Each raster image the page publishes (its bundle's, its front-matter image) must
    be readable and within ``[limits] image_pixels``: else an error naming the image, at
    the line that uses it."""
    files = [file for file in resources if imaging.is_raster(file)]
    if image_file is not None and image_file not in files and imaging.is_raster(image_file):
        files.append(image_file)
    for file in files:
        reason = imaging.unusable(file)
        if reason is not None:
            problems.append(error(shown, _line_using(front, file.name),
                                  f"image {_display_path(config, str(file))}: {reason}"))


def _line_using(front: FrontMatter, name: str) -> int | None:
    """The front-matter ``image:`` line or the first body line naming the file."""
    image = front.values.get("image")
    if isinstance(image, str) and image.strip().rsplit("/", 1)[-1] == name:
        return front.lines.get("image")
    for number, line in enumerate(front.body.split("\n"), front.body_line):
        if name in line:
            return number
    return None


def _controls_in(raw: bytes) -> bool:
    """Whether the text read from a file's bytes may hold a control character (three
    searches of its bytes cost a fraction of a look at each character of its text)."""
    return any(map(raw.__contains__, XML_CONTROLS))


def _not_text(key: str, value: object) -> str:
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) \
        else "true or false" if isinstance(value, bool) else "a number" \
        if isinstance(value, int | float) else f"a {type(value).__name__}"
    return (f"'{key}' must be text, not {kind}: write it on one line, in quotes if it "
            "starts with '[' or '{' or holds ': '")


def _xml_text(text: str, path: Path, problems: list[Problem], line: int = 1, *,
              lines: bool = True) -> str:
    """``text`` without the characters XML 1.0 forbids, each kind reported once: at the
    line of ``text`` it first appears on (counted from ``line``), or at ``line``."""
    if XML_FORBIDDEN.search(text) is None:
        return text
    found: dict[str, list[int]] = {}  # character → [first offset, count]
    for match in XML_FORBIDDEN.finditer(text):
        found.setdefault(match.group(), [match.start(), 0])[1] += 1
    for char, (offset, count) in found.items():
        kind = "control character" if char < " " else "character XML does not allow"
        what = f"a {kind}" if count == 1 else f"{count} {kind}s"
        where = line + text.count("\n", 0, offset) if lines else line
        problems.append(warning(path, where, f"removed {what} U+{ord(char):04X}"))
    return XML_FORBIDDEN.sub("", text)


def _xml_values(front: FrontMatter, path: Path, problems: list[Problem]) -> FrontMatter:
    """Front matter whose text has no character XML forbids (YAML escapes such as
    "\\f" or "\\0" write them in quoted values), reported at the key's line."""
    def clean(value: Any, line: int) -> Any:
        if isinstance(value, str):
            return _xml_text(value, path, problems, line, lines=False)
        if isinstance(value, list):
            return [clean(item, line) for item in value]
        if isinstance(value, dict):
            return {clean(key, line): clean(item, line) for key, item in value.items()}
        return value

    values = {}
    for key, value in front.values.items():
        line = front.lines.get(str(key), 2)
        values[clean(key, line)] = clean(value, line)
    if values == front.values:
        return front
    return FrontMatter(values, front.lines, front.body, front.body_line)


def _title_from(relative: tuple[str, ...]) -> str:
    """``water-points.md`` (or ``water-points/index.md``) → "Water points"."""
    name = relative[-2] if relative[-1] in ("index.md", SECTION_FILE) and len(relative) > 1 \
        else relative[-1].removesuffix(".md")
    words = name.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def _bad_path(path: str) -> bool:
    """Whether a site path could leave the site, break a URL or name a file no file
    system takes."""
    parts = path.split("/")
    return ".." in parts or bool(re.search(r"[\s<>\"'\\#\x00-\x1f]", path)) or \
        any(len(part.encode()) > SEGMENT_BYTES for part in parts)


def _shown_value(value: str) -> str:
    """A value as messages quote it: on one line, a long one cut."""
    return repr(value if len(value) <= 80 else value[:60] + "…" + value[-10:])


def _image_size(file: Path | None) -> tuple[int, int] | None:
    """Width and height as shown (EXIF orientation applied), from the header only."""
    return imaging.size(file) if file is not None else None


def _display_path(config: SiteConfig, path: str) -> Path:
    """The path relative to the site folder, as problems and page records show it."""
    root = str(config.root) + os.sep
    return path_of(path[len(root):] if path.startswith(root) else path)


ANY_TAG = re.compile(r"<[^>]+>")  # (compiled once: re.sub looks a pattern up in re's cache)


def summarise(html: str) -> str:
    """The first paragraph as plain text, cut at a word boundary."""
    text = unescape(_without_tags(_first_paragraph(html))).strip()
    text = " ".join(text.split())  # (each run of spaces one: str.split's are re's \s)
    if len(text) <= SUMMARY_LENGTH:
        return text
    cut = text[:SUMMARY_LENGTH]
    space = cut.rfind(" ")
    return (cut[:space] if space > SUMMARY_LENGTH // 2 else cut).rstrip(",;:") + "…"


def _first_paragraph(html: str) -> str:
    """The inner HTML of the first ``<p>…</p>`` ("" when there is none), found with two
    searches (a pattern tried a lazy match at each character: eight times the time)."""
    start = html.find("<p>")
    end = html.find("</p>", start + 3) if start >= 0 else -1
    return html[start + 3:end] if end >= 0 else ""


def _without_tags(html: str) -> str:
    return ANY_TAG.sub("", html) if "<" in html else html

"""Load phase: Markdown sources under ``content/<lang>/`` read into ``Page`` records.

Every file is read and validated even when it will be left out (drafts, future
posts), and every problem is collected, so one build reports all of them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from html import unescape
from itertools import repeat
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from generator import imaging, sanitize, shortcodes
from generator.config import SiteConfig
from generator.errors import Problem, error, warning
from generator.files import is_noise, walk
from generator.model import (
    Asset,
    Page,
    field_names,
    field_types,
    field_values,
    pickled_by_fields,
    well_typed,
)
from generator.parallel import Progress, parallel_map

KNOWN_KEYS = {
    "title", "date", "updated", "summary", "tags", "image", "image_alt", "draft",
    "slug", "translation_key", "urgent", "translation_of",
}
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
BAD_SLUG = re.compile(r"[/\\?#%\s<>\"'\x00-\x1f\x7f]|^\.+$")
SUMMARY_LENGTH = 200
TEXT_KEYS = frozenset({"title", "summary", "image", "image_alt", "slug", "translation_key",
                       "translation_of"})
FRONT_MATTER_LIMIT = 64 * 1024  # characters; real front matter stays under 2 KB
NESTING_LIMIT = 20  # lists and mappings inside one another, in one value
# What XML 1.0 forbids (C0 controls but tab, LF and CR; surrogates; U+FFFE, U+FFFF):
# one such character in a title or body makes every feed quoting it unreadable.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SITE_FOLDERS = ("static", "themes", "locales")  # besides content/: published or read


class _FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml's C parser where present) that keeps dates as text, so
    their time zone survives as written."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Most values are plain strings: take them as they are (what the string
        # constructor returns) without the general bookkeeping for each node.
        if node.__class__ is yaml.ScalarNode and node.tag == STRING_TAG:
            return node.value
        return super().construct_object(node, deep)

    def construct_document(self, node: yaml.Node) -> Any:
        # A text field given a scalar is the text as written: `title: 2026`,
        # `title: No` and `tags: [yes, 1:30]` stay "2026", "No", "yes" and "1:30"
        # (YAML 1.1 would make them a number, false, true and 90). Empty stays unset.
        if node.__class__ is yaml.MappingNode:
            for key, value in node.value:
                if key.__class__ is not yaml.ScalarNode:
                    continue
                if key.value in TEXT_KEYS:
                    _as_written(value)
                elif key.value == "tags":
                    for item in value.value if value.__class__ is yaml.SequenceNode else [value]:
                        _as_written(item)
        return super().construct_document(node)


STRING_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"


def _as_written(node: yaml.Node) -> None:
    if node.__class__ is yaml.ScalarNode and node.tag != NULL_TAG:
        node.tag = STRING_TAG


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
LOAD_VERSION = 5  # bump when parsing changes what a source turns into
KEY_LINE = re.compile(r"([A-Za-z_][\w-]*)\s*:")  # a top-level key, for its line number


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the load phase found: pages to publish, files to copy, problems."""

    pages: tuple[Page, ...]
    assets: tuple[Asset, ...]
    problems: tuple[Problem, ...]
    parsed: Mapping[str, Parsed] = field(default_factory=dict)  # for the next build's cache
    scan: Scan | None = None  # the walk of content/, for a watcher's next build


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """Parsed front matter with the line each key starts on."""

    values: Mapping[str, Any]
    lines: Mapping[str, int]
    body: str
    body_line: int


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


def markup_settings(config: SiteConfig) -> str:
    """What besides its files decides what a source turns into: a result made under
    other settings (say, another raw HTML policy) is parsed again."""
    return (f"{LOAD_VERSION}:html={config.markdown.html}:tags={config.limits.tags}:"
            f"pixels={config.limits.image_pixels}")


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


PARALLEL_PARSE_THRESHOLD = 200


def load_site(config: SiteConfig, previous: Mapping[str, Parsed] | None = None,
              workers: int = 1, progress: Progress | None = None, *,
              scan: Scan | None = None, touched: frozenset[str] | None = None,
              stamps: Mapping[str, tuple[str, int, int]] | None = None,
              meanwhile: Callable[[], None] | None = None) -> Loaded:
    """Read every language folder; collect pages (drafts and future posts too: the
    link phase decides what is published), assets and problems.

    ``previous`` is the last build's ``Loaded.parsed``: unchanged sources are reused.
    ``scan`` and ``touched`` come from a watcher that saw only these existing sources
    change: the folder is not walked again and no other source is looked at.
    ``stamps`` are the input files' (path, mtime, size) just taken by the caller;
    ``meanwhile`` is the caller's work while workers parse (skipped when none do).
    """
    previous = previous or {}
    settings = markup_settings(config)
    imaging.limit_pixels(config.limits.image_pixels)
    known = {s.path for s in scan.sources} if scan is not None and touched is not None else set()
    if scan is None or touched is None or not touched <= known:  # a new file: walk again
        scan = scan_content(config)
        fresh = [s for s in scan.sources
                 if s.path not in previous or previous[s.path].settings != settings
                 or not _unchanged(previous[s.path].inputs, stamps)]
    else:
        fresh = [s for s in scan.sources if s.path in touched or s.path not in previous
                 or previous[s.path].settings != settings]
    if workers <= 1 or len(fresh) < PARALLEL_PARSE_THRESHOLD:
        meanwhile = None  # no workers to wait for: it would only add to a small build
    parse = partial(_parse, config, previous, shortcodes.templates_digest(config))
    results = dict(zip((s.path for s in fresh),
                       parallel_map(parse, fresh, workers, PARALLEL_PARSE_THRESHOLD, progress,
                                    meanwhile),
                       strict=True))
    parsed = {s.path: results.get(s.path) or previous[s.path] for s in scan.sources}
    problems = list(scan.problems)
    pages = []
    for result in parsed.values():
        problems.extend(result.problems)
        if result.page is not None:
            pages.append(result.page)
    return Loaded(tuple(pages), scan.assets, tuple(problems),
                  MappingProxyType(parsed), scan)  # type: ignore[arg-type]


def scan_content(config: SiteConfig) -> Scan:
    """Walk ``content/``: a folder per configured language, Markdown and other files."""
    content = config.content_dir
    if not content.is_dir():
        return Scan((), (), (error(content, None, "content folder not found"),))
    problems: list[Problem] = []
    assets: list[Asset] = []
    known = set(config.language_codes)
    sources: list[Source] = []
    for folder in sorted(content.iterdir()):
        if is_noise(folder.name):
            continue
        if not folder.is_dir():
            problems.append(warning(folder, None, "ignored: files belong in content/<lang>/"))
            continue
        if folder.name not in known:
            problems.append(error(folder, None, _unknown_language(folder.name, config)))
            continue
        found, loose = _scan(config, folder, problems)
        sources.extend(Source(folder.name, path, relative, resources)
                       for path, relative, resources in found)
        assets.extend(loose)
    for name in SITE_FOLDERS:  # their links are checked here, so check and build see them
        for _walked in walk(config.root / name, config.root, problems):
            pass
    return Scan(tuple(sources), tuple(assets), tuple(problems))


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


def _parse(config: SiteConfig, previous_results: Mapping[str, Parsed],
           shortcode_templates: str, source: Source) -> Parsed:
    """Read, validate and convert one source (or reuse its result if its bytes match)."""
    try:
        with open(source.path, "rb") as handle:
            # Stamped before reading: a file saved meanwhile is seen as changed next time.
            status = os.fstat(handle.fileno())
            raw = handle.read()
    except OSError as exc:
        shown = _display_path(config, source.path)
        return Parsed((), "", None, (error(shown, None, f"cannot read: {exc.strerror}"),))
    stamp = (source.path, status.st_mtime_ns, status.st_size)
    resources = tuple(_stamp(p) for p in source.resources)
    hashed = hashlib.blake2b(raw, digest_size=16)
    hashed.update(repr((LOAD_VERSION, config.markdown.html,
                        [(Path(n).name, m, s) for n, m, s in resources])).encode())
    if b"{{<" in raw or b"{{%" in raw:  # made with the theme's shortcode templates too
        hashed.update(shortcode_templates.encode())
    digest = hashed.hexdigest()
    previous = previous_results.get(source.path)
    if previous is not None and previous.digest == digest and \
            _unchanged(previous.inputs[1 + len(resources):]):
        return Parsed((stamp, *resources, *previous.inputs[1 + len(resources):]),
                      digest, previous.page, previous.problems, previous.settings)
    problems: list[Problem] = []
    page, extra_inputs = _load_page(config, source, raw, digest, problems)
    return Parsed((stamp, *resources, *extra_inputs), digest, page, tuple(problems),
                  markup_settings(config))


def source_body(config: SiteConfig, page: Page) -> str:
    """A page's HTML body made again from its file (when the cache lost it)."""
    path = config.root / page.source
    try:
        front = parse_front_matter(XML_FORBIDDEN.sub("", _decode(path.read_bytes())))
    except (OSError, ValueError):
        return ""
    folder = path.parent.relative_to(config.content_dir / page.lang).as_posix()
    info = shortcodes.PageInfo(page.lang, page.path, "" if folder == "." else folder,
                               MappingProxyType(dict(front.values)))
    try:
        return _body_html(config, front.body, info)[0]
    except shortcodes.ShortcodeError:
        return ""


def _body_html(config: SiteConfig, text: str, info: shortcodes.PageInfo) -> tuple[
        str, tuple[sanitize.Removal, ...], shortcodes.Expanded]:
    """A Markdown body as HTML: shortcodes expanded, raw HTML under the site's policy
    (the theme's shortcode HTML is put back after it), with what was removed and what
    the shortcodes did."""
    expanded = shortcodes.expand(text, config, info)
    html, removed = sanitize.body_html(expanded.text, config.markdown.html)
    return (expanded.restore(html) if expanded.stash else html), removed, expanded


BODY_FIELD = field_names(Page).index("body_html")


def _page_without_body(page: Page) -> tuple[type[Page], tuple[Any, ...]]:
    values = field_values(Page)(page)
    return Page, (*values[:BODY_FIELD], "", *values[BODY_FIELD + 1:])


# The cache index holds page records without their HTML bodies (kept in shards).
INDEX_REDUCERS = MappingProxyType({Page: _page_without_body})


def parse_front_matter(text: str) -> FrontMatter:
    """Split ``---`` front matter from the body; raise ``ValueError(line, message)``."""
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise _FrontMatterError(1, "missing front matter: start the file with a '---' line, "
                                   "then 'title: …', then '---'")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "...")), None)
    if end is None:
        raise _FrontMatterError(1, "front matter is not closed: add a '---' line after it")
    block = "\n".join(lines[1:end])
    if len(block) > FRONT_MATTER_LIMIT:
        raise _FrontMatterError(1, f"front matter is {len(block) // 1024} KB, over the "
                                   f"{FRONT_MATTER_LIMIT // 1024} KB limit: long text "
                                   "belongs in the body")
    if "&" in block or "*" in block:  # no anchor or alias can be written without them
        _refuse_anchors(block)
    try:
        values = yaml.load(block, Loader=_FrontMatterLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.line >= end - 1:  # at the end: where the value began
            mark = getattr(exc, "context_mark", None) or mark
        line = mark.line + 2 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:
            raise _FrontMatterError(line, TOO_DEEP) from exc
        raise _FrontMatterError(line, f"invalid YAML in front matter: {problem}") from exc
    except RecursionError as exc:  # the pure-Python parser, where libyaml is missing
        raise _FrontMatterError(2, TOO_DEEP) from exc
    if not isinstance(values, dict):
        raise _FrontMatterError(2, "front matter must be a mapping of 'key: value' lines")
    key_lines = {}
    for number, line in enumerate(lines[1:end], 2):
        match = KEY_LINE.match(line)
        if match and match.group(1) not in key_lines:
            key_lines[match.group(1)] = number
    for key, value in values.items():
        if isinstance(value, list | dict) and _too_deep(value):
            raise _FrontMatterError(key_lines.get(str(key), 2), TOO_DEEP)
    return FrontMatter(values, key_lines, "\n".join(lines[end + 1:]), end + 2)


TOO_DEEP = (f"front matter nests lists and mappings more than {NESTING_LIMIT} levels deep; "
            "keep values flat")


def _refuse_anchors(block: str) -> None:
    """Stop at the first anchor or alias: they have no use in front matter, and aliases
    of aliases (a "billion laughs") make a few lines expand into gigabytes. Only the
    tokens are read, so this costs time and memory in proportion to the text."""
    try:
        for token in yaml.scan(block, Loader=_FrontMatterLoader):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                raise _FrontMatterError(token.start_mark.line + 2, "YAML anchors and aliases "
                                                                   "are not allowed in front "
                                                                   "matter")
    except yaml.YAMLError:
        return  # loading it reports where the YAML is broken


def _too_deep(value: list | dict) -> bool:
    """Whether lists and mappings nest deeper than ``NESTING_LIMIT`` (level by level,
    without recursion: no depth can overflow the stack)."""
    level: list[Any] = [value]
    for _ in range(NESTING_LIMIT):
        level = [child for item in level if isinstance(item, list | dict)
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return any(isinstance(item, list | dict) for item in level)


class _FrontMatterError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _unknown_language(code: str, config: SiteConfig) -> str:
    configured = ", ".join(config.language_codes)
    return (f"unknown language folder '{code}': add [languages.{code}] to site.toml "
            f"or rename the folder (configured: {configured})")


def _scan(config: SiteConfig, folder: Path, problems: list[Problem]) -> tuple[
        list[tuple[str, tuple[str, ...], tuple[Path, ...]]], list[Asset]]:
    """One walk of a language folder: each Markdown source (path, parts under the
    folder) with its bundle resources (the files beside an ``index.md``), and the other
    files, published as they are (those in a bundle's subfolders only with its page).
    Noise is skipped; symlinks leading out of the site are reported in ``problems``."""
    sources: list[tuple[str, tuple[str, ...], tuple[Path, ...]]] = []
    assets: list[Asset] = []
    content = str(config.content_dir)
    top = str(folder)
    owners: dict[str, str] = {}  # folder → id of the bundle it is inside ("": none)
    for directory, folders, visible in walk(top, config.root, problems):
        within = tuple(os.path.relpath(directory, top).split(os.sep)) if directory != top \
            else ()
        others = [name for name in visible if not name.endswith(".md")]
        bundle = "index.md" in visible
        owner = "/".join((folder.name, *within)) if bundle else owners.get(directory, "")
        owners.update((os.path.join(directory, name), owner) for name in folders)
        resources = tuple(Path(directory, name) for name in others) if bundle else ()
        for name in visible:
            if name.endswith(".md"):
                sources.append((os.path.join(directory, name), (*within, name),
                                resources if name == "index.md" else ()))
        if not bundle:
            relative = os.path.relpath(directory, content).replace(os.sep, "/")
            assets.extend(Asset(Path(directory, name), f"/{relative}/{name}", owner)
                          for name in others)
    sources.sort(key=lambda item: item[0])
    assets.sort(key=lambda asset: asset.path)
    return sources, assets


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _FrontMatterError(line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                      "save the file as UTF-8") from exc


def _load_page(config: SiteConfig, source: Source, raw: bytes, digest: str,
               problems: list[Problem]) -> tuple[Page | None, tuple[tuple[str, int, int], ...]]:
    """The page and the files it read besides the source and its resources."""
    lang, resources = source.lang, source.resources
    shown = _display_path(config, source.path)
    try:
        front = parse_front_matter(_xml_text(_decode(raw), shown, problems))
    except _FrontMatterError as exc:
        problems.append(error(shown, exc.line, exc.message))
        return None, ()
    front = _xml_values(front, shown, problems)
    before = len(problems)
    fields = _Fields(front, shown, problems)
    *folders, name = source.relative  # under content/<lang>/
    parts = tuple(folders) if name == "index.md" else (*folders, name.removesuffix(".md"))
    kind = "article" if len(parts) > 1 else "page"
    title = fields.title()
    date = fields.datetime("date", required=False)  # a translation may inherit it
    updated = fields.datetime("updated", required=False)
    slug = fields.slug(parts[-1])
    folders = parts[:-1]
    site_path = "/" + "/".join((lang, *folders, slug)) + "/"
    image, image_alt, image_file = fields.image(config, resources, site_path)
    _check_images(config, front, shown, resources, image_file, problems)
    draft = fields.boolean("draft")
    urgent = fields.boolean("urgent")
    tags = fields.tags(config.limits.tags)
    key = fields.text("translation_key") or "/".join(parts)
    summary = fields.text("summary")
    if updated and date and updated < date:
        problems.append(warning(shown, front.lines.get("updated"), "'updated' is before 'date'"))
    extra_inputs = (_stamp(image_file),) if image_file and \
        str(image_file.parent) != os.path.dirname(source.path) else ()
    if len(problems) > before and any(p.severity == "error" for p in problems[before:]):
        return None, extra_inputs
    info = shortcodes.PageInfo(lang, site_path, "/".join(source.relative[:-1]),
                               MappingProxyType(dict(front.values)))
    try:
        body_html, removed, expanded = _body_html(config, front.body, info)
    except shortcodes.ShortcodeError as exc:
        problems.append(error(shown, front.body_line + exc.line - 1, exc.message))
        used = exc.expanded.template_files(config) if exc.expanded else ()
        return None, (*extra_inputs, *map(_stamp, used))
    extra_inputs = (*extra_inputs, *map(_stamp, expanded.template_files(config)))
    refs = shortcodes.refs_in(body_html) if expanded.refs else ()
    problems.extend(warning(shown, front.body_line + r.line - 1 if r.line else None, r.message)
                    for r in removed)
    page = Page(
        id=f"{lang}/{'/'.join(parts)}",
        lang=lang,
        kind=kind,
        section=parts[0] if kind == "article" else "",
        slug=slug,
        title=title,
        date=date,
        updated=updated,
        summary=summary or summarise(body_html),
        tags=tags,
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
        extra=MappingProxyType({k: v for k, v in front.values.items() if k not in KNOWN_KEYS}),
        fields_set=frozenset(front.values),
        translation_of=fields.text("translation_of"),
        refs=refs,
        digest=digest,
    )
    return page, extra_inputs


class _Fields:
    """Typed access to front matter, recording a problem for each bad value."""

    def __init__(self, front: FrontMatter, path: Path, problems: list[Problem]) -> None:
        self.front = front
        self.path = path
        self.problems = problems

    def _fail(self, key: str, message: str) -> None:
        self.problems.append(error(self.path, self.front.lines.get(key, 1), message))

    def title(self) -> str:
        value = self.front.values.get("title")
        if value is not None and not isinstance(value, str):
            self._fail("title", _not_text("title", value))
            return ""
        if value is None or value.strip() == "":
            self._fail("title", "missing 'title' in front matter")
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

    def slug(self, default: str) -> str:
        value = self.text("slug") or default
        if BAD_SLUG.search(value) or ".." in value:
            self._fail("slug", f"slug {value!r} is not allowed: a slug is one URL segment "
                               "without '/', '..', spaces or '?#%'")
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
                self._fail("tags", f"tag {tag!r} cannot be a URL segment")
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
        if not image:
            return "", "", None
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


def _not_text(key: str, value: object) -> str:
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) \
        else f"a {type(value).__name__}"
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


def _image_size(file: Path | None) -> tuple[int, int] | None:
    """Width and height as shown (EXIF orientation applied), from the header only."""
    return imaging.size(file) if file is not None else None


def _display_path(config: SiteConfig, path: str) -> Path:
    """The path relative to the site folder, as problems and page records show it."""
    root = str(config.root) + os.sep
    return Path(path[len(root):] if path.startswith(root) else path)


def summarise(html: str) -> str:
    """The first paragraph as plain text, cut at a word boundary."""
    match = re.search(r"<p>(.*?)</p>", html, re.DOTALL)
    text = unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""
    text = re.sub(r"\s+", " ", text)
    if len(text) <= SUMMARY_LENGTH:
        return text
    cut = text[:SUMMARY_LENGTH]
    space = cut.rfind(" ")
    return (cut[:space] if space > SUMMARY_LENGTH // 2 else cut).rstrip(",;:") + "…"

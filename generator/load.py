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
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from generator import imaging, sanitize
from generator.config import SiteConfig
from generator.errors import Problem, error, warning
from generator.files import is_noise, walk
from generator.model import (
    Asset,
    Page,
    field_names,
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
BAD_SLUG = re.compile(r"[/\\?#%\s<>\"']|^\.+$")
SUMMARY_LENGTH = 200
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


STRING_TAG = "tag:yaml.org,2002:str"


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
LOAD_VERSION = 3  # bump when parsing changes what a source turns into
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
    return f"{LOAD_VERSION}:html={config.markdown.html}"


def reusable(value: object) -> bool:
    """Whether a cache index entry is a well-formed ``Parsed`` (else the source is parsed
    again: a damaged or crafted entry costs time, never a crash)."""
    if not well_typed(value, Parsed):
        return False
    assert isinstance(value, Parsed)
    page = value.page
    return all(type(stamp) is tuple and len(stamp) == 3 and type(stamp[0]) is str and
               type(stamp[1]) is int and type(stamp[2]) is int for stamp in value.inputs) \
        and all(well_typed(problem, Problem) for problem in value.problems) \
        and (page is None or (well_typed(page, Page) and
                              all(type(tag) is str for tag in page.tags) and
                              all(isinstance(path, Path) for path in page.resources) and
                              (page.image_size is None or (
                                  len(page.image_size) == 2 and
                                  all(type(n) is int for n in page.image_size)))))


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
    results = dict(zip((s.path for s in fresh),
                       parallel_map(partial(_parse, config, previous), fresh, workers,
                                    PARALLEL_PARSE_THRESHOLD, progress, meanwhile),
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
           source: Source) -> Parsed:
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


def source_body(path: Path, policy: str = "safe") -> str:
    """A source's HTML body made again from its file (when the cache lost it), under
    the site's raw HTML ``policy``."""
    try:
        body = parse_front_matter(_decode(path.read_bytes())).body
    except (OSError, ValueError):
        return ""
    return sanitize.body_html(body, policy)[0]


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
    try:
        values = yaml.load(block, Loader=_FrontMatterLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.line >= end - 1:  # at the end: where the value began
            mark = getattr(exc, "context_mark", None) or mark
        line = mark.line + 2 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise _FrontMatterError(line, f"invalid YAML in front matter: {problem}") from exc
    if not isinstance(values, dict):
        raise _FrontMatterError(2, "front matter must be a mapping of 'key: value' lines")
    key_lines = {}
    for number, line in enumerate(lines[1:end], 2):
        match = KEY_LINE.match(line)
        if match and match.group(1) not in key_lines:
            key_lines[match.group(1)] = number
    return FrontMatter(values, key_lines, "\n".join(lines[end + 1:]), end + 2)


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
        front = parse_front_matter(_decode(raw))
    except _FrontMatterError as exc:
        problems.append(error(shown, exc.line, exc.message))
        return None, ()
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
    draft = fields.boolean("draft")
    urgent = fields.boolean("urgent")
    tags = fields.tags()
    key = fields.text("translation_key") or "/".join(parts)
    summary = fields.text("summary")
    if updated and date and updated < date:
        problems.append(warning(shown, front.lines.get("updated"), "'updated' is before 'date'"))
    extra_inputs = (_stamp(image_file),) if image_file and \
        str(image_file.parent) != os.path.dirname(source.path) else ()
    if len(problems) > before and any(p.severity == "error" for p in problems[before:]):
        return None, extra_inputs
    body_html, removed = sanitize.body_html(front.body, config.markdown.html)
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
        if value is None or str(value).strip() == "":
            self._fail("title", "missing 'title' in front matter")
            return ""
        text = str(value).strip()
        tag = HTML_TAG.search(text)
        if tag:
            self._fail("title", f"title contains HTML markup ({tag.group(0)}); titles are "
                                "plain text, remove the tags")
        return text

    def text(self, key: str) -> str:
        value = self.front.values.get(key)
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            self._fail(key, f"'{key}' must be text, not a {type(value).__name__}")
            return ""
        return str(value).strip()

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

    def tags(self) -> tuple[str, ...]:
        value = self.front.values.get("tags") or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(t, (str, int)) for t in value):
            self._fail("tags", "'tags' must be a list such as [water, health]")
            return ()
        tags = []
        for tag in (str(t).strip() for t in value):
            if BAD_SLUG.search(tag.replace(" ", "-")) or ".." in tag:
                self._fail("tags", f"tag {tag!r} cannot be a URL segment")
            elif tag and tag not in tags:
                tags.append(tag)
        return tuple(tags)

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

"""``newshub check``: read the built site and its content before anyone else does.

Errors (exit 1) break the site for readers: links and anchors that lead nowhere,
missing images or files, anything loaded from another host (readers' privacy).
Warnings degrade it: images without alt text, pages over the weight budget, theme
strings missing from a catalog, hreflang groups that do not point back, content
warnings. ``--strict`` (and ``build --strict``, used by CI) fails on warnings too.

Each finding names the file to fix: the Markdown source and the line holding the
link or image when it comes from there, else the output file and its line.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.parsers import expat

from generator import csp, i18n
from generator.config import SiteConfig
from generator.errors import Problem, one_line
from generator.files import PUBLISHED_DOTFOLDERS, walk
from generator.htmlscan import Active, Image, Ref, Scan, Script, css_urls, scan_html
from generator.link import link_site
from generator.load import load_site
from generator.model import Page, Site
from generator.outputs import cards
from generator.sanitize import scheme_pattern
from generator.theme import site_locales, theme_files

ERROR, WARNING = "error", "warning"
KB = 1024
GZIP_LEVEL = 6  # what servers commonly use
MIN_THEME_NEEDLE = 8  # shorter URLs ("/", "#top") would match theme lines by chance
RENDITION = re.compile(r"-\d+w-[0-9a-f]{8}(?=\.\w+$)")  # photo-960w-1a2b3c4d.webp → photo


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where to fix it (``source``/``line``) and where it shows (``output``)."""

    severity: str
    kind: str
    message: str
    source: Path | None = None  # relative to the site folder where possible
    line: int | None = None
    output: str | None = None  # relative to the output folder
    output_line: int | None = None

    def where(self, output_dir: Path) -> str:
        if self.source is not None:
            return f"{self.source}:{self.line}" if self.line else str(self.source)
        if self.output is not None:
            shown = output_dir / self.output
            return f"{shown}:{self.output_line}" if self.output_line else str(shown)
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "kind": self.kind, "message": self.message,
                "source": self.source.as_posix() if self.source else None, "line": self.line,
                "output": self.output, "output_line": self.output_line}


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]
    output: Path  # as shown: relative to the site folder when inside it
    pages: int = 0
    links: int = 0
    images: int = 0

    def count(self, severity: str) -> int:
        return sum(finding.severity == severity for finding in self.findings)

    def failed(self, strict: bool) -> bool:
        return bool(self.count(ERROR) or (strict and self.count(WARNING)))


def check_site(config: SiteConfig, output: Path) -> Report:
    """Check the content (config should include drafts) and the site built from it."""
    loaded = load_site(config)
    site, link_problems = link_site(config, loaded.pages, loaded.assets)
    problems = [*loaded.problems, *link_problems, *i18n.missing_translations(config),
                *_card_problems(site, output)]
    return check_output(site, output, problems)


def _card_problems(site: Site, output: Path) -> list[Problem]:
    """The share-card warnings ``build`` gives (characters no font has, no Raqm), for a
    site built with cards: so ``check --strict`` fails where ``build --strict`` does."""
    homes = (cards.home_card(site, lang).path for lang in site.config.language_codes)
    return cards.problems(site) if any((output / path).is_file() for path in homes) else []


def check_output(site: Site, output: Path, problems: Iterable[Problem] = ()) -> Report:
    """Check the built ``output`` of ``site``; ``problems`` from loading it come first."""
    config = site.config
    findings = [_from_problem(problem, config) for problem in problems]
    checker = _Checker(site, output)
    findings.extend(checker.run())
    return Report(tuple(findings), _relative(output, config.root), len(checker.pages),
                  checker.links, checker.images)


def _from_problem(problem: Problem, config: SiteConfig) -> Finding:
    path = problem.path
    kind = "content"
    if path is not None:
        if path.is_absolute() and path.is_relative_to(site_locales(config)):
            kind = "ui-translation"
        path = _relative(path, config.root) if path.is_absolute() else path
    return Finding(problem.severity, kind, problem.message, path, problem.line)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where an internal URL leads: its output file (None: nothing there) and fragment."""

    url: str
    file: str | None
    fragment: str


class _Checker:
    def __init__(self, site: Site, output: Path) -> None:
        self.site = site
        self.config = site.config
        self.output = output
        self.host = urlsplit(self.config.base_url).netloc.lower()
        self.files = {p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()}
        self.pages = sorted(f for f in self.files if f.endswith(".html"))
        self.by_output = {page.output_path: page for page in site.pages.values()}
        root = self.config.root
        # Files published as they are from content/ (beside the Markdown, in bundles) and
        # static/ (copied byte for byte by importers too): an editor's, not the theme's,
        # whatever they hold.
        static = root / "static"
        copied = [(asset.path, asset.source) for asset in site.assets] + [
            (page.path + resource.name, resource) for page in site.pages.values()
            for resource in page.resources] + [
            (Path(folder, name).relative_to(static).as_posix(), Path(folder, name))
            for folder, _folders, names in walk(static, root, [], keep=PUBLISHED_DOTFOLDERS)
            for name in names]
        self.copied = {path.lstrip("/"): _relative(source, root) for path, source in copied
                       if path.lstrip("/") in self.files}
        self.scans: dict[str, Scan] = {}
        self.cursors: dict[tuple[Path, str], int] = {}  # where the next search for code starts
        self.links = 0
        self.images = 0

    def run(self) -> list[Finding]:
        documents = list(self._documents())
        mismatch = self._base_url_mismatch()
        if mismatch:
            return [mismatch, *documents]
        findings: list[Finding] = documents
        for page in self.pages:
            findings.extend(self._page(page))
        for file in sorted(self.copied):  # an SVG or XHTML file opened runs its scripts too
            if file.endswith(SCRIPTED_DOCUMENTS):
                findings.extend(f for f in self._scripts(file, self.scan(file), None)
                                if f is not None and f.kind == "script")
        findings.extend(self._stylesheets())
        findings.extend(self._hreflang())
        return findings

    def _documents(self) -> Iterator[Finding]:
        """Feeds, the sitemap and every other XML or JSON file parse with a strict
        parser: a feed reader or a crawler drops the whole file at its first error."""
        for file in sorted(self.files):
            suffix = file.rsplit(".", 1)[-1].lower()
            if suffix in XML_SUFFIXES:
                found = _xml_error(self.output / file)
            elif suffix in JSON_SUFFIXES:
                found = _json_error(self.output / file)
            else:
                continue
            if found is not None:
                message, line = found
                yield Finding(ERROR, "not-well-formed", message, None, None, file, line)

    def scan(self, file: str) -> Scan:
        if file not in self.scans:
            text = (self.output / file).read_text(encoding="utf-8", errors="replace")
            self.scans[file] = scan_html(text)
        return self.scans[file]

    def _base_url_mismatch(self) -> Finding | None:
        """One clear error instead of hundreds when the output was built for another URL."""
        for file in self.pages:
            canonical = self.scan(file).canonical
            if canonical:
                if canonical.startswith(self.config.base_url):
                    return None
                return Finding(ERROR, "base-url", f"this output was built for another base URL "
                               f"({canonical}), not {self.config.base_url}: check with the same "
                               "--base-url or $NEWSHUB_BASE_URL as the build", None, None, file)
        return None

    # Links, anchors, images, resources -------------------------------------------------

    def _page(self, file: str) -> Iterator[Finding]:
        scan = self.scan(file)
        page = self.by_output.get(file)
        self.links += sum(not ref.fetch for ref in scan.refs)
        self.images += len(scan.images)
        found = [self._ref(file, ref, page) for ref in scan.refs]
        found += [self._alt(file, image, page) for image in scan.images]
        found += self._scripts(file, scan, page)
        seen: set[tuple[object, ...]] = set()
        for finding in filter(None, found):  # once per page: srcset and images repeat URLs
            key = (finding.kind, finding.message, finding.source, finding.line)
            if key not in seen:
                seen.add(key)
                yield finding
        yield from self._weight(file, scan, page)

    def _ref(self, file: str, ref: Ref, page: Page | None) -> Finding | None:
        try:
            parts = urlsplit(urljoin(self._url_of(file), ref.url.strip()))
        except ValueError:  # such as an unclosed [IPv6 host
            return self._finding(ERROR, "broken-link", f"malformed URL: {ref.url}", file,
                                 ref.line, page, ref.url)
        if parts.scheme not in ("http", "https"):
            return None  # mailto:, tel:, data:, javascript:
        if parts.netloc.lower() != self.host:
            if not ref.fetch:
                return None
            what = ref.tag if ref.tag == "url()" else f"<{ref.tag}>"
            return self._finding(ERROR, "foreign-resource",
                                 f"{what} loads {ref.url} from another host "
                                 f"({parts.netloc}); readers' privacy: copy the file into the "
                                 "site or link to it instead", file, ref.line, page, ref.url)
        target = self._target(parts.path, parts.fragment)
        if target is None:
            return self._finding(ERROR, "broken-link", f"{ref.url} is outside the site's base "
                                 f"path {self.config.path_prefix}/", file, ref.line, page, ref.url)
        if target.file is None:
            kind = "missing-image" if ref.image else "broken-link"
            what = "missing image" if ref.image else "broken link"
            where = f" (nothing at {target.url})" if target.url != ref.url else ""
            return self._finding(ERROR, kind, f"{what}: {ref.url}{where}", file, ref.line, page,
                                 ref.url)
        fragment = unquote(target.fragment)
        if fragment and fragment != "top" and target.file.endswith(".html") and \
                fragment not in self.scan(target.file).ids:
            return self._finding(ERROR, "broken-anchor", f"broken anchor: {ref.url} (no "
                                 f"id=\"{fragment}\" on {target.url})", file, ref.line, page,
                                 ref.url)
        return None

    def _url_of(self, file: str) -> str:
        path = file.removesuffix("index.html")
        return f"{self.config.origin}{self.config.path_prefix}/{path}"

    def _target(self, path: str, fragment: str) -> _Target | None:
        """The output file for a URL path of this host (None: outside the base path)."""
        prefix = self.config.path_prefix
        if prefix and path != prefix and not path.startswith(prefix + "/"):
            return None
        relative = unquote(path[len(prefix):]).lstrip("/")
        if relative == "" or relative.endswith("/"):
            candidates = [relative + "index.html"]
        else:
            candidates = [relative, relative + "/index.html"]  # hosts redirect /x to /x/
        found = next((c for c in candidates if c in self.files), None)
        return _Target(path, found, fragment)

    # Scripts ---------------------------------------------------------------------------

    def _scripts(self, file: str, scan: Scan, page: Page | None) -> list[Finding | None]:
        """Code a page would run that its theme did not put there: inline scripts its
        Content-Security-Policy does not name (or, without one, found in the content),
        event-handler attributes, and javascript:, vbscript: or data: URLs."""
        sources = csp.script_sources(scan.policy) if scan.policy is not None else None
        found: list[Finding | None] = [self._script(file, script, sources, page)
                                       for script in scan.scripts]
        found += [self._active(file, active, page) for active in scan.active]
        found += [self._finding(ERROR, "shortcode", f"shortcode left as text on the page: "
                                f"{text!r} (no template expanded it)", file, line, page,
                                _shortcode_name(text))
                  for line, text in scan.shortcodes]
        if scan.policy is None:
            found.append(Finding(WARNING, "csp", "page has no Content-Security-Policy <meta> "
                                 "(the default theme's csp.html has one): a script that "
                                 "reaches it would run", None, None, file))
        return found

    def _script(self, file: str, script: Script, sources: tuple[str, ...] | None,
                page: Page | None) -> Finding | None:
        if script.src is None and sources is not None and \
                csp.script_hash(script.text) in sources:
            return None  # the theme's, named by the page's policy: nothing to look up
        first = next((line.strip() for line in script.text.splitlines() if line.strip()), "")
        needles = [re.escape(first[:60])] if first else []
        if script.src is not None:
            needles.insert(0, _whole(script.src))
        needles.append(r"<\s*script\b")
        source, line = self._locate_code(page, needles, content_only=True)
        if source is None and file in self.copied:
            return Finding(ERROR, "script", "<script> in a file published as it is: it runs "
                           "when the file is opened; remove it (scripts belong in the theme)",
                           self.copied[file], script.line, file, script.line)
        if script.src is not None:
            if source is None:
                return None  # the theme's own file
            return Finding(ERROR, "script", f"<script src=\"{script.src}\"> in the content: "
                           "scripts belong in the theme", source, line, file, script.line)
        if sources is not None and not csp.allows_inline(sources, script.text):
            if source is None:
                source, line = self._locate_code(page, needles)
            return Finding(ERROR, "script", "inline <script> that is not the theme's: the "
                           "page's Content-Security-Policy stops it running; remove it, or "
                           "write it in the theme inside {% filter inline_script %}",
                           source, line, file, script.line)
        if source is None:
            return None  # no policy to tell, and not in the content: the theme's
        return Finding(ERROR, "script", "inline <script> in the content: scripts belong in "
                       "the theme ([markdown] html = \"safe\" removes them)", source, line,
                       file, script.line)

    def _active(self, file: str, active: Active, page: Page | None) -> Finding:
        if active.scheme:
            message = (f"{active.scheme}: URL in {active.name}= of <{active.tag}>: a link or "
                       "resource must not run code; use an http(s) or relative URL")
            needles = [scheme_pattern(active.scheme), rf"\b{re.escape(active.name)}\s*="]
        else:
            message = (f"event handler {active.name}= on <{active.tag}>: code in an attribute "
                       "runs with the page; remove it (scripts belong in the theme)")
            needles = [rf"\b{re.escape(active.name)}\s*="]
        source, line = self._locate_code(page, needles)
        if source is None and file in self.copied:  # published as it is: its own line
            source, line = self.copied[file], active.line
        return Finding(ERROR, "script", message, source, line, file, active.line)

    def _locate_code(self, page: Page | None, needles: list[str], *,
                     content_only: bool = False) -> tuple[Path | None, int | None]:
        """The first content line (else theme file line) matching one of ``needles``
        (case-insensitive patterns, tried in order)."""
        places: list[tuple[Path, tuple[str, ...]]] = []
        if page is not None:
            places.append((page.source, _source_lines(self.config.root / page.source)))
        if not content_only:
            places += [(_relative(path, self.config.root), _source_lines(path))
                       for path in _theme_files(self.config)]
        for shown, lines in places:
            for needle in needles:
                pattern = re.compile(needle, re.IGNORECASE)
                key = (shown, needle)  # a second hit of a needle starts after the first
                start = self.cursors.get(key, 0) % max(len(lines), 1)
                order = [*range(start, len(lines)), *range(start)]
                number = next((n + 1 for n in order if pattern.search(lines[n])), None)
                if number is not None:
                    self.cursors[key] = number
                    return shown, number
        return None, None

    def _alt(self, file: str, image: Image, page: Page | None) -> Finding | None:
        shown = _source_image(image.src, page)
        if image.alt is None:
            message = f"image {shown} has no alt attribute"
        elif not image.alt.strip() and not image.decorative:
            message = (f"image {shown} has empty alt text but is not decorative (write "
                       "what it shows; alt=\"\" is only for images inside a link with text "
                       "or with role=\"presentation\")")
        else:
            return None
        return self._finding(WARNING, "alt", message, file, image.line, page, image.src,
                             image=True)

    def _finding(self, severity: str, kind: str, message: str, file: str, line: int,
                 page: Page | None, needle: str, *, image: bool = False) -> Finding:
        """Point at the Markdown line holding ``needle`` when there is one (a file
        published as it is is its own source)."""
        if file in self.copied:
            return Finding(severity, kind, message, self.copied[file], line, file, line)
        source, source_line = self._locate(page, needle, image)
        return Finding(severity, kind, message, source, source_line, file, line)

    def _locate(self, page: Page | None, needle: str,
                image: bool) -> tuple[Path | None, int | None]:
        """The content line with ``needle``, else a theme file line (a URL written in a
        template or stylesheet), else nothing: the output file and line will do."""
        if page is not None:
            lines = list(enumerate(_source_lines(self.config.root / page.source), 1))
            if image:  # an image in the text before the front matter's (hero) image
                lines.sort(key=lambda item: "![" not in item[1] and "<img" not in item[1])
            name = needle.rsplit("/", 1)[-1]
            if RENDITION.search(name):  # photo-960w-1a2b3c4d.webp was made from photo.<ext>
                name = RENDITION.sub("", name).rsplit(".", 1)[0] + "."
            prefix = self.config.path_prefix  # Markdown writes /en/…, pages say /hub/en/…
            written = needle[len(prefix):] if prefix and needle.startswith(prefix + "/") \
                else needle
            for wanted in filter(None, dict.fromkeys((_whole(needle), _whole(written),
                                                      re.escape(name)))):
                found = next((n for n, text in lines if re.search(wanted, text)), None)
                if found is not None:
                    return page.source, found
        if len(needle) >= MIN_THEME_NEEDLE:
            for path in _theme_files(self.config):
                for number, text in enumerate(_source_lines(path), 1):
                    if re.search(_whole(needle), text):
                        return _relative(path, self.config.root), number
        return None, None

    # Weight ----------------------------------------------------------------------------

    def _weight(self, file: str, scan: Scan, page: Page | None) -> Iterator[Finding]:
        budget = self.config.budget
        if page is not None and page.kind == "article":
            html = _gzipped(self.output / file)
            loaded = {self._local(file, ref.url) for ref in scan.refs
                      if ref.fetch and ref.tag in ("link", "script")}
            css = sum(_gzipped(self.output / f) for f in loaded if f and f.endswith(".css"))
            js = sum(_gzipped(self.output / f) for f in loaded if f and f.endswith(".js"))
            total = html + css + js
            if total > budget.article_kb * KB:
                yield Finding(WARNING, "weight", f"article weighs {total / KB:.1f} KB gzipped "
                              f"(HTML {html / KB:.1f} + CSS {css / KB:.1f} + JS {js / KB:.1f}), "
                              f"over the {budget.article_kb:g} KB budget ([budget] article_kb "
                              "in site.toml)", page.source, None, file)
        images = self._image_bytes(file, scan)
        if images > budget.images_kb * KB:
            source = page.source if page is not None else None
            yield Finding(WARNING, "weight", f"images on this page weigh {images / KB:.0f} KB, "
                          f"over the {budget.images_kb:g} KB budget ([budget] images_kb in "
                          "site.toml)", source, None, file)

    def _image_bytes(self, file: str, scan: Scan) -> int:
        """What a current browser on a wide screen downloads: per image, the largest
        candidate of its first usable <source> (else of its own src/srcset), once each."""
        chosen = set()
        for image in scan.images:
            files = [f for f in (self._local(file, url) for url in image.candidates) if f]
            if files:
                chosen.add(max(files, key=lambda f: (self.output / f).stat().st_size))
        return sum((self.output / f).stat().st_size for f in chosen)

    def _local(self, file: str, url: str) -> str | None:
        parts = urlsplit(urljoin(self._url_of(file), url))
        if parts.netloc.lower() != self.host:
            return None
        target = self._target(parts.path, "")
        return target.file if target else None

    # Stylesheets and hreflang ------------------------------------------------------------

    def _stylesheets(self) -> Iterator[Finding]:
        """Fonts and images a local stylesheet loads: from this host, and present."""
        for css in sorted(f for f in self.files if f.endswith(".css")):
            text = (self.output / css).read_text(encoding="utf-8", errors="replace")
            for url in dict.fromkeys(css_urls(text)):
                finding = self._ref(css, Ref(url, "url()", 0, fetch=True), None)
                if finding is not None:
                    yield finding

    def _hreflang(self) -> Iterator[Finding]:
        """Every alternate must list this page back under the language it declares."""
        # A page is found by its canonical address where it stands there (a redirect
        # from an old address names its target as canonical: it is not that page).
        by_url = {self.scan(f).canonical: f for f in self.pages
                  if self.scan(f).canonical == self._url_of(f)}
        for file in self.pages:
            scan = self.scan(file)
            alternates = [(lang, href) for lang, href in scan.alternates if lang != "x-default"]
            if not alternates:
                continue
            own = _own_language(scan)
            for lang, href in alternates:
                other = by_url.get(href)
                if other is None or other == file:
                    continue  # a missing page is already a broken link
                if (own, scan.canonical) not in self.scan(other).alternates:
                    page = self.by_output.get(file)
                    yield Finding(WARNING, "hreflang", f"hreflang is not reciprocal: this page "
                                  f"names {href} as its '{lang}' version, but that page does "
                                  f"not name {scan.canonical} as '{own}'",
                                  page.source if page else None, None, file)


XML_SUFFIXES = frozenset({"xml", "rss", "atom", "xsl", "svg"})
# Besides pages (.html), files a browser runs scripts in when they are opened.
SCRIPTED_DOCUMENTS = (".svg", ".htm", ".xhtml", ".xht", ".shtml")
JSON_SUFFIXES = frozenset({"json", "webmanifest"})


def _xml_error(path: Path) -> tuple[str, int | None] | None:
    """Why a file is not well-formed XML (with its line), or None. Entity declarations
    are refused too: nothing newshub writes has one, and they can expand without end."""
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise ValueError("declares an entity")

    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(path.read_bytes(), True)
    except expat.ExpatError as exc:
        return f"not well-formed XML: {expat.errors.messages[exc.code]}, column " \
               f"{exc.offset + 1}", exc.lineno
    except ValueError as exc:
        return f"XML {exc}: not allowed", parser.CurrentLineNumber
    return None


def _json_error(path: Path) -> tuple[str, int | None] | None:
    try:
        json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg}, column {exc.colno}", exc.lineno
    except UnicodeDecodeError as exc:
        return f"not valid JSON: not UTF-8 ({exc.reason})", None
    return None


def _whole(url: str) -> str:
    """A pattern for ``url`` written whole, not as the start of a longer URL."""
    return rf"(?<![\w/.~%-]){re.escape(url)}(?![\w/.~%?#&=+-])" if url else ""


def _source_image(src: str, page: Page | None) -> str:
    """The file an editor wrote for an image: ``photo.jpg`` for the rendition
    ``/en/news/x/photo-960w-1a2b3c4d.webp`` of a page's bundle photo."""
    name = src.rsplit("/", 1)[-1]
    if page is None or not RENDITION.search(name):
        return src
    stem = RENDITION.sub("", name).rsplit(".", 1)[0]
    found = next((path.name for path in page.resources if path.stem == stem), None)
    return found or src


def _shortcode_name(text: str) -> str:
    """``{{< youtube x >}}`` → ``youtube``: what to look for in the Markdown."""
    words = text[3:].replace("/*", " ").split()
    return words[0] if words else text


def _theme_files(config: SiteConfig) -> tuple[Path, ...]:
    """The theme's templates and static files a page can quote, from the layers that
    provide them (looked up once per site and theme)."""
    key = (config.root, config.theme)
    if key not in _QUOTABLE:
        _QUOTABLE[key] = tuple(path for kind in ("templates", "static")
                               for path in theme_files(config, kind).values()
                               if path.suffix in (".html", ".xml", ".css", ".js"))
    return _QUOTABLE[key]


_QUOTABLE: dict[tuple[Path, str], tuple[Path, ...]] = {}


def _relative(path: Path, root: Path) -> Path:
    return path.relative_to(root) if path.is_relative_to(root) else path


def _own_language(scan: Scan) -> str:
    """The hreflang a page gives itself: its language, or x-default for the page that
    stands for all of them (the root chooser)."""
    named = [lang for lang, href in scan.alternates if href == scan.canonical]
    return next((lang for lang in named if lang != "x-default"), None) or \
        ("x-default" if named else scan.lang)


def _source_lines(path: Path) -> tuple[str, ...]:
    """A file's lines, read once while it stays the same (a check in the same process
    after an edit, as ``newshub serve`` or a test runs it, sees the new text)."""
    try:
        stat = path.stat()
    except OSError:
        return ()
    return _lines(path, stat.st_mtime_ns, stat.st_size)


@cache
def _lines(path: Path, mtime: int, size: int) -> tuple[str, ...]:
    try:
        return tuple(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=GZIP_LEVEL, mtime=0))


# Reports -------------------------------------------------------------------------------

def to_text(report: Report, strict: bool) -> str:
    """Findings as ``path:line: severity: message``; a finding repeated on many pages
    (from the theme, not from one source) is shown once, with the count."""
    lines = []
    for finding, others in _grouped(report.findings):
        where = finding.where(report.output)
        message = one_line(finding.message)
        text = f"{where}: {finding.severity}: {message}" if where else \
            f"{finding.severity}: {message}"
        if finding.source is not None and finding.output:
            text += f" [{finding.output}]"
        if others:
            text += f" (and {_count(others, 'more page')})"
        lines.append(text)
    verdict = "FAILED" if report.failed(strict) else "OK"
    lines.append(f"Checked {_count(report.pages, 'page')}, {_count(report.links, 'link')}, "
                 f"{_count(report.images, 'image')}: {_count(report.count(ERROR), 'error')}, "
                 f"{_count(report.count(WARNING), 'warning')}"
                 f"{' (strict: warnings fail)' if strict else ''} → {verdict}")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _grouped(findings: Iterable[Finding]) -> list[tuple[Finding, int]]:
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.severity, finding.kind, finding.message, finding.source, finding.line)
        groups.setdefault(key, []).append(finding)
    return [(members[0], len(members) - 1) for members in groups.values()]


def to_json(report: Report, strict: bool) -> dict[str, Any]:
    return {"ok": not report.failed(strict), "strict": strict, "output": str(report.output),
            "pages": report.pages, "links": report.links, "images": report.images,
            "errors": report.count(ERROR), "warnings": report.count(WARNING),
            "by_kind": _by_kind(report.findings),
            "findings": [finding.as_dict() for finding in report.findings]}


def _by_kind(findings: Iterable[Finding]) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    return counts

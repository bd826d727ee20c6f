"""Read a built page the way a browser would, for ``newshub check``: what it links to,
what it loads, its images and alt text, its ids, and its hreflang alternates.

Python's own ``html.parser`` is enough here and keeps lxml a test-only dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from generator.sanitize import script_scheme

# <link rel> values that make the browser fetch (or connect to) the URL.
FETCHING_RELS = frozenset({"stylesheet", "icon", "apple-touch-icon", "mask-icon", "preload",
                           "modulepreload", "prefetch", "preconnect", "dns-prefetch",
                           "manifest", "prerender"})
# Element → attributes whose URL the browser loads as part of the page.
LOADED = {"script": ("src",), "img": ("src", "srcset"), "source": ("src", "srcset"),
          "iframe": ("src",), "frame": ("src",), "embed": ("src",), "object": ("data",),
          "video": ("src", "poster"), "audio": ("src",), "track": ("src",),
          "input": ("src",), "image": ("href", "xlink:href"), "use": ("href", "xlink:href")}
NAVIGATED = {"a": "href", "area": "href"}
# <meta> images that link previews fetch (not the reader's browser): they must exist.
SHARED_IMAGES = frozenset({"og:image", "og:image:url", "og:image:secure_url", "twitter:image"})
IMAGE_TYPES = {"", "image/webp", "image/avif", "image/jpeg", "image/png", "image/gif",
               "image/svg+xml"}  # a <source> any current browser takes
# Attributes whose URL a browser may run as a script (javascript:, vbscript:, data:).
SCRIPT_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href"})
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+?)\1\s*\)|@import\s+(['"])(.+?)\3""")


@dataclass(frozen=True, slots=True)
class Ref:
    """A URL found in a page; ``fetch`` when loading the page loads it."""

    url: str
    tag: str  # the element, or "url()" inside CSS
    line: int
    fetch: bool
    image: bool = False


@dataclass(frozen=True, slots=True)
class Image:
    """An ``<img>``: its alt text (None: no attribute) and the URLs it may load."""

    line: int
    src: str
    alt: str | None
    decorative: bool  # alt="" is right here: role=presentation, aria-hidden, or a named link
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Script:
    """A ``<script>`` element: its inline text, or the URL it loads."""

    line: int
    text: str
    src: str | None


@dataclass(frozen=True, slots=True)
class Active:
    """An attribute that runs code: an event handler (``onerror=``) or a URL with a
    script scheme (``href="javascript:…"``); ``scheme`` is "" for a handler."""

    line: int
    tag: str
    name: str
    value: str
    scheme: str = ""


@dataclass(frozen=True, slots=True)
class Scan:
    lang: str
    canonical: str
    ids: frozenset[str]
    refs: tuple[Ref, ...]
    images: tuple[Image, ...]
    alternates: tuple[tuple[str, str], ...]  # (hreflang, href)
    policy: str | None = None  # the Content-Security-Policy <meta>, if any
    scripts: tuple[Script, ...] = ()
    active: tuple[Active, ...] = ()
    shortcodes: tuple[tuple[int, str], ...] = ()  # (line, text) of shortcodes left as text


def scan_html(text: str) -> Scan:
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.result()


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (``a.jpg 480w, b.jpg 960w`` → ``[a.jpg, b.jpg]``)."""
    if value.strip().startswith("data:"):
        return []
    return [item.split()[0] for item in value.split(",") if item.strip()]


def css_urls(text: str) -> list[str]:
    """The URLs a stylesheet (or a style attribute) loads: ``url()`` and ``@import``."""
    return [(match.group(2) or match.group(4)).strip() for match in CSS_URL.finditer(text)]


@dataclass
class _OpenImage:
    """An image while its link is still open (whether that link has text decides)."""

    line: int
    src: str
    alt: str | None
    decorative: bool
    candidates: tuple[str, ...]


@dataclass
class _Named:
    """An open link or button: does it have text that names it?"""

    label: bool
    text: list[str] = field(default_factory=list)
    images: list[_OpenImage] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.canonical = ""
        self.ids: set[str] = set()
        self.refs: list[Ref] = []
        self.images: list[_OpenImage] = []
        self.alternates: list[tuple[str, str]] = []
        self.named: list[_Named] = []
        self.sources: list[tuple[str, ...]] | None = None  # inside <picture>
        self.style: list[str] | None = None  # inside <style>
        self.policy: str | None = None
        self.scripts: list[Script] = []
        self.script: tuple[int, str | None, list[str]] | None = None  # inside <script>
        self.active: list[Active] = []
        self.shortcodes: list[tuple[int, str]] = []
        self.data_block = False
        self.code = 0  # inside <code> or <pre>: shortcodes shown on purpose

    def result(self) -> Scan:
        images = tuple(Image(i.line, i.src, i.alt, i.decorative, i.candidates)
                       for i in self.images)
        return Scan(self.lang, self.canonical, frozenset(self.ids), tuple(self.refs), images,
                    tuple(self.alternates), self.policy, tuple(self.scripts),
                    tuple(self.active), tuple(self.shortcodes))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        line = self.getpos()[0]
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])
        if tag == "html":
            self.lang = values.get("lang", "")
        elif tag == "link":
            self._link(values, line)
        elif tag in NAVIGATED and NAVIGATED[tag] in values:
            self.refs.append(Ref(values[NAVIGATED[tag]], tag, line, fetch=False))
        elif tag == "meta" and (values.get("property") or values.get("name")) in SHARED_IMAGES:
            self.refs.append(Ref(values.get("content", ""), tag, line, fetch=False, image=True))
        elif tag == "style":
            self.style = []
        elif tag == "script":
            self.script = (line, values.get("src"), [])
            self.data_block = _data_block(values.get("type", ""))
        elif tag == "meta" and values.get("http-equiv", "").lower() == \
                "content-security-policy" and self.policy is None:
            self.policy = values.get("content", "")
        elif tag == "picture":
            self.sources = []
        elif tag in ("code", "pre", "kbd", "samp"):
            self.code += 1
        self._active(tag, attrs, line)
        if tag in LOADED:
            self._loaded(tag, values, line)
        if "style" in values:
            self.refs.extend(Ref(url, "url()", line, fetch=True)
                             for url in css_urls(values["style"]))
        if tag in ("a", "button"):
            self.named.append(_Named(bool(values.get("aria-label", "").strip())))
        elif tag == "img":
            self._image(values, line)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("a", "button") and self.named:
            named = self.named.pop()
            if named.label or "".join(named.text).strip():
                for image in named.images:
                    image.decorative = True
        elif tag == "picture":
            self.sources = None
        elif tag in ("code", "pre", "kbd", "samp") and self.code:
            self.code -= 1
        elif tag == "script" and self.script is not None:
            line, src, text = self.script
            if not self.data_block:  # JSON-LD and other data blocks never run
                self.scripts.append(Script(line, "".join(text), src))
            self.script = None
        elif tag == "style" and self.style is not None:
            line = self.getpos()[0]
            self.refs.extend(Ref(url, "url()", line, fetch=True)
                             for url in css_urls("".join(self.style)))
            self.style = None

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.script[2].append(data)
        if self.style is not None:
            self.style.append(data)
        elif self.script is None and not self.code and ("{{<" in data or "{{%" in data):
            start = min(p for p in (data.find("{{<"), data.find("{{%")) if p >= 0)
            self.shortcodes.append((self.getpos()[0], data[start:start + 40].strip()))
        for named in self.named:
            named.text.append(data)

    def _active(self, tag: str, attrs: list[tuple[str, str | None]], line: int) -> None:
        """Event handlers, and URLs a browser would run as a script."""
        for name, value in attrs:
            if name.startswith("on"):
                self.active.append(Active(line, tag, name, value or ""))
            elif name in SCRIPT_URL_ATTRIBUTES and value and (scheme := script_scheme(value)):
                self.active.append(Active(line, tag, name, value, scheme))

    def _link(self, values: dict[str, str], line: int) -> None:
        rel = set(values.get("rel", "").lower().split())
        href = values.get("href")
        if href is None:
            return
        if "canonical" in rel:
            self.canonical = href
        if "alternate" in rel and values.get("hreflang"):
            self.alternates.append((values["hreflang"], href))
        self.refs.append(Ref(href, "link", line, fetch=bool(rel & FETCHING_RELS)))

    def _loaded(self, tag: str, values: dict[str, str], line: int) -> None:
        if tag == "input" and values.get("type", "").lower() != "image":
            return
        image = tag in ("img", "source")
        for attribute in LOADED[tag]:
            value = values.get(attribute)
            if not value:
                continue
            urls = srcset_urls(value) if attribute == "srcset" else [value]
            self.refs.extend(Ref(url, tag, line, fetch=True, image=image) for url in urls)
        if tag == "source" and self.sources is not None and \
                values.get("type", "").lower() in IMAGE_TYPES:
            self.sources.append(tuple(srcset_urls(values.get("srcset", ""))))

    def _image(self, values: dict[str, str], line: int) -> None:
        own = tuple(filter(None, (values.get("src", ""),
                                  *srcset_urls(values.get("srcset", "")))))
        chosen = next((urls for urls in self.sources or () if urls), own)
        hidden = values.get("role", "").lower() in ("presentation", "none") or \
            values.get("aria-hidden", "").lower() == "true"
        alt = values.get("alt") if "alt" in values else None
        image = _OpenImage(line, values.get("src", ""), alt, hidden, chosen)
        self.images.append(image)
        for named in self.named:
            if alt and alt.strip():
                named.text.append(alt)  # an image with alt text names its link
            elif alt is not None:
                named.images.append(image)


JAVASCRIPT_TYPES = frozenset({"", "module", "text/javascript", "application/javascript",
                              "application/ecmascript", "text/ecmascript", "text/jscript",
                              "application/x-javascript", "text/x-javascript"})


def _data_block(kind: str) -> bool:
    """Whether a ``<script type>`` is data a browser does not run (HTML's rule: any type
    that is not a JavaScript MIME type or ``module``)."""
    return kind.split(";", 1)[0].strip().lower() not in JAVASCRIPT_TYPES

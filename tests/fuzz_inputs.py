"""Hostile input for the seeded fuzz test (``tests/test_fuzz.py``): what many editors,
imported exports and careless copies put into a site folder.

Everything here is a pure function of a ``random.Random``: one seed and one case number
give the same files every time, so a failing case can be replayed on its own. A
``Mutation`` is the files a case writes (bytes, symlinks, FIFOs), and what the harness
must know to judge the build: which files are published as they are, whether the
content loads something from another host on purpose.
"""

from __future__ import annotations

import io
import json
import posixpath
import struct
import zlib
from dataclasses import dataclass, field
from random import Random

import yaml
from PIL import Image

# Markers that must never reach the output: the content of a file outside the site
# (reached through a symlink), and metadata written into a bundle image.
SECRET = b"NEWSHUB-FUZZ-SECRET-a9f3c1"
METADATA = "NEWSHUB-FUZZ-METADATA-7be2"
EMBARGO = b"NEWSHUB-FUZZ-EMBARGOED-0d41"  # what an editor's backup of a draft holds
NOISE_ENDINGS = ("~", ".swp", ".swo", ".bak", ".orig", ".rej", ".tmp")
NOISE_NAMES = frozenset({"4913", ".ds_store", "thumbs.db"})


def is_noise_name(name: str) -> bool:
    """Editor, VCS and OS files (the test's own list, not the generator's)."""
    return name.startswith((".", "#")) or name.lower().endswith(NOISE_ENDINGS) or \
        name.lower() in NOISE_NAMES


@dataclass(frozen=True, slots=True)
class Layout:
    """What a case may build on: the site's languages, sections and existing sources."""

    languages: tuple[str, ...]
    sections: tuple[str, ...]
    sources: dict[str, bytes]  # existing Markdown files (under the site) → bytes
    bundles: tuple[tuple[str, str], ...]  # (bundle folder, an image in it)
    secret: str  # absolute path of a file outside the site holding SECRET


@dataclass
class Mutation:
    files: dict[str, bytes] = field(default_factory=dict)  # path under the site → bytes
    links: dict[str, str] = field(default_factory=dict)  # path → symlink target
    fifos: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # (empty) folders to make
    verbatim: set[str] = field(default_factory=set)  # files published as they are
    foreign: bool = False  # the content loads something from another host on purpose
    args: list[str] = field(default_factory=list)  # extra build options
    notes: list[str] = field(default_factory=list)  # what the case does, for a failure

    def paths(self) -> set[str]:
        return {*self.files, *self.links, *self.fifos, *self.folders}


# Text ------------------------------------------------------------------------------

PIECES = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
    "'", '"', "`", "<", ">", "&", "&amp;", "&#0;", "&#x1;", "&#xD800;", "&lt;script&gt;",
    "]]>", "<![CDATA[x]]>", "<!--", "-->", "--!>", "<?xml version='1.0'?>", "</title>",
    "</textarea><script>alert(1)</script>", "{{ 7*7 }}", "{% raw %}", "{{< param title >}}",
    "${7*7}", "%s%n%x", "\\", "\\\\", "\u202e", "\u202d", "\u200b", "\u200d", "\u2060",
    "\ufeff", "\u2028", "\u2029", "\x85", "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b",
    "\x7f", "\r", "\r\n", "\t", "\ufffe", "\uffff", "\U0001f600",
    "\U0001f3f3\ufe0f\u200d\U0001f308",
    "e\u0301", "\u0301" * 50, "مرحبا بالعالم", "שלום", "中文标题", "ሰላም", "\u0bae\u0bc1",
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "mailto:x@y",
    "../../../etc/passwd", "/etc/passwd", "C:\\Windows", "%2e%2e%2f", "%00", "\\u0000",
    "title: nested", "- item", "---", "+++", "{", "}", "[", "]", ":", "#", "*", "!!", "|",
    "@", "Water points restored", "a", "",
]

DATES = [
    "2026-03-14", "2026-03-14T09:30:00+03:00", "2025-12-31T23:59:59Z", "14/03/2026",
    "2026-02-30", "2026-13-01", "2026-01-01T25:00:00", "2026-01-01T10:00:00+25:00",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31",
    "0000-00-00", "-0001-01-01", "99999-01-01", "1970-01-01T00:00:00+00:00",
    "2026-03-14T09:30:00.123456789+03:00", "2026-W11-6", "2026-073", "20260314",
    "2026-03-14 09:30", "2026-03-14T09:30:00+03:00[Asia/Riyadh]", "now", "yesterday", "",
    "2026-03-14T09:30:00\u202e", "2026-03-14\x00", "２０２６-０３-１４", "2100-01-01",
    "2026-03-14T09:30:00-23:59", "2026-03-14T09:30:00+23:59:59.999999",
]

URLS = [
    "/about-us/", "/", "/en/", "/../../etc/", "../x/", "/a/../../b/", "/%2e%2e/%2e%2e/x/",
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "/x.xml", "/x.json", "/sitemap.xml", "/index.html", "/assets/style.css", "/en/atom.xml",
    "/robots.txt", "/x?y=1", "/?p=123", "/?p=1\n/admin https://evil.example 301",
    "/?p=1 /evil 301", "/a b/", "/a\x00b/", "/a\u202eb/", "/a#b/", "/a%23b/", "/é/",
    "/" + "a" * 300 + "/", "/" + "é" * 200 + "/", "/" + "/".join(["d"] * 60) + "/",
    "/_redirects", "/404.html", "/en/news/", "/.well-known/x/", "/.git/config",
    "/x.html", "/x.svg", "/card.jpg", "old-name/", "../../../../", "~/x", "/con/",
]

SLUGS = ["../x", "a/b", ".", "..", "...", "a b", "%2e%2e", "index.html", "-rf", "CON",
         "\u202eexe.md", "a\x00b", "é", "e\u0301", "a" * 300, "é" * 130, "x" * 250, "#x",
         "?x", "x'y", 'x"y', "<x>", "tags", "news", "atom.xml", "feed.json", "card.jpg",
         "404.html", "\t", "", " ", "\u200b", "_index", "index", "feed", "assets"]

TAGS = ["water", "Water", "WATER", "health", "é", "e\u0301", "a b", "a/b", "../x", "#",
        "?", "%", "<script>", "\u202e", "\u200b", "", " ", "x" * 300, "é" * 130, "index.html",
        "atom.xml", "feed.json", "tags", "1", "true", "null", "-", "_", ".", "..", "...",
        "مياه", "饮水", "a\x00", "\x0c", "🙂"]

KEYS = ["title", "Title", "TITLE", "date", "Date", "updated", "lastmod", "summary",
        "description", "tags", "categories", "keywords", "image", "image_alt", "images",
        "cover", "featured_image", "draft", "urgent", "slug", "url", "aliases", "weight",
        "translation_key", "translationKey", "translation_of", "link_title", "linkTitle",
        "noindex", "robots", "expiry_date", "expiryDate", "publish_date", "publishDate",
        "headless", "build", "_build", "author", "params", "extra", "page", "site", "self",
        "__proto__", "constructor", "layout", "type", "", "a b", "é", "x" * 200]


def text(rng: Random, *, long: bool = False) -> str:
    """A string mixing ordinary words with hostile pieces."""
    parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:
        parts.insert(0, "Ordinary words")
    if long or rng.random() < 0.05:
        parts.append(rng.choice(["x", "é ", "وقف ", "长", "a b ", "\u202e"]) *
                     rng.choice([1000, 3000, 20000]))
    return "".join(parts)


def scalar(rng: Random) -> object:
    roll = rng.random()
    if roll < 0.45:
        return text(rng)
    if roll < 0.55:
        return rng.choice([0, -1, 1, 2 ** 31, 2 ** 63, 10 ** 100, -(10 ** 30)])
    if roll < 0.62:
        return rng.choice([0.5, -0.0, 1e308, float("inf"), float("nan")])
    if roll < 0.7:
        return rng.choice([True, False])
    if roll < 0.78:
        return None
    return rng.choice(DATES)


def value(rng: Random, depth: int = 0) -> object:
    """Any front-matter value: text, number, list, mapping, sometimes nested deep."""
    roll = rng.random()
    if roll < 0.6 or depth > 3:
        return scalar(rng)
    if roll < 0.8:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.97:
        return {str(scalar(rng))[:40]: value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    nested: object = "deep"
    for _ in range(rng.choice([25, 200, 900])):
        nested = [nested] if rng.random() < 0.5 else {"k": nested}
    return nested


def key_value(rng: Random, key: str) -> object:
    """A value for a known key: usually of a plausible shape, often hostile."""
    name = key.lower()
    if rng.random() < 0.25:
        return value(rng)
    if name in ("date", "updated", "lastmod", "expiry_date", "expirydate", "publish_date",
                "publishdate"):
        return rng.choice(DATES)
    if name in ("tags", "categories", "keywords"):
        count = rng.choice([1, 2, 5, 60, 400, 3000])
        return [rng.choice(TAGS) + (str(i) if rng.random() < 0.5 else "") for i in range(count)]
    if name == "aliases":
        return [rng.choice(URLS) for _ in range(rng.randint(1, 4))]
    if name == "url":
        return rng.choice(URLS)
    if name == "slug":
        return rng.choice(SLUGS)
    if name in ("draft", "urgent", "headless", "noindex"):
        return rng.choice([True, False, None, "yes", "true", 1, []])
    if name == "weight":
        return rng.choice([1, -5, 10 ** 30, "3", "-3", "x", 1.5, None])
    if name in ("image", "featured_image"):
        return rng.choice(["photo.jpg", "/images/logo.svg", "missing.jpg", "../secret.jpg",
                           "https://evil.example/x.jpg", "//evil.example/x.jpg",
                           "/../../etc/passwd", "photo.jpg\x00", "bad.jpg", "bomb.png",
                           "empty.png", "text.jpg", "script.svg", "tiny.png", ""])
    if name in ("build", "_build"):
        return rng.choice([{"render": "never"}, {"list": "never"}, {"render": []}, "never"])
    if name == "cover":
        return rng.choice([{"image": "photo.jpg", "alt": text(rng)}, {"image": [1]}, "x"])
    if name == "robots":
        return rng.choice(["noindex", "NOINDEX, nofollow", 1, ["noindex"]])
    return text(rng)


def front_values(rng: Random, *, title: bool = True) -> dict[str, object]:
    values: dict[str, object] = {}
    if title:
        values["title"] = text(rng) if rng.random() < 0.4 else "Story " + str(rng.random())[2:8]
    if rng.random() < 0.8:
        values["date"] = f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00+00:00"
    for _ in range(rng.randint(0, 6)):
        key = rng.choice(KEYS)
        values[key] = key_value(rng, key)
    return values


# Front matter in each syntax, well or badly written ------------------------------------

def yaml_block(rng: Random, values: dict[str, object]) -> str:
    try:
        dumped = yaml.safe_dump(values, allow_unicode=rng.random() < 0.5,
                                default_flow_style=rng.choice([None, True, False]),
                                width=rng.choice([80, 10 ** 6]))
    except (yaml.YAMLError, RecursionError, ValueError):
        dumped = "title: fallback\n"
    lines = dumped.splitlines()
    roll = rng.random()
    if roll < 0.1:  # a raw, unquoted hostile value
        lines.append(f"{rng.choice(KEYS)}: {text(rng)}")
    elif roll < 0.17:
        lines.append(rng.choice(YAML_TRICKS))
    elif roll < 0.2 and lines:
        del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


YAML_TRICKS = [
    "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\ntitle: *c",
    "title: &t Hello\nsummary: *t",
    "<<: {title: merged}",
    "title: !!python/object/apply:os.system ['echo pwned']",
    "title: !!binary aGVsbG8=",
    "title: !!set {a, b}",
    "title: !!omap [a: 1]",
    "? [a, b]\n: c",
    "? {a: 1}\n: c",
    "%YAML 1.1\n",
    "title: 'unclosed",
    'title: "\\ud800 lone surrogate"',
    'title: "\\x00 nul \\x1b esc \\f feed \\v tab"',
    'summary: "\\uFFFE\\uFFFF"',
    "title:\tTab",
    "\ttitle: tab indent",
    "title: [" * 300 + "]" * 300,
    "title: " + "{a: " * 300 + "b" + "}" * 300,
    "title: |\n  block\n  text",
    "title: >-\n  folded\n  text",
    "tags: " + ", ".join(["x"] * 5000),
    "x: " + "y" * 70000,
    "...",
    "title: ~",
    "title: 0x1F",
    "title: .inf",
    "date: 2026-03-14 09:30:00.5 +3",
    "aliases: /one",
    "Title: duplicate\ntitle: again",
    "title: a\ntitle: b",
    "\ufefftitle: bom inside",
]


def toml_value(rng: Random, item: object, depth: int = 0) -> str:
    if depth > 30:
        return '"deep"'
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(item, "nan" if item != item
                                                              else repr(item))
    if item is None:
        return '""'
    if isinstance(item, list):
        return "[" + ", ".join(toml_value(rng, i, depth + 1) for i in item) + "]"
    if isinstance(item, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(rng, v, depth + 1)}"
                               for k, v in item.items()) + "}"
    if rng.random() < 0.1 and isinstance(item, str) and item[:1].isdigit():
        return item  # a TOML date, or broken TOML
    return json.dumps(item)


def toml_block(rng: Random, values: dict[str, object]) -> str:
    lines = [f"{json.dumps(str(k)) if rng.random() < 0.5 else k} = {toml_value(rng, v)}"
             for k, v in values.items()]
    if rng.random() < 0.2:
        lines.append(rng.choice([
            "date = 1979-05-27T00:32:00-07:00", "date = 0001-01-01T00:00:00+01:00",
            "date = 9999-12-31T23:59:59-01:00", "date = 07:32:00", "date = 1979-05-27",
            "[cover]\nimage = 'photo.jpg'", "[[x]]\n[[x]]", "title = '''multi\nline'''",
            'title = "\\ud800"', "title = 'a' 'b'", "title = " + "[" * 2000 + "]" * 2000,
            "a.b.c.d = 1", "title = \"\\u0000\"", "= 1"]))
    return "\n".join(lines)


def json_block(rng: Random, values: dict[str, object]) -> str:
    try:
        dumped = json.dumps(values, ensure_ascii=rng.random() < 0.5,
                            indent=rng.choice([None, 2]))
    except (ValueError, RecursionError):
        dumped = '{"title": "fallback"}'
    roll = rng.random()
    if roll < 0.1:
        dumped = dumped[: rng.randrange(len(dumped) + 1)]  # cut short
    elif roll < 0.15:
        dumped = "[" * 5000 + "]" * 5000
    elif roll < 0.2:
        dumped = dumped.replace("{", '{"title": "\\ud800", ', 1)
    return dumped


def document(rng: Random, values: dict[str, object], body: str) -> str:
    """A whole Markdown file: front matter in YAML, TOML or JSON (or none), then body."""
    roll = rng.random()
    if roll < 0.7:
        head = f"---\n{yaml_block(rng, values)}\n" + rng.choice(["---", "---", "...", "--- "])
    elif roll < 0.82:
        head = f"+++\n{toml_block(rng, values)}\n+++"
    elif roll < 0.94:
        head = json_block(rng, values)
    elif roll < 0.97:
        head = "---\n" + yaml_block(rng, values)  # never closed
    else:
        head = ""  # no front matter
    if rng.random() < 0.1:
        head = rng.choice(["\ufeff", "\n\n", "  \n", "\ufeff\ufeff", "\x00"]) + head
    if rng.random() < 0.05:
        head = head.replace("\n", "\n" + "# " * rng.randint(1, 3), 1)
    return f"{head}\n{body}\n"


def encode(rng: Random, doc: str) -> bytes:
    """The file's bytes: UTF-8 mostly; CRLF, stray bytes, UTF-16, lone surrogates."""
    roll = rng.random()
    if roll < 0.1:
        doc = doc.replace("\n", "\r\n")
    elif roll < 0.13:
        doc = doc.replace("\n", "\r")
    if rng.random() < 0.03:
        return doc.encode("utf-16")
    data = doc.encode("utf-8", "surrogatepass")  # a lone surrogate stays: not UTF-8
    if rng.random() < 0.03:
        where = rng.randrange(len(data) + 1)
        data = data[:where] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"]) + \
            data[where:]
    return data


# Markdown bodies --------------------------------------------------------------------

RAW_HTML = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>", '<img src="photo.jpg" onerror="alert(1)" alt="x">',
    "<svg onload=alert(1)><circle r=1 /></svg>", "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example/embed"></iframe>', "<iframe srcdoc='<script>x</script>'>",
    "<style>body{background:url(//evil.example/x.png)}</style>", "<object data=x.swf></object>",
    "<embed src=javascript:alert(1)>", "<base href=//evil.example/>",
    "<form action=javascript:alert(1)><button formaction=javascript:alert(1)>x</button></form>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    "<xmp><script>alert(1)</script></xmp>", "<plaintext>",
    "<textarea></textarea><script>x</script>",
    "<!--><script>alert(1)</script>-->", "<![CDATA[<script>alert(1)</script>]]>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>', '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>', '<a href=" javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>', '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="&#x01;javascript:alert(1)">x</a>',
    '<a href="data:text/html,<script>x</script>">x</a>',
    '<img srcset="javascript:alert(1) 1x, x.png 2x">', "<video poster=javascript:alert(1)></video>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="behavior:url(x.htc)">x</div>', '<p onmouseover="alert(1)">hover</p>',
    '<details open ontoggle=alert(1)>x</details>', '<a href="#" onclick="alert(1)">x</a>',
    '<img src="https://evil.example/pixel.gif" alt="tracker">',
    '<video src="//evil.example/v.mp4"></video>', '<audio src="https://evil.example/a.mp3"></audio>',
    '<picture><source srcset="https://evil.example/x.webp"><img src="photo.jpg" alt="p"></picture>',
    "<div>" * 3000 + "x" + "</div>" * 3000, "<b>" * 500, "<p>unclosed <i>tags",
    "<a href='x'>" * 200, "<table><tr><td>" * 100, '<input type="text" onfocus=alert(1) autofocus>',
    '<p class="a" id="b" title="c" lang="d" dir="rtl" role="e" aria-x="f">attributes</p>',
    "<custom-element onload=x>x</custom-element>", "<a href=\"\u202ejavascript:alert(1)\">x</a>",
]
FOREIGN_LOADS = {
    '<img src="https://evil.example/pixel.gif" alt="tracker">',
    '<video src="//evil.example/v.mp4"></video>', '<audio src="https://evil.example/a.mp3"></audio>',
    '<picture><source srcset="https://evil.example/x.webp"><img src="photo.jpg" alt="p"></picture>',
    "<style>body{background:url(//evil.example/x.png)}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<iframe src="https://evil.example/embed"></iframe>',
}

LINK_TARGETS = [
    "javascript:alert(1)", "<javascript:alert(1)>", "jav&#x61;script:alert(1)",
    "JAVASCRIPT:alert(1)", "java%0ascript:alert(1)", "&#106;avascript:alert(1)",
    "vbscript:msgbox(1)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil\\share",
    "mailto:a@example.org?subject=x%0D%0ABcc:victim@example.org&body=<script>",
    'mailto:"><script>alert(1)</script>', "mailto:", "tel:+1-555", "file:///etc/passwd",
    "../missing/", "/en/news/missing/", "missing.md", "#", "#frag\"onmouseover=alert(1)",
    "?q=<script>", "../../../../etc/passwd", "http://[::1]/", "https://exa mple.org/",
    "/en/", "/", "../", "./", "photo.jpg", "/images/logo.svg", "/old-address/",
    "<>", "< x >", "(parens)", "x\"onmouseover=\"alert(1)", "x' onclick='alert(1)",
]
IMAGE_TARGETS = [
    "photo.jpg", "tiny.png", "bad.jpg", "bomb.png", "empty.png", "text.jpg", "script.svg",
    "missing.jpg", "../photo.jpg", "/images/logo.svg", "javascript:alert(1)",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+", "photo.jpg#x",
    'photo.jpg "t\\" onerror=\\"alert(1)"', "photo.jpg?x=1",
]
FOREIGN_IMAGES = ["https://evil.example/x.png", "//evil.example/x.png", "http://evil.example/x.png"]
ATTRIBUTE_LISTS = [
    "{: onclick=alert(1) }", "{: class='a\" onerror=alert(1)' }", '{: #id title="t<i>&amp;\\"x" }',
    "{: style=\"background:url(//evil.example/x.png)\" }", "{: .cls data-x=y }",
    "{: onerror=\"alert(1)\" src=javascript:alert(1) }", "{: href=javascript:alert(1) }",
    "{: id=\"a b\" }", "{:", "{: }", "{: " + "x=y " * 500 + "}",
]
SHORTCODES = [
    '{{< figure src="photo.jpg" alt="A photo" caption="A *caption*" >}}',
    '{{< figure src="javascript:alert(1)" link="javascript:alert(1)" >}}',
    '{{< figure src="photo.jpg" link="vbscript:msgbox(1)" alt="x" >}}',
    '{{< figure src="//evil.example/x.png" alt="x" >}}',
    "{{< figure src=\"photo.jpg\" alt='\"onerror=alert(1)' class='x\" onclick=\"y' >}}",
    '{{< figure src="photo.jpg" caption="<script>alert(1)</script><img src=x '
    'onerror=alert(1)>" >}}',
    '{{< figure src="photo.jpg" caption="[x](javascript:alert(1))" title="{{ 7*7 }}" >}}',
    '{{< figure src="photo.jpg" width="1\\" onload=\\"x" height="<b>" >}}',
    '{{< youtube id="x\\"><script>alert(1)</script>" >}}', '{{< youtube "javascript:alert(1)" >}}',
    '{{< vimeo "123\\" onclick=\\"x" >}}', '{{< vimeo >}}',
    '{{< ref "../../../etc/passwd" >}}', '{{< relref "missing.md" >}}', '{{< ref >}}',
    '[x]({{< ref "news/a.md" >}})', '[x]({{< relref "/en/news/a.md" >}})',
    '{{< param "title" >}}', '{{< param "x" >}}', '{{< param "__class__" >}}',
    '{{% param "summary" %}}',
    '{{< highlight "js\\" onload=\\"x" >}}alert(1)</script>{{< /highlight >}}',
    "{{< highlight python >}}\nprint('<script>')\n{{< /highlight >}}",
    '{{< details summary="<img src=x onerror=alert(1)>" >}}body<script>x</script>{{< /details >}}',
    "{{% details %}}<script>alert(1)</script> *md*{{% /details %}}",
    "{{< details >}}never closed", "{{< /details >}}", "{{< evil >}}", "{{< evil/../../x >}}",
    "{{</* figure src=\"x\" */>}}", "{{%/* param x */%}}", "{{< figure src= >}}", "{{<>}}",
    "{{< figure src=\"unterminated >}}", "{{< figure " + "a=b " * 2000 + ">}}",
    "{{< details >}}" * 50 + "deep" + "{{< /details >}}" * 50,
    "{{% details %}}" * 20 + "deep" + "{{% /details %}}" * 20,
    "{{< details >}}{{% details %}}mixed{{< /details >}}{{% /details %}}",
    "`{{< evil >}}`", "```\n{{< evil >}}\n```", "{{< figure src=\"photo.jpg\" >}}" * 200,
    "{{< param \"" + "x" * 5000 + "\" >}}", "{{<\n figure\n src=\"photo.jpg\"\n >}}",
]


def body(rng: Random, mutation: Mutation, layout: Layout) -> str:
    blocks = ["Opening paragraph with **bold** text."]
    for _ in range(rng.randint(1, 6)):
        blocks.append(block(rng, mutation, layout))
    if rng.random() < 0.1:
        blocks.append("\n".join(f"{rng.choice(PIECES)}" for _ in range(20)))
    return "\n\n".join(blocks)


def block(rng: Random, mutation: Mutation, layout: Layout) -> str:
    roll = rng.random()
    if roll < 0.18:
        raw = rng.choice(RAW_HTML)
        mutation.foreign |= raw in FOREIGN_LOADS
        return raw
    if roll < 0.32:
        target = rng.choice(LINK_TARGETS + [own_link(rng, layout)] * 6)
        title = rng.choice(["", ' "title"', ' "t\\" onmouseover=\\"alert(1)"'])
        form = rng.choice(["[{t}]({u}{ti})", "[{t}][r]\n\n[r]: {u}{ti}", "<{u}>", "{u}"])
        return form.format(t=text(rng)[:40].replace("]", ""), u=target, ti=title)
    if roll < 0.44:
        target = rng.choice(IMAGE_TARGETS)
        if rng.random() < 0.1:
            target = rng.choice(FOREIGN_IMAGES)
            mutation.foreign = True
        alt = rng.choice(["a photo", "", text(rng)[:30].replace("]", "")])
        attributes = rng.choice(ATTRIBUTE_LISTS) if rng.random() < 0.4 else ""
        if "url(//evil" in attributes:
            mutation.foreign = True
        return f"![{alt}]({target}){attributes}"
    if roll < 0.58:
        code = rng.choice(SHORTCODES)
        mutation.foreign |= "//evil.example/x.png" in code
        return code
    if roll < 0.64:
        return "Paragraph.\n" + rng.choice(ATTRIBUTE_LISTS)
    if roll < 0.72:
        return deep(rng)
    if roll < 0.78:
        rows = rng.choice([3, 3, 30, 200])
        cols = rng.choice([2, 2, 8, 30])
        head = "|" + "|".join(f" h{c} " for c in range(cols)) + "|"
        rule = "|" + "|".join(rng.choice([":--", "--:", ":-:", "---"]) for _ in range(cols)) + "|"
        cells = ["|" + "|".join(rng.choice(["x", "<b>y</b>", "`|`", "a\\|b", ""])
                                for _ in range(cols)) + "|" for _ in range(rows)]
        return "\n".join([head, rule, *cells])
    if roll < 0.84:
        return long_line(rng)
    if roll < 0.9:
        return "".join(rng.choice(PIECES) for _ in range(rng.randint(5, 40)))
    if roll < 0.95:
        fence = rng.choice(["```", "~~~", "````"])
        info = rng.choice(["", "js", 'html" onload="x', "<script>"])
        raw = rng.choice(RAW_HTML)
        mutation.foreign |= raw in FOREIGN_LOADS  # a fence that never closes is no code
        return f"{fence}{info}\n{raw}\n{rng.choice([fence, ''])}"
    return rng.choice([
        "Footnote[^1].\n\n[^1]: <script>alert(1)</script> note", "[^x]: orphan",
        "- [x] done\n- [ ] <input onfocus=alert(1)>", "***\n---\n___",
        "Term\n: definition <img src=x onerror=alert(1)>", "# " + "#" * 10 + " heading",
        "Heading {#custom-id onclick=x}\n====", "<http://evil.example/?<script>>",
        "&lt;script&gt;alert(1)&lt;/script&gt;", "\\<script>alert(1)\\</script>",
        "*[WHO]: World <script>alert(1)</script>", "WHO is here",
    ])


def own_link(rng: Random, layout: Layout) -> str:
    lang = rng.choice(layout.languages)
    section = rng.choice(layout.sections)
    return rng.choice([f"/{lang}/{section}/", f"/{lang}/", f"/{lang}/tags/",
                       f"/{lang}/{section}/story-{rng.randint(0, 9)}/", f"/{lang}/atom.xml",
                       f"/{lang}/{section}/#missing-anchor", "/old-address/", "/sitemap.xml"])


def deep(rng: Random) -> str:
    """Nesting that recursive code would overflow on: quotes, lists, emphasis, brackets."""
    depth = rng.choice([50, 600, 3000, 10000])
    return rng.choice([
        ">" * depth + " deep quote",
        "> " * depth + "deep quote",
        "- " * depth + "deep list",
        "1. " * depth + "deep list",
        "\n".join("  " * min(i, 700) + "- item" for i in range(min(depth, 1500))),
        "\n".join("    " * min(i, 300) + "1. item" for i in range(min(depth, 400))),
        "\n".join(">" * i + " q" for i in range(1, min(depth, 800))),
        "*" * depth + "x" + "*" * depth,
        "_" * depth + "x",
        "[" * depth + "x" + "]" * depth + "(y)",
        "![" * depth + "x",
        "`" * depth + "x",
        "<" * depth + "x",
        "(" * depth + "x" + ")" * depth,
        "&" + "amp;" * depth,
        "\\" * depth,
        "<div>\n" * min(depth, 2000) + "x",
        "<a href='x'>" * min(depth, 2000),
    ])


def long_line(rng: Random) -> str:
    size = rng.choice([2000, 2000, 20000, 120000])
    unit = rng.choice(["a", "a ", "*a", "_a", "[a", "<a", "a|", "**", "é", "\u202e",
                       "\x0c", "http://x.example/", "<a href=", "&#", "![", "`a",
                       "{{<", "{: ", "$", ":"])
    if unit.startswith("<"):  # Python's html.parser before 3.11.13 is quadratic on these
        size = min(size, 20000)
    return unit * (size // len(unit))


# Files, names, images -----------------------------------------------------------------

NAMES = [
    "a b.md", "é.md", "e\u0301.md", "\u202eexe.md", "🙂.md", "#x.md", "x#y.md", "50%.md",
    "x%2e%2e.md", "q?.md", "it's.md", 'say "hi".md', "-rf.md", "--help.md", "x.md~",
    "#x.md#", ".#x.md", "4913", ".DS_Store", "x.md.swp", ".x.md.swp", "x.md.orig",
    "x.md.bak", "Thumbs.db", "x.MD", "X.Md", "index.html", "atom.xml", "feed.json",
    "_index.md", "index.md", "_hidden.md", "x.md.md", ".md", "..md", "a" * 240 + ".md",
    "é" * 120 + ".md", "x.html", "x.svg", "x.xml", "x.json", "x.txt", "con.md",
    "x\\y.md", "x;y.md", "x&y.md", "x<y>.md", "x|y.md", "x*.md", "\t.md", " leading.md",
    "trailing .md", "x\u200b.md", "ﬁ.md", "Ａ.md", "x.md ",
]


def png_bytes(width: int, height: int, *, text_chunk: str | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (40, 120, 200))
    out = io.BytesIO()
    if text_chunk is None:
        image.save(out, "PNG")
    else:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", text_chunk)
        image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_bytes(width: int, height: int, *, comment: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 120, 40))
    out = io.BytesIO()
    if comment:
        exif = Image.Exif()
        exif[0x010E] = METADATA  # ImageDescription
        exif[0x0112] = 6  # orientation: rotated
        image.save(out, "JPEG", comment=METADATA.encode(), exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def bomb_png(width: int = 50000, height: int = 50000) -> bytes:
    """A few hundred bytes claiming ``width`` × ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + \
        chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


SCRIPT_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
              b'<script>alert(document.domain)</script><circle r="4"/></svg>')
SCRIPT_HTML = b"<!doctype html><title>x</title><script>alert(document.cookie)</script>"


def image(rng: Random, kind: str) -> bytes:
    if kind == "photo.jpg":
        return jpeg_bytes(rng.choice([8, 64, 700]), rng.choice([8, 48, 500]),
                          comment=rng.random() < 0.5)
    if kind == "tiny.png":
        return png_bytes(rng.choice([1, 3, 40]), rng.choice([1, 2, 30]),
                         text_chunk=METADATA if rng.random() < 0.5 else None)
    if kind == "bad.jpg":  # truncated
        data = jpeg_bytes(300, 200)
        return data[: rng.randrange(2, len(data) - 2)]
    if kind == "bomb.png":
        return bomb_png(*rng.choice([(50000, 50000), (65535, 65535), (1, 2 ** 31 - 1),
                                     (12000, 12000)]))
    if kind == "empty.png":
        return b""
    if kind == "text.jpg":
        return b"This is not a JPEG.\n" * rng.randint(1, 50)
    if kind == "script.svg":
        return SCRIPT_SVG
    return b"GIF89a" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))


IMAGE_KINDS = ["photo.jpg", "tiny.png", "bad.jpg", "bomb.png", "empty.png", "text.jpg",
               "script.svg", "x.gif", "x.webp", "photo.JPG"]


# A whole case ---------------------------------------------------------------------

def mutation(rng: Random, layout: Layout) -> Mutation:
    """One case: one to three hostile changes to the site."""
    found = Mutation()
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        rng.choice(CHANGES)(rng, found, layout)
    if rng.random() < 0.15:
        found.args.append(rng.choice(["--drafts", "--force", "--no-cards"]))
    normal = posixpath.normpath  # "a//b" and "a/./b" are the paths the build reports
    found.files = {normal(path): data for path, data in found.files.items()}
    found.links = {normal(path): target for path, target in found.links.items()}
    found.fifos = [normal(path) for path in found.fifos]
    found.folders = [normal(path) for path in found.folders]
    found.verbatim = {normal(path) for path in found.verbatim}
    return found


def new_page(rng: Random, found: Mutation, layout: Layout) -> None:
    lang = rng.choice(layout.languages)
    folder = f"content/{lang}/" + rng.choice([*layout.sections, "", "deep/er/section"])
    name = rng.choice(NAMES) if rng.random() < 0.3 else f"story-{rng.randint(0, 9)}.md"
    path = f"{folder.rstrip('/')}/{name}"
    found.files[path] = encode(rng, document(rng, front_values(rng), body(rng, found, layout)))
    if not name.endswith(".md") or name.startswith(("#", ".")) or name.endswith(("~", "#")):
        found.verbatim.add(path)  # published as it is, unless it is noise
    found.notes.append(f"page {path!r}")


def new_bundle(rng: Random, found: Mutation, layout: Layout) -> None:
    lang = rng.choice(layout.languages)
    folder = f"content/{lang}/{rng.choice(layout.sections)}/" + \
        ((rng.choice(NAMES).removesuffix(".md") or "bundle") if rng.random() < 0.2 else
         f"bundle-{rng.randint(0, 9)}")
    images = rng.sample(IMAGE_KINDS, rng.randint(1, 4))
    for kind in images:
        found.files[f"{folder}/{kind}"] = image(rng, kind.lower())
        if kind == "script.svg":
            found.verbatim.add(f"{folder}/{kind}")
    values = front_values(rng)
    if rng.random() < 0.6:
        values["image"] = rng.choice(images)
        values["image_alt"] = text(rng)[:60] if rng.random() < 0.7 else ""
    text_body = body(rng, found, layout) + "\n\n" + "\n\n".join(
        f"![{rng.choice(['what it shows', ''])}]({kind}){rng.choice(['', *ATTRIBUTE_LISTS])}"
        for kind in images)
    found.foreign |= "url(//evil" in text_body
    found.files[f"{folder}/index.md"] = encode(rng, document(rng, values, text_body))
    if rng.random() < 0.2:  # Markdown beside index.md: a resource, never a page
        found.files[f"{folder}/other.md"] = encode(rng, document(rng, front_values(rng), "x"))
    found.notes.append(f"bundle {folder!r} with {images}")


def section_page(rng: Random, found: Mutation, layout: Layout) -> None:
    lang = rng.choice(layout.languages)
    where = rng.choice([*layout.sections, ""])
    path = f"content/{lang}/{where + '/' if where else ''}_index.md"
    found.files[path] = encode(rng, document(rng, front_values(rng, title=rng.random() < 0.5),
                                             body(rng, found, layout)))
    found.notes.append(f"section page {path!r}")


def change_page(rng: Random, found: Mutation, layout: Layout) -> None:
    """An existing page with a hostile front-matter line, or a hostile body added, or
    all of it replaced."""
    path = rng.choice(sorted(layout.sources))
    original = found.files.get(path, layout.sources[path])
    roll = rng.random()
    if roll < 0.5 and original.startswith(b"---\n"):
        key = rng.choice(KEYS)
        line = yaml_block(rng, {key: key_value(rng, key)}) if rng.random() < 0.7 else \
            rng.choice(YAML_TRICKS)
        found.files[path] = b"---\n" + encode(rng, line + "\n") + original[4:]
    elif roll < 0.85:
        found.files[path] = original + encode(rng, "\n" + body(rng, found, layout))
    else:
        found.files[path] = encode(rng, document(rng, front_values(rng),
                                                 body(rng, found, layout)))
    found.notes.append(f"edit {path!r}")


def odd_file(rng: Random, found: Mutation, layout: Layout) -> None:
    """Editor noise, files that are not Markdown, files that collide with outputs."""
    lang = rng.choice(layout.languages)
    folder = rng.choice([f"content/{lang}", f"content/{lang}/{rng.choice(layout.sections)}",
                         "static", "static/images", "content"])
    name = rng.choice(NAMES)
    data = rng.choice([b"plain text\n", SCRIPT_HTML, SCRIPT_SVG, b"",
                       b"<?xml version='1.0'?><x>&undefined;</x>", b"{bad json",
                       png_bytes(4, 4)])
    path = f"{folder}/{name}"
    if name.endswith(".md") and rng.random() < 0.5:
        data = encode(rng, document(rng, front_values(rng), body(rng, found, layout)))
    if is_noise_name(name):
        data = b"---\ntitle: Embargoed\ndraft: true\n---\n" + EMBARGO + b"\n"
    found.files[path] = data
    found.verbatim.add(path)
    found.notes.append(f"file {path!r}")
    if rng.random() < 0.1:
        found.folders.append(f"content/{lang}/{rng.choice(['x.md', 'empty', 'a b'])}")


def symlink(rng: Random, found: Mutation, layout: Layout) -> None:
    """Links out of the site (refused), into its noise (refused), loops, dead links,
    links that stay inside (followed)."""
    lang = rng.choice(layout.languages)
    folder = rng.choice([f"content/{lang}/{rng.choice(layout.sections)}", "static",
                         f"content/{lang}"])
    depth = folder.count("/") + 1
    up = "../" * depth
    target = rng.choice([
        layout.secret, up + "../secret/secret.md", "/etc/passwd", "/proc/self/environ",
        "/dev/zero", "/", up + "..", up + ".newshub-cache", up + "site.toml",
        up + "content", ".", "missing-target", "loop", up + sorted(layout.sources)[0],
        layout.secret.rsplit("/", 1)[0],
    ])
    name = rng.choice(["leak.md", "leak.txt", "leak", "secret.html", "index.md", "loop",
                       "photo.jpg"])
    found.links[f"{folder}/{name}"] = target
    found.notes.append(f"symlink {folder}/{name} → {target}")
    if rng.random() < 0.1:
        found.fifos.append(f"{folder}/fifo.md")


CHANGES = [new_page, new_page, new_page, new_bundle, new_bundle, section_page, change_page,
           change_page, odd_file, symlink]

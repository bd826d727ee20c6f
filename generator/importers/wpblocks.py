"""Block-editor content (``<!-- wp:name {"attrs"} -->…<!-- /wp:name -->``) to plain HTML.

The HTML a block saved is already what readers saw, so most blocks are kept as they are
and converted with the rest of the body; only blocks whose meaning lives in their
attributes or that have no Markdown form are rewritten here: embeds become video
shortcodes or links, galleries a run of figures, covers their image and text, buttons and
file blocks links, columns and groups their content in reading order. Blocks that list
site content at view time (latest posts, archives, calendar…) are dropped, and unknown
ones kept as HTML; both are reported with the post's ID.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.importers.wpautop import wpautop

# WordPress's own block-delimiter pattern (wp-includes/class-wp-block-parser.php).
_DELIMITER = re.compile(
    r"<!--\s+(?P<closer>/)?wp:(?P<namespace>[a-z][a-z0-9_-]*/)?(?P<name>[a-z][a-z0-9_-]*)\s+"
    r"(?P<attrs>\{(?:(?:[^}]+|\}+(?=\})|(?!\}\s+/?-->).)*)?\}\s+)?(?P<void>/)?-->",
    re.DOTALL)
MAX_DEPTH = 64

FLATTEN = {"columns", "column", "group", "row", "stack", "media-text", "buttons",
           "social-links", "details", "freeform", "missing", "list-item", "post-content"}
PLAIN = {"paragraph", "heading", "list", "quote", "pullquote", "table", "code", "preformatted",
         "verse", "separator", "image", "video", "audio", "html", "footnotes"}
DYNAMIC = {"latest-posts", "latest-comments", "archives", "categories", "calendar", "search",
           "rss", "tag-cloud", "page-list", "query", "navigation", "loginout", "post-title",
           "post-date", "post-excerpt", "post-featured-image", "site-title", "site-logo",
           "site-tagline", "comments", "query-loop", "avatar", "home-link", "term-description"}
DROP = {"spacer", "more", "nextpage", "read-more"}


@dataclass(slots=True)
class Block:
    name: str  # "core/paragraph", "jetpack/slideshow"; "" for text between blocks
    attrs: dict[str, object] = field(default_factory=dict)
    parts: list[str | Block] = field(default_factory=list)


def has_blocks(content: str) -> bool:
    return "<!-- wp:" in content


def parse(content: str) -> list[str | Block]:
    """The content as text runs (freeform HTML) and blocks, nested as written; an
    unclosed block takes the rest of its parent, a stray closer is dropped."""
    root = Block("")
    stack = [root]
    at = 0
    for match in _DELIMITER.finditer(content):
        if match.start() > at:
            stack[-1].parts.append(content[at:match.start()])
        at = match.end()
        name = (match.group("namespace") or "core/") + match.group("name")
        if match.group("closer"):
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].name == name:
                    del stack[depth:]
                    break
            continue
        try:
            attrs = json.loads(match.group("attrs")) if match.group("attrs") else {}
        except ValueError:
            attrs = {}
        block = Block(name, attrs if isinstance(attrs, dict) else {})
        stack[-1].parts.append(block)
        if not match.group("void") and len(stack) < MAX_DEPTH:
            stack.append(block)
    if at < len(content):
        stack[-1].parts.append(content[at:])
    return root.parts


class Renderer:
    """Renders parsed blocks to HTML for one post; ``embed`` turns a URL into a
    placeholder (see ``wpshortcodes``), ``report`` records a problem."""

    def __init__(self, embed: Callable[[str], str], report: Callable[[str], None],
                 freeform: Callable[[str], str] = lambda text: text) -> None:
        self.embed = embed
        self.report = report
        self.freeform = freeform  # classic text between blocks: its auto-embeds

    def render(self, parts: list[str | Block], top: bool = True) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                # Classic text between blocks is stored without paragraphs, like
                # classic posts; text inside a block is that block's own HTML.
                out.append(wpautop(self.freeform(part)) if top and part.strip() else part)
            else:
                out.append(self.block(part))
        return "".join(out)

    def block(self, block: Block) -> str:
        namespace, _, short = block.name.partition("/")
        inner = self.render(block.parts, top=False)
        if namespace == "core-embed" or short == "embed":
            return self._embed(block, inner)
        if namespace != "core":
            self.report(f"block {block.name} has no equivalent: kept its HTML")
            return inner
        if short in PLAIN or short in FLATTEN:
            return "\n" + inner + "\n"
        if short in DROP:
            return "\n<hr />\n" if short == "nextpage" else ""
        if short in DYNAMIC:
            self.report(f"block wp:{short} lists site content when the page is shown: "
                        "left out")
            return ""
        if short == "gallery":
            return self._gallery(inner)
        if short == "cover":
            return self._cover(block, inner)
        if short == "button":
            return "\n<p>" + _first_link(inner) + "</p>\n"
        if short == "file":
            return "\n<p>" + _first_link(inner) + "</p>\n"
        if short == "shortcode":
            return "\n" + inner + "\n"
        if short == "block":
            self.report(f"reusable block {block.attrs.get('ref', '?')} is not in the post: "
                        "left out")
            return ""
        self.report(f"block wp:{short} has no equivalent: kept its HTML")
        return inner

    def _embed(self, block: Block, inner: str) -> str:
        url = str(block.attrs.get("url") or "")
        if not url:
            found = re.search(r"https?://[^\s<>\"']+", re.sub(r"<[^>]+>", " ", inner))
            url = html.unescape(found.group(0)) if found else ""
        if not url:
            self.report(f"block {block.name} without a URL: left out")
            return ""
        caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", inner, re.DOTALL)
        text = f"<p>{caption.group(1)}</p>" if caption else ""
        return f"\n<p>{self.embed(url)}</p>\n{text}\n"

    @staticmethod
    def _gallery(inner: str) -> str:
        """One figure per image, without the list or grid around them."""
        figures = re.findall(r"<figure\b(?:(?!<figure\b).)*?<img\b.*?</figure>", inner,
                             re.DOTALL | re.IGNORECASE)
        if not figures:
            figures = re.findall(r"<img\b[^>]*>", inner, re.IGNORECASE)
        caption = re.search(r"<figcaption[^>]*blocks-gallery-caption[^>]*>(.*?)</figcaption>",
                            inner, re.DOTALL)
        figures = [re.sub(r"</?(?:ul|li)\b[^>]*>", "", f) for f in figures]
        tail = f"<p>{caption.group(1)}</p>" if caption else ""
        return "\n" + "\n".join(figures) + "\n" + tail + "\n"

    @staticmethod
    def _cover(block: Block, inner: str) -> str:
        """A cover's background image as a figure (when its HTML has none), then its text."""
        url = str(block.attrs.get("url") or "")
        if url and "<img" not in inner and block.attrs.get("backgroundType") != "video":
            alt = html.escape(str(block.attrs.get("alt") or ""))
            identifier = block.attrs.get("id")
            image_class = f' class="wp-image-{identifier}"' if isinstance(identifier, int) \
                else ""
            inner = f'<figure><img src="{html.escape(url)}" alt="{alt}"{image_class}/>' \
                    f"</figure>" + inner
        return "\n" + inner + "\n"


def _first_link(inner: str) -> str:
    match = re.search(r"<a\b[^>]*>.*?</a>", inner, re.DOTALL | re.IGNORECASE)
    return match.group(0) if match else re.sub(r"<[^>]+>", "", inner).strip()

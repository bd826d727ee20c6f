"""One WordPress post body to Markdown.

Block-editor content is rendered block by block (``wpblocks``), classic content gets the
paragraphs WordPress adds when it shows a post (``wpautop``), shortcodes become the HTML
they stand for (``wpshortcodes``); the HTML is then read with BeautifulSoup, where images,
figures, audio, video and links are resolved against the export's media and addresses,
and converted by markdownify. What newshub writes itself (shortcodes, figures) and what
stays HTML (elements Markdown has no form for) is stashed behind placeholders during the
conversion, so markdownify neither escapes nor drops it.

markdownify was chosen over html2text: it is maintained, built on BeautifulSoup (each
element's conversion can be overridden, as done here) and configurable (ATX headings,
bullets, escaping), where html2text is one large parser with global switches.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from markdownify import ATX, MarkdownConverter

from generator.importers import wpblocks
from generator.importers.wpautop import wpautop
from generator.importers.wpshortcodes import Shortcodes, video_shortcode

KEEP_AS_HTML = ("sup", "sub", "abbr", "mark", "dl", "details", "ins", "u", "small", "kbd",
                "var", "samp", "bdi", "bdo", "ruby", "time")
KEPT_ATTRIBUTES = {"href", "title", "lang", "dir", "colspan", "rowspan", "scope", "headers",
                   "datetime", "cite", "abbr", "open"}
REMOVE = ("script", "style", "noscript", "template", "object", "embed", "applet", "param",
          "link", "meta", "base", "frame", "frameset")
FORM = ("form", "input", "select", "textarea", "option", "button", "fieldset", "legend",
        "label", "output")
_TOKEN = re.compile(r"xnhx(\d{4,})x")
_WP_IMAGE = re.compile(r"\bwp-image-(\d+)\b")


@dataclass(frozen=True, slots=True)
class Image:
    """What a post's image resolves to: the ``src`` to write (a file in the post's
    bundle, or the original URL when the file is missing) and its alt text."""

    src: str
    local: bool
    alt: str = ""


@dataclass(slots=True)
class Links:
    """The importer's side of a conversion: media and addresses of the export."""

    image: Callable[[str, int | None], Image]  # URL, attachment ID → Image
    file: Callable[[str], str | None]  # an upload's URL → its bundle name (copied) or None
    link: Callable[[str], str]  # an address → the new site's address for it (or itself)
    attachment: Callable[[int], tuple[str, str, str] | None]  # ID → url, alt, caption
    attached_images: Callable[[], Sequence[int]] = lambda: ()


@dataclass(slots=True)
class Converted:
    markdown: str
    problems: list[str] = field(default_factory=list)


class _Stash:
    def __init__(self) -> None:
        self.values: list[str] = []

    def token(self, value: str) -> str:
        self.values.append(value)
        return f"xnhx{len(self.values) - 1:04d}x"

    def restore(self, text: str) -> str:
        for _ in range(4):  # a stashed value may hold tokens (an image inside a figure link)
            if _TOKEN.search(text) is None:
                break
            text = _TOKEN.sub(lambda m: self.values[int(m.group(1))]
                              if int(m.group(1)) < len(self.values) else m.group(0), text)
        return text


def to_markdown(content: str, links: Links) -> Converted:
    """The body's Markdown and the problems met (what was left out or kept as HTML)."""
    problems: list[str] = []

    def report(problem: str) -> None:
        if problem not in problems:
            problems.append(problem)

    stash = _Stash()
    shortcodes = Shortcodes(stash.token, report, links.attachment, links.attached_images)
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    if wpblocks.has_blocks(content):
        renderer = wpblocks.Renderer(shortcodes.embed_block, report, shortcodes.embeds)
        text = shortcodes.expand(renderer.render(wpblocks.parse(content)))
    else:
        text = shortcodes.expand(wpautop(shortcodes.embeds(content)))
    soup = BeautifulSoup(text, "html.parser")
    _prepare(soup, links, stash, report)
    markdown = _Converter(stash=stash).convert_soup(soup)
    soup.decompose()  # a parsed tree is a web of cycles: free it now, not at the next GC
    markdown = stash.restore(markdown)
    markdown = re.sub(r"[ \t]+\n", "\n", markdown)
    markdown = re.sub(r"\n{3,}", "\n\n", markdown).strip()
    return Converted(markdown + "\n" if markdown else "", problems)


def shortcode_value(value: str) -> str:
    """A value for a ``key="…"`` shortcode argument: one line, quotes escaped, and no
    ``}}`` that would end the shortcode early."""
    value = re.sub(r"\s+", " ", value).strip()
    value = value.replace("\\", "\\\\").replace('"', '\\"')
    return value.replace("}}", "} }").replace("{{", "{ {")


def _prepare(soup: BeautifulSoup, links: Links, stash: _Stash,
             report: Callable[[str], None]) -> None:
    """Resolve and replace, in the parsed HTML, everything markdownify must not see."""
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for element in soup.find_all([*REMOVE, *FORM]):
        name = element.name
        if element.decomposed:
            continue
        if name in REMOVE:
            report(f"<{name}> removed")
            element.decompose()
        elif name == "form":
            report("<form> removed (a static site cannot receive it); its text kept")
            element.unwrap()
        elif name in ("input", "select", "textarea", "option", "output"):
            element.decompose()
        else:
            element.unwrap()
    for frame in soup.find_all("iframe"):
        _iframe(frame, stash, report)
    for link in soup.find_all("a"):
        _link(link, links, report)
    for figure in reversed(soup.find_all("figure")):
        if figure.find("img") is not None and figure.find("figure") is None:
            _figure(figure, links, stash, report)
    for image in soup.find_all("img"):
        _image(image, links, stash, report)
    for media in soup.find_all(["audio", "video"]):
        _media(media, links, stash, report)
    for cite in soup.find_all("cite"):
        cite.name = "em"
    for table in soup.find_all("table"):
        if table.find_parent("table") is None and _complex_table(table):
            report("a table with merged or block cells kept as HTML")
            table.replace_with(_block(soup, stash.token(_kept(table))))
    kept = []
    for element in soup.find_all(KEEP_AS_HTML):
        if element.decomposed or element.find_parent([*KEEP_AS_HTML, "pre", "code"]):
            continue
        kept.append(element.name)
        token = stash.token(_kept(element))
        element.replace_with(_block(soup, token) if element.name in ("dl", "details")
                             else NavigableString(token))
    if kept:
        report("kept as HTML (no Markdown form): " +
               ", ".join(f"<{n}>" for n in dict.fromkeys(kept)))


def _kept(element: Tag) -> str:
    """The element's HTML without presentational attributes (class, style, sizes), which
    the build's sanitiser would remove with a warning each."""
    for node in (element, *element.find_all(True)):
        for name in list(node.attrs):
            if name not in KEPT_ATTRIBUTES:
                del node.attrs[name]
    return str(element)


def _block(soup: BeautifulSoup, token: str) -> Tag:
    paragraph = soup.new_tag("p")
    paragraph.string = token
    return paragraph


def _iframe(frame: Tag, stash: _Stash, report: Callable[[str], None]) -> None:
    src = html.unescape(str(frame.get("src") or "")).strip()
    if src.startswith("//"):
        src = "https:" + src
    shortcode = video_shortcode(src) if src else None
    if shortcode:
        frame.replace_with(NavigableString(stash.token(shortcode)))
        return
    host = urlsplit(src).hostname or "?"
    report(f"<iframe> from {host} replaced by a link (nothing is loaded from other sites)")
    if src.startswith(("http://", "https://")):
        frame.replace_with(NavigableString(stash.token(f"<{src}>")))
    else:
        frame.decompose()


def _link(link: Tag, links: Links, report: Callable[[str], None]) -> None:
    href = html.unescape(str(link.get("href") or "")).strip()
    if not href:
        return
    scheme = urlsplit(href).scheme.lower()
    if scheme and scheme not in ("http", "https", "mailto", "tel"):
        report(f"a {scheme}: link removed (its text kept)")
        link.unwrap()
        return
    local = links.file(href)
    link["href"] = local if local is not None else links.link(href)


def _image_of(image: Tag, links: Links) -> Image:
    src = html.unescape(str(image.get("src") or image.get("data-src") or "")).strip()
    classes = " ".join(image.get("class") or [])
    found = _WP_IMAGE.search(classes)
    identifier = int(found.group(1)) if found else None
    if identifier is None and str(image.get("data-id") or "").isdigit():
        identifier = int(str(image.get("data-id")))
    resolved = links.image(src, identifier)
    alt = str(image.get("alt") or "").strip() or resolved.alt
    return Image(resolved.src, resolved.local, alt)


def _wrapping_link(image: Tag) -> tuple[Tag | None, str]:
    """The ``<a>`` around an image and where it leads, unless it leads to the image
    itself (WordPress's "link to media file"), which a Markdown image does not need."""
    parent = image.parent
    if not isinstance(parent, Tag) or parent.name != "a":
        return None, ""
    if [c for c in parent.contents if not (isinstance(c, NavigableString) and not c.strip())] \
            != [image]:
        return None, ""
    href = str(parent.get("href") or "")
    path = urlsplit(href).path
    if not href or re.search(r"\.(?:jpe?g|png|gif|webp|avif|svg|bmp|tiff?)$", path, re.I) or \
            "attachment_id=" in href or "/attachment/" in path:
        return parent, ""
    return parent, href


def _markdown_image(resolved: Image) -> str:
    """``![alt](file)``; an image whose file is missing becomes a link to where it was
    (nothing is loaded from another site)."""
    alt = resolved.alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    alt = re.sub(r"\s+", " ", alt).strip()
    src = resolved.src.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    if resolved.local:
        return f"![{alt}]({src})"
    name = unquote(urlsplit(resolved.src).path.rsplit("/", 1)[-1]) or "image"
    label = alt or name.replace("[", "\\[").replace("]", "\\]").replace("_", "\\_")
    return f"[{label}]({src})"


def _figure(figure: Tag, links: Links, stash: _Stash, report: Callable[[str], None]) -> None:
    image = figure.find("img")
    assert image is not None
    resolved = _image_of(image, links)
    anchor, target = _wrapping_link(image)
    caption_element = figure.find("figcaption")
    caption = ""
    if caption_element is not None:
        caption = _Converter(stash=stash).convert_soup(
            BeautifulSoup(caption_element.decode_contents(), "html.parser"))
        caption = re.sub(r"\s+", " ", stash.restore(caption)).strip()
        caption_element.decompose()
    if resolved.local and caption:
        arguments = [f'src="{shortcode_value(resolved.src)}"']
        arguments.append(f'alt="{shortcode_value(resolved.alt)}"')
        arguments.append(f'caption="{shortcode_value(caption)}"')
        if target:
            arguments.append(f'link="{shortcode_value(target)}"')
        value = "{{< figure " + " ".join(arguments) + " >}}"
    else:
        value = _markdown_image(resolved)
        if target and resolved.local:
            value = f"[{value}]({target})"
        if caption:
            value += "\n\n*" + caption.replace("*", "\\*") + "*"
    (anchor or image).decompose()
    rest = figure.get_text(strip=True)
    figure.insert(0, _block(BeautifulSoup("", "html.parser"), stash.token(value)))
    if not rest:
        figure.unwrap()


def _image(image: Tag, links: Links, stash: _Stash, report: Callable[[str], None]) -> None:
    resolved = _image_of(image, links)
    anchor, target = _wrapping_link(image)
    value = _markdown_image(resolved)
    if target and resolved.local:
        value = f"[{value}]({target})"
    (anchor or image).replace_with(NavigableString(stash.token(value)))


def _media(media: Tag, links: Links, stash: _Stash, report: Callable[[str], None]) -> None:
    kind = media.name
    src = str(media.get("src") or "")
    if not src:
        source = media.find("source")
        src = str(source.get("src") or "") if source is not None else ""
    src = html.unescape(src).strip()
    if not src:
        report(f"<{kind}> without a source: left out")
        media.decompose()
        return
    local = links.file(src)
    if local is not None:
        value = "{{< " + kind + f' src="{shortcode_value(local)}" ' + ">}}"
    else:
        value = f"<{src}>" if src.startswith(("http://", "https://")) else src
    media.replace_with(_block(BeautifulSoup("", "html.parser"), stash.token(value)))


def _complex_table(table: Tag) -> bool:
    for cell in table.find_all(["td", "th"]):
        if cell.get("rowspan") not in (None, "1") or cell.get("colspan") not in (None, "1"):
            return True
        if cell.find(["p", "ul", "ol", "table", "pre", "blockquote", "div", "h1", "h2", "h3",
                      "h4", "h5", "h6", "br"]) is not None:
            return True
    return False


class _Converter(MarkdownConverter):
    """markdownify with ATX headings, ``-`` bullets and escaping for Python-Markdown:
    ``<`` and entity-like ``&`` in text, a Markdown marker at the start of a text, and
    ``{{`` (which would start a newshub shortcode)."""

    def __init__(self, stash: _Stash, **options: object) -> None:
        super().__init__(heading_style=ATX, bullets="-", strong_em_symbol="*",
                         escape_misc=False, code_language_callback=_code_language,
                         **options)
        self.stash = stash

    def escape(self, text: str, parent_tags: set[str]) -> str:
        if not text:
            return ""
        text = text.replace("\\", "\\\\").replace("`", "\\`")
        text = re.sub(r"&(?=#?\w+;)", "&amp;", text).replace("<", "&lt;")
        text = text.replace("[", "\\[").replace("]", "\\]")
        text = text.replace("{{", "&#123;{")
        text = re.sub(r"^(\s*)([#>+-])(?=\s|$)", r"\1\\\2", text)
        text = re.sub(r"^(\s*\d{1,9})([.)])(?=\s|$)", r"\1\\\2", text)
        if "td" in parent_tags or "th" in parent_tags:
            text = text.replace("|", "\\|")
        return super().escape(text, parent_tags)

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if not text.strip() and _TOKEN.search(str(el)) is None:
            return ""
        return super().convert_a(el, text, parent_tags)


def _code_language(element: Tag) -> str:
    for node in (element, element.find("code")):
        if isinstance(node, Tag):
            for name in node.get("class") or []:
                if name.startswith(("language-", "lang-")):
                    language = name.split("-", 1)[1]
                    if re.fullmatch(r"[\w+#.-]{1,30}", language):
                        return language
    return ""

"""WordPress shortcodes and oEmbed lines, turned into the HTML they stand for.

``[caption]`` becomes a ``<figure>`` with its ``<figcaption>``, ``[gallery]`` one figure
per image (by ``ids``, else the images attached to the post, as WordPress shows them),
``[audio]``, ``[video]`` and ``[playlist]`` the ``<audio>``/``<video>`` elements,
``[embed]`` and a bare URL alone on a line a placeholder for a video shortcode or a plain
link. The Markdown stage then treats that HTML like any other. Other shortcodes stay as
text and are reported with the post's ID (WordPress only knows what a plugin made of
them).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from urllib.parse import parse_qs, urlsplit

KNOWN = ("caption", "wp_caption", "gallery", "embed", "audio", "video", "playlist")
_SHORTCODE = re.compile(
    r"\[(\[?)(" + "|".join(KNOWN) + r")(?![\w-])([^\]/]*(?:/(?!\])[^\]/]*)*?)"
    r"(?:(/)\]|\](?:(.*?)\[/\2\])?)(\]?)", re.DOTALL)
# A shortcode WordPress would have run: [name attr=…], [name] … [/name]; not [sic] or [1].
_OTHER = re.compile(r"\[([a-zA-Z][\w-]*)(?:\s+[^\]\n]*?=[^\]\n]*\]|\](?=.*?\[/\1\]))", re.DOTALL)
_ATTRIBUTE = re.compile(
    r"([\w-]+)\s*=\s*\"([^\"]*)\"(?:\s|$)|([\w-]+)\s*=\s*'([^']*)'(?:\s|$)|"
    r"([\w-]+)\s*=\s*([^\s'\"]+)(?:\s|$)|\"([^\"]*)\"(?:\s|$)|'([^']*)'(?:\s|$)|(\S+)(?:\s|$)")
_URL_LINE = re.compile(r"^(\s*)(https?://[^\s<>\"]+)(\s*)$", re.MULTILINE)
AUDIO_TYPES = ("src", "mp3", "m4a", "ogg", "wav", "oga", "flac")
VIDEO_TYPES = ("src", "mp4", "m4v", "webm", "ogv", "wmv", "flv")


def parse_attributes(text: str) -> dict[str, str]:
    """``shortcode_parse_atts``: named values (lower-cased names) and positional ones
    (keys "0", "1", …)."""
    found: dict[str, str] = {}
    position = 0
    text = re.sub(r"[\u00a0\u200b]", " ", html.unescape(text))
    for match in _ATTRIBUTE.finditer(text):
        groups = match.groups()
        for name_at, value_at in ((0, 1), (2, 3), (4, 5)):
            if groups[name_at]:
                found[groups[name_at].lower()] = groups[value_at]
                break
        else:
            value = next((g for g in groups[6:] if g is not None), "")
            found[str(position)] = value
            position += 1
    return found


def video_shortcode(url: str) -> str | None:
    """``{{< youtube ID >}}`` or ``{{< vimeo ID >}}`` for a video page URL, else None."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    path = parts.path
    video = ""
    if host in ("youtube.com", "youtube-nocookie.com", "music.youtube.com"):
        if path == "/watch":
            video = (parse_qs(parts.query).get("v") or [""])[0]
        else:
            match = re.match(r"^/(?:embed|shorts|v|live)/([^/?#]+)", path)
            video = match.group(1) if match else ""
        kind = "youtube"
    elif host == "youtu.be":
        video, kind = path.strip("/").split("/")[0], "youtube"
    elif host in ("vimeo.com", "player.vimeo.com"):
        match = re.search(r"(?:^|/)(\d{5,12})(?:/|$)", path)
        video, kind = (match.group(1) if match else ""), "vimeo"
    else:
        return None
    if kind == "youtube" and re.fullmatch(r"[A-Za-z0-9_-]{6,20}", video):
        return "{{< youtube " + video + " >}}"
    if kind == "vimeo" and video.isdigit():
        return "{{< vimeo " + video + " >}}"
    return None


class Shortcodes:
    """Expands shortcodes for one post. ``token`` stashes Markdown and returns a
    placeholder; ``gallery_images`` lists the images attached to the post;
    ``attachment_url`` finds an attachment's file URL; ``report`` records a problem."""

    def __init__(self, token: Callable[[str], str], report: Callable[[str], None],
                 attachment: Callable[[int], tuple[str, str, str] | None],
                 gallery_images: Callable[[], Sequence[int]]) -> None:
        self.token = token
        self.report = report
        self.attachment = attachment  # id → (url, alt, caption)
        self.gallery_images = gallery_images

    def embeds(self, text: str) -> str:
        """``[embed]URL[/embed]`` and URLs alone on a line (WordPress's auto-embeds)
        become a placeholder paragraph; run before ``wpautop``."""
        text = re.sub(r"\[embed(?:\s[^\]]*)?\](.*?)\[/embed\]",
                      lambda m: "\n\n" + self._embed(m.group(1)) + "\n\n", text,
                      flags=re.DOTALL)
        return _URL_LINE.sub(lambda m: m.group(1) + self._embed(m.group(2)) + m.group(3), text)

    def embed_block(self, url: str) -> str:
        return self._embed(url)

    def _embed(self, url: str) -> str:
        url = html.unescape(url.strip())
        shortcode = video_shortcode(url)
        if shortcode:
            return self.token(shortcode)
        return self.token(f"<{url}>" if re.fullmatch(r"https?://[^\s<>]+", url) else url)

    def expand(self, text: str) -> str:
        """The known shortcodes replaced by their HTML; unknown ones reported."""
        text = _SHORTCODE.sub(self._one, text)
        for name in sorted({match.group(1) for match in _OTHER.finditer(text)}):
            self.report(f"shortcode [{name}] left as text (no equivalent)")
        return text

    def _one(self, match: re.Match[str]) -> str:
        if match.group(1) == "[" and match.group(6) == "]":  # [[escaped]]
            return match.group(0)[1:-1]
        name = match.group(2)
        attributes = parse_attributes(match.group(3))
        inner = match.group(5) or ""
        if name in ("caption", "wp_caption"):
            return self._caption(attributes, inner)
        if name == "gallery":
            return self._gallery(attributes)
        if name == "embed":
            return self._embed(inner or attributes.get("0", ""))
        if name in ("audio", "video"):
            return self._media(name, attributes)
        return self._playlist(attributes)

    def _caption(self, attributes: dict[str, str], inner: str) -> str:
        caption = attributes.get("caption", "")
        image = re.match(r"\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)(.*)$", inner,
                         re.DOTALL | re.IGNORECASE)
        if image is None:
            self.report("[caption] without an image: kept its text")
            return inner
        body, rest = image.group(1), image.group(2).strip()
        caption = caption or rest
        return f"<figure>{body}<figcaption>{caption}</figcaption></figure>" if caption \
            else f"<figure>{body}</figure>"

    def _gallery(self, attributes: dict[str, str]) -> str:
        ids = [int(i) for i in re.findall(r"\d+", attributes.get("ids", "") or
                                          attributes.get("include", ""))]
        if not ids:
            ids = list(self.gallery_images())
        figures = []
        for attachment_id in ids:
            found = self.attachment(attachment_id)
            if found is None:
                self.report(f"[gallery] image {attachment_id} is not in the export")
                continue
            url, alt, caption = found
            figcaption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
            figures.append(f'<figure><img src="{html.escape(url)}" alt="{html.escape(alt)}" '
                           f'class="wp-image-{attachment_id}"/>{figcaption}</figure>')
        return "\n".join(figures)

    def _media(self, kind: str, attributes: dict[str, str]) -> str:
        names = AUDIO_TYPES if kind == "audio" else VIDEO_TYPES
        source = next((attributes[n] for n in names if attributes.get(n)), "")
        if not source and re.match(r"https?://", attributes.get("0", "")):
            source = attributes["0"]  # [audio https://…], as older posts write it
        if not source:
            self.report(f"[{kind}] without a source file: left out")
            return ""
        return f'<{kind} src="{html.escape(source)}"></{kind}>'

    def _playlist(self, attributes: dict[str, str]) -> str:
        kind = "video" if attributes.get("type") == "video" else "audio"
        parts = []
        for attachment_id in (int(i) for i in re.findall(r"\d+", attributes.get("ids", ""))):
            found = self.attachment(attachment_id)
            if found is not None:
                parts.append(f'<{kind} src="{html.escape(found[0])}"></{kind}>')
        if not parts:
            self.report("[playlist] without files in the export: left out")
        return "\n".join(parts)

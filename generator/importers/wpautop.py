"""WordPress's ``wpautop``: the paragraphs the classic editor never stored.

Classic-editor posts are saved with blank lines where paragraphs end and single line
breaks where ``<br>`` goes; WordPress adds the ``<p>`` and ``<br />`` tags each time it
shows a post. Converting such a body to Markdown without doing the same first would join
paragraphs or lose line breaks, so this follows ``wp-includes/formatting.php`` step by
step (its block-element list, the ``<pre>`` and ``<script>``/``<style>`` protection, the
clean-up of paragraphs around block tags).
"""

from __future__ import annotations

import re

ALL_BLOCKS = (r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|"
              r"li|pre|form|map|area|blockquote|address|style|p|h[1-6]|hr|fieldset|legend|"
              r"section|article|aside|hgroup|header|footer|nav|figure|figcaption|details|"
              r"menu|summary)")
_PRE = re.compile(r"<pre[\s>].*?</pre>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")
_PRESERVE = "<WPPreserveNewline />"


def wpautop(text: str, br: bool = True) -> str:
    """``text`` with ``<p>`` around its paragraphs and ``<br />`` at single newlines."""
    if not text.strip():
        return ""
    pre_tags: dict[str, str] = {}
    if "<pre" in text.lower():
        def keep_pre(match: re.Match[str]) -> str:
            key = f'<pre wp-pre-tag-{len(pre_tags)}></pre>'
            pre_tags[key] = match.group(0)
            return key
        text = _PRE.sub(keep_pre, text)
    text += "\n"
    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text, flags=re.IGNORECASE)
    text = re.sub(r"(<" + ALL_BLOCKS + r"[\s/>])", r"\n\n\1", text, flags=re.IGNORECASE)
    text = re.sub(r"(</" + ALL_BLOCKS + r">)", r"\1\n\n", text, flags=re.IGNORECASE)
    text = re.sub(r"(<hr\s*?/?>)", r"\1\n\n", text, flags=re.IGNORECASE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Newlines inside tags (attributes written on several lines) are not line breaks.
    text = _TAG.sub(lambda m: m.group(0).replace("\n", " "), text)
    if "<option" in text:
        text = re.sub(r"\s*<option", "<option", text)
        text = re.sub(r"</option>\s*", "</option>", text)
    if "</object>" in text:
        text = re.sub(r"(<object[^>]*>)\s*", r"\1", text)
        text = re.sub(r"\s*</object>", "</object>", text)
        text = re.sub(r"\s*(</?(?:param|embed)[^>]*>)\s*", r"\1", text)
    if "<source" in text or "<track" in text:
        text = re.sub(r"([<\[](?:audio|video)[^>\]]*[>\]])\s*", r"\1", text)
        text = re.sub(r"\s*([<\[]/(?:audio|video)[>\]])", r"\1", text)
        text = re.sub(r"\s*(<(?:source|track)[^>]*>)\s*", r"\1", text)
    if "<figcaption" in text:
        text = re.sub(r"\s*(<figcaption[^>]*>)", r"\1", text)
        text = re.sub(r"</figcaption>\s*", "</figcaption>", text)
    text = re.sub(r"\n\n+", "\n\n", text)
    pees = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    text = "".join("<p>" + p.strip("\n") + "</p>\n" for p in pees)
    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = re.sub(r"<p>\s*(</?" + ALL_BLOCKS + r"[^>]*>)\s*</p>", r"\1", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.IGNORECASE)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = re.sub(r"<p>\s*(</?" + ALL_BLOCKS + r"[^>]*>)", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r"(</?" + ALL_BLOCKS + r"[^>]*>)\s*</p>", r"\1", text, flags=re.IGNORECASE)
    if br:
        text = re.sub(r"<(script|style|svg)\b.*?</\1>",
                      lambda m: m.group(0).replace("\n", _PRESERVE), text,
                      flags=re.IGNORECASE | re.DOTALL)
        text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
        text = re.sub(r"(?<!<br />)\s*\n", "<br />\n", text)
        text = text.replace(_PRESERVE, "\n")
    text = re.sub(r"(</?" + ALL_BLOCKS + r"[^>]*>)\s*<br />", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"\n</p>$", "</p>", text)
    for key, value in pre_tags.items():
        text = text.replace(key, value)
    return text

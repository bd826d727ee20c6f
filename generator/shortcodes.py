"""Shortcodes in Markdown, as Hugo writes them, expanded by the theme's Jinja2 templates.

``{{< name args >}}`` inserts its template's HTML where it stands (left out of Markdown,
and put back before the raw HTML policy applies: the theme writes it, but with the
editor's arguments and inner text);
``{{% name args %}}`` inserts its template's output into the Markdown, so what it
writes (and its inner text) is read as Markdown. Either may be paired,
``{{< name >}}…{{< /name >}}``, and nest. ``{{</* name */>}}`` shows the shortcode
itself, as text. Arguments are positional (``"quoted"`` or bare) or named
(``key="value"``); a template sees ``args``, ``params``, ``get(name_or_index)``,
``inner`` (the raw inner text), ``inner_html`` (it rendered as Markdown), ``page``
and ``ref(path)`` (a link to another page by its source path, checked when the site
is linked). Templates are ``shortcodes/<name>.html`` in the theme layers: a site's own
``themes/<theme>/shortcodes/`` override the installed ones, like templates.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from markupsafe import Markup

from generator import markup
from generator.config import SiteConfig
from generator.theme import theme_candidates, theme_files, theme_folders

FOLDER = "shortcodes"
TAG = re.compile(r"\{\{([<%])(/\*)?\s*(/)?\s*([A-Za-z0-9_][\w./-]*)(.*?)\s*(/)?(\*/)?([>%])\}\}",
                 re.DOTALL)
ARGUMENT = re.compile(r"""\s*(?:([A-Za-z_][\w-]*)\s*=\s*)?("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+)""",
                      re.DOTALL)
REF_SCHEME = "newshub-ref:"
REF_URL = re.compile(r"newshub-ref:([A-Za-z0-9-]+):([^:\"'<>\s]*):([^:\"'<>\s]*)")
MAX_DEPTH = 16


class ShortcodeError(ValueError):
    """A shortcode that cannot be expanded; ``line`` is within the body."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.expanded: Expanded | None = None  # what was expanded before it stopped


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What a shortcode template may know of the page it is on."""

    lang: str
    path: str  # the page's site path
    folder: str  # its source folder under content/<lang>/, '/'-separated
    params: Mapping[str, Any]  # its front matter


@dataclass(slots=True)
class Expanded:
    """A body with its shortcodes expanded: Markdown holding placeholders for the HTML
    of ``{{< >}}`` shortcodes, put back by ``restore`` once the Markdown is HTML."""

    text: str
    stash: dict[str, str] = field(default_factory=dict)
    refs: bool = False
    used: set[str] = field(default_factory=set)  # names of the shortcodes expanded

    def template_files(self, config: SiteConfig) -> tuple[Path, ...]:
        """Every file that defines, or would override, a shortcode this body uses: the
        page is read again when one of them appears, changes or goes."""
        return tuple(layer / FOLDER / f"{name}.html" for name in sorted(self.used)
                     for layer in theme_candidates(config))

    def restore(self, html: str) -> str:
        for token, value in self.stash.items():
            html = html.replace(f"<p>{token}</p>", value).replace(token, value)
        return html


@dataclass(frozen=True, slots=True)
class _Tag:
    start: int
    end: int
    markdown: bool  # {{% %}} rather than {{< >}}
    closing: bool
    self_closing: bool
    name: str
    arguments: str
    escaped: bool  # {{</* … */>}}: shown as written
    written: str


def has_shortcodes(text: str) -> bool:
    # (a "{" first: one character is found several times faster than a longer mark)
    return "{" in text and ("{{<" in text or "{{%" in text)


def expand(text: str, config: SiteConfig, page: PageInfo) -> Expanded:
    """Expand every shortcode of a Markdown body (raises ``ShortcodeError``)."""
    result = Expanded(text)
    if not has_shortcodes(text):
        return result
    token = f"NEWSHUBSC{secrets.token_hex(6)}X"
    expander = _Expander(config, page, result, token)
    try:
        result.text = expander.expand(text, 0, 0)
    except ShortcodeError as exc:
        exc.expanded = result
        raise
    return result


def resolve_refs(html: str, lookup: Callable[[str, str, str], str | None]) -> str:
    """Put the address of each referenced page in place of its ``ref`` marker;
    ``lookup(lang, folder, path)`` finds it ("#" when it leads nowhere: the link phase
    has reported it)."""
    def replace(match: re.Match[str]) -> str:
        lang, folder, wanted = match.group(1), unquote(match.group(2)), unquote(match.group(3))
        path, _, anchor = wanted.partition("#")
        found = lookup(lang, folder, path)
        return (found or "#") + (f"#{anchor}" if anchor and found else "")

    return REF_URL.sub(replace, html)


def refs_in(html: str) -> tuple[tuple[str, str, str], ...]:
    """The (lang, folder, path) of each ``ref`` marker in a body, once each, in order."""
    return tuple(dict.fromkeys((m.group(1), unquote(m.group(2)),
                                unquote(m.group(3)).partition("#")[0])
                               for m in REF_URL.finditer(html)))


def ref_candidates(folder: str, path: str) -> tuple[str, ...]:
    """The source paths (under content/<lang>/, without ``.md``) a ref may mean, in the
    order they are tried: beside the page, then from the language root."""
    clean = path.strip().removesuffix(".md")
    for tail in ("/_index", "/index"):
        clean = clean.removesuffix(tail)
    clean = "" if clean in ("_index", "index") else clean
    if path.startswith("/"):
        return (clean.strip("/"),)
    beside = "/".join(p for p in (folder, clean) if p)
    return tuple(dict.fromkeys(_normal(c) for c in (beside, clean)))


def _normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def templates_digest(config: SiteConfig) -> str:
    """A digest of the shortcode templates a build sees (part of every parse key)."""
    files = theme_files(config, FOLDER)
    hashed = hashlib.blake2b(digest_size=12)
    for name, path in files.items():
        hashed.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return hashed.hexdigest()


def available(config: SiteConfig) -> tuple[str, ...]:
    return tuple(name.removesuffix(".html") for name in theme_files(config, FOLDER)
                 if name.endswith(".html"))


class _Expander:
    def __init__(self, config: SiteConfig, page: PageInfo, result: Expanded,
                 token: str) -> None:
        self.config, self.page, self.result, self.token = config, page, result, token
        self.environment = _environment(theme_folders(config, FOLDER))

    def expand(self, text: str, offset_line: int, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise ShortcodeError(offset_line + 1, f"shortcodes nest more than {MAX_DEPTH} "
                                                  "levels deep")
        tags = [_tag(match) for match in TAG.finditer(text)]
        out: list[str] = []
        position = 0
        index = 0
        while index < len(tags):
            tag = tags[index]
            line = offset_line + text.count("\n", 0, tag.start) + 1
            out.append(text[position:tag.start])
            if tag.escaped:
                out.append(_shown(tag))
                position, index = tag.end, index + 1
                continue
            if tag.closing:
                raise ShortcodeError(line, f"'{{{{< /{tag.name} >}}}}' closes a shortcode that "
                                           "was not opened")
            close = None if tag.self_closing else _closing(tags, index)
            inner = None
            if close is not None:
                inner_start = tag.end
                inner_text = text[inner_start:tags[close].start]
                inner_line = offset_line + text.count("\n", 0, inner_start)
                inner = self.expand(inner_text, inner_line, depth + 1)
                position, index = tags[close].end, close + 1
            else:
                position, index = tag.end, index + 1
            out.append(self._render(tag, inner, line))
        out.append(text[position:])
        return "".join(out)

    def _render(self, tag: _Tag, inner: str | None, line: int) -> str:
        try:
            template = self.environment.get_template(f"{tag.name}.html")
        except jinja2.TemplateNotFound:
            self.result.used.add(tag.name)  # defining it later makes the page build
            names = ", ".join(available(self.config)) or "none"
            raise ShortcodeError(line, f"unknown shortcode '{tag.name}' (available: {names}; "
                                       f"add themes/{self.config.theme}/{FOLDER}/{tag.name}"
                                       ".html to define it)") from None
        self.result.used.add(tag.name)
        args, params = _arguments(tag.arguments, line, tag.name)
        context = {
            "name": tag.name, "args": args, "params": params,
            "get": partial(_get, args, params),
            "inner": inner, "inner_html": Markup(self._markdown(inner)) if inner else "",
            "page": self.page, "ref": lambda path, lang=None: self._ref(path, lang),
            "site": {"title": self.config.title, "base_url": self.config.base_url,
                     "params": self.config.params},
        }
        try:
            rendered = template.render(context)
        except jinja2.TemplateError as exc:
            raise ShortcodeError(line, f"shortcode '{tag.name}': {exc}") from None
        except (LookupError, TypeError, ValueError) as exc:
            raise ShortcodeError(line, f"shortcode '{tag.name}': {exc}") from None
        if tag.markdown:
            return rendered
        key = f"{self.token}{len(self.result.stash)}Z"
        self.result.stash[key] = rendered
        return key

    def _markdown(self, text: str) -> str:
        """Inner text as HTML, the stash of its own shortcodes put back."""
        return Expanded(text, self.result.stash).restore(markup.to_html(text))

    def _ref(self, path: str, lang: str | None) -> str:
        """A marker the renderer turns into the page's address (the link phase checks
        that it leads somewhere)."""
        self.result.refs = True
        safe = "/#._-~"
        return (f"{REF_SCHEME}{lang or self.page.lang}:{quote(self.page.folder, safe=safe)}:"
                f"{quote(path.strip(), safe=safe)}")


@cache
def _environment(folders: tuple[Path, ...]) -> jinja2.Environment:
    """One environment per set of shortcode folders (a worker process keeps it; Jinja
    reloads a template whose file changed)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(folders),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=False)
    environment.filters["markdownify"] = lambda text: Markup(markup.to_html(str(text or "")))
    environment.filters["urlquery"] = lambda text: quote(str(text), safe="")
    environment.globals["fail"] = _fail
    return environment


def _fail(message: str) -> None:
    """What a template calls to stop with a message (``{{ fail("…") }}``)."""
    raise ValueError(message)


def _get(args: list[str], params: dict[str, str], key: int | str, default: str = "") -> str:
    """A positional argument by index or a named one by name, like Hugo's ``.Get``."""
    if isinstance(key, int):
        return args[key] if 0 <= key < len(args) else default
    return params.get(key, default)


def _tag(match: re.Match[str]) -> _Tag:
    opener, comment_open, slash, name, arguments, self_close, comment_close, _closer = \
        match.groups()
    return _Tag(match.start(), match.end(), opener == "%", bool(slash), bool(self_close),
                name, arguments or "", bool(comment_open and comment_close), match.group(0))


def _closing(tags: list[_Tag], index: int) -> int | None:
    """The index of the tag closing ``tags[index]``, same name at the same depth."""
    name, depth = tags[index].name, 0
    for position in range(index + 1, len(tags)):
        tag = tags[position]
        if tag.escaped or tag.name != name:
            continue
        if tag.closing:
            if depth == 0:
                return position
            depth -= 1
        elif not tag.self_closing:
            depth += 1
    return None


def _arguments(text: str, line: int, name: str) -> tuple[list[str], dict[str, str]]:
    args: list[str] = []
    params: dict[str, str] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = ARGUMENT.match(text, position)
        if match is None or match.end() == position:
            raise ShortcodeError(line, f"shortcode '{name}': cannot read its arguments "
                                       f"near {text[position:position + 20]!r}")
        key, raw = match.groups()
        value = _literal(raw)
        if key:
            params[key] = value
        else:
            args.append(value)
        position = match.end()
    if args and params:
        raise ShortcodeError(line, f"shortcode '{name}': give either positional or named "
                                   "arguments, not both")
    return args, params


def _literal(raw: str) -> str:
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if raw.startswith("`") and raw.endswith("`") and len(raw) >= 2:
        return raw[1:-1]
    return raw


def _shown(tag: _Tag) -> str:
    """An escaped shortcode as it reads without its comment marks."""
    text = tag.written
    return text[:3] + text[5:-5] + text[-3:]



"""The shortcodes a Hugo site's content uses, and placeholder templates for those newshub
lacks.

A Hugo shortcode's template lives in the site's or its theme's ``layouts/`` as Go
template code, which newshub cannot run. Each shortcode without a newshub template gets a
small Jinja2 template in the imported site's ``themes/default/shortcodes/`` that keeps
the content readable: a paired one shows its inner text in ``<div
class="shortcode-NAME">``, a single one its text argument (``text``, ``title``, ``label``
or ``caption``) or nothing. Docsy's common ones get slightly better templates. They are
placeholders to refine: the site builds and no shortcode text is left on a page, but the
look is the theme's job.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from generator.shortcodes import TAG
from generator.theme import BUNDLED_THEMES, DEFAULT_THEME

SAFE_NAME = re.compile(r"[A-Za-z0-9_][\w.-]*(?:/[A-Za-z0-9_][\w.-]*)*")
SAFE_TEXT = re.compile(r"[^\"\\{}%#<>\x00-\x1f\x7f]*")  # fits a Jinja string literal as is
RASTER = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff", ".bmp")
SHOWN_USES = 3


@dataclass(slots=True)
class Use:
    """One place a shortcode is used: the file as shown to people, its line, and where
    the page sits (its language, its folder under content/<lang>/, its bundle folder)."""

    shown: str
    line: int
    lang: str
    folder: str
    bundle: Path | None
    arguments: str
    markdown: bool = False  # written {{% … %}} rather than {{< … >}}


@dataclass(slots=True)
class Shortcode:
    name: str
    uses: list[Use] = field(default_factory=list)
    paired: bool = False

    def places(self) -> str:
        shown = ", ".join(f"{use.shown}:{use.line}" for use in self.uses[:SHOWN_USES])
        more = len(self.uses) - SHOWN_USES
        return shown + (f" and {more} more" if more > 0 else "")


def builtin_names() -> frozenset[str]:
    """The shortcodes newshub's installed default theme defines."""
    folder = BUNDLED_THEMES / DEFAULT_THEME / "shortcodes"
    return frozenset(path.relative_to(folder).as_posix().removesuffix(".html")
                     for path in folder.rglob("*.html"))


def scan(found: dict[str, Shortcode], text: str, use: Use) -> None:
    """Add the shortcodes of one content file (``use`` is a template for its uses)."""
    if "{{<" not in text and "{{%" not in text:
        return
    for match in TAG.finditer(text):
        opener, comment_open, slash, name, arguments, _self, comment_close, _ = match.groups()
        if comment_open and comment_close:  # {{</* … */>}}: shown as text
            continue
        entry = found.setdefault(name, Shortcode(name))
        if slash:
            entry.paired = True
            continue
        line = text.count("\n", 0, match.start()) + 1
        entry.uses.append(Use(use.shown, line, use.lang, use.folder, use.bundle,
                              " ".join((arguments or "").split()), opener == "%"))


def template_for(shortcode: Shortcode, origin: str, notes: list[str]) -> str | None:
    """The placeholder template's text (None: none written; ``notes`` says why)."""
    name = shortcode.name
    if not SAFE_NAME.fullmatch(name):
        notes.append(f"{name}: not a name newshub can store as a template file; rewrite "
                     f"these uses ({shortcode.places()})")
        return None
    first = shortcode.uses[0] if shortcode.uses else None
    left, right = ("{{%", "%}}") if first and first.markdown else ("{{<", ">}}")
    example = f"{left} {name} {first.arguments} {right}" if first and first.arguments else \
        f"{left} {name} {right}"
    if shortcode.paired:
        example += f" … {left} /{name} {right}"
    header = (f"{{#- Placeholder written by `newshub import hugo` for {origin} shortcode "
              f"`{name}` ({'paired, ' if shortcode.paired else ''}{len(shortcode.uses)} "
              f"use{'s' if len(shortcode.uses) != 1 else ''}, first "
              f"{first.shown + ':' + str(first.line) if first else 'none'}), used as\n"
              f"    {_comment_safe(example)}\n"
              f"    Refine it: it keeps the content readable, not the look of the original. -#}}\n")
    special = SPECIAL.get(name)
    if name == "imgproc":
        return header + _imgproc(shortcode, notes)
    if special is not None:
        return header + special
    css = "shortcode-" + name.replace("/", "-").replace(".", "-")
    return header + GENERIC.replace("CSS", css)


def first_argument(arguments: str) -> str:
    """The first argument of a use, positional or named, without its quotes."""
    match = re.match(r'\s*(?:[A-Za-z_][\w-]*\s*=\s*)?("([^"]*)"|`([^`]*)`|(\S+))', arguments)
    if match is None:
        return ""
    return next(group for group in match.groups()[1:] if group is not None)


def _comment_safe(text: str) -> str:
    return text.replace("#}", "# }").replace("{#", "{ #")


GENERIC = """\
{%- if inner is not none %}
<div class="CSS">
{{ inner_html }}
</div>
{%- else %}
{%- set main = params.text or params.title or params.label or params.caption or "" %}
{%- if main %}<span class="CSS">{{ main }}</span>{% endif %}
{%- endif %}
"""

SPECIAL = {
    "alert": """\
<div class="alert{% if params.color %} alert-{{ params.color }}{% endif %}" role="note">
{%- if params.title %}
<p class="alert-title"><strong>{{ params.title }}</strong></p>
{%- endif %}
{{ inner_html }}
</div>
""",
    "pageinfo": """\
<div class="pageinfo{% if params.color %} pageinfo-{{ params.color.split()[0] }}{% endif %}">
{{ inner_html }}
</div>
""",
    "blocks/feature": """\
<div class="feature">
{%- if params.title %}
<h3>{% if params.url %}<a href="{{ params.url }}">{{ params.title }}</a>{% else %}\
{{ params.title }}{% endif %}</h3>
{%- endif %}
{{ inner_html }}
</div>
""",
    "blocks/cover": """\
<header class="cover">
{%- if params.title %}
<h2 class="cover-title">{{ params.title }}</h2>
{%- endif %}
{{ inner_html }}
</header>
""",
    "blocks/link-down": "",
    "comment": "",
    "_param": """\
{#- Docsy's _param: a value of the page's front matter (its {1}, {2} … are filled in),
    read as Markdown like the figure caption (entities such as &mdash; are characters). -#}
{%- set found = namespace(value=page.params.get(get(0))) %}
{%- if found.value is string %}
{%- for argument in args[1:] %}
{%- set found.value = found.value.replace("{" ~ loop.index ~ "}", argument) %}
{%- endfor %}
{{- found.value|markdownify|replace("<p>", "")|replace("</p>", "")|trim }}
{%- endif %}
""",
    "gist": """\
<p class="gist"><a href="https://gist.github.com/{{ get(0)|urlquery }}/{{ get(1)|urlquery }}">\
Gist {{ get(1) }}</a></p>
""",
    "tab": """\
<div class="shortcode-tab">
{%- set header = params.header or params.title or get(0) %}
{%- if header %}
<p class="tab-header"><strong>{{ header }}</strong></p>
{%- endif %}
{%- if params.lang and params.text not in ("true", "True") %}
<pre><code class="language-{{ params.lang }}">{{ inner|trim }}</code></pre>
{%- else %}
{{ inner_html }}
{%- endif %}
</div>
""",
    "readfile": """\
{{ fail("readfile cannot be imported: newshub does not include other files in a page; \
paste the text of " ~ (get('file') or get(0)) ~ " here") }}
""",
}


def _imgproc(shortcode: Shortcode, notes: list[str]) -> str:
    """``{{< imgproc NAME Fill "WxH" >}}caption{{< /imgproc >}}``: a figure of the
    bundle image whose name contains NAME, as Hugo's ``.Resources.GetMatch`` finds it.
    The images are found now, for each page that uses it, and written into the
    template (the newshub image pipeline then makes the renditions)."""
    images: dict[str, str] = {}
    for use in shortcode.uses:
        wanted = first_argument(use.arguments)
        match = _bundle_image(use.bundle, wanted) if wanted else None
        key = f"{use.lang}:{use.folder}:{wanted}"
        if match is None:
            notes.append(f"imgproc {wanted or '(no name)'} at {use.shown}:{use.line}: no image "
                         "whose name contains it beside the page; put the image in the page's "
                         "bundle folder (the figure shows only its caption until then)")
        elif not (SAFE_TEXT.fullmatch(key) and SAFE_TEXT.fullmatch(match)):
            notes.append(f"imgproc at {use.shown}:{use.line}: the file name {match!r} cannot be "
                         "written into a template; rename it")
        else:
            images[key] = match
    table = ",\n    ".join(f"{json.dumps(key)}: {json.dumps(value)}"
                           for key, value in sorted(images.items()))
    return ("{%- set images = {\n    " + table + "\n} %}\n" if table else
            "{%- set images = {} %}\n") + """\
{%- set file = images.get(page.lang ~ ":" ~ page.folder ~ ":" ~ get(0)) %}
<figure class="shortcode-imgproc">
{%- if file %}
<img src="{{ file }}" alt="{{ (inner_html|striptags|trim) if inner else get(0) }}">
{%- endif %}
{%- if inner %}
<figcaption>{{ inner_html }}</figcaption>
{%- endif %}
</figure>
"""


def _bundle_image(bundle: Path | None, wanted: str) -> str | None:
    if bundle is None or not bundle.is_dir():
        return None
    pattern = f"*{wanted.lower()}*"
    for path in sorted(bundle.iterdir()):
        if path.is_file() and path.suffix.lower() in RASTER and \
                fnmatch.fnmatchcase(path.name.lower(), pattern):
            return path.name
    return None


def site_shortcodes(root: Path, theme: Iterable[str]) -> dict[str, str]:
    """Which shortcode names the Hugo site itself or its theme defines: name → where."""
    found: dict[str, str] = {}
    places = [(root / "layouts", "the site's own")]
    places += [(root / "themes" / name / "layouts", f"the theme {name}'s") for name in theme]
    for layouts, label in places:
        for kind in ("shortcodes", "_shortcodes"):
            folder = layouts / kind
            if folder.is_dir():
                for path in sorted(folder.rglob("*.html")):
                    name = path.relative_to(folder).as_posix().removesuffix(".html")
                    found.setdefault(name.split(".")[0], label)
    return found

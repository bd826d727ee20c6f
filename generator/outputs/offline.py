"""Reading without a connection: a service worker, an offline page and a list of what to
save ahead per language, and a web app manifest per language with its icons.

``/sw.js`` sits at the site root (under the base URL's path), so it may control every
page. When a page registers it, it saves the shell (the fingerprinted stylesheet, the
favicon, the logo) and the offline page of the reader's language; each page then asks
it to save its language's newest articles, newest first, up to ``[offline] budget_kb``
of HTML. Every page a reader opens is kept (network first, the saved copy when the
network fails or has not answered within 3 s; the oldest beyond ``[offline] pages``
go); hashed assets and image renditions come from the cache first. Offline, a page never
opened shows the offline page of its language, which lists what is saved.

What a language saves ahead is ``<lang>/offline.json``: its offline page and articles,
each with a revision, a digest of the output's key as the build computes it (record,
template closure, catalog, settings), so equal revisions mean equal bytes. The worker
keeps a language's copies in a cache named by the list's version, fetches the list only
for the languages a reader reads, and fills a new version's cache by copying what kept
its revision and downloading the rest. ``/sw.js`` names every list's version, so it
changes (and browsers install it again) exactly when something it may save ahead does,
while its size grows with the languages, not with the articles.

Which articles fit the budget is estimated here, from each article's source plus the
lightest page around it (rendered sizes are not known while planning), so a list may
name a few more than fit: the worker counts the real bytes and stops at the budget.

The worker's script is the theme's ``templates/sw.js`` (a site may replace it), given
its settings as JSON. The manifest's icons are drawn with Pillow: the organisation's
logo when it is a raster image, else its initials on the brand colour in a card font
(a plain mark when no card font has their letters); both inside the maskable safe zone
(the central circle of 80% of the width), as PNG without metadata, named by a hash of
what they are drawn from.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import PIL
from markupsafe import Markup
from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from generator import imaging, typeset
from generator.config import SiteConfig
from generator.deps import catalog_digests, digest, site_salt, template_digests
from generator.fonts import Face
from generator.model import Page, Site
from generator.outputs import cards
from generator.outputs.pages import page_job
from generator.outputs.static import ASSET_PREFIX
from generator.render import Job
from generator.theme import theme_files, theme_folders
from generator.views import base_context, url

WORKER = "sw.js"
OFFLINE_PAGE = "offline.html"
SAVED_LIST = "offline.json"  # beside the offline page: what the worker saves ahead
REVISION = 10  # hex digits of a revision
SHELL_ASSETS = ("style.css",)  # theme static files every page loads
MANIFEST = "manifest.webmanifest"
ICON_SIZES = (192, 512)
ICON_VERSION = 1  # bump when the drawing changes: icons get new names
SAFE_ZONE = 0.8  # a maskable icon's content stays inside this share of its width (a circle)
TIMEOUT_MS = 3000  # a saved page is shown when the network has not answered by then
MEDIA_ENTRIES = 120  # image renditions and hashed assets kept beyond the precache
# The HTML around an article's body (head, header, footer, share links): 6.3 KB in the
# default theme's smallest site, 8-13 KB with images, many languages and long titles; the
# lower end, so the list may name more than fit, and the worker's own count of the real
# bytes has the last word.
FRAME_BYTES = 6000
WHITE, INK = (255, 255, 255), (17, 17, 17)


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    config = site.config
    if not config.offline.enabled:
        return
    icons = tuple(_icon_jobs(site))
    yield from icons
    offline_jobs = {lang: _offline_job(site, assets, lang) for lang in config.language_codes}
    yield from offline_jobs.values()
    revision = revisions(site, assets)
    lists = {}
    for lang in config.language_codes:
        data = manifest(config, lang, [(size, job.path) for size, job in zip(ICON_SIZES, icons,
                                                                            strict=True)])
        yield Job(f"{config.root_path(lang)}{MANIFEST}".lstrip("/"), "offline", lang,
                  data=data, key=digest("manifest", data))
        lists[lang] = saved_list(site, assets, lang, offline_jobs[lang], revision)
        yield Job(f"{config.root_path(lang)}{SAVED_LIST}".lstrip("/"), "offline", lang,
                  data=lists[lang], key=digest("saved", lists[lang]))
    settings = worker_settings(config, assets, lists)
    yield Job(WORKER, "offline", config.default_language, WORKER,
              {"settings": Markup(settings)}, key=digest("worker", settings))


def showing(site: Site, assets: Mapping[str, str], pages: tuple[Page, ...]) -> Iterator[Job]:
    """What follows the pages' records (``generator.delta``): the lists of what to save
    ahead (their revisions) and the worker, which names the lists' versions."""
    if any(page.kind == "article" for page in pages):
        yield from (job for job in plan(site, assets)
                    if job.path == WORKER or job.path.endswith(SAVED_LIST))


def cache_prefix(config: SiteConfig) -> str:
    """The start of every cache name the worker uses: sites sharing an origin under
    different paths keep apart."""
    return f"newshub:{config.path_prefix}/:"


# The offline page ----------------------------------------------------------------------

def _offline_job(site: Site, assets: Mapping[str, str], lang: str) -> Job:
    path = f"{site.config.root_path(lang)}{OFFLINE_PAGE}".lstrip("/")
    return Job(path, "offline", lang, OFFLINE_PAGE, partial(_offline_context, site, assets, lang),
               key=digest("offline", site.frames[lang]))


def _offline_context(site: Site, assets: Mapping[str, str], lang: str) -> dict:
    config = site.config
    versions = {code: f"{config.root_path(code)}{OFFLINE_PAGE}" for code in config.language_codes}
    context = base_context(site, assets, lang, title="", description="",
                           site_path=versions[lang], versions=versions)
    context["noindex"] = True
    context["offline_caches"] = cache_prefix(config)
    return context


# The worker ---------------------------------------------------------------------------

def revisions(site: Site, assets: Mapping[str, str]) -> Callable[[Job], str]:
    """An output's revision: a digest of its key as the build computes it (the record,
    the template closure, the catalog, the settings), so equal revisions mean equal
    bytes and a reader's copy may be kept."""
    config = site.config
    templates = template_digests(theme_folders(config, "templates"))
    catalogs = catalog_digests(config)
    salt = site_salt(replace(config, root=Path()), assets)  # where the site lies: not content

    def revision(job: Job) -> str:  # the full key as in build.output_keys
        return digest(job.key, salt, templates.get(job.template, ""),
                      catalogs.get(job.lang or "", ""))[:REVISION]

    return revision


def saved_list(site: Site, assets: Mapping[str, str], lang: str, offline: Job,
               revision: Callable[[Job], str]) -> bytes:
    """``<lang>/offline.json``: the language's offline page and the articles saved ahead
    (paths under the language's root), each with its revision, and a version (a digest
    of the rest) the worker checks against its own settings."""
    config = site.config
    root = url(config, config.root_path(lang))
    content = {"offline": [url(config, "/" + offline.path), revision(offline)],
               "saved": [[url(config, page.path)[len(root):],
                          revision(page_job(site, assets, page))]
                         for page in saved_ahead(site, lang)]}
    version = digest(json.dumps(content))[:REVISION]
    return (json.dumps({"version": version, **content}, ensure_ascii=False,
                       separators=(",", ":")) + "\n").encode("utf-8")


def worker_settings(config: SiteConfig, assets: Mapping[str, str],
                    lists: Mapping[str, bytes]) -> str:
    """The worker's settings as JSON: each language's list and its version, and
    ``version``, a digest of the shell and of every list (so of everything the worker
    may save ahead): the script changes exactly when one of them does."""
    shell = _shell(config, assets)
    languages = {lang: {"root": url(config, config.root_path(lang)),
                        "offline": url(config, f"{config.root_path(lang)}{OFFLINE_PAGE}"),
                        "list": url(config, f"{config.root_path(lang)}{SAVED_LIST}"),
                        "version": json.loads(data)["version"]}
                 for lang, data in lists.items()}
    version = digest("offline", tuple(shell.items()), tuple(lists.values()))[:16]
    return json.dumps({
        "version": version, "caches": cache_prefix(config), "scope": url(config, "/"),
        "default": config.default_language, "shell": list(shell), "budget": _budget(config),
        "pages": config.offline.pages, "media": MEDIA_ENTRIES, "timeout": TIMEOUT_MS,
        "languages": languages,
    }, ensure_ascii=False, separators=(",", ":"))


def saved_ahead(site: Site, lang: str) -> list[Page]:
    """The language's newest articles whose estimated HTML fits the budget, newest first:
    each weighs its source file (about its body's size; a stat, where reading the body
    could mean reading the cache's shards) plus the page around it."""
    budget = _budget(site.config)
    chosen, used = [], 0
    for pid in site.articles.get(lang, ()):
        page = site.pages[pid]
        if not page.render:
            continue
        used += _size(site.config.root / page.source) + FRAME_BYTES
        if used > budget:
            break
        chosen.append(page)
    return chosen


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _budget(config: SiteConfig) -> int:
    return int(config.offline.budget_kb * 1024)


def _shell(config: SiteConfig, assets: Mapping[str, str]) -> dict[str, str]:
    """URL → what its bytes are: the stylesheet every page loads (its fingerprinted name
    says it), the favicon and the organisation's logo (digests of their files). Other
    hashed files (a search page's) are kept when a page first uses them."""
    shell = {assets[name]: "" for name in SHELL_ASSETS if name in assets}
    statics = theme_files(config, "static")
    if "favicon.svg" in assets and "favicon.svg" in statics:
        shell[assets["favicon.svg"]] = imaging.digest(statics["favicon.svg"])
    logo = config.organisation.logo.lstrip("/")
    if logo:
        source = config.root / "static" / logo
        shell[url(config, "/" + logo)] = imaging.digest(source) if source.is_file() else ""
    return shell


# The manifest ---------------------------------------------------------------------------

def manifest(config: SiteConfig, lang: str, icons: list[tuple[int, str]]) -> bytes:
    """A web app manifest for one language: its home is the app, in its direction."""
    language = config.language(lang)
    home = url(config, config.root_path(lang))
    title = language.title or config.title
    data = {
        "name": title, "short_name": short_name(title), "lang": lang,
        "dir": language.direction, "start_url": home, "scope": home, "id": home,
        "display": "standalone", "theme_color": config.brand_color,
        "background_color": config.brand_color,
        "icons": [{"src": url(config, "/" + path), "sizes": f"{size}x{size}",
                   "type": "image/png", "purpose": "any maskable"} for size, path in icons],
    }
    if language.description or config.description:
        data["description"] = language.description or config.description
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


SHORT_NAME = 12  # what a home screen shows under an icon without cutting it


def short_name(title: str) -> str:
    """The title's first words that fit under an icon (at least its first word)."""
    words = title.split()
    name = words[0] if words else title
    for word in words[1:]:
        if len(name) + 1 + len(word) > SHORT_NAME:
            break
        name += " " + word
    return name


# The icons ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IconSpec:
    """What an icon is drawn from: the raster logo, or initials on the brand colour."""

    size: int
    brand: str
    logo: Path | None = None
    initials: str = ""
    font: Face | None = None


def _icon_jobs(site: Site) -> Iterator[Job]:
    config = site.config
    logo = _raster_logo(config)
    initials = "" if logo else site_initials(config.organisation.name or config.title)
    font = None if logo else _initials_font(site, initials)
    for size in ICON_SIZES:
        spec = IconSpec(size, config.brand_color, logo, initials if font else "", font)
        name = _icon_key(spec)
        yield Job(f"{ASSET_PREFIX}icon-{size}.{name[:10]}.png".lstrip("/"), "offline",
                  produce=partial(icon_bytes, spec), key=name)


def _icon_key(spec: IconSpec) -> str:
    files = tuple(imaging.digest(path) for path in (spec.logo, spec.font and spec.font.path)
                  if path is not None)
    return digest(ICON_VERSION, PIL.__version__, spec.size, spec.brand, spec.initials,
                  spec.font.index if spec.font else 0, files)


def _raster_logo(config: SiteConfig) -> Path | None:
    logo = config.organisation.logo.lstrip("/")
    source = config.root / "static" / logo
    return source if logo and imaging.is_raster(source) and source.is_file() else None


def site_initials(name: str) -> str:
    """Two capitals for a name in a script with case (``Tamarind Relief Network`` →
    ``TR``), else its first letter: letters of scripts without case are not set side by
    side (Arabic ones would need joining)."""
    letters = [word[0] for word in name.split() if word[:1].isalpha()]
    if not letters:
        return name.strip()[:1] or "·"
    cased = [c for c in letters if c.upper() != c.lower()]
    if cased and cased[0] == letters[0]:
        return "".join(cased[:2]).upper()
    return unicodedata.normalize("NFC", letters[0])


def _initials_font(site: Site, initials: str) -> Face | None:
    """The card font that draws every initial (``cards.card_fonts``: the theme's, then
    the system's for other scripts); None when none does."""
    faces = cards.card_fonts(site).faces(site.config.default_language, initials)
    return next((face for face in faces
                 if all(typeset.covers(face, char) for char in initials)), None)


def icon_bytes(spec: IconSpec) -> bytes:
    """The icon as PNG: no metadata, the same bytes for the same spec."""
    image = _logo_icon(spec) if spec.logo else _initials_icon(spec)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _logo_icon(spec: IconSpec) -> Image.Image:
    """The logo in the safe zone's square, on its own background colour when it has
    one (an opaque corner), else on white."""
    assert spec.logo is not None
    with Image.open(spec.logo) as original:
        logo = ImageOps.exif_transpose(original).convert("RGBA")
    corner = logo.getpixel((0, 0))
    background = corner[:3] if corner[3] == 255 else WHITE
    box = int(spec.size * SAFE_ZONE / 2 ** 0.5)
    logo = ImageOps.contain(logo, (box, box), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (spec.size, spec.size), (*background, 255))
    canvas.alpha_composite(logo, ((spec.size - logo.width) // 2, (spec.size - logo.height) // 2))
    return canvas.convert("RGB")


def _initials_icon(spec: IconSpec) -> Image.Image:
    """The initials, as large as the safe zone allows, on the brand colour (a plain
    rounded square when no card font has their letters)."""
    brand = ImageColor.getrgb(spec.brand)[:3]
    canvas = Image.new("RGB", (spec.size, spec.size), brand)
    draw = ImageDraw.Draw(canvas)
    ink = WHITE if _contrast(WHITE, brand) >= _contrast(INK, brand) else INK
    box = spec.size * SAFE_ZONE / 2 ** 0.5  # the square inside the safe circle
    if spec.font is None:
        corner = (spec.size - box * 0.6) / 2
        draw.rounded_rectangle((corner, corner, spec.size - corner, spec.size - corner),
                               radius=box * 0.1, fill=ink)
        return canvas
    size = int(spec.size * 0.45)
    while size > 8:
        font = _font(spec, size)
        left, top, right, bottom = draw.textbbox((0, 0), spec.initials, font=font)
        if right - left <= box and bottom - top <= box * 0.8:
            break
        size -= max(1, size // 20)
    font = _font(spec, size)
    left, top, right, bottom = draw.textbbox((0, 0), spec.initials, font=font)
    at = ((spec.size - (right - left)) / 2 - left, (spec.size - (bottom - top)) / 2 - top)
    draw.text(at, spec.initials, font=font, fill=ink)
    return canvas


def _font(spec: IconSpec, size: int) -> ImageFont.FreeTypeFont:
    assert spec.font is not None
    return ImageFont.truetype(str(spec.font.path), size, index=spec.font.index,
                              layout_engine=ImageFont.Layout.BASIC)


def _contrast(one: tuple[int, int, int], other: tuple[int, int, int]) -> float:
    """WCAG's contrast ratio of two colours."""
    def luminance(rgb: tuple[int, int, int]) -> float:
        def channel(value: int) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (channel(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)

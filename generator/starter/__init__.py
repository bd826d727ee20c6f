"""``newshub init``: a new site that builds, checks clean and deploys itself.

It writes a commented ``site.toml`` with every language configured, a welcome story
per language (linked as translations by their shared path) and an about page, a
placeholder logo, ``.gitignore``, ``EDITORS.md`` and a GitHub Pages workflow that
installs this very release of newshub.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import get_month_names

from generator import __version__
from generator.config import CONFIG_FILE, DEFAULT_BASE_URL, LANGUAGE_CODE, babel_locale

SOURCE_LANGUAGE = "en"
BRAND_COLOR = "#0b6e4f"
SYSTEM_FONT_PACKAGES = "fonts-noto-core fonts-noto-cjk"
ALLOWED_LEFTOVERS = {".git"}  # a fresh `git init` folder counts as empty


class InitError(Exception):
    """The site cannot be created; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class NewSite:
    """What ``init`` was asked for."""

    folder: Path
    languages: tuple[str, ...]
    title: str
    base_url: str = DEFAULT_BASE_URL
    ci_matrix: bool = False  # publish with one build machine per language


def create_site(site: NewSite, *, force: bool = False,
                now: datetime | None = None) -> list[Path]:
    """Write the new site's files and return them (relative to its folder)."""
    _check_request(site, force)
    texts = _texts()
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    files: dict[str, str] = {
        CONFIG_FILE: site_toml(site, texts),
        "static/images/logo.svg": logo_svg(site.title, BRAND_COLOR),
        ".gitignore": _resource("gitignore"),
        "EDITORS.md": _fill(_resource("EDITORS.md"), site),
        ".github/workflows/deploy.yml": workflow(site.languages, matrix=site.ci_matrix),
    }
    for code in site.languages:
        words = _words(texts, code, site.title)
        files[f"content/{code}/news/welcome.md"] = _story(words, moment)
        files[f"content/{code}/about.md"] = _page(words)
    written = []
    for relative, text in files.items():
        path = site.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(Path(relative))
    return written


def parse_languages(text: str) -> tuple[str, ...]:
    """``en,fr,ar`` as codes, checked the way ``site.toml`` checks them."""
    codes = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not codes:
        raise InitError("--languages needs at least one code, e.g. en,fr,ar")
    for code in codes:
        if not LANGUAGE_CODE.match(code):
            raise InitError(f"--languages: '{code}' is not a BCP 47 code such as 'fr', "
                            "'pt-BR' or 'zh-Hans'")
        try:
            Locale.parse(babel_locale(code))
        except (UnknownLocaleError, ValueError) as exc:
            raise InitError(f"--languages: '{code}' is unknown to Babel/CLDR") from exc
    return codes


def site_toml(site: NewSite, texts: dict[str, dict[str, str]]) -> str:
    """A commented ``site.toml`` naming every language, its menu and the news section."""
    default = site.languages[0]
    lines = [
        "# newshub site settings. Every key is described in newshub's README",
        "# (https://pypi.org/project/newshub-ngo/); an unknown key stops the build with a hint.",
        "",
        "# The address the site is served from. The publishing workflow builds for the",
        "# GitHub Pages address (or $NEWSHUB_BASE_URL); this one is for local builds.",
        f"base_url = {_toml(site.base_url)}",
        f"default_language = {_toml(default)}   # the language of / and of x-default links",
        f"title = {_toml(site.title)}",
        f"description = {_toml(_words(texts, default, site.title)['description'])}",
        f"brand_color = {_toml(BRAND_COLOR)}   # header, buttons and share cards",
        "paginate = 10        # stories per list page",
        "feed_entries = 20    # stories per Atom, RSS and JSON feed",
        "",
        "[organisation]",
        f"name = {_toml(site.title)}",
        'logo = "images/logo.svg"   # under static/; a PNG also appears on share cards',
        '# donate_url = "https://example.org/donate"   # shows a Donate button on every page',
        '# email = "press@example.org"',
        "",
        "# Links to the organisation's accounts, shown in every page's footer.",
        "# [organisation.social]",
        '# Facebook = "https://www.facebook.com/example"',
        "",
        "# One table per language: its folder under content/ has the same name. The title and",
        "# description are those of the language's home page and feeds.",
    ]
    for code in site.languages:
        words = _words(texts, code, site.title)
        lines += [
            "",
            f"[languages.{code}]",
            f"name = {_toml(_endonym(code))}",
            f"title = {_toml(site.title)}",
            f"description = {_toml(words['description'])}",
            f"menu = [{{ name = {_toml(words['about_menu'])}, page = \"about\" }}]",
        ]
    lines += ["", "# Section names per language (a section is a folder: content/<lang>/news/).",
              "[taxonomy.sections.news]"]
    lines += [f"{_key(code)} = {_toml(_words(texts, code, site.title)['news'])}"
              for code in site.languages]
    lines += ["", "# Tag names per language, e.g.:", "# [taxonomy.tags.water]",
              '# en = "Water"', '# fr = "Eau"', "",
              "# Offline reading: phones keep every page their reader opens, and save ahead the",
              "# newest stories of the reader's language up to this much HTML (these are the",
              "# defaults; enabled = false turns it off).",
              "# [offline]", "# budget_kb = 500", "# pages = 60", ""]
    return "\n".join(lines)


def workflow(languages: tuple[str, ...], *, matrix: bool = False) -> str:
    """The site repository's GitHub Pages workflow, pinned to this release; with
    ``matrix``, one that builds each language on a machine of its own and merges them
    (``newshub build --languages``: for archives too large for one machine)."""
    fonts = SYSTEM_FONT_PACKAGES if _needs_system_fonts(languages) else ""
    text = _resource("deploy-matrix.yml" if matrix else "deploy.yml")
    return (text.replace("@NEWSHUB_VERSION@", __version__).replace("@CARD_FONTS@", fonts)
            .replace("@LANGUAGES@", json.dumps(list(languages))))


def logo_svg(title: str, color: str) -> str:
    """A placeholder logo: the title's initials on the brand colour."""
    firsts = (next((c for c in word if c.isalnum()), "") for word in title.split())
    letters = "".join(firsts)[:2].upper() or "N"
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" '
            'height="64">\n'
            f'<rect width="64" height="64" rx="12" fill="{color}"/>\n'
            '<text x="32" y="42" text-anchor="middle" font-family="sans-serif" '
            f'font-size="{28 if len(letters) > 1 else 34}" font-weight="700" '
            f'fill="#fff">{_xml(letters)}</text>\n</svg>\n')


def _check_request(site: NewSite, force: bool) -> None:
    parts = urlsplit(site.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InitError(f"--base-url must be an absolute http(s) URL, got '{site.base_url}'")
    if not site.title.strip():
        raise InitError("--title must not be empty")
    if site.folder.exists() and not site.folder.is_dir():
        raise InitError(f"{site.folder} exists and is not a folder")
    if site.folder.is_dir() and not force:
        present = sorted(p.name for p in site.folder.iterdir()
                         if p.name not in ALLOWED_LEFTOVERS)
        if present:
            shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
            raise InitError(f"{site.folder} is not empty ({shown}); choose a new folder, or "
                            "add --force to write the starter files into it (files of the "
                            "same name are replaced)")


def _texts() -> dict[str, dict[str, str]]:
    return tomllib.loads(_resource("texts.toml"))


def _words(texts: dict[str, dict[str, str]], code: str, title: str) -> dict[str, str]:
    """The starter texts in a language (its own, its base language's, else English)."""
    base = code.split("-")[0]
    chosen = texts.get(code) or texts.get(base) or texts[SOURCE_LANGUAGE]
    return {key: value.replace("{title}", title) for key, value in chosen.items()}


def _story(words: dict[str, str], moment: datetime) -> str:
    return _front_matter(title=words["welcome_title"], date=moment.isoformat(),
                         summary=words["welcome_summary"], tags=[]) \
        + words["welcome_body"].lstrip("\n")


def _page(words: dict[str, str]) -> str:
    return _front_matter(title=words["about_title"]) + words["about_body"].lstrip("\n")


def _front_matter(**values: object) -> str:
    lines = ["---"]
    for key, value in values.items():
        shown = value if key == "date" else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {shown}")
    return "\n".join([*lines, "---", "", ""])


def _needs_system_fonts(languages: tuple[str, ...]) -> bool:
    """Whether newshub's own card fonts miss letters of a language (its name and months)."""
    from generator import typeset
    from generator.outputs.cards import DEFAULT_FONTS

    for code in languages:
        locale = Locale.parse(babel_locale(code))
        sample = (locale.get_display_name(locale) or "") + "".join(
            get_month_names("wide", locale=locale).values())
        if typeset.missing(DEFAULT_FONTS, sample):
            return True
    return False


def _endonym(code: str) -> str:
    locale = Locale.parse(babel_locale(code))
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]


def _fill(text: str, site: NewSite) -> str:
    return (text.replace("@TITLE@", site.title).replace("@NEWSHUB_VERSION@", __version__)
            .replace("@LANGUAGES@", ", ".join(f"{_endonym(c)} (`{c}`)"
                                              for c in site.languages)))


def _resource(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _key(code: str) -> str:
    return code if code.replace("-", "").isalnum() else _toml(code)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

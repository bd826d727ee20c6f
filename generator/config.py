"""Site configuration: ``site.toml`` read into immutable records.

Unknown keys are errors with a suggestion, so a typo never silently does nothing.
A site without ``site.toml`` still builds: its languages are its content folders.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from generator import permalinks
from generator.errors import Problem, SiteError, error

CONFIG_FILE = "site.toml"
BASE_URL_ENV = "NEWSHUB_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:8000/"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
ANY_CASE_CODE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?$")
FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

SITE_KEYS = {
    "base_url", "default_language", "theme", "title", "description", "brand_color",
    "paginate", "feed_entries", "organisation", "languages", "taxonomy", "budget",
    "markdown", "limits", "default_language_at_root", "taxonomies", "params", "cards",
    "offline", "permalinks",
}
LANGUAGE_KEYS = {"name", "title", "description", "fallback", "menu", "folder", "params",
                 "digits"}
MENU_KEYS = {"name", "page", "url"}
ORGANISATION_KEYS = {"name", "logo", "donate_url", "social", "email"}
TAXONOMY_KEYS = {"sections", "tags"}  # and every name in `taxonomies`
BUDGET_KEYS = {"article_kb", "images_kb"}
MARKDOWN_KEYS = {"html"}
LIMITS_KEYS = {"tags", "image_pixels"}
CARDS_KEYS = {"fonts"}
OFFLINE_KEYS = {"enabled", "budget_kb", "pages"}
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
LINK_SCHEMES = ("http", "https", "mailto")
NOT_IN_LINK = re.compile(r"[\s\"'<>\\`\x00-\x1f\x7f]")
EMAIL = re.compile(r"[^\s@\"'<>()\[\]\\,;:]+@[^\s@\"'<>()\[\]\\,;:.]+(\.[^\s@\"'<>()\[\]\\,;:.]+)+")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
HTML_POLICIES = ("safe", "allow", "escape")


@dataclass(frozen=True, slots=True)
class MenuItem:
    """A menu entry: a page of the site (its path under content/<lang>/, without .md)
    or an address elsewhere."""

    name: str
    page: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Language:
    """One site language: BCP 47 ``code`` outside, Babel ``locale`` inside."""

    code: str
    locale: str
    name: str
    title: str
    description: str
    direction: str
    fallback: tuple[str, ...] = ()
    menu: tuple[MenuItem, ...] = ()
    folder: str = ""  # its folder under content/ and its URL segment (default: the code)
    digits: str = "native"  # dates and numbers in CLDR's default digits, or "latin"
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}),
                                      hash=False)


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str  # in the default language
    logo: str = ""
    donate_url: str = ""
    email: str = ""
    social: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # per lang

    def name_in(self, lang: str) -> str:
        """The organisation's name as readers of ``lang`` know it (``[organisation.name]``
        with one value per language), else its one name."""
        return self.names.get(lang) or self.name


@dataclass(frozen=True, slots=True)
class Budget:
    """Page weight limits for ``newshub check``, in KiB: an article's HTML with the CSS
    and JS it loads, gzipped (14 KB fits the first round trip), and its images."""

    article_kb: float = 14
    images_kb: float = 300


@dataclass(frozen=True, slots=True)
class Limits:
    """What one source may ask of a build, whoever wrote it: tags on one article (each
    tag gets a page and a feed listing its articles' tags), pixels in one image (a
    small file can decode into gigabytes)."""

    tags: int = 50
    image_pixels: int = 80_000_000  # above every common camera; ~320 MB decoded


@dataclass(frozen=True, slots=True)
class MarkdownSettings:
    """How Markdown is read. ``html``: what raw HTML in a body becomes, "safe"
    (sanitised, removals reported), "allow" (kept as written: trusted teams only) or
    "escape" (shown as text)."""

    html: str = "safe"


@dataclass(frozen=True, slots=True)
class CardSettings:
    """Share cards: ``fonts``, font families tried first for every card's text
    (``["Noto Sans Ethiopic"]``), from the theme's ``fonts/`` or the system's."""

    fonts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OfflineSettings:
    """Reading without a connection (``generator/outputs/offline.py``): whether pages
    register the service worker, the KiB of its language's newest articles (HTML only)
    it saves ahead for a reader, and how many opened pages it keeps."""

    enabled: bool = True
    budget_kb: float = 500
    pages: int = 60


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Everything ``site.toml`` and the command line say about a site."""

    root: Path
    base_url: str
    default_language: str
    languages: tuple[Language, ...]
    theme: str
    title: str
    description: str
    brand_color: str
    paginate: int
    feed_entries: int
    organisation: Organisation
    section_names: Mapping[str, Mapping[str, str]]
    tag_names: Mapping[str, Mapping[str, str]]
    include_drafts: bool = False
    budget: Budget = Budget()
    markdown: MarkdownSettings = MarkdownSettings()
    limits: Limits = Limits()
    cards: CardSettings = CardSettings()
    offline: OfflineSettings = OfflineSettings()
    share_cards: bool = True  # off with --no-cards (fast preview and benchmark builds)
    # The host share cards show, when not the base URL's: ``serve`` previews the site
    # on localhost, and its cards show what sharing the published page will show.
    share_host: str = ""
    search: bool = True  # off with --no-search, or when Pagefind is not installed
    only_languages: tuple[str, ...] = ()  # --languages: build these languages' files only
    default_language_at_root: bool = False  # /news/x/ rather than /en/news/x/
    taxonomies: tuple[str, ...] = ("tags",)  # front-matter lists that make term pages
    taxonomy_names: Mapping[str, Mapping[str, Mapping[str, str]]] = field(
        default_factory=lambda: MappingProxyType({}))  # taxonomy → term → lang → name
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    permalinks: Mapping[str, str] = field(  # section → pattern (generator/permalinks.py)
        default_factory=lambda: MappingProxyType({}))

    def owns(self, output_path: str) -> bool:
        """Whether this build produces ``output_path``: every file, or with --languages the
        files under those languages' folders plus the shared ones at the root."""
        if not self.only_languages:
            return True
        first = output_path.split("/", 1)[0]
        folders = _folders(self.languages)
        if first in folders:
            return folders[first] in self.only_languages
        if self.default_language_at_root:  # the default language's files are at the root
            return self.default_language in self.only_languages
        return True

    def root_path(self, code: str) -> str:
        """The site path of a language's home: ``/fr/``, or ``/`` for the default
        language when it lives at the site root."""
        if self.default_language_at_root and code == self.default_language:
            return "/"
        return f"/{self.language(code).folder}/"

    def language_of_folder(self, name: str) -> str | None:
        """The language whose content folder this is (folders compare as written)."""
        return _folders(self.languages).get(name)

    @property
    def origin(self) -> str:
        """Scheme and host of the base URL, without a trailing slash."""
        return _origin(self.base_url)

    @property
    def path_prefix(self) -> str:
        """The base URL's path without its trailing slash ('' at a domain root)."""
        return _path_prefix(self.base_url)

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(language.code for language in self.languages)

    def language(self, code: str) -> Language:
        return _by_code(self.languages)[code]

    def absolute(self, path: str) -> str:
        """An absolute URL for a site path that already carries the prefix."""
        return self.origin + path


def load_config(
    root: Path,
    *,
    base_url: str | None = None,
    include_drafts: bool = False,
    share_cards: bool = True,
    only_languages: tuple[str, ...] = (),
    search: bool = True,
) -> SiteConfig:
    """Read ``root/site.toml`` (or infer a config) and apply command-line overrides."""
    path = root / CONFIG_FILE
    data = _read_toml(path) if path.is_file() else _inferred(root)
    problems: list[Problem] = []
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    _check_keys(data, SITE_KEYS, path, text, "", problems)
    languages = _languages(data.get("languages", {}), path, text, problems)
    organisation = _organisation(data.get("organisation", {}), data, path, text, problems)
    taxonomy = data.get("taxonomy", {})
    default = canonical_code(str(data.get("default_language") or "")) or \
        (languages[0].code if languages else "en")
    codes = {language.code for language in languages}
    for language in languages:
        for other in language.fallback:
            if other not in codes or other == language.code:
                problems.append(error(path, _line_of(text, "fallback"),
                                      f"languages.{language.code}.fallback: '{other}' is not "
                                      "another configured language"))
    only_languages = tuple(canonical_code(code) for code in only_languages)
    for code in only_languages:
        if code not in codes:
            problems.append(error(path, None, f"--languages: '{code}' is not configured "
                                              f"(configured: {', '.join(sorted(codes))})"))
    if languages and default not in codes:
        problems.append(error(path, _line_of(text, "default_language"),
                              f"default_language '{default}' is not one of the [languages]"))
    url = base_url or os.environ.get(BASE_URL_ENV) or data.get("base_url") or DEFAULT_BASE_URL
    if not re.match(r"^https?://[^/]+", url) or NOT_IN_LINK.search(url):
        problems.append(error(path, _line_of(text, "base_url"),
                              f"base_url must be an absolute http(s) URL, got '{url}'"))
    paginate = data.get("paginate", 10)
    if not isinstance(paginate, int) or paginate < 1:
        problems.append(error(path, _line_of(text, "paginate"),
                              "paginate must be a positive integer"))
    budget = _budget(data.get("budget", {}), path, text, problems)
    markdown = _markdown(data.get("markdown", {}), path, text, problems)
    limits = _limits(data.get("limits", {}), path, text, problems)
    cards = _cards(data.get("cards", {}), path, text, problems)
    offline = _offline(data.get("offline", {}), path, text, problems)
    permalinks = _permalinks(data.get("permalinks", {}), path, text, problems)
    _check_values(data, languages, organisation, path, text, problems)
    taxonomies = _taxonomies(data.get("taxonomies", ["tags"]), path, text, problems)
    _check_keys(taxonomy, TAXONOMY_KEYS | set(taxonomies), path, text, "taxonomy.", problems)
    at_root = data.get("default_language_at_root", False)
    if not isinstance(at_root, bool):
        problems.append(error(path, _line_of(text, "default_language_at_root"),
                              "default_language_at_root must be true or false"))
        at_root = False
    params = data.get("params", {})
    if not isinstance(params, dict):
        problems.append(error(path, _line_of(text, "params"), "params must be a table: [params]"))
        params = {}
    if problems:
        raise SiteError(problems)
    return SiteConfig(
        root=root,
        base_url=url.rstrip("/") + "/",
        default_language=default,
        languages=languages,
        theme=data.get("theme", "default"),
        title=data.get("title", organisation.name),
        description=data.get("description", ""),
        brand_color=data.get("brand_color", "#0b6e4f"),
        paginate=paginate,
        feed_entries=data.get("feed_entries", 20),
        organisation=organisation,
        section_names=_frozen_names(taxonomy.get("sections", {})),
        tag_names=_frozen_names(taxonomy.get("tags", {})),
        default_language_at_root=at_root,
        taxonomies=taxonomies,
        taxonomy_names=MappingProxyType({name: _frozen_names(taxonomy.get(name, {}))
                                         for name in taxonomies}),
        params=MappingProxyType(params),
        include_drafts=include_drafts,
        share_cards=share_cards,
        search=search,
        only_languages=only_languages,
        budget=budget,
        markdown=markdown,
        limits=limits,
        cards=cards,
        offline=offline,
        permalinks=permalinks,
    )


def _permalinks(table: object, path: Path, text: str,
                problems: list[Problem]) -> Mapping[str, str]:
    """``[permalinks]``: section → pattern (Hugo's ``[permalinks.page]`` table too)."""
    if not isinstance(table, dict):
        problems.append(error(path, _line_of(text, "permalinks"),
                              "permalinks must be a table: [permalinks]"))
        return MappingProxyType({})
    page = table.get("page")
    entries = {**{k: v for k, v in table.items() if k != "page"},
               **(page if isinstance(page, dict) else {})}
    patterns: dict[str, str] = {}
    for key, pattern in entries.items():
        section = key.strip("/")
        why = permalinks.pattern_problem(pattern) if section else \
            "names no section (write the folder under content/<lang>/, such as news)"
        if why:
            line = _line_of(text, key) or _line_of(text, f'"{key}"')
            problems.append(error(path, line, f"permalinks.{key} {why}"))
            continue
        patterns[section] = pattern
    return MappingProxyType(dict(sorted(patterns.items())))


@lru_cache(maxsize=16)
def _origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=16)
def _path_prefix(base_url: str) -> str:
    return urlsplit(base_url).path.rstrip("/")


def babel_locale(code: str) -> str:
    """Babel's form of a BCP 47 code: ``pt-BR`` → ``pt_BR``."""
    return code.replace("-", "_")


def locale_facts(code: str) -> tuple[str, str] | None:
    """A language's name in itself and its text direction (``ltr``/``rtl``), or None
    when Babel does not know it. Remembered per Babel installation in the user's cache
    folder: loading a config then neither imports Babel nor reads CLDR data (60 ms for
    five languages, a tenth of a rebuild with nothing to do)."""
    installed = _babel_installation()
    memo = _read_memo(installed) if installed is not None else {}
    if code in memo:
        return memo[code]
    from babel import Locale, UnknownLocaleError

    try:
        locale = Locale.parse(babel_locale(code))
    except (UnknownLocaleError, ValueError):
        return None
    facts = (locale.get_display_name(locale) or code, locale.text_direction)
    if installed is not None:
        _write_memo(installed, {**memo, code: facts})
    return facts


MEMO_FILE = "languages.json"


def _babel_installation() -> list[object] | None:
    """Where Babel is installed and its ``__init__.py``'s stamp (another version or
    installation: another memo), found without importing it."""
    from importlib.util import find_spec

    try:
        spec = find_spec("babel")
        origin = spec.origin if spec is not None else None
        stat = os.stat(origin) if origin else None
    except (ImportError, ValueError, OSError):
        return None
    return [origin, stat.st_mtime_ns, stat.st_size] if stat else None


def _memo_path() -> Path:
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home, "newshub", MEMO_FILE)


def _read_memo(installed: list[object]) -> dict[str, tuple[str, str]]:
    try:
        value = json.loads(_memo_path().read_bytes())
        facts = value["languages"]
        if value["babel"] != installed or not isinstance(facts, dict):
            return {}
        return {code: (pair[0], pair[1]) for code, pair in facts.items()
                if type(pair) is list and len(pair) == 2 and type(pair[0]) is str and
                pair[1] in ("ltr", "rtl")}
    except (OSError, RuntimeError, ValueError, TypeError, KeyError):
        return {}


def _write_memo(installed: list[object], facts: dict[str, tuple[str, str]]) -> None:
    """Best effort: a memo that cannot be written costs time only."""
    try:
        path = _memo_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{MEMO_FILE}.{os.getpid()}")
        temporary.write_text(json.dumps({"babel": installed, "languages": facts},
                                        ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, path)
    except (OSError, RuntimeError):
        pass


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise SiteError(error(path, int(match.group(1)) if match else None,
                              f"invalid TOML: {exc}")) from exc
    except UnicodeDecodeError as exc:
        raise SiteError(error(path, None, f"not valid UTF-8: {exc.reason}")) from exc


def _inferred(root: Path) -> dict[str, Any]:
    """A config for a bare content tree: one language per folder."""
    content = root / "content"
    codes = sorted(p.name for p in content.iterdir() if p.is_dir()) if content.is_dir() else []
    default = "en" if "en" in codes else (codes[0] if codes else "en")
    ordered = [default, *[c for c in codes if c != default]] if codes else ["en"]
    return {"default_language": default, "languages": {code: {} for code in ordered},
            "organisation": {"name": "newshub"}}


def _languages(table: Any, path: Path, text: str, problems: list[Problem]) -> tuple[Language, ...]:
    languages = []
    for written, options in table.items():
        line = _line_of(text, f"languages.{written}") or _line_of(text, written)
        code = canonical_code(written)
        if not LANGUAGE_CODE.match(code):
            problems.append(error(path, line, f"language '{written}' is not a BCP 47 code "
                                              "such as 'fr', 'pt-BR' or 'zh-Hans'"))
            continue
        if any(language.code == code for language in languages):
            problems.append(error(path, line, f"language '{written}' is configured twice "
                                              f"(codes compare without case: {code})"))
            continue
        facts = locale_facts(code)
        if facts is None:
            problems.append(error(path, line, f"language '{code}' is unknown to Babel/CLDR"))
            continue
        _check_keys(options, LANGUAGE_KEYS, path, text, f"languages.{written}.", problems)
        folder = str(options.get("folder", written))
        if not FOLDER_NAME.match(folder):
            problems.append(error(path, _line_of(text, "folder") or line,
                                  f"languages.{written}.folder must be one folder name such as "
                                  f"'{code.lower()}', got {folder!r}"))
            folder = code
        endonym, direction = facts
        languages.append(Language(
            code=code,
            locale=babel_locale(code),
            name=options.get("name", endonym[:1].upper() + endonym[1:]),
            title=options.get("title", ""),
            description=options.get("description", ""),
            direction=direction,
            fallback=tuple(canonical_code(str(other)) for other in options.get("fallback", ())),
            menu=_menu(options.get("menu", []), code, path, text, problems),
            folder=folder,
            digits=_digits(options.get("digits", "native"), written, path, text, problems),
            params=MappingProxyType(dict(options.get("params", {})))
            if isinstance(options.get("params", {}), dict) else MappingProxyType({}),
        ))
    folders: dict[str, str] = {}
    for language in languages:
        if language.folder in folders:
            problems.append(error(path, _line_of(text, f"languages.{language.code}"),
                                  f"languages {folders[language.folder]} and {language.code} "
                                  f"share the folder '{language.folder}'"))
        folders[language.folder] = language.code
    return tuple(languages)


def _digits(value: Any, code: str, path: Path, text: str, problems: list[Problem]) -> str:
    if value not in ("native", "latin"):
        problems.append(error(path, _line_of(text, "digits"), f"languages.{code}.digits must be "
                                                             '"native" or "latin"'))
        return "native"
    return value


def canonical_code(code: str) -> str:
    """A BCP 47 code in its usual form, whatever the case it was written in:
    ``pt-br`` → ``pt-BR``, ``ZH-hant-tw`` → ``zh-Hant-TW``. Unchanged if not a code."""
    if not ANY_CASE_CODE.match(code):
        return code
    first, *rest = code.split("-")
    parts = [first.lower()]
    for part in rest:
        parts.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(parts)


def _folders(languages: tuple[Language, ...]) -> Mapping[str, str]:
    return _per_languages(languages)[0]


def _by_code(languages: tuple[Language, ...]) -> Mapping[str, Language]:
    return _per_languages(languages)[1]


_LOOKUPS: dict[int, tuple[tuple[Language, ...], Mapping[str, str], Mapping[str, Language]]] = {}


def _per_languages(languages: tuple[Language, ...]) -> tuple[
        Mapping[str, str], Mapping[str, Language]]:
    """The folder and code lookups of a language tuple, found by its identity: rendering
    asks ~30 times a page, and an ``lru_cache`` hashed every ``Language`` each time (a
    tenth of a render's time). The tuple is kept beside them, so its id is not reused."""
    kept = _LOOKUPS.get(id(languages))
    if kept is None or kept[0] is not languages:
        if len(_LOOKUPS) >= 16:
            _LOOKUPS.clear()
        kept = _LOOKUPS[id(languages)] = (
            languages,
            MappingProxyType({language.folder or language.code: language.code
                              for language in languages}),
            MappingProxyType({language.code: language for language in languages}))
    return kept[1], kept[2]


def _taxonomies(value: Any, path: Path, text: str, problems: list[Problem]) -> tuple[str, ...]:
    """The front-matter lists that make term pages; ``tags`` always among them."""
    if not isinstance(value, list) or not all(isinstance(v, str) and FOLDER_NAME.match(v)
                                              for v in value):
        problems.append(error(path, _line_of(text, "taxonomies"), "taxonomies must be a list "
                                                                 "of names such as "
                                                                 '["tags", "categories"]'))
        return ("tags",)
    return tuple(dict.fromkeys(["tags", *value]))


def _menu(items: Any, code: str, path: Path, text: str,
          problems: list[Problem]) -> tuple[MenuItem, ...]:
    line = _line_of(text, "menu")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        problems.append(error(path, line, f"languages.{code}.menu must be a list of "
                                          "{ name = …, page = … } or { name = …, url = … }"))
        return ()
    menu = []
    for item in items:
        _check_keys(item, MENU_KEYS, path, text, f"languages.{code}.menu.", problems)
        if not item.get("name") or bool(item.get("page")) == bool(item.get("url")):
            problems.append(error(path, line, f"each languages.{code}.menu item needs a name "
                                              "and either a page or a url"))
            continue
        menu.append(MenuItem(str(item["name"]), str(item.get("page", "")).strip("/"),
                             str(item.get("url", ""))))
    return tuple(menu)


def _organisation(table: Any, data: Mapping[str, Any], path: Path, text: str,
                  problems: list[Problem]) -> Organisation:
    _check_keys(table, ORGANISATION_KEYS, path, text, "organisation.", problems)
    social = table.get("social", {})
    if not isinstance(social, dict):
        problems.append(error(path, _line_of(text, "social"), "organisation.social must be a "
                                                             "table: [organisation.social]"))
        social = {}
    name = table.get("name", data.get("title", "newshub"))
    names: dict[str, str] = {}
    if isinstance(name, dict):  # [organisation.name] en = "…", ar = "…"
        names = {canonical_code(str(code)): str(value) for code, value in name.items()}
        default = canonical_code(str(data.get("default_language") or ""))
        name = names.get(default) or next(iter(names.values()), "newshub")
    return Organisation(
        name=name,
        names=MappingProxyType(names),
        logo=table.get("logo", ""),
        donate_url=table.get("donate_url", ""),
        email=table.get("email", ""),
        social=MappingProxyType(dict(social)),
    )


def _limits(table: Any, path: Path, text: str, problems: list[Problem]) -> Limits:
    if not isinstance(table, dict):
        problems.append(error(path, _line_of(text, "limits"), "limits must be a table: [limits]"))
        return Limits()
    _check_keys(table, LIMITS_KEYS, path, text, "limits.", problems)
    values = {}
    for key in sorted(LIMITS_KEYS & table.keys()):
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(error(path, _line_of(text, key),
                                  f"limits.{key} must be a positive whole number"))
        else:
            values[key] = value
    return Limits(**values)


def _check_values(data: Mapping[str, Any], languages: tuple[Language, ...],
                  organisation: Organisation, path: Path, text: str,
                  problems: list[Problem]) -> None:
    """Values that reach every page as they are: a colour inside a ``style`` attribute,
    links, text in feeds. Each must be what it claims to be (a colour, an http(s),
    mailto: or relative URL, an address, text XML can hold)."""
    def fail(key: str, value: object, message: str) -> None:
        problems.append(error(path, _line_of_value(text, value) or
                              _line_of(text, key.rsplit(".", 1)[-1]), message))

    colour = data.get("brand_color", "#0b6e4f")
    if not isinstance(colour, str) or not HEX_COLOUR.fullmatch(colour):
        fail("brand_color", colour, f"brand_color must be a hex colour such as \"#0b6e4f\" "
                                    f"(#rgb or #rrggbb), got {colour!r}")
    entries = data.get("feed_entries", 20)
    if isinstance(entries, bool) or not isinstance(entries, int) or entries < 1:
        fail("feed_entries", entries, "feed_entries must be a positive integer")
    links = [("organisation.donate_url", organisation.donate_url)]
    links += [(f"organisation.social.{name}", link) for name, link in organisation.social.items()]
    links += [(f"languages.{language.code}.menu.url", item.url)
              for language in languages for item in language.menu if item.url]
    for key, link in links:
        reason = _link_problem(link)
        if reason:
            fail(key, link, f"{key} must be an http(s), mailto: or relative URL ({reason}), "
                            f"got {link!r}")
    email = organisation.email
    if email and (not isinstance(email, str) or not EMAIL.fullmatch(email)):
        fail("organisation.email", email, f"organisation.email must be an address such as "
                                          f"press@example.org, got {email!r}")
    texts = [("title", data.get("title", "")), ("description", data.get("description", "")),
             ("organisation.name", organisation.name)]
    texts += [(f"languages.{language.code}.{key}", getattr(language, key))
              for language in languages for key in ("name", "title", "description")]
    texts += [(f"languages.{language.code}.menu.name", item.name)
              for language in languages for item in language.menu]
    taxonomy = data.get("taxonomy", {})
    for table in ("sections", "tags"):
        names = taxonomy.get(table, {}) if isinstance(taxonomy, dict) else {}
        texts += [(f"taxonomy.{table}.{key}.{lang}", name)
                  for key, by_lang in (names.items() if isinstance(names, dict) else ())
                  if isinstance(by_lang, dict)
                  for lang, name in by_lang.items()]
    for key, value in texts:
        if not isinstance(value, str):
            fail(key, value, f"{key} must be text in quotes, got {value!r}")
        elif CONTROL.search(value):
            fail(key, value, f"{key} holds a control character (U+"
                             f"{ord(CONTROL.search(value).group()):04X}) that XML forbids")


def _link_problem(link: object) -> str:
    """Why ``link`` may not be published as a link ("" when it may)."""
    if not isinstance(link, str):
        return "not text"
    if NOT_IN_LINK.search(link):
        return "no spaces, quotes, '<', '>' or backslashes"
    scheme = SCHEME.match(link)
    if scheme and scheme.group(1).lower() not in LINK_SCHEMES:
        return f"'{scheme.group(1)}:' links are not allowed"
    if scheme and scheme.group(1).lower() != "mailto" and not re.match(
            r"https?://[^/?#]+", link, re.IGNORECASE):
        return "no host after the scheme"
    if link.startswith("//"):
        return "write https:// before the host"
    return ""


def _line_of_value(text: str, value: object) -> int | None:
    """The first line quoting ``value`` (a string written as it is read)."""
    if not isinstance(value, str) or not value:
        return None
    for quoted in (f'"{value}"', f"'{value}'"):
        found = text.find(quoted)
        if found >= 0:
            return text.count("\n", 0, found) + 1
    return None


def _markdown(table: Any, path: Path, text: str,
              problems: list[Problem]) -> MarkdownSettings:
    if not isinstance(table, dict):
        problems.append(error(path, _line_of(text, "markdown"),
                              "markdown must be a table: [markdown]"))
        return MarkdownSettings()
    _check_keys(table, MARKDOWN_KEYS, path, text, "markdown.", problems)
    policy = table.get("html", "safe")
    if policy not in HTML_POLICIES:
        problems.append(error(path, _line_of(text, "html"),
                              f"markdown.html must be \"safe\" (raw HTML sanitised), "
                              f"\"allow\" (kept as written) or \"escape\" (shown as text), "
                              f"got {policy!r}"))
        return MarkdownSettings()
    return MarkdownSettings(html=policy)


def _cards(table: Any, path: Path, text: str, problems: list[Problem]) -> CardSettings:
    if not isinstance(table, dict):
        problems.append(error(path, _line_of(text, "cards"), "cards must be a table: [cards]"))
        return CardSettings()
    _check_keys(table, CARDS_KEYS, path, text, "cards.", problems)
    fonts = table.get("fonts", [])
    if not isinstance(fonts, list) or not all(isinstance(f, str) and f.strip() for f in fonts):
        problems.append(error(path, _line_of(text, "fonts"), "cards.fonts must be a list of "
                                                            "font family names, such as "
                                                            '["Noto Sans Ethiopic"]'))
        return CardSettings()
    return CardSettings(fonts=tuple(name.strip() for name in fonts))


def _offline(table: Any, path: Path, text: str, problems: list[Problem]) -> OfflineSettings:
    if not isinstance(table, dict):
        problems.append(error(path, _line_of(text, "offline"),
                              "offline must be a table: [offline]"))
        return OfflineSettings()
    found = len(problems)
    _check_keys(table, OFFLINE_KEYS, path, text, "offline.", problems)
    enabled, budget, pages = (table.get("enabled", True), table.get("budget_kb", 500),
                              table.get("pages", 60))
    if not isinstance(enabled, bool):
        problems.append(error(path, _line_of(text, "enabled"),
                              "offline.enabled must be true or false"))
    if isinstance(budget, bool) or not isinstance(budget, int | float) or budget < 0:
        problems.append(error(path, _line_of(text, "budget_kb"),
                              "offline.budget_kb must be a number of KB, 0 or more (0: save "
                              "no article ahead, only the pages a reader opens)"))
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        problems.append(error(path, _line_of(text, "pages"),
                              "offline.pages must be a positive integer (opened pages kept)"))
    if len(problems) > found:
        return OfflineSettings()
    return OfflineSettings(enabled=enabled, budget_kb=budget, pages=pages)


def _budget(table: Any, path: Path, text: str, problems: list[Problem]) -> Budget:
    if not isinstance(table, dict):
        problems.append(error(path, _line_of(text, "budget"), "budget must be a table: [budget]"))
        return Budget()
    _check_keys(table, BUDGET_KEYS, path, text, "budget.", problems)
    values = {}
    for key in BUDGET_KEYS & table.keys():
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.append(error(path, _line_of(text, key),
                                  f"budget.{key} must be a positive number of KB"))
        else:
            values[key] = value
    return Budget(**values)


def _frozen_names(table: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({key: MappingProxyType(dict(names)) for key, names in table.items()})


def _check_keys(table: Mapping[str, Any], known: set[str], path: Path, text: str,
                prefix: str, problems: list[Problem]) -> None:
    for key in table:
        if key in known:
            continue
        import difflib  # here: only a config with an unknown key needs it

        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean '{prefix}{close[0]}'?" if close else \
            f"; known keys: {', '.join(sorted(known))}"
        problems.append(error(path, _line_of(text, key), f"unknown key '{prefix}{key}'{hint}"))


def _line_of(text: str, key: str) -> int | None:
    """The first line that defines ``key`` (as a key or a table header)."""
    pattern = re.compile(rf"^\s*(\[\s*)?{re.escape(key)}\s*(=|\])", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None

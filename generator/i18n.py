"""Locale work, all through Babel: catalogs, plural rules, dates, numbers.

Catalogs are read from ``locales/<lang>/LC_MESSAGES/messages.po`` and compiled in
memory, so a build never uses a stale ``.mo``. ``newshub i18n`` wraps Babel's
extraction, update and compilation for the theme's templates.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from generator.config import SiteConfig, babel_locale
from generator.errors import Problem, warning

SOURCE_LANGUAGE = "en"
DOMAIN = "messages"
TEMPLATE_METHODS = [("**.html", "jinja2.ext:babel_extract"), ("**.xml", "jinja2.ext:babel_extract")]
EXTRACT_OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
                   "**.xml": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


@cache
def locale_of(code: str) -> Locale:
    """The Babel locale for a BCP 47 code (``zh-Hans`` → ``zh_Hans``)."""
    return Locale.parse(babel_locale(code))


def catalog_path(locales_dir: Path, code: str) -> Path:
    return locales_dir / babel_locale(code) / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locales_dir: Path, code: str) -> Catalog | None:
    path = catalog_path(locales_dir, code)
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=babel_locale(code), domain=DOMAIN)


def translations_for(locales_dir: Path, code: str) -> NullTranslations:
    """Gettext translations for one language, compiled from its ``.po`` in memory."""
    catalog = read_catalog(locales_dir, code)
    if catalog is None:
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def missing_translations(config: SiteConfig) -> list[Problem]:
    """A warning for each theme string a language's catalog does not translate."""
    wanted = template_messages(config.theme_dir / "templates")
    problems = []
    for language in config.languages:
        if language.code == SOURCE_LANGUAGE:
            continue
        catalog = read_catalog(config.locales_dir, language.code)
        path = catalog_path(config.locales_dir, language.code)
        if catalog is None:
            problems.append(warning(path, None, f"no catalog for '{language.code}': the theme "
                                                "is shown in English (run newshub i18n update)"))
            continue
        missing = [msgid for msgid in wanted if not _translated(catalog, msgid)]
        for msgid in missing:
            shown = msgid if isinstance(msgid, str) else msgid[0]
            problems.append(warning(path, None, f"missing translation for {shown!r} "
                                                "(shown in English)"))
    return problems


def _translated(catalog: Catalog, msgid: str | tuple[str, str]) -> bool:
    message = catalog.get(msgid if isinstance(msgid, str) else msgid[0])
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def template_messages(templates: Path) -> tuple[str | tuple[str, str], ...]:
    """Every translatable string in a theme's templates, in a stable order."""
    found: dict[str | tuple[str, str], None] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(templates), TEMPLATE_METHODS, EXTRACT_OPTIONS
    ):
        found.setdefault(message, None)
    return tuple(found)


def extract(config: SiteConfig) -> Path:
    """Write ``locales/messages.pot`` from the theme's templates."""
    template = Catalog(project="newshub", domain=DOMAIN, fuzzy=False)
    templates = config.theme_dir / "templates"
    for filename, line, message, comments, context in extract_from_dir(
        str(templates), TEMPLATE_METHODS, EXTRACT_OPTIONS
    ):
        template.add(message, None, [(f"templates/{filename}", line)],
                     auto_comments=comments, context=context)
    target = config.root / "locales" / f"{DOMAIN}.pot"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True, width=100)
    return target


def update(config: SiteConfig) -> list[Path]:
    """Create or update each language's ``.po`` from the template catalog."""
    pot = extract(config)
    with pot.open("rb") as handle:
        template = read_po(handle)
    written = []
    for language in config.languages:
        path = catalog_path(config.root / "locales", language.code)
        catalog = read_catalog(config.root / "locales", language.code)
        if catalog is None:
            catalog = Catalog(locale=language.locale, domain=DOMAIN, project="newshub")
        catalog.update(template, update_header_comment=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, width=100, ignore_obsolete=True)
        written.append(path)
    return written


def compile_catalogs(config: SiteConfig) -> list[Path]:
    """Write a ``.mo`` beside each ``.po`` (for tools that want them; builds read ``.po``)."""
    written = []
    for language in config.languages:
        catalog = read_catalog(config.root / "locales", language.code)
        if catalog is None:
            continue
        path = catalog_path(config.root / "locales", language.code).with_suffix(".mo")
        with path.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(path)
    return written


def localised_date(value: datetime | None, code: str, style: str = "long") -> str:
    """A date as readers of ``code`` write it (CLDR), in the date's own time zone."""
    return _formatted_date(value.date(), code, style) if value is not None else ""


@lru_cache(maxsize=8192)
def _formatted_date(day: date, code: str, style: str) -> str:
    """Babel's formatting, once per day shown (lists show the same days again and again)."""
    return format_date(day, format=style, locale=locale_of(code))


def localised_datetime(value: datetime | None, code: str, style: str = "long") -> str:
    if value is None:
        return ""
    return format_datetime(value, format=style, tzinfo=value.tzinfo, locale=locale_of(code))


def localised_number(value: float, code: str) -> str:
    return format_decimal(value, locale=locale_of(code))

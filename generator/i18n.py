"""Locale work, all through Babel: catalogs, plural rules, dates, numbers.

Catalogs are read from ``locales/<lang>/LC_MESSAGES/messages.po`` and compiled in
memory, so a build never uses a stale ``.mo``. ``newshub i18n`` wraps Babel's
extraction, update and compilation for the theme's templates.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatch
from functools import cache, lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import DateTimeFormat, format_date, format_datetime, get_date_format, parse_pattern
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from generator.config import SiteConfig, babel_locale
from generator.errors import Problem, warning
from generator.theme import BUNDLED_LOCALES, locale_layers, site_locales, theme_files

SOURCE_LANGUAGE = "en"
DOMAIN = "messages"
TEMPLATE_METHODS = [("**.html", "jinja2.ext:babel_extract"), ("**.xml", "jinja2.ext:babel_extract")]
EXTRACT_OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
                   "**.xml": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


@cache
def locale_of(code: str) -> Locale:
    """The Babel locale for a BCP 47 code (``zh-Hans`` → ``zh_Hans``)."""
    return Locale.parse(babel_locale(code))


def load_locales(codes: Iterable[str]) -> None:
    """Read each language's CLDR data now (Babel reads a locale's when a first date or
    number is formatted: ~7 ms each, which a server spends while it waits instead)."""
    for code in codes:
        locale_of(code).date_formats  # noqa: B018 (read for its side effect)


def catalog_path(locales_dir: Path, code: str) -> Path:
    return locales_dir / babel_locale(code) / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locales_dir: Path, code: str) -> Catalog | None:
    path = catalog_path(locales_dir, code)
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=babel_locale(code), domain=DOMAIN)


def merged_catalog(layers: Sequence[Path], code: str) -> Catalog | None:
    """One language's catalog over every layer, string by string: a message the first
    layer translates wins; untranslated or fuzzy entries never hide a later layer's."""
    catalogs = [c for c in (read_catalog(folder, code) for folder in layers) if c is not None]
    if not catalogs:
        return None
    merged = Catalog(locale=babel_locale(code), domain=DOMAIN, fuzzy=False)
    base = catalogs[-1]
    merged.mime_headers = [("Plural-Forms", base.plural_forms)]
    for catalog in catalogs:  # the most specific first: the first translation wins
        same_plurals = catalog.plural_forms == base.plural_forms
        for message in catalog:
            if (message.id and message.id not in merged and _is_translated(message)
                    and (same_plurals or not message.pluralizable)):
                merged[message.id] = message
    return merged


def translations_for(layers: Sequence[Path], code: str) -> NullTranslations:
    """Gettext translations for one language, compiled in memory from its catalogs."""
    catalog = merged_catalog(layers, code)
    if catalog is None:
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


ISOLATE, POP_ISOLATE = "\u2068", "\u2069"  # first-strong isolate: <bdi> in plain text


class IsolatedFallback:
    """Translations for a right-to-left language whose missing strings, shown in English,
    are isolated (U+2068 … U+2069, what ``<bdi>`` does, and valid in attributes too), so
    "3 articles" does not read "articles 3" on an Arabic page."""

    def __init__(self, translations: NullTranslations) -> None:
        self.translations = translations

    def gettext(self, message: str) -> str:
        found = self.translations.gettext(message)
        return _isolated(found) if found == message else found

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self.translations.ngettext(singular, plural, n)
        return _isolated(found) if found in (singular, plural) else found

    def pgettext(self, context: str, message: str) -> str:
        found = self.translations.pgettext(context, message)
        return _isolated(found) if found == message else found

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        found = self.translations.npgettext(context, singular, plural, n)
        return _isolated(found) if found in (singular, plural) else found


def _isolated(text: str) -> str:
    return f"{ISOLATE}{text}{POP_ISOLATE}" if text.strip() else text


def missing_translations(config: SiteConfig) -> list[Problem]:
    """One warning for each language whose catalogs leave theme strings untranslated (the
    site's own catalog is the file to fix); ``missing_strings`` lists the strings."""
    problems = []
    for gap in coverage(config, _translated_languages(config)):
        if not gap.missing:
            continue
        path = catalog_path(site_locales(config), gap.code)
        if not gap.has_catalog:
            message = (f"{gap.code}: no catalog, the {gap.total} interface strings are shown "
                       "in English (newshub i18n update)")
        else:
            message = (f"{gap.code}: {len(gap.missing)} of {gap.total} interface strings "
                       "missing, shown in English (newshub i18n update)")
        problems.append(warning(path, None, message))
    return problems


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the theme's interface one language's catalogs (the site's and the
    bundled ones, string by string) translate."""

    code: str
    total: int
    missing: tuple[str, ...]  # msgids (a plural message by its singular), in template order
    has_catalog: bool
    source: bool = False  # the templates' own language: nothing to translate

    @property
    def translated(self) -> int:
        return self.total - len(self.missing)


def coverage(config: SiteConfig, codes: Iterable[str]) -> list[Coverage]:
    """Each language's coverage of the theme's strings, in the order given."""
    wanted = [m if isinstance(m, str) else m[0]
              for m in template_messages(theme_files(config, "templates"))]
    layers = locale_layers(config)
    found = []
    for code in codes:
        if is_source_language(code):
            found.append(Coverage(code, len(wanted), (), True, source=True))
            continue
        catalog = merged_catalog(layers, code)
        missing = tuple(m for m in wanted if catalog is None or not _translated(catalog, m))
        found.append(Coverage(code, len(wanted), missing, catalog is not None))
    return found


def missing_strings(config: SiteConfig) -> list[str]:
    """A line for each theme string a configured language shows in English, with the
    template that uses it (``build --verbose`` prints them under the summary warnings)."""
    where: dict[str, str] = {}
    for name, line, message, _comments, _context in _extracted(theme_files(config, "templates")):
        where.setdefault(message if isinstance(message, str) else message[0],
                         f"templates/{name}:{line}")
    return [f"  {gap.code}: missing {msgid!r} ({where.get(msgid, '?')})"
            for gap in coverage(config, _translated_languages(config)) for msgid in gap.missing]


def bundled_languages() -> tuple[str, ...]:
    """The BCP 47 codes of the catalogs newshub ships (``pt_BR`` → ``pt-BR``), sorted."""
    return tuple(sorted(path.parent.parent.name.replace("_", "-")
                        for path in BUNDLED_LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def status_table(config: SiteConfig, every_bundled: bool = False) -> list[str]:
    """``newshub i18n status``: each language's share of the theme's strings (the site's
    catalog and the bundled one together), then the strings each lacks."""
    codes = list(config.language_codes)
    if every_bundled:
        codes += [code for code in bundled_languages() if code not in codes]
    rows = coverage(config, codes)
    lines = [f"{'code':<8} {'language':<26} {'translated':>10}  missing"]
    for row in rows:
        name = _display_name(row.code)
        done = f"{row.translated}/{row.total}"
        gap = ("source" if row.source else str(len(row.missing)) if row.has_catalog
               else f"{len(row.missing)} (no catalog)")
        lines.append(f"{row.code:<8} {name:<26} {done:>10}  {gap}")
    for row in rows:
        if row.missing and row.has_catalog:
            lines.append(f"{row.code} missing: " + ", ".join(repr(m) for m in row.missing))
    return lines


def is_source_language(code: str) -> bool:
    """Whether ``code`` is the templates' own language (``en``, ``en-GB``): English
    needs no catalog."""
    try:
        return locale_of(code).language == SOURCE_LANGUAGE
    except (ValueError, UnknownLocaleError):
        return False


def _translated_languages(config: SiteConfig) -> list[str]:
    return [code for code in config.language_codes if not is_source_language(code)]


def _display_name(code: str) -> str:
    try:
        return locale_of(code).get_display_name(SOURCE_LANGUAGE) or code
    except (ValueError, UnknownLocaleError):
        return code


def _is_translated(message: Message) -> bool:
    if message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def _translated(catalog: Catalog, msgid: str | tuple[str, str]) -> bool:
    message = catalog.get(msgid if isinstance(msgid, str) else msgid[0])
    return message is not None and _is_translated(message)


def _extracted(templates: Mapping[str, Path]) -> Iterator[tuple[str, int, Any, list[str], Any]]:
    """Every translatable string of the theme's templates (each name from the layer that
    provides it), as ``(name, line, message, comments, context)``."""
    for name, path in templates.items():
        pattern, method = next(((p, m) for p, m in TEMPLATE_METHODS if fnmatch(name, p)),
                               (None, None))
        if method is None:
            continue
        with path.open("rb") as handle:
            for line, message, comments, context in extract(
                    method, handle, options=EXTRACT_OPTIONS[pattern]):
                yield name, line, message, comments, context


def template_messages(templates: Mapping[str, Path]) -> tuple[str | tuple[str, str], ...]:
    """Every translatable string in a theme's templates, in a stable order."""
    found: dict[str | tuple[str, str], None] = {}
    for _name, _line, message, _comments, _context in _extracted(templates):
        found.setdefault(message, None)
    return tuple(found)


def extract_template(config: SiteConfig) -> Path:
    """Write ``locales/messages.pot`` from the theme's templates; an unchanged set of
    strings leaves the file as it is (its creation date too, so git sees no change)."""
    template = Catalog(project="newshub", domain=DOMAIN, fuzzy=False)
    for name, line, message, comments, context in _extracted(theme_files(config, "templates")):
        template.add(message, None, [(f"templates/{name}", line)],
                     auto_comments=comments, context=context)
    target = site_locales(config) / f"{DOMAIN}.pot"
    if target.is_file():
        with target.open("rb") as handle:
            previous = read_po(handle)
        template.creation_date = previous.creation_date
    _write_if_changed(target, template, omit_header=False)
    return target


def update(config: SiteConfig) -> list[Path]:
    """Create or update each language's ``.po`` in the site's ``locales/`` from the
    template catalog. Strings the bundled catalogs already translate are left out of a
    site's catalog (the site inherits them; add one to override it)."""
    pot = extract_template(config)
    with pot.open("rb") as handle:
        template = read_po(handle)
    own = site_locales(config)
    bundled = [folder for folder in locale_layers(config) if folder.resolve() != own.resolve()]
    written = []
    for language in config.languages:
        path = catalog_path(own, language.code)
        catalog = read_catalog(own, language.code)
        inherited = merged_catalog(bundled, language.code)
        if catalog is None:
            catalog = Catalog(locale=language.locale, domain=DOMAIN, project="newshub")
            if inherited is not None:  # plural strings must count the way the bundled do
                catalog.mime_headers = [("Plural-Forms", inherited.plural_forms)]
        catalog.update(_wanted_here(template, catalog, inherited), update_header_comment=False)
        if _write_if_changed(path, catalog, ignore_obsolete=True):
            written.append(path)
    return written


def _wanted_here(template: Catalog, own: Catalog, bundled: Catalog | None) -> Catalog:
    """The template without the strings the bundled catalog translates, unless the site's
    catalog already has them (its overrides)."""
    if bundled is None:
        return template
    kept = Catalog(project=template.project, domain=DOMAIN, fuzzy=False)
    kept.creation_date = template.creation_date
    for message in template:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in own or not _translated(bundled, key):
            kept[message.id] = message
    return kept


def _write_if_changed(path: Path, catalog: Catalog, **options: Any) -> bool:
    buffer = io.BytesIO()
    write_po(buffer, catalog, sort_output=True, width=100, **options)
    data = buffer.getvalue()
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def compile_catalogs(config: SiteConfig) -> list[Path]:
    """Write a ``.mo`` beside each of the site's ``.po`` files (for tools that want them;
    builds read the ``.po`` files)."""
    written = []
    own = site_locales(config)
    for language in config.languages:
        catalog = read_catalog(own, language.code)
        if catalog is None:
            continue
        path = catalog_path(own, language.code).with_suffix(".mo")
        with path.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(path)
    return written


# The first of the ten digits of CLDR's decimal numbering systems (each runs 0–9 in order).
DIGIT_ZEROS = {"arab": 0x660, "arabext": 0x6F0, "beng": 0x9E6, "deva": 0x966,
               "gujr": 0xAE6, "guru": 0xA66, "khmr": 0x17E0, "knda": 0xCE6, "laoo": 0xED0,
               "mlym": 0xD66, "mymr": 0x1040, "orya": 0xB66, "taml": 0xBE6, "telu": 0xC66,
               "thai": 0xE50, "tibt": 0xF20}


@cache
def digits_of(code: str, digits: str = "native") -> dict[int, str]:
    """A ``str.translate`` table from Latin digits to the language's own, where CLDR's
    default numbering system says so (Persian ۱۲۳ for fa); empty with ``digits =
    "latin"`` (site.toml, per language) or where the default is Latin."""
    if digits == "latin":
        return {}
    system = getattr(locale_of(code), "default_numbering_system", "latn")
    zero = DIGIT_ZEROS.get(system)
    return {ord("0") + n: chr(zero + n) for n in range(10)} if zero else {}


def localised_date(value: datetime | None, code: str, style: str = "long",
                   digits: str = "native") -> str:
    """A date as readers of ``code`` write it (CLDR, in their digits), in the date's own
    time zone."""
    return _formatted_date(value.date(), code, style, digits) if value is not None else ""


@lru_cache(maxsize=8192)
def _formatted_date(day: date, code: str, style: str, digits: str = "native") -> str:
    """Babel's formatting, once per day shown (lists show the same days again and again),
    field by field where each of the pattern's fields depends on one part of the date
    (``_date_shape``): 100,000 stories show some 30,000 days in five languages."""
    shape = _date_shape(code, style)
    if shape is None:
        text = format_date(day, format=style, locale=locale_of(code))
    else:
        form, fields = shape
        known = _DATE_FIELDS.get
        text = form % {name: known((code, name, part(day)))
                       or _date_field(day, code, name, part(day)) for name, part in fields}
    table = _digit_table(code, digits)
    return text.translate(table) if table else text


@lru_cache(maxsize=64)
def _digit_table(code: str, digits: str) -> Mapping[int, str]:
    """``digits_of``, made once per language (a locale parsed and a table made each time;
    only read)."""
    return digits_of(code, digits)


# the date fields whose text depends on one part of the date (the year, the month, the
# day of the month, the day of the week): by field letter, that part (read in C)
DATE_PARTS: dict[str, Callable[[date], int]] = {
    "G": attrgetter("year"), "y": attrgetter("year"), "M": attrgetter("month"),
    "L": attrgetter("month"), "d": attrgetter("day"), "E": date.weekday}


class _FieldNames(dict):  # type: ignore[type-arg]
    """The names a %-format string asks for (each as ""), in order."""

    def __missing__(self, name: str) -> str:
        self[name] = ""
        return ""


@lru_cache(maxsize=64)
def _date_shape(code: str, style: str) -> tuple[str, tuple[tuple[str, Callable[[date], int]],
                                                         ...]] | None:
    """Babel's %-format string of a date style in a language and its fields, each with
    the part of the date it shows (None: some field depends on more than one part)."""
    locale = locale_of(code)
    pattern = parse_pattern(get_date_format(style, locale=locale)
                            if style in ("full", "long", "medium", "short") else style)
    names = _FieldNames()
    _ = pattern.format % names  # (collects the field names)
    if not all(name[:1] in DATE_PARTS for name in names):
        return None
    return pattern.format, tuple((name, DATE_PARTS[name[0]]) for name in names)


_DATE_FIELDS: dict[tuple[str, str, int], str] = {}


def _date_field(day: date, code: str, name: str, part: int) -> str:
    """Babel's text for one field of ``day`` (``part``: the part of the day it shows)."""
    key = (code, name, part)
    text = _DATE_FIELDS.get(key)
    if text is None:
        text = _DATE_FIELDS[key] = DateTimeFormat(day, locale_of(code))[name]
    return text


def localised_datetime(value: datetime | None, code: str, style: str = "long",
                       digits: str = "native") -> str:
    if value is None:
        return ""
    return format_datetime(value, format=style, tzinfo=value.tzinfo,
                           locale=locale_of(code)).translate(digits_of(code, digits))


def localised_number(value: float, code: str, digits: str = "native") -> str:
    return format_decimal(value, locale=locale_of(code), numbering_system="default").translate(
        digits_of(code, digits))

"""``newshub import hugo PATH [--to DIR]``: a Hugo site as a newshub site.

It reads the Hugo configuration (``hugo_config``), copies ``content/`` and ``static/``
as they are (``hugo_content``: one folder per language, converted only where Hugo kept
all languages in one), writes ``site.toml`` (languages, the default one and whether it
lives at the site root, menus, taxonomies, permalinks, plain params) and a placeholder
template for each shortcode newshub lacks (``hugo_shortcodes``), then reports what it
converted, what it could not, and the next step. The same Hugo site always gives the
same files.
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from generator import permalinks
from generator.config import DEFAULT_BASE_URL, LANGUAGE_CODE
from generator.importers import hugo_config, hugo_content, hugo_shortcodes
from generator.importers.hugo_config import HugoConfigError, get
from generator.importers.hugo_content import Item, Root

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
DEFAULT_TAXONOMIES = ("tags", "categories")
HANDLED = frozenset({
    "baseurl", "title", "languagecode", "defaultcontentlanguage",
    "defaultcontentlanguageinsubdir", "languages", "menus", "menu", "params", "taxonomies",
    "permalinks", "contentdir", "staticdir", "disablelanguages", "author", "sectionpagesmenu",
})
LANGUAGE_HANDLED = frozenset({"languagename", "languagecode", "title", "description", "weight",
                              "contentdir", "params", "menus", "menu", "disabled",
                              "languagedirection"})
NOT_IMPORTED = {
    "layouts": "Hugo templates; newshub renders with its own theme (a file in the new "
               "site's themes/default/templates/ replaces the installed one)",
    "assets": "Hugo Pipes sources (styles, scripts); not copied",
    "data": "data files Hugo templates read; newshub templates get no data files",
    "i18n": "interface strings; newshub's are catalogs in locales/ (newshub i18n update)",
    "archetypes": "templates for `hugo new`; `newshub new` writes its own",
    "themes": "Hugo themes; not copied",
}
SETTINGS_WHY = {
    "theme": "the Hugo theme (its layouts and shortcodes are not imported)",
    "module": "Hugo modules (a theme's layouts and shortcodes are not imported)",
    "outputs": "output formats (newshub writes HTML pages, Atom feeds and a sitemap)",
    "outputformats": "output formats", "mediatypes": "media types",
    "markup": "Markdown settings (newshub's Markdown has its own)",
}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # kept out of TOML comments
ORGANISATION_PARAMS = ("organisation", "organization", "publisher", "company", "author")


class HugoImportError(ValueError):
    """The import cannot start; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_ERRORS) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Language:
    key: str  # as Hugo names it, lower case
    code: str  # canonical BCP 47
    name: str
    title: str
    description: str
    options: Mapping[str, Any]


@dataclass(slots=True)
class Page:
    """What the import needs of one content file's front matter."""

    code: str
    key: str  # its page path: under content/<folder>/, no extension, no index
    rel: str
    fields: dict[str, Any]
    source: str  # the file in the Hugo site, as shown to people

    @property
    def title(self) -> str:
        value = get(self.fields, "linkTitle") or get(self.fields, "title")
        return html.unescape(str(value)) if value else ""


@dataclass(slots=True)
class Report:
    converted: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    shortcodes: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def lines(self, target: str) -> list[str]:
        out = [f"Converted ({len(self.written)} files written):"]
        out += [f"  {line}" for line in self.converted]
        for heading, lines in (
                ("Shortcodes without a newshub template (placeholders written to "
                 "themes/default/shortcodes/: refine them):", self.shortcodes),
                ("Not converted:", self.left_out), ("Needs your attention:", self.attention)):
            if lines:
                out += [heading, *(f"  - {line}" for line in lines)]
        out += ["Next:", f"  cd {target} && newshub build"]
        return out


def run(path: str, to: str | None, force: bool = False,
        out: Callable[[str], None] = print) -> int:
    """The command: import, print the report, return the exit code."""
    source = Path(path)
    target = Path(to) if to else Path(f"{source.resolve().name or 'site'}-newshub")
    try:
        report = import_site(source, target, force=force)
    except HugoImportError as exc:
        print(f"newshub import hugo: {exc}", file=sys.stderr)
        return exc.code
    out(f"Imported the Hugo site {path} into {target}")
    for line in report.lines(str(target)):
        out(line)
    return EXIT_OK


def import_site(source: Path, target: Path, *, force: bool = False) -> Report:
    """Write the newshub version of the Hugo site at ``source`` into ``target``."""
    site = source.resolve()
    _check_folders(source, site, target, force)
    try:
        config = hugo_config.read_config(site)
    except HugoConfigError as exc:
        raise HugoImportError(str(exc)) from None
    data, report = config.data, Report()
    report.converted.append("configuration read from " + ", ".join(config.files))
    if config.ignored:
        report.left_out.append("configuration of other environments: "
                               + ", ".join(config.ignored) + " (production is merged)")
    languages, default, roots, top = _languages(data, site, report)
    if not any(root.path is not None and root.path.is_dir() for root in roots):
        raise HugoImportError(f"{source}: no content folder ({top.relative_to(site)}/ is "
                              "missing): nothing to import")
    plan = hugo_content.content_plan(site, roots, default.key, top)
    problems = plan.problems
    statics = _static_folders(data, site, report)
    items = plan.items + hugo_content.static_plan(site, statics, problems)
    report.left_out.extend(plan.notes if plan.as_is else ())
    report.converted.extend(plan.notes if not plan.as_is else ())
    paths = [root.path for root in roots]
    report.converted.extend(
        f"{root.path.relative_to(site).as_posix()}/ → content/{root.folder}/ ({root.code}: "
        "newshub keeps each language in a folder of its own)"
        for root in roots if not plan.as_is and root.path is not None and paths.count(
            root.path) == 1 and root.path.is_dir() and root.path != site / "content" / root.folder)
    report.attention.extend(f"{problem.path}: {problem.message}" for problem in problems)
    pages = _pages(site, plan.items, report)
    search_pages = _search_pages(pages, report)
    items = [item for item in items if item.source.relative_to(site).as_posix()
             not in search_pages]
    pages = [page for page in pages if page.source not in search_pages]
    templates, missing = _shortcodes(site, data, plan.items, pages, report)
    text = site_toml(data, languages, default, roots, pages, site, report, missing)
    _counts(plan, items, roots, report)
    _not_imported(site, data, languages, pages, report)
    _write_all(target, items, text, templates, report)
    return report


def _check_folders(source: Path, site: Path, target: Path, force: bool) -> None:
    if not site.is_dir():
        raise HugoImportError(f"{source}: no such folder")
    if not hugo_config.is_hugo_site(site):
        raise HugoImportError(f"{source}: no Hugo configuration (hugo.toml, hugo.yaml, "
                              "hugo.json, config.toml/yaml/json or config/_default/): is "
                              "this a Hugo site?")
    real = Path(os.path.realpath(target))
    if real == site or real.is_relative_to(site / "content") or \
            real.is_relative_to(site / "static"):
        raise HugoImportError(f"--to {target}: choose a folder outside the Hugo site's "
                              "content and static folders", EXIT_USAGE)
    if target.exists() and not target.is_dir():
        raise HugoImportError(f"--to {target}: not a folder", EXIT_USAGE)
    if target.is_dir() and not force:
        left = sorted(path.name for path in target.iterdir() if path.name != ".git")
        if left:
            shown = ", ".join(left[:3]) + (", …" if len(left) > 3 else "")
            raise HugoImportError(f"{target} is not empty ({shown}); choose a new folder, or "
                                  "add --force to write into it", EXIT_USAGE)


def canonical_code(key: str) -> str:
    """Hugo's language key in BCP 47's canonical letter case: ``zh-tw`` → ``zh-TW``."""
    parts = re.split(r"[-_]", key)
    shaped = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            shaped.append(part.title())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            shaped.append(part.upper())
        else:
            shaped.append(part.lower())
    return "-".join(shaped)


def _known_to_babel(code: str) -> Locale | None:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _languages(data: Mapping[str, Any], site: Path, report: Report
               ) -> tuple[list[Language], Language, list[Root], Path]:
    """The languages in Hugo's order (the default first) and where their content is."""
    table = get(data, "languages") or {}
    default_key = str(get(data, "defaultContentLanguage") or "en").lower()
    top = site / str(get(data, "contentDir") or "content")
    if not Path(os.path.realpath(top)).is_relative_to(site):
        raise HugoImportError(f"contentDir {get(data, 'contentDir')!r} is outside the Hugo "
                              "site: nothing to import")
    folders: dict[str, str] = {}
    if not isinstance(table, Mapping) or not table:
        folders = _language_folders(top, None)
        if folders:
            table = {key: {} for key in folders}
            report.converted.append(
                "languages " + ", ".join(sorted(table)) + " taken from the folders of "
                f"{top.relative_to(site).as_posix()}/ (the configuration names none)")
        else:
            table = {default_key: {}}
    disabled = {str(key).lower() for key in get(data, "disableLanguages") or ()}
    entries = []
    for key, options in table.items():
        key = str(key).lower()
        options = options if isinstance(options, Mapping) else {}
        if key in disabled or get(options, "disabled") is True:
            report.left_out.append(f"language {key}: disabled in Hugo, left out with its "
                                   "content")
            continue
        weight = get(options, "weight") or 0
        entries.append((key != default_key, not isinstance(weight, int) or weight == 0,
                        weight if isinstance(weight, int) else 0, key, options))
    entries.sort(key=lambda entry: entry[:4])
    if not entries:
        raise HugoImportError("every language is disabled: nothing to import")
    if entries[0][3] != default_key:
        report.attention.append(f"defaultContentLanguage {default_key!r} is not a configured "
                                f"language; {entries[0][3]} is the default")
    if not folders and not any(get(options, "contentDir") for *_, options in entries):
        folders = _language_folders(top, {key for _, _, _, key, _ in entries})
        if folders:
            report.converted.append("each language's content from its folder in "
                                    f"{top.relative_to(site).as_posix()}/ (Hugo's "
                                    "configuration "
                                    "names no contentDir)")
    languages, roots = [], []
    for _, _, _, key, options in entries:
        language = _language(key, options, report)
        languages.append(language)
        if key in folders:
            path = top / folders[key]
        else:
            path = site / str(get(options, "contentDir") or get(data, "contentDir") or
                              "content")
        roots.append(_root(language, path, site, report))
    return languages, languages[0], roots, top


def _language_folders(top: Path, keys: set[str] | None) -> dict[str, str]:
    """The folders of ``top`` when every one is named for a language (a configured one
    when ``keys`` are given): lower-case key → folder name."""
    if not top.is_dir():
        return {}
    names = sorted(path.name for path in top.iterdir() if path.is_dir()
                   and path.name[:1] not in "._")
    if not names or any((name.lower() not in keys) if keys is not None else
                        (_known_to_babel(canonical_code(name)) is None) for name in names):
        return {}
    return {name.lower(): name for name in names}


def _language(key: str, options: Mapping[str, Any], report: Report) -> Language:
    code = canonical_code(key)
    locale = _known_to_babel(code)
    if locale is None or not LANGUAGE_CODE.match(code):
        report.attention.append(f"language {key}: {code!r} is not a language code newshub "
                                "knows (BCP 47, known to Babel); rename it in site.toml")
    params = get(options, "params") or {}
    endonym = (locale.get_display_name(locale) or code) if locale else code
    name = str(get(options, "languageName") or endonym[:1].upper() + endonym[1:])
    direction = str(get(options, "languageDirection") or "").lower()
    if locale is not None and direction and direction != locale.text_direction:
        report.attention.append(f"language {key}: Hugo says {direction}, Babel says "
                                f"{locale.text_direction}; newshub follows Babel")
    for option in sorted(options):
        if str(option).lower() not in LANGUAGE_HANDLED:
            report.left_out.append(f"languages.{key}.{option}: not read")
    return Language(key, code, name, str(get(options, "title") or get(params, "title") or ""),
                    str(get(options, "description") or get(params, "description") or ""),
                    options)


def _root(language: Language, path: Path, site: Path, report: Report) -> Root:
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(site):
        report.attention.append(f"language {language.key}: its content folder {path} is "
                                "outside the Hugo site; not copied")
        return Root(language.key, language.code, language.code, None)
    if not path.is_dir():
        report.attention.append(f"language {language.key}: its content folder "
                                f"{path.relative_to(site).as_posix()}/ does not exist")
    inside = path.parent == site / "content" and path.name not in ("", ".", "..")
    return Root(language.key, language.code, path.name if inside else language.code, path)


def _static_folders(data: Mapping[str, Any], site: Path, report: Report) -> list[Path]:
    named = get(data, "staticDir") or "static"
    folders = []
    for name in ([named] if isinstance(named, str) else list(named)):
        path = site / str(name)
        if not Path(os.path.realpath(path)).is_relative_to(site):
            report.attention.append(f"staticDir {name}: outside the Hugo site; not copied")
        elif path.is_dir():
            folders.append(path)
    return folders


def _search_pages(pages: list[Page], report: Report) -> set[str]:
    """A theme's search page (``search.md`` with ``layout: search``, as Docsy's, and its
    translations, whatever their layout says): not copied, since newshub makes each
    language's search page at that address itself."""
    candidates = [page for page in pages if page.key.lower() == "search"]
    if not any(str(get(page.fields, "layout") or "").lower() == "search"
               for page in candidates):
        return set()
    found = {page.source for page in candidates if get(page.fields, "layout")}
    report.converted.extend(f"{shown} (layout: search): not copied; newshub makes the "
                            "language's search page at its address itself"
                            for shown in sorted(found))
    return found


def _pages(site: Path, items: list[Item], report: Report) -> list[Page]:
    pages = []
    for item in items:
        if not item.code or not item.rel.lower().endswith((".md", ".markdown", ".html")):
            continue
        shown = item.source.relative_to(site).as_posix()
        try:
            fields, _ = hugo_config.front_matter(
                item.source.read_text(encoding="utf-8-sig"), shown)
        except (HugoConfigError, UnicodeDecodeError) as exc:
            report.attention.append(f"{shown}: front matter not read ({exc})")
            fields = {}
        else:
            if not fields:
                report.attention.append(f"{shown}: no front matter (it does not start with "
                                        "a '---' line); it needs at least a title")
        key = item.rel.rsplit(".", 1)[0]
        for tail in ("/_index", "/index"):
            key = key.removesuffix(tail)
        pages.append(Page(item.code, "" if key in ("_index", "index") else key,
                          item.rel, fields, shown))
    return pages


def site_toml(data: Mapping[str, Any], languages: list[Language], default: Language,
              roots: list[Root], pages: list[Page], site: Path, report: Report,
              missing: Mapping[str, str] | None = None) -> str:
    """The text of the new site's ``site.toml``; ``missing``: params the content asks
    for (``{{< param KEY >}}``) that the Hugo configuration lacks, written empty."""
    params = get(data, "params") or {}
    params = params if isinstance(params, Mapping) else {}
    homes = {page.code: page for page in pages if page.key == "" and
             page.rel.split("/")[-1].startswith("_index.")}
    home = homes.get(default.code)
    title = str(get(data, "title") or default.title or (home.title if home else "") or
                site.name)
    description = str(get(params, "description") or default.description or
                      (html.unescape(str(get(home.fields, "description") or "")) if home
                       else ""))
    url = str(get(data, "baseURL") or "")
    if not re.match(r"^https?://[^/\s]+", url):
        report.attention.append(f"baseURL {url!r} is not an absolute http(s) address: "
                                f"base_url is {DEFAULT_BASE_URL}; set the real one in "
                                "site.toml")
        url = DEFAULT_BASE_URL
    at_root = get(data, "defaultContentLanguageInSubdir") is not True
    lines = [f"# Imported from the Hugo site {site.name!r} by `newshub import hugo`.", "",
             f"base_url = {toml_value(url.rstrip('/') + '/')}",
             f"title = {toml_value(title)}"]
    if description:
        lines.append(f"description = {toml_value(description)}")
    lines += [f"default_language = {toml_value(default.code)}",
              f"default_language_at_root = {toml_value(at_root)}",
              f"taxonomies = {toml_value(_taxonomies(data, report))}", "",
              "[organisation]", f"name = {toml_value(_organisation(data, params, title))}"]
    plain = _plain_params(params, report)
    if plain or missing:
        lines += ["", "[params]", *(f"{toml_key(k)} = {toml_value(v)}" for k, v in plain)]
    if missing:
        lines.append("# Used by {{< param … >}} in the content, but not in the Hugo "
                     "configuration: fill them in.")
        lines += [f"{toml_key(key)} = \"\"  # {CONTROL.sub('?', place)}"
                  for key, place in missing.items()]
    permalinks = _permalinks(data, report)
    if permalinks:
        lines += ["", "[permalinks]",
                  *(f"{toml_key(k)} = {toml_value(v)}" for k, v in permalinks)]
    menus = _menus(data, languages, pages, report)
    for language, root in zip(languages, roots, strict=True):
        home = homes.get(language.code)
        lines += ["", f"[languages.{toml_key(language.code)}]",
                  f"name = {toml_value(language.name)}"]
        own_title = language.title or ("" if get(data, "title") or home is None else
                                       home.title)
        own_description = language.description or (
            "" if get(params, "description") or home is None else
            html.unescape(str(get(home.fields, "description") or "")))
        if own_title:
            lines.append(f"title = {toml_value(own_title)}")
        if own_description:
            lines.append(f"description = {toml_value(own_description)}")
        if root.folder != language.code:
            lines.append(f"folder = {toml_value(root.folder)}")
        entries = menus.get(language.code, [])
        if entries:
            lines.append("menu = [")
            lines += [f"  {toml_value(entry)}," for entry in entries]
            lines.append("]")
        own = get(language.options, "params")
        own_params = [(key, value) for key, value in _plain_params(
            own if isinstance(own, Mapping) else {}, report, f"languages.{language.key}.params")
            if key.lower() not in ("title", "description")]
        if own_params:
            lines += ["", f"[languages.{toml_key(language.code)}.params]",
                      *(f"{toml_key(k)} = {toml_value(v)}" for k, v in own_params)]
    sections = _section_names(pages)
    for section, names in sections.items():
        lines += ["", f"[taxonomy.sections.{toml_key(section)}]",
                  *(f"{toml_key(code)} = {toml_value(name)}" for code, name in names.items())]
    count = sum(len(entries) for entries in menus.values())
    report.converted.append(
        f"site.toml: {len(languages)} language{'s' if len(languages) != 1 else ''} ("
        + ", ".join(language.code for language in languages) + f"; default {default.code}"
        + (" at the site root" if at_root else " under /" + default.code + "/")
        + f"), {count} menu entr{'ies' if count != 1 else 'y'}, "
        f"{len(plain) + len(missing or ())} params, "
        f"{len(permalinks)} permalink pattern{'s' if len(permalinks) != 1 else ''}, "
        f"{len(sections)} section name{'s' if len(sections) != 1 else ''}")
    return "\n".join(lines) + "\n"


def _taxonomies(data: Mapping[str, Any], report: Report) -> list[str]:
    table = get(data, "taxonomies")
    if table is None:
        return list(DEFAULT_TAXONOMIES)
    if not isinstance(table, Mapping):
        report.attention.append("taxonomies: not a table; Hugo's default tags and "
                                "categories are used")
        return list(DEFAULT_TAXONOMIES)
    return [str(plural) for plural in table.values() if plural]


def _organisation(data: Mapping[str, Any], params: Mapping[str, Any], title: str) -> str:
    for source in (params, data):
        for key in ORGANISATION_PARAMS:
            value = get(source, key)
            if isinstance(value, Mapping):
                value = get(value, "name")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return title


PLAIN = (str, int, float, bool, date, datetime, time)


def _plain_params(params: Mapping[str, Any], report: Report,
                  where: str = "params") -> list[tuple[str, Any]]:
    plain, nested = [], []
    for key, value in params.items():
        if isinstance(value, PLAIN) or (isinstance(value, list) and
                                        all(isinstance(v, PLAIN) for v in value)):
            plain.append((str(key), value))
        elif value is not None:
            nested.append(str(key))
    if nested:
        report.left_out.append(f"{where} not copied (tables or lists of tables, which "
                               "newshub templates do not read): " + ", ".join(nested))
    return plain


def _permalinks(data: Mapping[str, Any], report: Report) -> list[tuple[str, str]]:
    table = get(data, "permalinks") or {}
    taxonomies = {name.lower() for name in _taxonomies(data, Report())}
    found: list[tuple[str, str]] = []
    for key, value in (table.items() if isinstance(table, Mapping) else ()):
        if isinstance(value, Mapping):
            if str(key).lower() == "page":
                found += [(str(k), str(v)) for k, v in value.items() if isinstance(v, str)]
            else:
                report.left_out.append(f"permalinks.{key}: patterns for {key} pages are not "
                                       "read (only those of articles and pages)")
        elif str(key).lower() in taxonomies:
            report.left_out.append(f"permalinks.{key}: term page patterns are not read")
        elif isinstance(value, str):
            found.append((str(key), value))
    kept = []
    for key, pattern in found:
        why = permalinks.pattern_problem(pattern)
        if why:
            report.left_out.append(f"permalinks.{key} = {pattern!r}: left out, the pattern "
                                   f"{why}; add aliases for its old addresses")
        else:
            kept.append((key, pattern))
    return kept


def _menus(data: Mapping[str, Any], languages: list[Language], pages: list[Page],
           report: Report) -> dict[str, list[dict[str, str]]]:
    """Each language's main menu: the configuration's entries and those of front matter
    (``menu: main``), in Hugo's order (by weight, unweighted last, then by name)."""
    by_code: dict[str, dict[str, Page]] = {}
    for page in pages:
        by_code.setdefault(page.code, {}).setdefault(page.key.lower(), page)
    root_menus = get(data, "menus") or get(data, "menu") or {}
    menus: dict[str, list[dict[str, str]]] = {}
    for language in languages:
        known = by_code.get(language.code, {})
        own = get(language.options, "menus") or get(language.options, "menu")
        table = own if isinstance(own, Mapping) else root_menus
        found: list[tuple[int, str, dict[str, str]]] = []
        for name, entries in (table.items() if isinstance(table, Mapping) else ()):
            if str(name).lower() != "main":
                report.left_out.append(f"menu {name!r} ({language.key}): only the main menu "
                                       "is read")
                continue
            for entry in entries if isinstance(entries, list) else ():
                converted = _config_entry(entry, language, known, report)
                if converted:
                    found.append(converted)
        found += _front_matter_entries(language, known, report)
        if str(get(data, "sectionPagesMenu") or "").lower() == "main":
            found += _section_entries(known)
        seen: set[str] = set()
        ordered = []
        for *_, entry in sorted(found, key=lambda e: (e[0] == 0, e[0], e[1])):
            mark = entry.get("page") or entry.get("url", "")
            if mark not in seen:
                seen.add(mark)
                ordered.append(entry)
        if ordered:
            menus[language.code] = ordered
    return menus


def _config_entry(entry: Any, language: Language, known: dict[str, Page],
                  report: Report) -> tuple[int, str, dict[str, str]] | None:
    if not isinstance(entry, Mapping):
        return None
    label = get(entry, "name") or get(entry, "pageRef") or get(entry, "url")
    where = f"menu entry {label!r} ({language.key})"
    if get(entry, "parent"):
        report.left_out.append(f"{where}: a sub-entry (newshub menus are flat)")
        return None
    weight = get(entry, "weight")
    weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else 0
    ref, url = get(entry, "pageRef"), get(entry, "url")
    page = None
    if ref:
        page = _find_page(str(ref), language, known)
        if page is None:
            report.left_out.append(f"{where}: no {language.key} page {ref!r}")
            return None
    elif isinstance(url, str) and url:
        page = _find_page(url, language, known) if url.startswith("/") else None
    else:
        report.left_out.append(f"{where}: neither pageRef nor url")
        return None
    if page is not None and page.key == "":
        report.left_out.append(f"{where}: the home page (newshub's header links it already)")
        return None
    name = str(get(entry, "name") or (page.title if page else "") or "")
    if not name:
        report.left_out.append(f"{where}: no name")
        return None
    item = {"name": name, "page": page.key} if page else {"name": name, "url": str(url)}
    return weight, name, item


def _find_page(ref: str, language: Language, known: dict[str, Page]) -> Page | None:
    key = ref.split("#")[0].split("?")[0].strip("/")
    key = re.sub(r"\.(md|markdown|html)$", "", key)
    for tail in ("/_index", "/index"):
        key = key.removesuffix(tail)
    key = "" if key in ("_index", "index") else key
    prefix = language.key + "/"
    if key.lower().startswith(prefix) and key.lower() not in known:
        key = key[len(prefix):]
    return known.get(key.lower())


def _front_matter_entries(language: Language, known: dict[str, Page], report: Report
                          ) -> list[tuple[int, str, dict[str, str]]]:
    found = []
    for page in known.values():
        menu = get(page.fields, "menu") or get(page.fields, "menus")
        if not menu:
            continue
        table = {menu: {}} if isinstance(menu, str) else \
            {str(name): {} for name in menu} if isinstance(menu, list) else menu
        if not isinstance(table, Mapping):
            continue
        shown = page.source
        for name, options in table.items():
            options = options if isinstance(options, Mapping) else {}
            if str(name).lower() != "main":
                report.left_out.append(f"{shown}: menu {name!r} in front matter (only the "
                                       "main menu is read)")
            elif get(options, "parent"):
                report.left_out.append(f"{shown}: a sub-entry of the main menu (newshub "
                                       "menus are flat)")
            elif page.key == "":
                report.left_out.append(f"{shown}: the home page in the main menu (newshub's "
                                       "header links it already)")
            else:
                label = str(get(options, "name") or page.title or page.key)
                weight = get(options, "weight")
                weight = weight if isinstance(weight, int) and \
                    not isinstance(weight, bool) else 0
                found.append((weight, label, {"name": label, "page": page.key}))
    return found


def _section_entries(known: dict[str, Page]) -> list[tuple[int, str, dict[str, str]]]:
    """Hugo's ``sectionPagesMenu = "main"``: each top-level section, by its weight."""
    found = []
    folders = {page.rel.split("/")[0] for page in known.values() if "/" in page.rel}
    bundles = {page.key for page in known.values()
               if "/" not in page.key and page.rel.split("/")[-1].startswith("index.")}
    for section in sorted(folders - bundles):
        intro = known.get(section.lower())
        name = intro.title if intro else section
        weight = get(intro.fields, "weight") if intro else 0
        found.append((weight if isinstance(weight, int) else 0, name,
                      {"name": name, "page": section}))
    return found


def _section_names(pages: list[Page]) -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {}
    for page in pages:
        title = get(page.fields, "title")
        if page.key and "/" not in page.key and page.rel.endswith(("/_index.md", "/_index.html",
                                                                  "/_index.markdown")) and title:
            names.setdefault(page.key, {})[page.code] = html.unescape(str(title))
    return dict(sorted(names.items()))


def _shortcodes(site: Path, data: Mapping[str, Any], items: list[Item], pages: list[Page],
                report: Report) -> tuple[dict[str, str], dict[str, str]]:
    """Placeholder templates (path in the new site → text) for the shortcodes used in the
    content that newshub's theme lacks, and the params ``param`` asks for that neither
    the page nor the configuration has (key → first place)."""
    found: dict[str, hugo_shortcodes.Shortcode] = {}
    for item in items:
        if not item.code or not hugo_content.is_content(item.rel):
            continue
        try:
            text = item.source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        folder = item.rel.rsplit("/", 1)[0] if "/" in item.rel else ""
        stem = item.rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        bundle = item.source.parent if stem in ("index", "_index") else None
        use = hugo_shortcodes.Use(item.source.relative_to(site).as_posix(), 0, item.code,
                                  folder, bundle, "")
        hugo_shortcodes.scan(found, text, use)
    builtin = hugo_shortcodes.builtin_names()
    themes = _theme_names(data)
    defined = hugo_shortcodes.site_shortcodes(site, themes)
    docsy = any("docsy" in name.lower() for name in themes) or "docsy" in repr(
        get(data, "module") or "").lower() or any(
        name.startswith(("blocks/", "td/")) for name in found)
    templates: dict[str, str] = {}
    used = [entry for name, entry in sorted(found.items()) if entry.uses]
    for entry in used:
        if entry.name in builtin:
            continue
        origin = _origin(entry.name, defined, docsy, themes)
        notes: list[str] = []
        text = hugo_shortcodes.template_for(entry, origin, notes)
        kind = "paired" if entry.paired else "single"
        line = (f"{entry.name} ({origin}, {kind}, {len(entry.uses)} "
                f"use{'s' if len(entry.uses) != 1 else ''}: {entry.places()})")
        if text is None:
            report.attention.extend(notes)
            continue
        path = f"themes/default/shortcodes/{entry.name}.html"
        templates[path] = text
        report.shortcodes.append(f"{line} → {path}")
        if entry.name == "readfile":
            report.attention.append(f"readfile ({entry.places()}): newshub cannot include "
                                    "another file in a page; its template stops the build "
                                    "at each use until you paste the file's text in place")
        report.attention.extend(notes)
    missing = _missing_params(found["param"], data, pages, report) if "param" in found else {}
    known = sum(1 for entry in used if entry.name in builtin)
    if known:
        report.converted.append(f"{known} shortcode{'s' if known != 1 else ''} newshub has "
                                "built in: " + ", ".join(e.name for e in used
                                                         if e.name in builtin))
    overridden = sorted(name for name in builtin if defined.get(name) and name in found)
    if overridden:
        report.left_out.append("the Hugo site's own versions of " + ", ".join(overridden)
                               + ": newshub's built-in templates are used instead")
    return templates, missing


def _missing_params(shortcode: hugo_shortcodes.Shortcode, data: Mapping[str, Any],
                    pages: list[Page], report: Report) -> dict[str, str]:
    """Each ``{{< param KEY >}}`` whose key neither the page nor the site's params hold."""
    fields = {page.source: page.fields for page in pages}
    params = get(data, "params") or {}
    missing: dict[str, str] = {}
    for use in shortcode.uses:
        key = hugo_shortcodes.first_argument(use.arguments)
        if key and get(fields.get(use.shown, {}), key) is None and get(params, key) is None:
            missing.setdefault(key, f"{use.shown}:{use.line}")
            report.attention.append(f"param {key} at {use.shown}:{use.line}: neither the "
                                    f"page's front matter nor the Hugo configuration's params "
                                    f"have {key!r}; fill in the empty {key} in [params] in "
                                    "site.toml")
    return dict(sorted(missing.items()))


def _theme_names(data: Mapping[str, Any]) -> list[str]:
    theme = get(data, "theme")
    return [theme] if isinstance(theme, str) else [str(t) for t in theme or ()
                                                   if isinstance(t, str)]


DOCSY = frozenset({"alert", "pageinfo", "imgproc", "tabpane", "tab", "readfile", "swaggerui",
                   "redoc", "iframe", "card", "cardpane", "conditional-text", "_param",
                   "comment", "blocks/cover", "blocks/lead", "blocks/section",
                   "blocks/feature", "blocks/link-down"})
HUGO_BUILTIN = frozenset({"gist", "instagram", "qr", "twitter", "tweet", "x", "comment",
                          "twitter_simple", "vimeo_simple", "youtube_simple"})


def _origin(name: str, defined: Mapping[str, str], docsy: bool, themes: list[str]) -> str:
    if name in defined:
        return defined[name]
    if name in HUGO_BUILTIN:
        return "Hugo's built-in"
    if docsy and (name in DOCSY or name.startswith(("blocks/", "td/"))):
        return "Docsy's"
    if themes:
        return f"the theme {' or '.join(themes)}'s"
    return "a theme's or module's"


def _counts(plan: hugo_content.Plan, items: list[Item], roots: list[Root],
            report: Report) -> None:
    content = plan.items
    per = {root.code: sum(1 for item in content if item.code == root.code) for root in roots}
    statics = sum(1 for item in items if item.target.startswith("static/"))
    report.converted.append(
        f"content/: {len(content)} file{'s' if len(content) != 1 else ''} copied " +
        ("as they are" if plan.as_is else
         "(" + ", ".join(f"{code} {count}" for code, count in per.items()) + ")"))
    if statics:
        report.converted.append(f"static/: {statics} file{'s' if statics != 1 else ''} "
                                "copied")
    other = sorted({Path(item.rel).suffix.lower() for item in content
                    if item.code and hugo_content.is_content(item.rel)} -
                   {".md", ".markdown"})
    if other:
        report.left_out.append("content in other formats than Markdown (" + ", ".join(other)
                               + "): copied as it is; newshub reads Markdown")


def _not_imported(site: Path, data: Mapping[str, Any], languages: list[Language],
                  pages: list[Page], report: Report) -> None:
    for name, why in NOT_IMPORTED.items():
        folder = site / name
        if folder.is_dir():
            count = sum(1 for path in folder.rglob("*") if path.is_file())
            if count:
                report.left_out.append(f"{name}/ ({count} file{'s' if count != 1 else ''}): "
                                       f"{why}")
    settings = []
    for key in sorted(data, key=str.lower):
        lower = str(key).lower()
        if lower in SETTINGS_WHY:
            report.left_out.append(f"{key}: {SETTINGS_WHY[lower]}")
        elif lower not in HANDLED:
            settings.append(str(key))
    if settings:
        report.left_out.append("Hugo settings newshub does not read: " + ", ".join(settings))
    if str(get(data, "languageCode") or "").lower() not in ("", languages[0].key):
        report.left_out.append(f"languageCode {get(data, 'languageCode')!r}: newshub uses "
                               "the language's code, " + languages[0].code)
    for key, why in (("layout", "custom layouts"), ("type", "content types"),
                     ("outputs", "output formats")):
        using = [page.source for page in pages if get(page.fields, key)]
        if using:
            report.left_out.append(f"front matter {key!r} ({why}) on {len(using)} page"
                                   f"{'s' if len(using) != 1 else ''}, e.g. {using[0]}: "
                                   "ignored (every page uses the theme's templates)")


def _write_all(target: Path, items: list[Item], site_text: str,
               templates: Mapping[str, str], report: Report) -> None:
    target.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(target))
    for item in items:
        _write(root, item.target, item.source.read_bytes(),
               item.source.stat().st_mtime_ns)
        report.written.append(item.target)
    _write(root, "site.toml", site_text.encode("utf-8"))
    report.written.append("site.toml")
    for path, text in templates.items():
        _write(root, path, text.encode("utf-8"))
        report.written.append(path)


def _write(root: Path, relative: str, data: bytes, mtime_ns: int | None = None) -> None:
    """Write one file under ``root``, never through a symlink or outside it."""
    parts = relative.split("/")
    if any(part in ("", ".", "..") or "\x00" in part for part in parts):
        raise HugoImportError(f"refused to write {relative!r}: not a plain relative path")
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise HugoImportError(f"refused to write into {folder}: a symlink or a file")
        folder.mkdir(exist_ok=True)
    path = folder / parts[-1]
    if path.is_symlink():
        raise HugoImportError(f"refused to write {path}: a symlink")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o644), "wb") as stream:
        stream.write(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(value: str) -> str:
    out = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\u{code:04x}"))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A TOML value: text, numbers, booleans, dates, lists and one-line tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value
                                                               else repr(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")

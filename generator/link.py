"""Link phase: pages joined into a ``Site`` (translations, sections, tags).

Collisions are found here, before anything is written: two sources that want the
same URL, or two versions of one story in the same language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType

from generator import permalinks, shortcodes
from generator.config import SiteConfig
from generator.deps import digest, page_key
from generator.errors import Problem, error, warning
from generator.model import Asset, Page, Site, replaced

INHERITED = ("date", "image", "image_alt", "tags", "urgent")
MOMENTS = tuple(map(attrgetter, ("date", "publish_at", "expires")))  # publish or withdraw
SORT_KEY = attrgetter("sort_key")


def link_site(config: SiteConfig, pages: Iterable[Page], assets: tuple[Asset, ...] = (),
              now: datetime | None = None,
              bodies: Callable[[Page], str] | None = None) -> tuple[Site, list[Problem]]:
    """Group pages; return the site and any collisions found. ``bodies`` restores the
    HTML body of a page record read from the cache index without it.

    Translations first take what they do not set from their source; then drafts and
    future posts are left out (unless the config includes them), with the files in
    their bundles' subfolders.
    """
    problems: list[Problem] = []
    now = now or datetime.now(UTC)
    inherited: set[str] = set()
    complete = _permalinked(config, inherit(config, list(pages), problems, inherited),
                            problems)
    published = [page for page in (_schedule(page, now) for page in complete)
                 if config.include_drafts or not (page.draft or page.scheduled
                                                  or _expired(page, now))]
    unique = _unique_paths(published, problems)
    problems.extend(_alias_problems(config, unique))
    order = {code: index for index, code in enumerate(config.language_codes)}
    by_id = {page.id: page for page in sorted(unique, key=lambda p: (order[p.lang], p.id))}
    translations = _translation_groups(by_id.values(), problems)
    problems.extend(_broken_refs(config, by_id))
    articles: dict[str, list[Page]] = defaultdict(list)
    sections: dict[str, dict[str, list[Page]]] = defaultdict(lambda: defaultdict(list))
    tags: dict[str, dict[str, list[Page]]] = defaultdict(lambda: defaultdict(list))
    static: dict[str, list[Page]] = defaultdict(list)
    intros: dict[str, dict[str, str]] = defaultdict(dict)  # lang → section → its _index.md
    terms: dict[str, dict[str, dict[str, list[Page]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))  # lang → taxonomy → term → pages
    for page in sorted(by_id.values(), key=SORT_KEY):  # every list: newest first
        key = "/".join(page.sections)
        prefixes = _prefixes(page.sections)
        for prefix in prefixes:  # every section exists, if only by its folder
            sections[page.lang].setdefault(prefix, [])
        if page.kind == "section":
            intros[page.lang][key] = page.id
            continue
        if not page.listed:
            continue
        if page.kind == "page" and not page.sections:
            static[page.lang].append(page)
        elif page.kind == "page":
            sections[page.lang][key].append(page)  # undated: its own section only
        else:
            articles[page.lang].append(page)
            for prefix in prefixes:
                sections[page.lang][prefix].append(page)
        for tag in page.tags:
            tags[page.lang][tag].append(page)
        for taxonomy, values in page.terms.items():
            for term in values:
                terms[page.lang][taxonomy][term].append(page)
    urgent = {lang: next((p.id for p in pages if p.urgent), "") for lang, pages in articles.items()}
    listed = _listed(config, articles, sections, translations, by_id)
    children = {lang: _children(own, intros.get(lang, {}), by_id)
                for lang, own in listed.items()}
    menus = {lang: _menu(config, lang, by_id, translations, problems)
             for lang in config.language_codes}
    frames = {lang: digest(tuple(listed[lang]), tuple((p.id, page_key(p))
                                                      for p in static.get(lang, [])),
                           urgent.get(lang, ""),
                           page_key(by_id[urgent[lang]]) if urgent.get(lang) else "",
                           menus[lang],
                           tuple((k, page_key(by_id[i])) for k, i in intros[lang].items()),
                           tuple(children.get(lang, {}).items()))
              for lang in config.language_codes}
    versions = {key: tuple((by_id[i].lang, by_id[i].path) for i in ids)
                for key, ids in translations.items()}
    site = Site(
        config=config,
        pages=MappingProxyType(by_id),
        translations=MappingProxyType(translations),
        articles=_freeze_list({lang: articles.get(lang, []) for lang in config.language_codes}),
        tags=_freeze_nested(tags, config.language_codes),
        static_pages=_freeze_list({lang: static.get(lang, []) for lang in config.language_codes}),
        assets=tuple(asset for asset in assets if not asset.owner or asset.owner in by_id),
        urgent=MappingProxyType(urgent),
        frames=MappingProxyType(frames),
        listed=_freeze_nested(listed, config.language_codes),
        intros=MappingProxyType({lang: MappingProxyType(intros.get(lang, {}))
                                 for lang in config.language_codes}),
        children=MappingProxyType({lang: MappingProxyType(children.get(lang, {}))
                                   for lang in config.language_codes}),
        terms=MappingProxyType({lang: _freeze_nested(terms[lang], tuple(terms[lang]))
                                for lang in config.language_codes}),
        menus=MappingProxyType(menus),
        versions=MappingProxyType(versions),
        keys=MappingProxyType({pid: page_key(page) for pid, page in by_id.items()}),
        bodies=bodies,
        inherited=frozenset(inherited),
    )
    return site, problems


def ref_target(pages: Mapping[str, Page], lang: str, folder: str, path: str) -> Page | None:
    """The page a ``ref`` shortcode means, as Hugo finds it: beside its page, then from
    the language root, then the one page of the language whose path ends so."""
    candidates = shortcodes.ref_candidates(folder, path)
    for candidate in candidates:
        found = pages.get(f"{lang}/{candidate}" if candidate else f"{lang}/_index")
        if found is not None:
            return found
    if path.startswith("/") or not candidates[-1]:
        return None
    tail = "/" + candidates[-1]
    matches = [page for pid, page in pages.items() if pid.startswith(f"{lang}/")
               and pid.endswith(tail)]
    return matches[0] if len(matches) == 1 else None


def _broken_refs(config: SiteConfig, by_id: Mapping[str, Page]) -> Iterable[Problem]:
    for page in by_id.values():
        for lang, folder, path in page.refs:
            if ref_target(by_id, lang, folder, path) is None:
                yield error(page.source, _line_with(config.root / page.source, path),
                            f"ref '{path}' leads to no page in '{lang}' (a source path under "
                            f"content/{lang}/, such as news/water-points.md)")


def _line_with(path: Path, text: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return next((number for number, line in enumerate(lines, 1) if text in line), None)


def _menu(config: SiteConfig, lang: str, by_id: Mapping[str, Page],
          translations: Mapping[str, tuple[str, ...]],
          problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    """The language's menu as (name, site path or URL): its own from site.toml, or else
    the default language's page items whose pages exist in this language."""
    own = config.language(lang).menu
    if own:
        items = []
        for item in own:
            path = _menu_target(config, lang, item.page, by_id) if item.page else item.url
            if not path:
                problems.append(warning(Path("site.toml"), None,
                                        f"languages.{lang}.menu: no page or section "
                                        f"'{item.page}' in content/{config.language(lang).folder}"
                                        "/ (item left out)"))
                continue
            items.append((item.name, path))
        return tuple(items)
    default = config.language(config.default_language).menu
    found = []
    for item in default:
        source = by_id.get(f"{config.default_language}/{item.page}") if item.page else None
        if source is None:
            continue
        version = next((by_id[i] for i in translations.get(source.translation_key, ())
                        if by_id[i].lang == lang), None)
        if version is not None:
            found.append((version.title, version.path))
    return tuple(found)


def _menu_target(config: SiteConfig, lang: str, name: str,
                 by_id: Mapping[str, Page]) -> str:
    """The site path of a menu item's page, or of the section of that name (a folder,
    with or without an _index.md), "" when there is neither."""
    page = by_id.get(f"{lang}/{name}") or by_id.get(f"{lang}/{name}/_index")
    if page is not None:
        return page.path
    prefix = f"{lang}/{name}/"
    if any(pid.startswith(prefix) for pid in by_id):
        return config.root_path(lang) + name.strip("/") + "/"
    return ""


def inherit(config: SiteConfig, pages: list[Page], problems: list[Problem],
            inherited: set[str] | None = None) -> list[Page]:
    """Translations take the date, image, tags and urgency they do not set from their
    source: the default language's version, or the one ``translation_of`` names (the
    translation keys where one did are added to ``inherited``)."""
    groups: dict[str, dict[str, Page]] = defaultdict(dict)
    for page in pages:
        groups[page.translation_key].setdefault(page.lang, page)
    done: dict[str, Page] = {}

    def resolve(page: Page, chain: tuple[str, ...]) -> Page:
        """The page with its source's fields, the source resolved first (chains work)."""
        if page.id in done:
            return done[page.id]
        versions = groups[page.translation_key]
        source = versions.get(page.translation_of or config.default_language)
        if page.translation_of and source is None:
            problems.append(error(page.source, 1, f"translation_of '{page.translation_of}': "
                                                  "there is no version of this story in "
                                                  "that language"))
        if source is not None and source is not page and source.id not in chain:
            taken = _inherit_from(page, resolve(source, (*chain, page.id)))
            if taken is not page and inherited is not None:
                inherited.add(page.translation_key)
            page = taken
        done[page.id] = page
        return page

    result = []
    for original in pages:
        page = resolve(original, (original.id,))
        if page.kind == "article" and page.date is None:  # an undated page of its section
            page = replaced(page, kind="page")
        result.append(page)
    return result


def _permalinked(config: SiteConfig, pages: list[Page], problems: list[Problem]) -> list[Page]:
    """Pages at the addresses ``[permalinks]`` gives them (after ``inherit``: a
    translation is dated like its source). A bundle photo named under a moved page's
    old address (the page's own, or its source's for a translation) moves with it."""
    moved = permalinks.addresses(config, pages, problems)
    if not moved:
        return pages
    by_old_path = {page.path: moved[page.id] for page in pages if page.id in moved}
    static = config.root / "static"
    result = []
    for page in pages:
        folder, _, name = page.image.rpartition("/")
        new_folder = by_old_path.get(folder + "/")
        changes: dict[str, object] = {"path": moved[page.id]} if page.id in moved else {}
        if new_folder and page.image_file and not page.image_file.is_relative_to(static):
            changes["image"] = new_folder + name
        result.append(replaced(page, **changes) if changes else page)
    return result


def _inherit_from(page: Page, source: Page) -> Page:
    changes: dict[str, object] = {}
    for name in INHERITED:
        if name not in page.fields_set and getattr(source, name):
            changes[name] = getattr(source, name)
    if "image" in changes:
        changes.update(image_size=source.image_size, image_file=source.image_file)
        if "image_alt" in page.fields_set:
            changes.pop("image_alt", None)
    if source.resources and page.source.name == "index.md":  # a translation's bundle uses
        own = {path.name for path in page.resources}      # its source's photos, no copies
        shared = tuple(path for path in source.resources if path.name not in own)
        if shared:
            changes["resources"] = (*page.resources, *shared)
    if not changes:
        return page
    return replaced(page, **changes, digest=digest(page.digest, source.digest))


def _schedule(page: Page, now: datetime) -> Page:
    later = (page.date and page.date > now) or (page.publish_at and page.publish_at > now)
    return replaced(page, scheduled=True) if later else page


def _expired(page: Page, now: datetime) -> bool:
    return page.expires is not None and page.expires <= now


def publication_window(pages: Sequence[Page], now: datetime) -> tuple[float, float]:
    """The moments (POSIX seconds) around ``now`` between which linking ``pages``
    publishes the same pages: the latest ``date``, ``publish_date`` or ``expiry_date``
    at or before ``now`` (-inf: none) and the earliest after it (inf: none). A build
    holds for any clock in [since, due): at another moment in it, nothing falls due or
    expires, so a build with ``--now`` moved within it has nothing to do.

    Compared as timestamps, in C loops (datetimes of different offsets compare a few
    times slower than their timestamps are made): ~0.1 s for 100,000 pages."""
    stamps = list(chain.from_iterable(map(datetime.timestamp, filter(None, map(moment, pages)))
                                      for moment in MOMENTS))
    clock = now.timestamp()
    return (max(filter(clock.__ge__, stamps), default=float("-inf")),
            min(filter(clock.__lt__, stamps), default=float("inf")))


def _prefixes(sections: tuple[str, ...]) -> tuple[str, ...]:
    """A section and the sections it is in: ("docs", "tasks") → "docs", "docs/tasks"."""
    return tuple("/".join(sections[:n]) for n in range(1, len(sections) + 1))


def section_order(pages: Iterable[Page]) -> list[Page]:
    """Hugo's order for a section: by weight (unweighted last), newest first, then by
    title: news stays newest first, weighted docs come in their order."""
    return sorted(pages, key=section_key)


def section_key(page: Page) -> tuple[bool, int, float, str, str]:
    """A page's place in its section's list (``section_order``)."""
    date = page.date  # (``page.sort_key[0]``, without the property's call)
    return (page.weight == 0, page.weight, -(date.timestamp() if date else 0.0),
            (page.link_title or page.title).casefold(), page.id)


def _children(listed: Mapping[str, list[Page]], intros: Mapping[str, str],
              by_id: Mapping[str, Page]) -> dict[str, tuple[str, ...]]:
    """Each section's subsections ("" holds the top ones), in weight, then title order."""
    found: dict[str, list[str]] = defaultdict(list)
    for key in listed:
        if key:
            found[key.rsplit("/", 1)[0] if "/" in key else ""].append(key)

    def order(key: str) -> tuple[bool, int, str]:
        intro = by_id.get(intros.get(key, ""))
        weight = intro.weight if intro else 0
        title = (intro.link_title or intro.title) if intro else key.rsplit("/", 1)[-1]
        return (weight == 0, weight, title.casefold())

    return {parent: tuple(sorted(keys, key=order)) for parent, keys in found.items()}


def _alias_problems(config: SiteConfig, pages: list[Page]) -> Iterable[Problem]:
    """An old address may lead to one page only, and never where a page is. Versions
    of one story may share an old address (it was the story's before the site had
    languages): it leads to the first language's version."""
    order = {code: index for index, code in enumerate(config.language_codes)}
    aliased = [page for page in pages if page.aliases]
    if not aliased:
        return
    taken = {page.path: page for page in pages}
    for page in sorted(aliased, key=lambda p: (order[p.lang], p.id)):
        for alias in page.aliases:
            other = taken.get(alias)
            if other is not None and other is not page:
                if other.translation_key != page.translation_key or other.path == alias:
                    yield error(page.source, None, f"alias {alias} is also the address of "
                                                   f"{other.source}")
                continue
            taken[alias] = page


def _listed(config: SiteConfig, articles: Mapping[str, list[Page]],
            sections: Mapping[str, Mapping[str, list[Page]]],
            translations: Mapping[str, tuple[str, ...]],
            by_id: Mapping[str, Page]) -> dict[str, dict[str, list[Page]]]:
    """What each language lists: its own articles by section ("" is the home), plus,
    where ``fallback`` says so, stories of those languages it has no version of."""
    listed: dict[str, dict[str, list[Page]]] = {}
    for language in config.languages:
        lang = language.code
        own: dict[str, list[Page]] = {"": list(articles.get(lang, []))}
        for section, members in sections.get(lang, {}).items():
            own[section] = list(members)
        taken = {p.translation_key for p in articles.get(lang, [])}
        for fallback in language.fallback:
            for page in articles.get(fallback, []):
                if page.translation_key in taken:
                    continue
                langs = {by_id[i].lang for i in translations.get(page.translation_key, ())}
                if lang in langs:
                    continue
                taken.add(page.translation_key)
                own[""].append(page)
                for prefix in _prefixes(page.sections):
                    own.setdefault(prefix, []).append(page)
        if language.fallback:  # merged lists: newest first again
            own[""] = sorted(own[""], key=SORT_KEY)
        listed[lang] = {key: pages if not key else section_order(pages)
                        for key, pages in own.items()}
    return listed


def _unique_paths(pages: list[Page], problems: list[Problem]) -> list[Page]:
    """The pages, one per site path: the first by source path keeps it (in any order:
    the caller orders them)."""
    if len({page.path for page in pages}) == len(pages):
        return pages  # (no two share one: the common case, without the sort)
    seen: dict[str, Page] = {}
    for page in sorted(pages, key=lambda p: str(p.source)):
        other = seen.get(page.path)
        if other is None:
            seen[page.path] = page
            continue
        problems.append(error(page.source, 1, f"URL {page.path} is already used by "
                                              f"{other.source}; change the slug of one of them"))
    return list(seen.values())


def _translation_groups(pages: Iterable[Page],
                        problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[Page]] = defaultdict(list)
    first: dict[tuple[str, str], Page] = {}  # each group's version in each language
    for page in pages:
        clash = first.setdefault((page.translation_key, page.lang), page)
        if clash is not page:
            problems.append(error(page.source, 1, f"translation_key '{page.translation_key}' "
                                                  f"is already used in '{page.lang}' by "
                                                  f"{clash.source}"))
            continue
        groups[page.translation_key].append(page)
    return {key: tuple(p.id for p in members) for key, members in sorted(groups.items())}


def _ids(pages: list[Page]) -> tuple[str, ...]:
    return tuple(map(_ID, pages))


_ID = attrgetter("id")


def _freeze_list(table: Mapping[str, list[Page]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: _ids(pages) for key, pages in table.items()})


def _freeze_nested(table: Mapping[str, Mapping[str, list[Page]]],
                   languages: tuple[str, ...]) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    return MappingProxyType({
        lang: MappingProxyType({key: _ids(pages)
                                for key, pages in sorted(table.get(lang, {}).items())})
        for lang in languages
    })

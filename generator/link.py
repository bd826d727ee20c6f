"""Link phase: pages joined into a ``Site`` (translations, sections, tags).

Collisions are found here, before anything is written: two sources that want the
same URL, or two versions of one story in the same language.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from generator.config import SiteConfig
from generator.deps import digest, page_key
from generator.errors import Problem, error
from generator.model import Asset, Page, Site


def link_site(config: SiteConfig, pages: Iterable[Page],
              assets: tuple[Asset, ...] = ()) -> tuple[Site, list[Problem]]:
    """Group pages; return the site and any collisions found."""
    problems: list[Problem] = []
    unique = _unique_paths(pages, problems)
    order = {code: index for index, code in enumerate(config.language_codes)}
    by_id = {page.id: page for page in sorted(unique, key=lambda p: (order[p.lang], p.id))}
    translations = _translation_groups(by_id.values(), problems)
    articles: dict[str, list[Page]] = defaultdict(list)
    sections: dict[str, dict[str, list[Page]]] = defaultdict(lambda: defaultdict(list))
    tags: dict[str, dict[str, list[Page]]] = defaultdict(lambda: defaultdict(list))
    static: dict[str, list[Page]] = defaultdict(list)
    for page in by_id.values():
        if page.kind == "page":
            static[page.lang].append(page)
            continue
        articles[page.lang].append(page)
        sections[page.lang][page.section].append(page)
        for tag in page.tags:
            tags[page.lang][tag].append(page)
    urgent = {lang: next((p.id for p in sorted(pages, key=lambda p: p.sort_key) if p.urgent), "")
              for lang, pages in articles.items()}
    frames = {lang: digest(tuple(sections[lang]), tuple((p.id, page_key(p))
                                                        for p in static.get(lang, [])),
                           urgent.get(lang, ""),
                           page_key(by_id[urgent[lang]]) if urgent.get(lang) else "")
              for lang in config.language_codes}
    site = Site(
        config=config,
        pages=MappingProxyType(by_id),
        translations=MappingProxyType(translations),
        articles=_freeze_list({lang: articles.get(lang, []) for lang in config.language_codes}),
        sections=_freeze_nested(sections, config.language_codes),
        tags=_freeze_nested(tags, config.language_codes),
        static_pages=_freeze_list({lang: static.get(lang, []) for lang in config.language_codes}),
        assets=assets,
        urgent=MappingProxyType(urgent),
        frames=MappingProxyType(frames),
    )
    return site, problems


def _unique_paths(pages: Iterable[Page], problems: list[Problem]) -> list[Page]:
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
    for page in pages:
        clash = next((p for p in groups[page.translation_key] if p.lang == page.lang), None)
        if clash is not None:
            problems.append(error(page.source, 1, f"translation_key '{page.translation_key}' "
                                                  f"is already used in '{page.lang}' by "
                                                  f"{clash.source}"))
            continue
        groups[page.translation_key].append(page)
    return {key: tuple(p.id for p in members) for key, members in sorted(groups.items())}


def _sorted_ids(pages: list[Page]) -> tuple[str, ...]:
    return tuple(p.id for p in sorted(pages, key=lambda p: p.sort_key))


def _freeze_list(table: Mapping[str, list[Page]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: _sorted_ids(pages) for key, pages in table.items()})


def _freeze_nested(table: Mapping[str, Mapping[str, list[Page]]],
                   languages: tuple[str, ...]) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    return MappingProxyType({
        lang: MappingProxyType({key: _sorted_ids(pages)
                                for key, pages in sorted(table.get(lang, {}).items())})
        for lang in languages
    })

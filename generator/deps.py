"""Dependency digests: what each output was made from, so a rebuild renders only the
outputs whose inputs changed.

An output's full key combines the site-wide salt (config, theme assets, engine
version), the template files it can reach (``jinja2.meta`` closure), the catalog of
its language, and the job's own key, which each output kind computes from the
records it hands its template. This works because templates receive everything
through their context and never fetch data behind the engine's back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from generator.config import SiteConfig
from generator.theme import locale_layers

if TYPE_CHECKING:  # (generator.model: not imported by a rebuild with nothing to do)
    import jinja2

    from generator.cache import Store
    from generator.model import Page

ENGINE_VERSION = 1  # bump when the same inputs should give different outputs


def digest(*parts: object) -> str:
    """A short, stable digest of plain values (str, int, tuples, dates, None)."""
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=16).hexdigest()


def digest_with(parts: tuple[object, ...], text: str) -> str:
    """A digest of plain parts and a text (such as reprs joined by line breaks, made
    once for several digests): the text is hashed as it is, not as its repr."""
    hashed = hashlib.blake2b(repr(parts).encode("utf-8") + b"\n", digest_size=16)
    hashed.update(text.encode("utf-8", "surrogatepass"))  # (parts' repr has no "\n")
    return hashed.hexdigest()


def joined(strings: Sequence[str]) -> str:
    """Strings as one text that tells them apart (``len(strings)`` known): joined by NULs,
    which no record's text holds; or, when one does, NULs more than that and their repr."""
    text = "\0".join(strings)
    if text.count("\0") == len(strings) - 1 or not strings:
        return text
    return "\0" * (len(strings) + 1) + repr(tuple(strings))


@lru_cache(maxsize=1 << 16)
def remembered_digest_with(parts: tuple[object, ...], text: str) -> str:
    """``digest_with``, remembered: planning digests the same inputs for every output on
    every rebuild, and a dict lookup is cheaper than the hash."""
    return digest_with(parts, text)


@lru_cache(maxsize=1 << 16)
def remembered_digest_of_repr(text: str) -> str:
    """``digest(*parts)``, given ``repr(parts)`` (made of pieces reused by several
    digests), remembered as ``remembered_digest_with`` is."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def page_key(page: Page) -> str:
    """Everything a page record holds: its content digest covers the bytes it was made
    from, the id and path cover where those bytes sit, plus its scheduled state."""
    return f"{page.id}|{page.path}|{page.digest}{'|scheduled' if page.scheduled else ''}"


def file_stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


def site_salt(config: SiteConfig, assets: Mapping[str, str]) -> str:
    """What every output depends on: the configuration and the theme's asset URLs."""
    # Which languages a build writes does not change what any one file contains.
    return digest(ENGINE_VERSION, repr(replace(config, only_languages=())),
                  tuple(sorted(assets.items())))


TEMPLATES_ENTRY = "template-digests"  # in the cache: the last digests, by the files' stamps


def template_digests(folders: Sequence[Path], store: Store | None = None) -> Mapping[str, str]:
    """Each template's digest over itself and every template it extends or includes, each
    name read from the first theme layer that has it (parsed again only when a template
    file's size or mtime changed: a new process takes them from ``store``)."""
    layers = tuple(folders)
    files = _layered(layers)
    stamps = tuple(file_stamp(path) for path in files.values())
    found = _MADE.get((layers, stamps))
    if found is None and store is not None:
        found = _stored_digests(store, (tuple(map(str, layers)), stamps))
    if found is None:
        found = _template_digests(layers)
        if store is not None:
            store.write(TEMPLATES_ENTRY, ((tuple(map(str, layers)), stamps), dict(found)))
    if len(_MADE) >= 8:
        _MADE.clear()
    _MADE[(layers, stamps)] = found
    return found


_MADE: dict[tuple[tuple[Path, ...], tuple[tuple[str, int, int], ...]], Mapping[str, str]] = {}


def _stored_digests(store: Store, key: object) -> Mapping[str, str] | None:
    kept = store.read(TEMPLATES_ENTRY)
    if not (type(kept) is tuple and len(kept) == 2 and kept[0] == key and
            type(kept[1]) is dict and
            all(type(name) is str and type(value) is str for name, value in kept[1].items())):
        return None
    return MappingProxyType(kept[1])


def _layered(folders: tuple[Path, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if name not in found and path.is_file():
                found[name] = path
    return dict(sorted(found.items()))


def _template_digests(folders: tuple[Path, ...]) -> Mapping[str, str]:
    import jinja2  # here: a rebuild with nothing to do never loads Jinja (snapshot.py)
    from jinja2.ext import i18n as I18nExtension

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders),
                             extensions=[I18nExtension])
    files = _layered(folders)
    names = list(files)
    sources = {name: path.read_bytes() for name, path in files.items()}
    references = {name: _references(env, name, sources[name], names) for name in names}
    return MappingProxyType({
        name: digest(tuple((n, sources.get(n)) for n in sorted(_closure(name, references))))
        for name in names})


def _references(env: jinja2.Environment, name: str, source: bytes,
                names: list[str]) -> set[str]:
    import jinja2
    import jinja2.meta

    try:
        found = list(jinja2.meta.find_referenced_templates(env.parse(source.decode("utf-8"))))
    except (jinja2.TemplateSyntaxError, UnicodeDecodeError):
        return set()  # rendering will report it; the file's own bytes are in its digest
    return set(names) if None in found else {ref for ref in found if ref}


def _closure(name: str, references: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(references.get(current, ()))
    return seen


def catalog_digests(config: SiteConfig) -> dict[str, str]:
    """Each language's catalog files (the site's and the bundled one), as a digest
    ("" when it has none)."""
    from generator import i18n  # Babel's catalogs: not for a rebuild with nothing to do

    result = {}
    for code in config.language_codes:
        paths = [i18n.catalog_path(folder, code) for folder in locale_layers(config)]
        found = tuple(path.read_bytes() for path in paths if path.is_file())
        result[code] = digest(found) if found else ""
    return result

"""Immutable records of a site: pages, and the site that links them by id."""

from __future__ import annotations

import copyreg
import os
import sys
import types
import typing
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from functools import cache, partial
from itertools import repeat
from operator import attrgetter, call
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from generator.config import SiteConfig

EMPTY: Mapping[str, Any] = MappingProxyType({})

# Records hold read-only mappings; let them travel to worker processes and the cache.
def read_only(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(mapping)


copyreg.pickle(MappingProxyType, lambda proxy: (read_only, (dict(proxy),)))

PATH_CLASS = type(Path())  # PosixPath, or WindowsPath


def _parsed_parts_maker() -> Callable[[str, str, list[str]], Path] | None:
    """pathlib's constructor from parts already split (Python 3.11's), where this
    Python has it and it makes what parsing makes; None elsewhere."""
    make = getattr(PATH_CLASS, "_from_parsed_parts", None)
    try:
        made = make("", "/", ["/", "a", "b"]) if make is not None and os.sep == "/" else None
    except Exception:  # another signature (3.12 made it a method of a path)
        return None
    if made != PATH_CLASS("/a/b") or str(made) != "/a/b":
        return None
    made._str = "/a/b"  # (path_of sets the text str() would make: a slot of 3.11's paths)
    return make if str(made) == "/a/b" else None


_FROM_PARTS = _parsed_parts_maker()


def path_of(text: str) -> Path:
    """A path pickled as its text (``copyreg`` below). pathlib pickles a path as its
    parts, and parses them again on reading (~10 us a path, a third of reading a page
    record); a plain path's parts are split here instead (each name interned, as
    pathlib's parser does)."""
    parts = text.split("/")
    if _FROM_PARTS is None or len(parts) < 2 or "" in parts[1:] or "." in parts or \
            parts[0] in (".", ".."):  # (anything unusual: parsed as pathlib parses it)
        return PATH_CLASS(text)
    if parts[0]:
        made = _FROM_PARTS("", "", list(map(sys.intern, parts)))
    else:
        parts[0] = "/"
        made = _FROM_PARTS("", "/", list(map(sys.intern, parts)))
    made._str = text  # what str() makes of it (it is pickled so: a Python call less)
    return made


copyreg.pickle(PATH_CLASS, lambda path: (path_of, (str(path),)))


R = TypeVar("R")


@cache
def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@cache
def field_values(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving a record's field values in order (one C call for all)."""
    names = field_names(cls)
    getter = attrgetter(*names)
    return getter if len(names) > 1 else lambda record: (getter(record),)


def replaced(record: R, **changes: Any) -> R:
    """``dataclasses.replace`` without its introspection on every call (records are
    copied tens of thousands of times a build): made by the class's twin (``maker``)
    where it has one, three times as fast as its ``__init__``."""
    cls = type(record)
    values = list(field_values(cls)(record))
    positions = field_positions(cls)
    for name, value in changes.items():
        if name not in positions:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        values[positions[name]] = value
    return quick_maker(cls)(*values)


@cache
def field_positions(cls: type) -> dict[str, int]:
    """Each field's place among ``field_names``."""
    return {name: index for index, name in enumerate(field_names(cls))}


@cache
def quick_maker(cls: type[R]) -> Callable[..., R]:
    """What makes a ``cls`` record from what its ``__init__`` takes (positions and
    keywords): a twin of the class (``maker``), three times as fast, where its layout
    allows one (its ``__init__`` then checks nothing, as the dataclass's does not);
    else the class itself (whose ``__post_init__`` runs)."""
    made = _MAKERS.get(cls) or _twin_maker(cls)
    return made if isinstance(made, type) else cls


@cache
def field_types(cls: type) -> tuple[tuple[type, ...], ...]:
    """Each field's types as ``isinstance`` takes them, from its annotation
    (``Path | None`` → Path or NoneType, ``tuple[str, ...]`` → tuple)."""
    hints = typing.get_type_hints(cls)
    return tuple(_runtime_types(hints[name]) for name in field_names(cls))


def _runtime_types(hint: Any) -> tuple[type, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(hint) for t in _runtime_types(arg))
    if hint is Any:
        return (object,)
    if hint is None:
        return (type(None),)
    return (typing.get_origin(hint) or hint,)


def well_typed(record: object, cls: type) -> bool:
    """A record of exactly ``cls`` whose fields have their annotated types (one level
    deep): what the cache hands back is checked so, a crafted entry is never used."""
    return type(record) is cls and all(map(isinstance, field_values(cls)(record),
                                           field_types(cls)))


_MAKERS: dict[type, Callable[..., Any]] = {}
_FIELD_COUNTS: dict[type, int] = {}


def pickled_by_fields(cls: type) -> type:
    """Pickle a slotted dataclass as its class and field values, made a record again by
    ``record_of``: the default state protocol looks its fields up again for every
    record, which made reading the 10,000-page cache index twice as slow."""
    values = field_values(cls)
    _MAKERS[cls] = _twin_maker(cls) or partial(_set_fields, cls, tuple(
        cls.__dict__[name].__set__ for name in field_names(cls)))
    _FIELD_COUNTS[cls] = len(field_names(cls))
    copyreg.pickle(cls, lambda record: (record_of, (cls, values(record))))
    return cls


def record_of(cls: type[R], values: tuple[Any, ...]) -> R:
    """A record of a class ``pickled_by_fields``, made from its field values (by
    ``maker``), its values checked by whoever reads it."""
    count = _FIELD_COUNTS[cls]
    if type(values) is not tuple or len(values) != count:
        raise TypeError(f"{cls.__name__} has {count} fields")
    return _MAKERS[cls](*values)


def maker(cls: type[R]) -> Callable[..., R]:
    """What makes a record of a class ``pickled_by_fields`` from what its ``__init__``
    takes, three times as fast: a frozen dataclass's ``__init__`` sets each field by a
    call of object.__setattr__, 0.15 us each (7 us for a page, a fortieth of parsing
    its source, and most of reading its record back in the parent)."""
    return _MAKERS[cls]


def _twin_maker(cls: type) -> Callable[..., Any] | None:
    """A constructor of ``cls`` records that makes each one as an instance of a twin
    class with the same slots (and no frozen ``__setattr__``: its ``__init__`` stores
    them as plain attributes), then turns it into a ``cls`` (Python allows it between
    classes of the same layout). None for a class it cannot make so."""
    found = fields(cls)
    if not all(f.init and not f.kw_only for f in found) or hasattr(cls, "__post_init__") \
            or tuple(getattr(cls, "__slots__", ())) != tuple(f.name for f in found):
        return None
    scope: dict[str, Any] = {"_cls": cls, "_unset": _UNSET}
    parameters, stores = [], []
    for index, item in enumerate(found):
        if item.default is not MISSING:
            scope[f"_default{index}"] = item.default
            parameters.append(f"{item.name}=_default{index}")
        elif item.default_factory is not MISSING:
            scope[f"_factory{index}"] = item.default_factory
            parameters.append(f"{item.name}=_unset")
            stores.append(f"    if {item.name} is _unset:\n"
                          f"        {item.name} = _factory{index}()\n")
        else:
            parameters.append(item.name)
        stores.append(f"    self.{item.name} = {item.name}\n")
    exec(f"def __init__(self, {', '.join(parameters)}):\n{''.join(stores)}"
         "    self.__class__ = _cls\n", scope)
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": cls.__slots__,
                                             "__init__": scope["__init__"]})
    try:
        made = twin(*[object()] * len(found))
    except TypeError:  # another layout after all
        return None
    return twin if type(made) is cls else None


_UNSET = object()  # a field with a default factory not given to a twin's __init__


def _set_fields(cls: type[R], setters: tuple[Callable[[Any, Any], None], ...],
                *values: Any) -> R:
    """A record made without its ``__init__``, each slot set from C (where no twin can
    be made)."""
    if len(values) != len(setters):
        raise TypeError(f"{cls.__name__} has {len(setters)} fields")
    record = object.__new__(cls)
    deque(map(call, setters, repeat(record), values), maxlen=0)
    return record


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Page:
    """One Markdown source, parsed and converted, with its place in the site.

    ``id`` is ``<lang>/<path without .md>`` (bundles: the folder), unique in a site.
    """

    id: str
    lang: str
    kind: str  # "article" (dated, in a section), "page" (undated) or "section" (_index.md)
    section: str
    slug: str
    title: str
    date: datetime | None
    updated: datetime | None
    summary: str
    tags: tuple[str, ...]
    image: str
    image_alt: str
    image_size: tuple[int, int] | None
    draft: bool
    urgent: bool
    translation_key: str
    body_html: str
    source: Path
    path: str  # site path such as /en/news/x/, without the base URL's prefix
    resources: tuple[Path, ...] = ()
    scheduled: bool = False  # dated in the future: shown only with --drafts
    digest: str = ""  # of everything the page was made from (source bytes, resources)
    image_file: Path | None = None  # the file behind ``image`` (bundle, static, or inherited)
    fields_set: frozenset[str] = frozenset()  # front-matter keys the source file sets
    translation_of: str = ""  # language whose version this one inherits from
    refs: tuple[tuple[str, str, str], ...] = ()  # (lang, folder, path) of ref shortcodes
    sections: tuple[str, ...] = ()  # its section's folders (a section page: its own)
    weight: int = 0  # order among undated pages of a section (0: after the weighted)
    link_title: str = ""  # a shorter title for menus, lists and breadcrumbs
    description: str = ""  # for meta and feeds (the summary when there is none)
    aliases: tuple[str, ...] = ()  # old site paths that redirect here
    noindex: bool = False  # out of the sitemap, with a robots noindex meta
    expires: datetime | None = None  # after this, no longer published
    publish_at: datetime | None = None  # before this, not yet published
    render: bool = True  # a page of its own (Hugo's headless and build options)
    listed: bool = True  # in its section's lists, feeds and tag pages
    terms: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: EMPTY)  # taxonomies
    extra: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    @property
    def output_path(self) -> str:
        """Where the page's HTML goes, relative to the output folder."""
        return url_to_output_path(self.path)

    @property
    def sort_key(self) -> tuple[float, str]:
        """Newest first, then by id, so equal dates still order deterministically."""
        stamp = self.date.timestamp() if self.date else 0.0
        return (-stamp, self.id)


@dataclass(frozen=True, slots=True)
class Asset:
    """A file published as it is, such as an image beside the Markdown."""

    source: Path
    path: str  # site path without the base URL's prefix
    owner: str = ""  # id of the page bundle whose subfolder holds it: published with it


@dataclass(frozen=True, slots=True)
class Site:
    """The linked site: every page by id, and the groups that connect them."""

    config: SiteConfig
    pages: Mapping[str, Page]
    translations: Mapping[str, tuple[str, ...]]  # translation_key → page ids
    articles: Mapping[str, tuple[str, ...]]  # lang → article ids, newest first
    tags: Mapping[str, Mapping[str, tuple[str, ...]]]  # lang → tag → ids
    static_pages: Mapping[str, tuple[str, ...]]  # lang → page ids
    assets: tuple[Asset, ...] = ()
    urgent: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # lang → newest urgent id
    frames: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # lang → frame digest
    # lang → section → ids listed there ("" is the home), with fallback-language stories
    listed: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=lambda: EMPTY)
    menus: Mapping[str, tuple[tuple[str, str], ...]] = field(  # lang → (name, path or URL)
        default_factory=lambda: EMPTY)
    intros: Mapping[str, Mapping[str, str]] = field(  # lang → section → its _index.md's id
        default_factory=lambda: EMPTY)
    children: Mapping[str, Mapping[str, tuple[str, ...]]] = field(  # lang → section → subs
        default_factory=lambda: EMPTY)
    # lang → taxonomy (other than tags) → term → ids, newest first
    terms: Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]] = field(
        default_factory=lambda: EMPTY)
    keys: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # page id → page_key
    # translation_key → (lang, site path) of each version, in the site's language order
    versions: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=lambda: EMPTY)
    # restores the HTML body of a page record read from the cache index without it
    bodies: Callable[[Page], str] | None = None
    # translation keys whose versions take fields from another (``link.inherit``)
    inherited: frozenset[str] = frozenset()
    # views derived from the site and made once per process (see ``views.derived``);
    # a build links a new site, so nothing here outlives the records it came from
    derived: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False,
                                                repr=False)

    def body_of(self, page: Page) -> str:
        """The page's HTML body."""
        return page.body_html if page.body_html or self.bodies is None else self.bodies(page)

    def translations_of(self, page: Page) -> tuple[Page, ...]:
        """Every version of the page's story, in the site's language order."""
        return tuple(self.pages[pid] for pid in self.translations[page.translation_key])


def url_to_output_path(site_path: str) -> str:
    """``/en/news/x/`` → ``en/news/x/index.html``."""
    path = site_path.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path

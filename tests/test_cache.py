"""The persistent cache's pieces: a journaled mapping and content-addressed bodies."""

import dataclasses
import re
from pathlib import Path

import pytest

from generator.cache import (
    BodyStore,
    DamagedShard,
    JournaledMapping,
    Store,
    body_shard,
    pickled,
    shard_index,
)
from generator.errors import Problem
from generator.load import Parsed, reusable
from generator.model import (
    Page,
    field_names,
    maker,
    path_of,
    quick_maker,
    record_of,
    replaced,
)
from generator.render import Job


def _names(store: Store) -> set[str]:
    """The entries stored, a sharded one by its name only."""
    return {p.stem for p in store.folder.glob("*.pickle")
            if not re.fullmatch(r".+-[0-9a-f]{2}", p.stem)}


def test_journal_records_changes_and_folds_them_into_a_full_copy(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = JournaledMapping(store, "pages")
    assert first.read() == {}
    values = {f"page-{n}": [n] for n in range(1000)}
    first.write(values)
    assert _names(store) == {"pages"}

    second = JournaledMapping(store, "pages")
    current = second.read()
    assert current == values
    current["page-7"] = ["edited"]
    del current["page-8"]
    current["page-new"] = ["new"]
    second.write(current)
    assert _names(store) == {"pages", "pages-journal"}
    assert len(store.read("pages-journal")) == 3, "only the changes are written"

    third = JournaledMapping(store, "pages")
    read = third.read()
    assert read == current
    read.update({f"page-{n}": ["again"] for n in range(200)})
    third.write(read)
    assert _names(store) == {"pages"}, "a long journal is folded into a full copy"
    assert JournaledMapping(store, "pages").read() == read


def _without_message(problem: Problem) -> tuple[type, tuple[object, ...]]:
    return Problem, (problem.path, problem.line, "", problem.severity)


def test_a_mapping_pickled_in_parts_elsewhere_is_stored_as_they_are(tmp_path: Path) -> None:
    # The parse workers pickle the index a chunk at a time (load._IndexParts).
    store = Store(tmp_path)
    first = {f"page-{n}": ("one", n) for n in range(150)}
    second = {f"page-{n}": ("two", n) for n in range(150, 200)}
    parts = [(pickled(first), len(first)), (pickled(second), len(second))]
    index = JournaledMapping(store, "pages")
    index.write({**first, **second}, parts)
    assert _names(store) == {"pages", "pages-part0", "pages-part1"}
    assert store.read_sharded("pages") == {**first, **second}
    again = JournaledMapping(store, "pages")
    read = again.read()
    assert read == {**first, **second}
    again.write({**read, "page-7": ("new", 7)})
    assert _names(store) == {"pages", "pages-journal", "pages-part0", "pages-part1"}
    assert JournaledMapping(store, "pages").read()["page-7"] == ("new", 7)
    folded = {name: ("three", 0) for name in read}
    again.write(folded)
    assert _names(store) == {"pages"}, "a full copy in shards replaces the parts"
    assert store.read_sharded("pages") == folded
    JournaledMapping(store, "pages").write(first, parts[:1])
    assert _names(store) == {"pages", "pages-part0"}, "and parts replace the shards"
    (store.folder / "pages-part0.pickle").write_bytes(b"damaged")
    assert store.read_sharded("pages") is None
    JournaledMapping(store, "pages").write(second, parts)  # parts of another mapping
    assert store.read_sharded("pages") == second
    store.write("pages", ("parts-v1", (1,) * 10_000_000))  # a crafted header: no hang
    assert store.read_sharded("pages") is None
    JournaledMapping(store, "pages").write(first, parts[:1])
    assert store.read_sharded("pages") == first


@pytest.mark.parametrize("text", ["content/en/news/a.md", "/srv/site/content/en/x.md",
                                  "a", "/", "", ".", "./a", "a/./b", "a//b", "a/", "//a",
                                  "../a", "a/../b", "~/a", "a/b.md/c"])
def test_paths_are_pickled_as_their_text_and_read_as_pathlib_makes_them(
        text: str, tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = Path(text)
    store.write("paths", [path, path])
    made = path_of(text)
    assert made == Path(text) and str(made) == str(Path(text)) and made.parts == \
        Path(text).parts and hash(made) == hash(Path(text)) and type(made) is type(Path(text))
    first, second = store.read("paths")
    assert first == Path(text) and str(first) == str(Path(text)) and first.name == \
        Path(text).name and first.parent == Path(text).parent and second is first


def test_records_are_read_from_their_field_values_and_checked_by_their_readers(
        tmp_path: Path) -> None:
    store = Store(tmp_path)
    problem = Problem(Path("content/en/a.md"), 3, "a message")
    store.write("problem", problem)
    assert store.read("problem") == problem
    with pytest.raises(TypeError):
        record_of(Parsed, ((), "digest", None))  # a field short: never half a record
    with pytest.raises(KeyError):
        record_of(Problem, (Path("a.md"), 1, "m", "error"))  # not a class pickled so
    parsed = Parsed((("a.md", 1, 2),), "digest", None, (problem,), "settings")
    store.write("parsed", parsed)
    assert store.read("parsed") == parsed
    bent = replaced(parsed, problems=[problem])  # stored, then refused where it is read
    store.write("bent", bent)
    assert store.read("bent") == bent and not reusable(store.read("bent"))


def test_reducers_shape_what_is_stored_not_what_is_kept(tmp_path: Path) -> None:
    # A record class the cache may hold (see cache.SAFE_GLOBALS), its message left out.
    store = Store(tmp_path)
    index = JournaledMapping(store, "pages", reducers={Problem: _without_message})
    kept = {"a": Problem(Path("a.md"), 1, "<p>long</p>")}
    index.write(kept)
    assert kept["a"].message == "<p>long</p>"
    assert store.read_sharded("pages")["a"].message == ""
    kept = {**kept, "b": Problem(Path("b.md"), 2, "<p>new</p>")}
    index.write(kept)
    assert store.read("pages-journal")["b"].message == ""
    assert JournaledMapping(store, "pages").read()["b"].path == Path("b.md")


def test_bodies_are_kept_by_digest_and_dropped_when_no_page_has_them(tmp_path: Path) -> None:
    store = Store(tmp_path)
    bodies = BodyStore(store)
    bodies.save({"aa11": "<p>one</p>", "bb22": "<p>two</p>"}, {"aa11", "bb22"}, set())
    fresh = BodyStore(store)
    assert fresh.body("aa11") == "<p>one</p>"
    assert fresh.body("cc33") is None
    fresh.save({"aa12": "<p>one, edited</p>"}, {"aa12", "bb22"}, {"aa11"})
    again = BodyStore(store)
    assert again.body("aa11") is None and again.body("aa12") == "<p>one, edited</p>"
    assert body_shard("aa11") == body_shard("aa12") == "bodies-aa"


def test_entries_of_other_cache_versions_are_removed(tmp_path: Path) -> None:
    old = tmp_path / ".newshub-cache" / "v1"
    old.mkdir(parents=True)
    (old / "pages.pickle").write_bytes(b"old")
    cards = tmp_path / ".newshub-cache" / "cards"
    cards.mkdir()
    Store(tmp_path).write("pages", {})
    assert not old.exists()
    assert cards.is_dir(), "cards and image renditions are kept"


def test_sharded_mappings_are_read_and_changed_shard_by_shard(tmp_path: Path) -> None:
    store = Store(tmp_path)
    manifest = {f"en/news/story-{n}/index.html{suffix}": (f"key{n}", n, n)
                for n in range(300) for suffix in ("", ".br", ".gz")}
    store.write_sharded("manifest", manifest)
    assert store.read_sharded("manifest") == manifest
    view = store.sharded_view("manifest", lambda part: True)
    assert view is not None and len(view) == len(manifest)
    assert view["en/news/story-7/index.html.br"] == ("key7", 7, 7)
    assert len(view.parts) == 1, "a page and its copies share a shard: one read"
    assert store.update_sharded("manifest", {"en/news/story-7/index.html": ("new", 1, 1)})
    assert store.read_sharded("manifest") == {**manifest,
                                              "en/news/story-7/index.html": ("new", 1, 1)}
    shard = next(store.folder.glob("manifest-*.pickle"))
    shard.write_bytes(b"damaged")
    assert store.read_sharded("manifest") is None
    damaged = next(key for key in manifest if shard_index(key) == int(shard.stem[-2:], 16))
    with pytest.raises(DamagedShard):
        store.sharded_view("manifest", lambda part: True)[damaged]
    assert not store.update_sharded("manifest", {damaged: ("x", 1, 1)})
    store.write("old", {"a": 1})  # as older versions stored it: whole
    assert store.read_sharded("old") == {"a": 1}


def test_a_record_made_by_its_maker_is_the_record_its_class_makes() -> None:
    """``maker`` makes a record as a twin class with the same slots, then turns it into
    one of the class: equal to the dataclass's, defaults and default factories too, and
    as frozen."""
    values = dict(id="en/a", lang="en", kind="page", section="", slug="a", title="A",
                  date=None, updated=None, summary="", tags=("x",), image="", image_alt="",
                  image_size=None, draft=False, urgent=False, translation_key="a",
                  body_html="<p>b</p>", source=Path("content/en/a.md"), path="/en/a/")
    made, expected = maker(Page)(**values), Page(**values)
    assert type(made) is Page and made == expected and made.extra is expected.extra
    assert record_of(Page, tuple(getattr(expected, name) for name in field_names(Page))) \
        == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.title = "B"  # type: ignore[misc]
    with pytest.raises(TypeError):
        maker(Page)(*range(3))


def test_replaced_and_quick_makers_make_what_the_dataclass_makes() -> None:
    """``replaced`` is ``dataclasses.replace`` (a twin-made copy, as frozen; a name no
    field has refused), and ``quick_maker`` makes the record its class makes, from
    positions and keywords, for a class ``pickled_by_fields`` or not."""
    page = Page(id="en/a", lang="en", kind="article", section="news", slug="a", title="A",
                date=None, updated=None, summary="", tags=("x",), image="", image_alt="",
                image_size=None, draft=False, urgent=False, translation_key="a",
                body_html="", source=Path("content/en/news/a.md"), path="/en/news/a/")
    copy = replaced(page, kind="page", title="B")
    assert type(copy) is Page and copy == dataclasses.replace(page, kind="page", title="B")
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.title = "C"  # type: ignore[misc]
    with pytest.raises(TypeError):
        replaced(page, titel="B")
    made = quick_maker(Job)("a/index.html", "page", "en", "page.html", key="k")
    assert type(made) is Job and made == Job("a/index.html", "page", "en", "page.html",
                                             key="k")
    assert made.context is Job("x", "y").context and quick_maker(Job) is not Job

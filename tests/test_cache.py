"""The persistent cache's pieces: a journaled mapping and content-addressed bodies."""

import re
from pathlib import Path

import pytest

from generator.cache import (
    BodyStore,
    DamagedShard,
    JournaledMapping,
    Store,
    body_shard,
    shard_index,
)
from generator.errors import Problem


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

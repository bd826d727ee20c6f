"""Edits rebuilt in proportion to their size (generator/delta.py): what an edit plans,
renders and reads is counted, and the result equals a clean build."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from generator import markup
from generator.build import BuildSession, build
from generator.cache import CACHE_FOLDER, BodyStore
from generator.config import load_config
from generator.delta import ShardedPages
from generator.outputs import search
from generator.serve import LATER_KINDS
from tests.conftest import FIXTURES, REPO
from tests.test_incremental import Workspace, snapshot

SHOWING_WELLS = {  # the French story's page, the lists and feeds it is on, its card
    "fr/news/wells/index.html", "fr/news/wells/card.jpg", "fr/index.html",
    "fr/news/index.html", "fr/tags/eau/index.html", "fr/atom.xml", "fr/rss.xml",
    "fr/feed.json", "fr/tags/eau/atom.xml", "fr/offline.json", "sw.js",
}


@pytest.fixture
def work(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, FIXTURES / "multilingual")
    workspace.build()
    return workspace


def test_a_headline_edit_plans_and_renders_only_what_shows_the_story(work: Workspace) -> None:
    full = planned_in_full(work)
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    result = work.build()
    assert result.rendered == SHOWING_WELLS
    assert result.planned < 20 < full, "planned: the outputs that show it, not the site"
    assert isinstance(result.site.pages, ShardedPages), "a new process reads the layout"
    work.assert_matches_clean_build()


def test_an_edit_in_a_new_process_reads_the_shards_it_needs(tmp_path: Path) -> None:
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    add_months_of_stories(work.site, months=36)
    work.build()
    newest = work.site / "content/en/news/story-35-2.md"
    newest.write_text(newest.read_text().replace("Story 35-2", "Story thirty-five, two"))
    result = work.build()
    pages = result.site.pages
    assert isinstance(pages, ShardedPages)
    shards = len(set(pages.shards.values()))
    assert shards > 40 and pages.shards_read <= 8, (pages.shards_read, shards)
    assert "en/news/story-35-2/index.html" in result.rendered
    work.assert_matches_clean_build()


@pytest.mark.parametrize("change", [
    ("content/en/news/older.md", "2025-12-01", "2026-01-15"),  # its place in the lists
    ("content/fr/news/wells.md", "tags: [", "tags: [health, "),  # a tag of its own
    ("content/en/news/appeal.md", "Please give.", "Please give now."),  # the urgent banner
    ("content/en/about.md", "title:", "title: About"),  # in every page's footer
])
def test_edits_that_change_the_site_s_shape_take_the_full_path(
        work: Workspace, change: tuple[str, str, str]) -> None:
    full = planned_in_full(work)
    work.edit(*change)
    result = work.build()
    assert result.planned >= full
    work.assert_matches_clean_build()


def test_a_session_rebuilds_an_edit_from_its_memory(tmp_path: Path) -> None:
    """What ``newshub serve`` does after a save its watcher reported."""
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    full = session.build().planned
    for words in ("Puits et pompes neufs", "Puits réparés"):
        text = (work.site / "content/fr/news/wells.md").read_text(encoding="utf-8")
        (work.site / "content/fr/news/wells.md").write_text(
            text.replace(text.split('title: ')[1].split("\n")[0], words, 1), encoding="utf-8")
        result = session.build(touched=frozenset({str(work.site / "content/fr/news/wells.md")}))
        assert result.rendered == SHOWING_WELLS and result.planned < 20 < full
        assert not isinstance(result.site.pages, ShardedPages), "its own site, in memory"
        work.assert_matches_clean_build()


class Walked(Mapping[str, object]):
    """A mapping that notes each walk over it (a copy, a comprehension, a set of it)."""

    def __init__(self, name: str, mapping: Mapping[str, object], walks: list[str]) -> None:
        self.name, self.mapping, self.walks = name, mapping, walks

    def __getitem__(self, key: str) -> object:
        return self.mapping[key]

    def __contains__(self, key: object) -> bool:
        return key in self.mapping

    def __iter__(self) -> Iterator[str]:
        self.walks.append(self.name)
        return iter(self.mapping)

    def __len__(self) -> int:
        return len(self.mapping)


class WalkedSources(tuple):
    """A scan's sources, noting each walk over them."""

    walks: ClassVar[list[str]] = []

    def __iter__(self) -> Iterator[object]:
        self.walks.append("sources")
        return super().__iter__()


def test_a_session_s_edit_walks_none_of_the_site_s_records(tmp_path: Path) -> None:
    """At 100,000 stories each walk over every page record, parse result or source costs
    a running server 10-20 ms of an edit's: it looks up only what the edit shows."""
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    session.build()
    walks: list[str] = []
    last, scan = session.last, session.scan
    assert last is not None and scan is not None and session.parsed is not None
    site = replace(last.site, pages=Walked("pages", last.site.pages, walks),
                   keys=Walked("keys", last.site.keys, walks))
    session.last = replace(last, site=site)
    session.parsed = Walked("parsed", session.parsed, walks)
    WalkedSources.walks = walks
    session.scan = replace(scan, sources=WalkedSources(scan.sources))
    for words in ("Puits et pompes neufs", "Puits réparés"):
        path = work.site / "content/fr/news/wells.md"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(text.split("title: ")[1].split("\n")[0], words, 1),
                        encoding="utf-8")
        result = session.build(touched=frozenset({str(path)}))
        assert result.rendered == SHOWING_WELLS
        assert walks == []
    work.assert_matches_clean_build()


def test_a_server_s_save_finds_the_search_indexes_without_a_walk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save's build reports each language's search index as the manifest records it:
    the last build's, since the save wrote pages only (no walk of 100,000 entries)."""
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    session.build(later=LATER_KINDS)
    session.finish()  # the search index, as a server makes it after the first build
    walks: list[int] = []
    whole = search.indexes_in
    monkeypatch.setattr(search, "indexes_in", lambda config, manifest: (
        walks.append(len(manifest)), whole(config, manifest))[1])
    path = work.site / "content/fr/news/wells.md"
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    result = session.build(touched=frozenset({str(path)}), later=LATER_KINDS)
    assert result.planned < 20 and result.search and walks == []
    assert session.manifest is not None
    assert result.search == whole(session.config, session.manifest)
    session.finish()
    work.assert_matches_clean_build()


def test_a_server_s_first_save_reads_no_shard_of_bodies(work: Workspace) -> None:
    """A server started on a built site has its records from the cache, without their
    bodies; it reads those its feeds show while it waits (``prepare``), so the feeds of
    a save read no shard of the cache's bodies (~400 bodies each at 100,000 stories),
    and it makes the Markdown converters then, not for the save."""
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    markup._converters.cache_clear()
    session.build()
    assert session.store is not None
    session.bodies = BodyStore(session.store)  # as when workers rendered: none read here
    session.prepare()
    made = markup._converters.cache_info().misses
    work.edit("content/en/news/older.md", "An older story", "An older story, told again")
    result = session.build(touched=frozenset({str(work.site / "content/en/news/older.md")}))
    assert "en/atom.xml" in result.rendered and result.planned < 20  # the appeal's, the wells'
    assert session.bodies.shards_read == 0
    assert markup._converters.cache_info().misses == made
    work.assert_matches_clean_build()


def test_an_edit_redraws_the_lists_of_languages_that_fall_back(tmp_path: Path) -> None:
    """French and Arabic list the English stories they have no version of (``fallback``):
    an edit of one redraws their lists too, and no other language's."""
    work = Workspace(tmp_path, FIXTURES / "depth")
    work.build()
    full = planned_in_full(work)
    work.edit("content/en/news/solar.md", "Solar panels for the warehouse",
              "Solar panels for the new warehouse")
    result = work.build()
    assert result.planned < full
    assert {"en/index.html", "fr/index.html", "fr/news/index.html", "ar/index.html"} <= \
        result.rendered
    assert not any(path.startswith(("zh-Hans/", "pt-BR/")) for path in result.rendered)
    work.assert_matches_clean_build()


def test_lost_shards_cost_the_full_path_not_the_result(work: Workspace) -> None:
    for shard in (work.site / CACHE_FOLDER).rglob("linked-*.pickle"):
        shard.write_bytes(b"damaged")
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    work.build()
    work.assert_matches_clean_build()


def test_another_folder_s_layout_is_not_used(work: Workspace) -> None:
    """The layout is the last full build's: a folder built before it starts again."""
    work.edit("content/fr/news/wells.md", "tags: [", "tags: [health, ")
    other = work.output.parent / "other"
    build(load_config(work.site), other, jobs=1)  # the layout now has the new tag
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    result = work.build()  # the first output still has the old tag: the full path
    assert "fr/tags/health/index.html" in result.rendered
    work.assert_matches_clean_build()
    assert snapshot(other) != {}


def planned_in_full(work: Workspace) -> int:
    """How many outputs the full path plans for the site (a build without the cache)."""
    return build(load_config(work.site), work.tmp / "full", jobs=1, use_cache=False).planned


def add_months_of_stories(site: Path, months: int) -> None:
    """Three English stories a month, the newest last (a shard of their own each month),
    three entries a feed, and a small offline list."""
    for month in range(months):
        for number in range(3):
            (site / f"content/en/news/story-{month:02d}-{number}.md").write_text(
                f"---\ntitle: Story {month:02d}-{number}\ndate: {2022 + month // 12}-"
                f"{month % 12 + 1:02d}-{10 + number}T08:00:00Z\ntags: [water]\n---\n\n"
                f"Story {month} {number}.\n", encoding="utf-8")
    settings = site / "site.toml"
    settings.write_text("feed_entries = 3\n" + settings.read_text(encoding="utf-8") +
                        "\n[offline]\nbudget_kb = 12\n", encoding="utf-8")


def test_a_rebuild_with_nothing_to_do_never_loads_the_engine(tmp_path: Path) -> None:
    """``newshub build`` asks the snapshot first: no Jinja, Pillow or Markdown import."""
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    command = ["build", "--site", str(work.site), "--output", str(work.output), "--no-cards"]
    script = ("import sys; from generator.cli import main; code = main(%r); "
              "print(code, sorted(m for m in ('generator.build', 'jinja2', 'PIL', "
              "'markdown_it') if m in sys.modules))")
    runs = [subprocess.run([sys.executable, "-c", script % command], capture_output=True,
                           text=True, check=True, cwd=REPO).stdout.splitlines()
            for _ in range(2)]
    assert runs[0][-1] != "0 []", "the first build loads the engine"
    assert runs[1][-1] == "0 []", runs[1]
    first, again = runs[0][0].split("; "), runs[1][0].split("; ")
    assert again[:2] == first[:2], "the same pages, articles and outputs"
    assert again[2].startswith("0 rendered, 0 written,") and "unchanged, 0 removed" in again[2]


def test_a_bundle_s_headline_edit_takes_the_short_path(work: Workspace) -> None:
    """A page bundle (``index.md`` with its photo and a file beside it) is a page like any."""
    from PIL import Image

    bundle = work.site / "content/en/news/clinic"
    bundle.mkdir()
    Image.new("RGB", (640, 400), (30, 120, 90)).save(bundle / "photo.jpg", quality=80)
    (bundle / "report.pdf").write_bytes(b"%PDF-1.4\n% a field report\n")
    (bundle / "index.md").write_text(
        "---\ntitle: Mobile clinic opens\ndate: 2026-03-10T08:00:00Z\ntags: [water]\n"
        "image: photo.jpg\nimage_alt: The clinic's tent\n---\n\nThe clinic opened.\n\n"
        "![The queue](photo.jpg)\n", encoding="utf-8")
    work.build()
    full = planned_in_full(work)
    work.edit("content/en/news/clinic/index.md", "Mobile clinic opens",
              "Mobile clinic opens in Goma")
    result = work.build()
    assert "en/news/clinic/index.html" in result.rendered
    assert result.planned < 20 < full, "planned: the outputs that show it, not the site"
    work.assert_matches_clean_build()


def test_a_page_with_old_addresses_redraws_their_redirect_pages(work: Workspace) -> None:
    """Each alias's redirect page shows the page's title: an edit redraws them."""
    work.edit("content/fr/news/wells.md", "tags: [water]",
              "tags: [water]\naliases: [/fr/ancien/puits/, /puits.html, '/?p=12']")
    work.build()
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    result = work.build()
    assert {"fr/ancien/puits/index.html", "puits.html"} <= result.rendered
    assert result.planned < 20
    assert "Puits et pompes neufs" in (work.output / "puits.html").read_text(encoding="utf-8")
    work.assert_matches_clean_build()


@pytest.mark.parametrize(("pattern", "short"), [
    ("/:year/:filename/", True),  # the headline is not in the address
    ("/:year/:title/", False),  # it is: the page moves, the full path
])
def test_an_edit_on_a_site_with_permalinks(work: Workspace, pattern: str, short: bool) -> None:
    settings = work.site / "site.toml"
    settings.write_text(settings.read_text(encoding="utf-8") +
                        f'\n[permalinks]\nnews = "{pattern}"\n', encoding="utf-8")
    work.build()
    full = planned_in_full(work)
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    result = work.build()
    assert (result.planned < 20) is short, (result.planned, full)
    work.assert_matches_clean_build()


@pytest.mark.parametrize(("story", "old", "new", "pages"), [
    ("content/en/news/wells.md", "Wells", "Wells and pumps",  # the source: both records
     {"en/news/wells/index.html", "fr/news/wells/index.html"}),
    ("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs",  # a translation
     {"fr/news/wells/index.html"}),
])
def test_an_edit_of_a_story_whose_versions_take_fields_from_another(
        work: Workspace, story: str, old: str, new: str, pages: set[str]) -> None:
    """The French version has no date of its own: it takes the English one (and its
    record follows the English source). Its story is linked again as a group."""
    work.edit("content/fr/news/wells.md", "date: 2026-03-14T09:30:00+03:00\n", "")
    work.build()
    work.edit(story, old, new)
    result = work.build()
    assert result.planned < 30, result.planned
    assert {path for path in result.rendered if path.endswith("wells/index.html")} == pages
    work.assert_matches_clean_build()

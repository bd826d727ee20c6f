"""What a cold build of a large archive does per page, counted rather than timed: values
every page of a language shares are made once, not once per page (#20)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from generator import spill as spill_module
from generator.build import BuildSession, build
from generator.cache import BodyStore, Store
from generator.config import Language, load_config
from generator.delta import ShardedPages
from generator.link import link_site
from generator.load import PARALLEL_PARSE_THRESHOLD, load_site
from generator.model import Site
from generator.parallel import Background
from generator.spill import Spill
from generator.views import page_view
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def site() -> Site:
    config = load_config(FIXTURES / "multilingual")
    loaded = load_site(config)
    linked, _ = link_site(config, loaded.pages, loaded.assets)
    return linked


def test_a_language_is_looked_up_without_hashing_every_language(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """``config.language`` runs ~30 times a page: it finds the lookup by the languages'
    identity (hashing each ``Language``, menus and all, was a tenth of a render)."""
    config = site.config
    expected = {code: config.language(code) for code in config.language_codes}

    def refused(_language: Language) -> int:
        raise AssertionError("a Language was hashed to look a language up")

    monkeypatch.setattr(Language, "__hash__", refused)
    assert {code: config.language(code) for code in config.language_codes} == expected
    assert all(config.root_path(code) for code in config.language_codes)
    assert config.language_of_folder(config.language_codes[0]) == config.language_codes[0]


def test_equal_language_tuples_of_other_configs_give_their_own_languages(
        tmp_path: Path) -> None:
    first = load_config(FIXTURES / "multilingual")
    again = load_config(FIXTURES / "multilingual")
    assert again.languages is not first.languages
    for code in first.language_codes:
        assert again.language(code) is again.languages[again.language_codes.index(code)]
        assert first.language(code) is first.languages[first.language_codes.index(code)]


def test_pages_sharing_tags_and_a_section_share_their_links(tmp_path: Path) -> None:
    """A page view's tag links, section link and breadcrumbs are made once per language
    and tag set or section: 100,000 views re-made the same few hundred links."""
    for lang in ("en", "fr"):
        for number in range(3):
            story = tmp_path / "content" / lang / "news" / f"story-{number}.md"
            story.parent.mkdir(parents=True, exist_ok=True)
            story.write_text(f"---\ntitle: Story {number}\ndate: 2026-03-0{number + 1}\n"
                             "tags: [water, health]\n---\n\nText.\n", encoding="utf-8")
    config = load_config(tmp_path)
    loaded = load_site(config)
    site, _ = link_site(config, loaded.pages, loaded.assets)
    by_shape: dict[tuple, list] = {}
    for page in site.pages.values():
        if page.kind == "article" and page.tags:
            by_shape.setdefault((page.lang, page.tags, page.sections), []).append(page)
    shared = [pages for pages in by_shape.values() if len(pages) > 1]
    assert shared, "the fixture has articles with the same tags in one section"
    for pages in shared:
        first, second = (page_view(site, page) for page in pages[:2])
        assert first.tags is second.tags and first.tags
        assert first.section is second.section
        assert first.breadcrumbs is second.breadcrumbs
        assert [link.url for link in first.tags] == \
            [link.url for link in page_view(site, pages[0]).tags]


def _archive(root: Path, stories: int) -> Path:
    for number in range(stories):
        lang = ("en", "fr")[number % 2]
        story = root / "content" / lang / "news" / f"story-{number:04d}.md"
        story.parent.mkdir(parents=True, exist_ok=True)
        story.write_text(f"---\ntitle: Story {number}\ndate: 2026-03-01T{number % 24:02d}:00:00Z"
                         f"\ntags: [water]\n---\n\nText of story **{number}**, é ü 中文.\n\n"
                         f"- one\n- two\n", encoding="utf-8")
    return root


def test_parse_workers_keep_bodies_on_disk_not_in_the_records(tmp_path: Path) -> None:
    """With a spill, the records workers send back carry no body (the parent of a cold
    build of 100,000 stories held 400 MB of them, as did every render worker forked
    from it); each body reads back from the spill as parsed."""
    config = load_config(_archive(tmp_path / "site", PARALLEL_PARSE_THRESHOLD + 20))
    whole = {page.id: page.body_html for page in load_site(config).pages}
    spill = Spill.beside(tmp_path / "cache")
    try:
        spilled = load_site(config, workers=2, spill=spill).pages
        assert {page.body_html for page in spilled} == {""}
        assert {page.id: spill.body(page.digest) for page in spilled} == whole
        assert all("<strong>" in body for body in whole.values())
    finally:
        spill.discard()
    assert not spill.folder.exists()


def test_a_cold_build_in_workers_caches_every_body_and_leaves_no_spill(tmp_path: Path) -> None:
    site = _archive(tmp_path / "site", PARALLEL_PARSE_THRESHOLD + 20)
    config = load_config(site)
    build(config, tmp_path / "alone", jobs=1, use_cache=False)  # cold, parsed here
    build(config, tmp_path / "workers", jobs=2)  # cold: parsed by workers, spilled
    cache = Store(site).folder
    assert not list(cache.glob(spill_module.PREFIX + "*")), "the spill is deleted"
    assert _files(tmp_path / "workers") == _files(tmp_path / "alone")
    shutil.rmtree(tmp_path / "workers")  # rendered again, every body from the cache
    bodies = BodyStore(Store(site))
    assert all(bodies.body(page.digest) == page.body_html for page in load_site(config).pages)
    build(config, tmp_path / "workers", jobs=2)
    assert _files(tmp_path / "workers") == _files(tmp_path / "alone")


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_theme_script_is_hashed_once_not_on_every_page(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import csp
    hashed: list[bytes] = []
    real = csp.hashlib.sha256

    def counting(data: bytes) -> object:
        hashed.append(data)
        return real(data)

    monkeypatch.setattr(csp.hashlib, "sha256", counting)
    script = "document.title = 'counted once' + 1"
    first = csp.script_hash(script)
    assert all(csp.script_hash(script) == first for _ in range(100))
    assert hashed == [script.encode()]
    assert first == "'sha256-" + csp.base64.b64encode(real(script.encode()).digest()).decode() + "'"


def test_a_spill_without_a_cache_removes_what_dead_builds_left_in_the_temporary_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys
    monkeypatch.setattr(spill_module.tempfile, "tempdir", str(tmp_path))
    finished = subprocess.Popen([sys.executable, "-c", "pass"])  # its pid: nobody's now
    finished.wait()
    dead = tmp_path / f"newshub-{spill_module.PREFIX}{finished.pid}-abc"
    dead.mkdir()
    (dead / "1.html").write_text("<p>left</p>")
    spill = Spill.beside(None)
    try:
        assert spill.folder.parent == tmp_path
        assert not dead.exists(), "a dead build's spill is removed"
        assert Spill.beside(None).folder.exists() and spill.folder.exists(), "a live one stays"
    finally:
        spill.discard()


def test_a_load_makes_its_reading_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings every parse result records (each language's root, a digest of the
    site's params) are made once per load, not once per parsed page."""
    from generator import load

    made: list[object] = []
    real = load.markup_settings
    monkeypatch.setattr(load, "markup_settings", lambda config: made.append(config) or
                        real(config))
    loaded = load_site(load_config(FIXTURES / "multilingual"))
    assert len(loaded.parsed) > 5 and len(made) == 1
    assert {result.settings for result in loaded.parsed.values()} == {real(made[0])}


def test_a_source_gone_after_the_walk_is_reported_and_others_read_whole(
        tmp_path: Path) -> None:
    from generator import load, shortcodes

    config = load_config(_archive(tmp_path / "site", 3))
    sources = load.scan_content(config).sources
    Path(sources[0].path).unlink()
    parse = partial(load._parse, config, {}, shortcodes.templates_digest(config))
    gone, kept = parse(sources[0]), parse(sources[1])
    assert gone.page is None
    assert [p.message for p in gone.problems] == ["cannot read: No such file or directory"]
    assert kept.inputs[0] == load._stamp(sources[1].path)
    assert kept.page is not None and "<strong>" in kept.page.body_html


def test_a_spilled_parse_makes_its_record_once(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A parse worker's record is made without its body (the body goes to the spill as
    it is made), not made whole and then copied without it."""
    from generator import load, shortcodes

    def copied(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the record was made twice")

    config = load_config(_archive(tmp_path / "site", 2))
    source = load.scan_content(config).sources[0]
    parse = partial(load._parse, config, {}, shortcodes.templates_digest(config))
    whole = parse(source).page
    monkeypatch.setattr(spill_module, "replaced", copied)
    spill = Spill.beside(tmp_path / "cache")
    try:
        parsed = spill.received(spill.parse(parse, source))
        assert parsed.page is not None and whole is not None
        assert parsed.page.body_html == "" and spill.body(parsed.page.digest) == whole.body_html
        assert parsed.page.summary == whole.summary and "<strong>" in whole.body_html
    finally:
        spill.discard()


@pytest.mark.usefixtures("single_threaded")
def test_a_cold_build_saves_its_caches_in_background_processes_while_it_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parse cache and the edits' layout are saved by forked processes while this
    one links and plans (one core sat idle then, and the saves took time from the render
    workers after); the session and the next process go on as if it had saved them."""
    site = _archive(tmp_path / "site", PARALLEL_PARSE_THRESHOLD + 20)
    started: list[bool] = []
    real_start = Background.start

    def start(function: Callable[[], object]) -> Background[object] | None:
        background = real_start(function)
        started.append(background is not None)
        return background

    monkeypatch.setattr(Background, "start", start)
    session = BuildSession(load_config(site), tmp_path / "out", jobs=2)
    session.build()
    assert started == [True, True], "the parse cache, then the layout"
    assert session.background == [] and not session.unsaved and session.index_parts is None
    assert not list(Store(site).folder.glob(spill_module.PREFIX + "*")), "spill deleted"
    story = site / "content/en/news/story-0000.md"
    story.write_text(story.read_text(encoding="utf-8").replace("Story 0\n", "Story zero\n"),
                     encoding="utf-8")
    session.build()  # a session's next build, from what the background save left it
    assert "Story zero" in (tmp_path / "out/en/news/story-0000/index.html").read_text()
    story.write_text(story.read_text(encoding="utf-8").replace("Story zero", "Story nil"),
                     encoding="utf-8")
    again = build(load_config(site), tmp_path / "out", jobs=2)  # a new process's edit
    assert isinstance(again.site.pages, ShardedPages), "it read the layout saved behind"
    assert "en/news/story-0000/index.html" in again.rendered
    assert not any("story-" in path and "story-0000" not in path for path in again.rendered)
    build(load_config(site), tmp_path / "clean", jobs=1, use_cache=False)
    assert _files(tmp_path / "out") == _files(tmp_path / "clean")


def test_a_background_save_that_fails_fails_the_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _archive(tmp_path / "site", PARALLEL_PARSE_THRESHOLD + 20)

    def broken(_session: BuildSession) -> None:
        raise OSError("the cache's disk went away")

    monkeypatch.setattr(BuildSession, "_save_parsed", broken)
    with pytest.raises(OSError, match="disk went away"):  # raised here, as by this process
        build(load_config(site), tmp_path / "out", jobs=2)
    monkeypatch.undo()
    build(load_config(site), tmp_path / "out", jobs=2)  # the next build repairs it all
    build(load_config(site), tmp_path / "clean", jobs=1, use_cache=False)
    assert _files(tmp_path / "out") == _files(tmp_path / "clean")

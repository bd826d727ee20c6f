"""One clock for a build: ``newshub build --now WHEN`` decides what is published (a
story's ``date`` or ``publish_date`` still to come holds it back, an ``expiry_date``
passed withdraws it) as at that moment, in every phase that decides it: linking, an
edit's build, the no-change check and the window recorded for the next build.

The moment is not a setting: builds whose clocks lie between the same two publication
moments are the same build, and the second is a no-change; a build whose clock crosses
one (forwards or backwards) builds what a clean build at that clock builds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import lxml.etree
import pytest

from generator import snapshot
from generator.build import BuildResult, build
from generator.cli import main, moment
from generator.config import load_config
from tests.conftest import FIXTURES
from tests.test_incremental import Workspace
from tests.test_incremental import snapshot as files_of

# The fixture's stories are dated up to 2026-03-14; one is dated 2099. Added here: a
# story published at LAUNCH (dated before it) and one that expires at RECALL.
BEFORE = "2030-05-01T00:00:00Z"  # neither moment has come
BETWEEN = "2030-06-15T00:00:00Z"  # published, not yet expired
ALSO_BETWEEN = "@1939000000"  # 2031-06-12: still before RECALL
AFTER = "2032-01-01"  # both moments passed
LAUNCH = "2030-06-01T12:00:00+02:00"
RECALL = "2031-09-01T00:00:00Z"
LAUNCHED = "en/news/launch/index.html"
RECALLED = "en/news/recall/index.html"


def add_stories(site: Path) -> None:
    (site / "content/en/news/launch.md").write_text(
        f"---\ntitle: Launch\ndate: 2030-01-01T00:00:00Z\npublish_date: {LAUNCH}\n---\n\n"
        "The pumps are in.\n", encoding="utf-8")
    (site / "content/en/news/recall.md").write_text(
        f"---\ntitle: Recall\ndate: 2026-04-01T00:00:00Z\nexpiry_date: {RECALL}\n---\n\n"
        "Boil the water until September.\n", encoding="utf-8")


@pytest.fixture
def work(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, FIXTURES / "multilingual")
    add_stories(workspace.site)
    return workspace


def build_at(work: Workspace, when: str, output: Path | None = None, *,
             cache: bool = True) -> BuildResult:
    config = load_config(work.site, share_cards=False, search=False)
    return build(config, output or work.output, jobs=1, use_cache=cache, now=moment(when))


def clean_at(work: Workspace, when: str) -> dict[str, bytes]:
    work.count += 1
    target = work.tmp / f"clean-{work.count}"
    build_at(work, when, target, cache=False)
    return files_of(target)


def feed_titles(output: Path) -> set[str]:
    feed = lxml.etree.parse(str(output / "en/atom.xml"))
    return set(feed.xpath("//a:entry/a:title/text()",
                          namespaces={"a": "http://www.w3.org/2005/Atom"}))


def test_the_moment_decides_what_is_published(work: Workspace) -> None:
    for when, expected in ((BEFORE, {"Recall"}), (BETWEEN, {"Launch", "Recall"}),
                           (AFTER, {"Launch"})):
        output = work.tmp / f"at-{when}"
        build_at(work, when, output, cache=False)
        assert feed_titles(output) & {"Launch", "Recall"} == expected, when
        assert (output / LAUNCHED).is_file() == ("Launch" in expected), when
        assert (output / RECALLED).is_file() == ("Recall" in expected), when


def test_moments_within_one_window_are_a_no_change(work: Workspace) -> None:
    build_at(work, BETWEEN)
    config = load_config(work.site, share_cards=False, search=False)
    for when in (BETWEEN, ALSO_BETWEEN, LAUNCH):  # LAUNCH itself: published at it
        found = snapshot.unchanged(config, work.output, moment(when).timestamp())
        assert isinstance(found, tuple), f"{when}: the check the CLI makes first"
        assert build_at(work, when).site is None, f"{when}: nothing parsed"
    for when in (BEFORE, AFTER, RECALL):  # RECALL: withdrawn at it
        found = snapshot.unchanged(config, work.output, moment(when).timestamp())
        assert not isinstance(found, tuple), when


@pytest.mark.parametrize("order", [(BEFORE, BETWEEN, AFTER), (AFTER, BETWEEN, BEFORE)])
def test_a_build_whose_clock_crosses_a_moment_equals_a_clean_build(
        work: Workspace, order: tuple[str, ...]) -> None:
    """Forwards as time runs, and backwards (a --now earlier than the last build's)."""
    build_at(work, order[0])
    for when in order[1:]:
        result = build_at(work, when)
        assert result.site is not None, when
        assert files_of(work.output) == clean_at(work, when), when


@pytest.mark.parametrize("then", [AFTER, BEFORE])
def test_an_edit_s_build_keeps_the_window_it_was_made_in(work: Workspace, then: str) -> None:
    """An edit's build (``delta.py``) within the window starts from the last build's
    linked site; past either end of it, the full path links the site again."""
    build_at(work, BETWEEN)
    work.edit("content/en/news/launch.md", "are in.", "are in and running.")
    result = build_at(work, ALSO_BETWEEN)
    assert "edit" in result.timings, "the edit's own path: a story published at its clock"
    assert files_of(work.output) == clean_at(work, ALSO_BETWEEN)
    work.edit("content/en/news/launch.md", "running.", "running well.")
    result = build_at(work, then)
    assert "edit" not in result.timings and result.site is not None
    assert files_of(work.output) == clean_at(work, then)


def test_a_moment_an_edit_sets_is_kept_for_the_next_build(work: Workspace) -> None:
    """A new expiry ahead (which the full path links): a later build withdraws the
    story."""
    build_at(work, BETWEEN)
    work.edit("content/en/news/wells.md", "---\n", "---\nexpiry_date: 2030-07-01T00:00:00Z\n")
    result = build_at(work, BETWEEN)
    assert "en/news/wells/index.html" in result.rendered
    later = "2030-08-01T00:00:00Z"
    assert build_at(work, later).site is not None
    assert not (work.output / "en/news/wells/index.html").exists()
    assert files_of(work.output) == clean_at(work, later)


@pytest.mark.parametrize("spelled", ["2030-06-15T00:00:00Z", "2030-06-15T03:00:00+03:00",
                                     "2030-06-14T20:00:00-04:00", "2030-06-15",
                                     "@1907712000"])
def test_one_moment_spelled_in_each_accepted_form(spelled: str) -> None:
    assert moment(spelled) == datetime(2030, 6, 15, tzinfo=UTC)


@pytest.mark.parametrize("value", ["tomorrow", "", "2030-13-01", "2030-06-15T09:30",
                                   "2030-06-15 09:30:00", "@", "@-5", "@1.5", "@ 5",
                                   "@99999999999999999999", "1907798400"])
def test_a_bad_moment_is_one_line_and_exit_2(tmp_path: Path, value: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "never"
    code = main(["build", "--site", str(tmp_path), "--output", str(output), "--now", value])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("newshub build: --now ") and err.count("\n") == 1, err
    assert not output.exists()


def test_source_date_epoch_is_not_read(work: Workspace,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Nix sets it to 1980 in builds: read as the clock, every story would wait."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "315532800")
    assert main(["build", "--site", str(work.site), "--output", str(work.output), "--quiet",
                 "--no-search", "--no-cards", "--now", BETWEEN]) == 0
    assert (work.output / LAUNCHED).is_file()
    assert (work.output / "en/news/wells/index.html").is_file()


def test_a_server_s_session_links_again_once_a_story_fell_due(work: Workspace) -> None:
    """``newshub serve`` keeps the last build in memory and builds a watcher's edits
    from it (real time there; a session's ``clock`` stands in for it): once a moment
    passed, an edit takes the full path, which withdraws the expired story."""
    from generator.build import BuildSession

    config = load_config(work.site, share_cards=False, search=False)
    session = BuildSession(config, work.output, jobs=1, persist=False, precompress=False)
    session.clock = moment(BETWEEN)
    session.build()
    edited = work.site / "content/en/news/launch.md"
    work.edit("content/en/news/launch.md", "are in.", "are in and running.")
    assert "edit" in session.build(touched=frozenset({str(edited)})).timings
    work.edit("content/en/news/launch.md", "running.", "running well.")
    session.clock = moment(AFTER)
    result = session.build(touched=frozenset({str(edited)}))
    assert "edit" not in result.timings
    assert not (work.output / RECALLED).exists()
    session.close()
    clean = work.tmp / "clean"
    build(config, clean, jobs=1, use_cache=False, precompress=False, now=moment(AFTER))
    assert files_of(work.output) == files_of(clean)

"""Incremental builds: each kind of change re-renders only what it affects, and the
result is byte-identical to a clean build of the same sources."""

from __future__ import annotations

import random
import re
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from generator.build import BuildResult, build
from generator.config import load_config
from tests.conftest import FIXTURES, REPO


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Workspace:
    """A site copy with an incremental output folder and a clean-build checker."""

    def __init__(self, tmp: Path, source: Path) -> None:
        self.tmp = tmp
        self.site = tmp / "site"
        shutil.copytree(source, self.site, ignore=shutil.ignore_patterns(
            "output", ".newshub-cache", ".git", ".venv"))
        for folder in ("themes", "locales"):
            if not (self.site / folder).exists():
                shutil.copytree(REPO / folder, self.site / folder)
        self.output = tmp / "out"
        self.count = 0

    def build(self) -> BuildResult:
        return build(load_config(self.site), self.output, jobs=1)

    def clean_build(self) -> dict[str, bytes]:
        self.count += 1
        target = self.tmp / f"clean-{self.count}"
        build(load_config(self.site), target, jobs=1, use_cache=False)
        return snapshot(target)

    def assert_matches_clean_build(self) -> None:
        assert snapshot(self.output) == self.clean_build()

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.site / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def work(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, FIXTURES / "multilingual")
    workspace.build()
    return workspace


def test_nothing_changed_renders_nothing(work: Workspace) -> None:
    result = work.build()
    assert result.rendered == frozenset()
    assert result.stats.written == 0


def test_body_edit_renders_the_page_and_what_shows_it(work: Workspace) -> None:
    work.edit("content/en/news/appeal.md", "Please give.", "Please give today.")
    result = work.build()
    assert "en/news/appeal/index.html" in result.rendered
    assert "en/atom.xml" in result.rendered
    assert "fr/news/wells/index.html" not in result.rendered
    assert "ar/index.html" not in result.rendered
    assert "en/about/index.html" in result.rendered, "the urgent banner shows this post"
    work.assert_matches_clean_build()


def test_title_edit_reaches_lists_and_translations(work: Workspace) -> None:
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits et pompes neufs")
    result = work.build()
    assert {"fr/news/wells/index.html", "fr/index.html", "fr/news/index.html",
            "fr/tags/eau/index.html", "fr/atom.xml"} <= result.rendered
    assert "en/news/wells/index.html" not in result.rendered
    work.assert_matches_clean_build()


@pytest.mark.parametrize("change", [
    "add article", "delete article", "rename article", "date moves pages", "template",
    "catalog", "config", "theme css", "new tag", "draft flag", "static file",
])
def test_each_kind_of_change_equals_a_clean_build(work: Workspace, change: str) -> None:
    site = work.site
    if change == "add article":
        (site / "content/en/news/new.md").write_text(
            "---\ntitle: New\ndate: 2026-04-01T00:00:00Z\ntags: [water]\n---\n\nNew.\n")
    elif change == "delete article":
        (site / "content/en/news/older.md").unlink()
    elif change == "rename article":
        (site / "content/en/news/older.md").rename(site / "content/en/news/oldest.md")
    elif change == "date moves pages":
        work.edit("content/en/news/older.md", "2025-12-01", "2026-05-01")
    elif change == "template":
        work.edit("themes/default/templates/article.html", "<article", "<article data-x")
    elif change == "catalog":
        work.edit("locales/fr/LC_MESSAGES/messages.po", 'msgstr "Faire un don"',
                  'msgstr "Donner"')
    elif change == "config":
        work.edit("site.toml", 'fr = "Eau"', 'fr = "L’eau"')
    elif change == "theme css":
        work.edit("themes/default/static/style.css", "--brand:#0b6e4f", "--brand:#0b6e50")
    elif change == "new tag":
        work.edit("content/ar/news/wells.md", "tags: [water]", "tags: [water, health]")
    elif change == "draft flag":
        work.edit("content/en/news/appeal.md", "urgent: true", "urgent: true\ndraft: true")
    elif change == "static file":
        (site / "static").mkdir(exist_ok=True)
        (site / "static/robots-extra.txt").write_text("hello\n")
    result = work.build()
    assert result.rendered, "the change re-rendered something"
    work.assert_matches_clean_build()


def test_bodies_come_from_the_cache_or_are_made_again(work: Workspace) -> None:
    """The cache index holds pages without bodies; a re-render reads them from their
    shards, and makes them again from the source when a shard is gone."""
    shards = sorted((work.site / ".newshub-cache").rglob("bodies-*.pickle"))
    assert len(shards) > 5, "bodies are kept beside the index"
    for shard in shards[::2]:
        shard.unlink()
    work.edit("themes/default/templates/article.html", "<article", "<article data-x")
    result = work.build()
    assert "en/news/appeal/index.html" in result.rendered
    work.assert_matches_clean_build()


def test_deleted_output_file_is_restored(work: Workspace) -> None:
    (work.output / "fr/news/wells/index.html").unlink()
    result = work.build()
    assert result.rendered == frozenset({"fr/news/wells/index.html"})
    work.assert_matches_clean_build()


def test_random_sequences_of_changes(tmp_path: Path) -> None:
    """Random edits, additions, deletions, renames, template and catalog changes."""
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    rng = random.Random(20261125)
    langs = ["en", "fr", "ar"]
    operations: list[Callable[[], None]] = []

    def articles() -> list[Path]:
        return sorted((work.site / "content").rglob("news/*.md"))

    def add() -> None:
        lang = rng.choice(langs)
        number = rng.randrange(1000)
        (work.site / f"content/{lang}/news/story-{number}.md").write_text(
            f"---\ntitle: Story {number}\ndate: 2026-0{rng.randrange(1, 9)}-1{rng.randrange(9)}"
            f"T10:00:00Z\ntags: [{rng.choice(['water', 'health', 'food'])}]\n---\n\n"
            f"Body {number}.\n", encoding="utf-8")

    def delete() -> None:
        candidates = articles()
        if len(candidates) > 3:
            rng.choice(candidates).unlink()

    def rename() -> None:
        source = rng.choice(articles())
        source.rename(source.with_name(f"renamed-{rng.randrange(1000)}.md"))

    def edit_body() -> None:
        path = rng.choice(articles())
        path.write_text(path.read_text(encoding="utf-8") + f"\nMore {rng.random()}.\n",
                        encoding="utf-8")

    def edit_title() -> None:
        path = rng.choice(articles())
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        lines = [f"title: Retitled {rng.randrange(100)}" if line.startswith("title:") else line
                 for line in lines]
        path.write_text("\n".join(lines), encoding="utf-8")

    def template() -> None:
        path = work.site / "themes/default/templates/list.html"
        path.write_text(path.read_text() + f"{{# {rng.random()} #}}\n")

    def catalog() -> None:
        path = work.site / "locales/fr/LC_MESSAGES/messages.po"
        text = re.sub(r'(msgid "Older"\nmsgstr ")[^"]*"', rf'\g<1>Anciens {rng.randrange(99)}"',
                      path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")

    operations = [add, add, delete, rename, edit_body, edit_body, edit_title, template, catalog]
    work.build()
    for _step in range(12):
        for _ in range(rng.randrange(1, 4)):
            rng.choice(operations)()
        work.build()
        work.assert_matches_clean_build()


def test_language_subsets_merge_into_the_full_site(tmp_path: Path) -> None:
    """A CI matrix: each machine builds some languages; the merged folders equal one
    full build."""
    full = Workspace(tmp_path / "full", FIXTURES / "multilingual").clean_build()
    merged = tmp_path / "merged"
    for number, languages in enumerate(("en,fr", "ar")):
        machine = Workspace(tmp_path / f"machine-{number}", FIXTURES / "multilingual")
        config = load_config(machine.site, only_languages=tuple(languages.split(",")))
        build(config, machine.output, jobs=1)
        shutil.copytree(machine.output, merged, dirs_exist_ok=True)
    assert snapshot(merged) == full


def test_a_language_subset_leaves_the_other_languages_alone(work: Workspace) -> None:
    before = snapshot(work.output)
    work.edit("content/fr/news/wells.md", "réparé 12 puits", "réparé 14 puits")
    result = build(load_config(work.site, only_languages=("fr",)), work.output, jobs=1)
    assert result.rendered
    assert not [path for path in result.rendered if path.startswith(("en/", "ar/"))]
    after = snapshot(work.output)
    changed = {path for path in after if after[path] != before.get(path)}
    assert "fr/news/wells/index.html" in changed
    assert all(path.startswith(("fr/", "sw.js")) for path in changed), \
        "and the service worker at the root (which names each language's newest articles)"
    # Only French files come and go: its search index's (Pagefind names them by content).
    assert all(path.startswith("fr/search/pagefind/") for path in set(after) ^ set(before))
    work.assert_matches_clean_build()


def test_a_rebuild_with_nothing_changed_skips_every_phase(work: Workspace) -> None:
    result = work.build()
    assert result.site is None, "nothing changed: not even parsed"
    assert result.stats.unchanged > 0 and result.stats.written == 0
    (work.site / "locales/fr/LC_MESSAGES/messages.po").touch()
    assert work.build().site is not None, "a touched catalog takes the full path"
    assert work.build().site is None


def test_a_post_that_becomes_due_is_published_without_any_edit(work: Workspace) -> None:
    due = datetime.now(UTC) + timedelta(seconds=2)
    (work.site / "content/en/news/soon.md").write_text(
        f"---\ntitle: Soon\ndate: {due.isoformat()}\n---\n\nSoon.\n", encoding="utf-8")
    work.build()
    assert not (work.output / "en/news/soon/index.html").exists()
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)
    work.build()
    assert (work.output / "en/news/soon/index.html").is_file()
    work.assert_matches_clean_build()


def test_watcher_reported_sources_skip_the_folder_walk(tmp_path: Path) -> None:
    """``newshub serve`` passes the sources its watcher saw change; the build re-reads
    only those, and walks the folder again when one of them is new."""
    from generator.build import BuildSession

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    config = load_config(work.site)
    session = BuildSession(config, work.output, jobs=1, persist=False)
    session.build()
    edited = config.content_dir / "fr/news/wells.md"
    edited.write_text(edited.read_text().replace("Puits et pompes", "Puits réparés"))
    result = session.build(touched=frozenset({str(edited)}))
    assert "fr/news/wells/index.html" in result.rendered
    work.assert_matches_clean_build()
    added = config.content_dir / "fr/news/nouveau.md"
    added.write_text("---\ntitle: Nouveau\ndate: 2026-04-01T00:00:00Z\n---\n\nNeuf.\n")
    result = session.build(touched=frozenset({str(added)}))
    assert "fr/news/nouveau/index.html" in result.rendered
    work.assert_matches_clean_build()


def test_a_session_remembers_card_jobs_only_while_their_inputs_hold(tmp_path: Path) -> None:
    """``serve`` keeps each article's card job between saves; a changed title, or a
    changed setting every card shows, makes them again."""
    from generator.build import BuildSession

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    session.build()
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits réparés")
    result = session.build(load_config(work.site))
    assert "fr/news/wells/card.jpg" in result.rendered
    assert "en/news/wells/card.jpg" not in result.rendered
    work.assert_matches_clean_build()
    work.edit("site.toml", "paginate = 2", 'paginate = 2\nbrand_color = "#7a1f5c"')
    result = session.build(load_config(work.site))
    assert "en/news/wells/card.jpg" in result.rendered
    work.assert_matches_clean_build()


def test_a_build_session_lets_its_old_sites_go(tmp_path: Path) -> None:
    """A server builds again and again in one process: each build's site (its views
    refer back to it, so it is freed by the cycle collector) must not pile up."""
    import gc

    from generator.build import BuildSession
    from generator.model import Site

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site, share_cards=False), work.output,
                           persist=False)
    article = sorted((work.site / "content").rglob("news/*.md"))[0]
    for number in range(4):
        article.write_text(article.read_text(encoding="utf-8") + f"\nMore {number}.\n",
                           encoding="utf-8")
        session.build(touched=frozenset({str(article)}))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.collect()
    assert sum(isinstance(thing, Site) for thing in gc.get_objects()) <= 2


def test_outputs_left_for_later_are_made_by_finish(tmp_path: Path) -> None:
    """``serve`` shows pages before drawing share cards: a build leaves the cards of
    ``later`` kinds for ``finish``, and counts them as not built until it runs."""
    from generator.build import BuildSession

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    first = session.build(later=frozenset({"card"}))
    assert first.rendered and not any(p.endswith("card.jpg") for p in first.rendered)
    assert not list(work.output.rglob("card.jpg"))
    session.finish()
    work.assert_matches_clean_build()

    old_card = (work.output / "fr/news/wells/card.jpg").read_bytes()
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits réparés")
    result = session.build(load_config(work.site), later=frozenset({"card"}))
    assert "fr/news/wells/index.html" in result.rendered
    assert (work.output / "fr/news/wells/card.jpg").read_bytes() == old_card
    again = session.build(load_config(work.site), later=frozenset({"card"}))
    assert again.rendered == frozenset(), "the waiting card is not a change to render"
    session.finish()
    assert (work.output / "fr/news/wells/card.jpg").read_bytes() != old_card
    work.assert_matches_clean_build()
    session.finish()  # nothing left: nothing happens
    assert session.build(load_config(work.site)).rendered == frozenset()


def test_a_card_left_waiting_is_made_by_the_next_build_without_later(tmp_path: Path) -> None:
    from generator.build import BuildSession

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    session.build()
    work.edit("content/fr/news/wells.md", "Puits et pompes", "Puits réparés")
    session.build(load_config(work.site), later=frozenset({"card"}))
    result = session.build(load_config(work.site))
    assert "fr/news/wells/card.jpg" in result.rendered
    work.assert_matches_clean_build()


def test_a_language_sitemap_follows_the_addresses_of_other_languages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A language's sitemap file lists each story's versions in every language: moving
    the French version renders the English file again (its key holds the group's
    addresses, made once for all languages' files)."""
    from generator.outputs import sitemap

    monkeypatch.setattr(sitemap, "URLS_PER_FILE", 3)
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    first = work.build()
    english = sorted(path for path in first.rendered
                     if path.startswith("en/sitemap") or path.startswith("sitemap-en"))
    assert english, sorted(first.rendered)
    assert work.build().rendered == frozenset()
    work.edit("content/fr/news/wells.md", "date:", "slug: puits\ndate:")
    again = work.build()
    assert "/fr/news/puits/" in "".join((work.output / path).read_text(encoding="utf-8")
                                        for path in english)
    assert any(path in again.rendered for path in english)
    work.assert_matches_clean_build()


@pytest.mark.parametrize("strings", [["a", "b\0c"], ["a\0b", "c"], ["a\0", "b"], ["", "a\0b"]])
def test_joined_strings_stay_apart_even_with_a_nul(strings: list[str]) -> None:
    """``deps.joined`` joins by NULs; strings that hold one are told apart all the same."""
    from generator.deps import joined

    others = [["a", "b", "c"], ["a", "b\0c"], ["a\0b", "c"], ["a\0", "b"], ["", "a\0b"],
              ["a\0b\0c"], ["", "a", "b"], []]
    assert all(joined(strings) != joined(other) for other in others if other != strings)
    assert joined(["a", "b"]) == "a\0b"  # the common case: no repr

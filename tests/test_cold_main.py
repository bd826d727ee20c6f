"""What a cold build's main process does while its workers parse and render, and what
it leaves for after them (#20): counted and ordered, never timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import build as build_module
from generator import i18n
from generator.build import build
from generator.cache import BodyStore, Store
from generator.config import load_config
from generator.load import PARALLEL_PARSE_THRESHOLD, load_site


def _many_stories(root: Path, count: int) -> Path:
    root.mkdir()
    (root / "site.toml").write_text(
        'title = "Many"\nbase_url = "https://example.org/"\n\n'
        '[languages.en]\nname = "English"\n', encoding="utf-8")
    folder = root / "content" / "en" / "news"
    folder.mkdir(parents=True)
    for number in range(count):
        (folder / f"story-{number}.md").write_text(
            f"---\ntitle: Story {number}\ndate: 2026-03-01\n---\n\nText {number}.\n",
            encoding="utf-8")
    return root


def test_the_catalogs_gaps_are_found_while_the_workers_parse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extracting the theme's strings (~60 ms) ran after every page was written, with
    the workers done; it now runs beside the template compilation, while they parse."""
    site = _many_stories(tmp_path / "site", PARALLEL_PARSE_THRESHOLD)
    events: list[str] = []
    missing = i18n.missing_translations
    render = build_module.BuildSession._render

    def found(*args: object, **kwargs: object) -> object:
        events.append("gaps")
        return missing(*args, **kwargs)

    def rendering(*args: object, **kwargs: object) -> object:
        events.append("render")
        return render(*args, **kwargs)

    monkeypatch.setattr(i18n, "missing_translations", found)
    monkeypatch.setattr(build_module.BuildSession, "_render", rendering)
    result = build(load_config(site), tmp_path / "out", jobs=2)
    assert result.pages >= PARALLEL_PARSE_THRESHOLD
    assert events == ["gaps", "render"]


def test_spilled_bodies_are_saved_as_the_bytes_the_workers_wrote(tmp_path: Path) -> None:
    """A cold build's parse cache keeps the spilled bodies as UTF-8 bytes: read back
    from the spill without decoding, and not encoded again to be pickled."""
    site = _many_stories(tmp_path / "site", PARALLEL_PARSE_THRESHOLD)
    config = load_config(site)
    build(config, tmp_path / "out", jobs=2)
    store = Store(site)
    shards = [store.read(path.stem) for path in sorted(store.folder.glob("bodies-*.pickle"))]
    stored = {digest: body for shard in shards for digest, body in shard.items()}
    assert len(stored) == PARALLEL_PARSE_THRESHOLD
    assert all(type(body) is bytes for body in stored.values())
    bodies = BodyStore(store)
    for page in load_site(config).pages:
        assert bodies.body(page.digest) == page.body_html


def test_a_body_is_read_as_text_whether_stored_as_bytes_or_text(tmp_path: Path) -> None:
    store = Store(tmp_path)
    BodyStore(store).save({"aa01": "<p>texte</p>", "aa02": "<p>نص</p>".encode(),
                           "aa03": b"\xff not UTF-8"}, {"aa01", "aa02", "aa03"}, set())
    bodies = BodyStore(store)
    assert bodies.body("aa01") == "<p>texte</p>"
    assert bodies.body("aa02") == "<p>نص</p>"
    assert bodies.body("aa03") is None  # damaged: made again from its source
    bodies.keep(["aa02", "aa03"])
    assert bodies.body("aa02") == "<p>نص</p>"

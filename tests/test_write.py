"""The write phase's staging, counted in system calls rather than timed (#20)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.write import stage


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``os.open`` made, by path."""
    made: list[str] = []
    real = os.open

    def counted(path: str, *args: object, **kwargs: object) -> int:
        made.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counted)
    return made


def test_a_fresh_build_makes_a_new_page_folder_before_opening_its_file(
        tmp_path: Path, opens: list[str]) -> None:
    """In a cold build each page has a folder of its own: it is made first, not found
    missing by a failed open."""
    staged = stage(tmp_path, "en/2026/05/story/index.html", b"<p>story</p>", fresh=True)
    assert opens == [str(tmp_path / "en/2026/05/story/index.html")]
    assert staged.created == str(tmp_path / "en/2026/05/story/index.html")
    assert (tmp_path / "en/2026/05/story/index.html").read_bytes() == b"<p>story</p>"


def test_a_fresh_build_writes_into_a_folder_made_before(tmp_path: Path,
                                                        opens: list[str]) -> None:
    stage(tmp_path, "en/index.html", b"home", fresh=True)
    staged = stage(tmp_path, "en/feed.xml", b"<feed/>", fresh=True)
    assert len(opens) == 2 and staged.created is not None
    assert (tmp_path / "en/feed.xml").read_bytes() == b"<feed/>"


def test_fresh_is_only_a_hint_a_file_already_there_is_compared(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en/index.html").write_bytes(b"same")
    unchanged = stage(tmp_path, "en/index.html", b"same", fresh=True)
    assert unchanged.created is None and unchanged.staging is None
    changed = stage(tmp_path, "en/index.html", b"other", fresh=True)
    assert changed.staging is not None and Path(changed.staging).read_bytes() == b"other"
    assert (tmp_path / "en/index.html").read_bytes() == b"same"  # until committed


def test_a_rebuild_still_makes_a_missing_folder(tmp_path: Path) -> None:
    staged = stage(tmp_path, "fr/news/new/index.html", b"nouveau")
    assert staged.created is not None
    assert (tmp_path / "fr/news/new/index.html").read_bytes() == b"nouveau"

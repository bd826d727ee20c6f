"""Shared fixtures: sites built once per module into temporary folders, read back
with a real HTML parser (lxml)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest

from generator.cli import main
from generator.config import load_config
from generator.link import link_site
from generator.load import load_site
from generator.model import Site

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
THREADS_GRACE_SECONDS = 15


@pytest.fixture
def single_threaded() -> Iterator[None]:
    """Wait for the threads earlier tests left behind (a test server's request threads
    on a browser's idle connection) to end: a build forks its background saves only
    from a process without other threads (``parallel.Background``)."""
    deadline = time.monotonic() + THREADS_GRACE_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    left = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    assert not left, f"threads still running from earlier tests: {left}"
    yield


@dataclass(frozen=True)
class Built:
    """A built site: its source folder, output folder and the CLI's exit code."""

    site: Path
    output: Path
    code: int

    def html(self, path: str) -> lxml.html.HtmlElement:
        return lxml.html.fromstring((self.output / path).read_bytes())

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.output).as_posix()
                      for p in self.output.rglob("*") if p.is_file())


def build_copy(source: Path, workdir: Path, *args: str) -> Built:
    """Copy a site into ``workdir`` and build it with the real command line."""
    site = workdir / "site"
    shutil.copytree(source, site, ignore=shutil.ignore_patterns("output", ".venv", ".git",
                                                               ".newshub-cache"))
    output = workdir / "out"
    code = main(["build", "--site", str(site), "--output", str(output), "--quiet", *args])
    return Built(site, output, code)


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_copy(FIXTURES / "multilingual", tmp_path_factory.mktemp("multi"))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The bundled example site (the repository root), built like a user would."""
    workdir = tmp_path_factory.mktemp("example")
    site = workdir / "site"
    site.mkdir()
    for name in ("site.toml", "content", "themes", "locales", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, site / name)
        elif source.is_file():
            shutil.copy2(source, site / name)
    output = workdir / "out"
    code = main(["build", "--site", str(site), "--output", str(output), "--quiet"])
    return Built(site, output, code)


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Path]:
    """Write a small site from ``{relative path: text or bytes}`` and return its folder."""

    def make(files: dict[str, str | bytes], config: str | None = None) -> Path:
        site = tmp_path / "site"
        (site / "content").mkdir(parents=True, exist_ok=True)
        (site / "site.toml").write_text(config or DEFAULT_CONFIG, encoding="utf-8")
        for relative, text in files.items():
            path = site / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text, encoding="utf-8")
        return site

    return make


DEFAULT_CONFIG = """\
base_url = "https://example.org/"
[organisation]
name = "Test Relief"
[languages.en]
[languages.fr]
[languages.ar]
"""


def linked_site(root: Path) -> Site:
    """The site at ``root``, loaded and linked (what cards and share tags are made from)."""
    config = load_config(root)
    loaded = load_site(config)
    site, _ = link_site(config, loaded.pages, loaded.assets)
    return site

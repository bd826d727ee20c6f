"""Precompressed copies (.br, .gz) beside every text output above 1 KB, kept exactly in
step with their file by incremental builds, and the ``/_headers`` file for Netlify and
Cloudflare Pages, whose policy never blocks what a page's own policy allows."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import ClassVar

import brotli
import pytest

from generator import compress
from generator.csp import META
from generator.outputs.headers import union
from tests.browser import chromium, needs_chromium
from tests.conftest import FIXTURES, Built, build_copy
from tests.test_incremental import Workspace, snapshot


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_copy(FIXTURES / "multilingual", tmp_path_factory.mktemp("compress"))


def text_outputs(output: Path) -> list[Path]:
    return [p for p in sorted(output.rglob("*")) if p.is_file() and compress.compressible(p.name)
            and "/pagefind/" not in p.as_posix()]  # the search phase's own files


def test_every_text_output_above_1_kb_has_brotli_and_gzip_copies(built: Built) -> None:
    assert built.code == 0
    large = 0
    for file in text_outputs(built.output):
        data = file.read_bytes()
        br, gz = Path(f"{file}.br"), Path(f"{file}.gz")
        if len(data) <= compress.MIN_BYTES:
            assert not br.exists() and not gz.exists(), file
            continue
        large += 1
        assert brotli.decompress(br.read_bytes()) == data, br
        packed = gz.read_bytes()
        assert gzip.decompress(packed) == data, gz
        assert packed[4:8] == b"\0\0\0\0", f"{gz}: mtime is not 0"
        assert not packed[3] & 0x08, f"{gz}: names a file"
    assert large > 20
    assert not list(built.output.rglob("*.jpg.gz")) and not list(built.output.rglob("*.webp.br"))


def test_the_theme_assets_get_the_best_compression(built: Built) -> None:
    css = next((built.output / "assets").glob("style.*.css"))
    data = css.read_bytes()
    assert Path(f"{css}.br").read_bytes() == brotli.compress(data, mode=brotli.MODE_TEXT,
                                                             quality=11)


def test_copies_follow_their_file_through_incremental_builds(tmp_path: Path) -> None:
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    static = work.site / "static"
    static.mkdir(exist_ok=True)
    (static / "notes.txt").write_text("water " * 400)
    work.build()
    page = work.output / "en/news/appeal/index.html"

    work.edit("content/en/news/appeal.md", "Please give.", "Please give today.")
    result = work.build()
    assert "en/news/appeal/index.html" in result.rendered
    assert b"Please give today." in brotli.decompress(Path(f"{page}.br").read_bytes())
    assert gzip.decompress(Path(f"{page}.gz").read_bytes()) == page.read_bytes()
    work.assert_matches_clean_build()

    Path(f"{page}.gz").unlink()  # removed or changed by hand: made again, nothing else
    Path(f"{work.output}/en/index.html.br").write_bytes(b"stale")
    result = work.build()
    assert result.rendered == {"en/news/appeal/index.html", "en/index.html"}
    work.assert_matches_clean_build()

    (static / "notes.txt").write_text("water\n")  # now too small to compress
    work.build()
    assert not (work.output / "notes.txt.br").exists()
    assert not (work.output / "notes.txt.gz").exists()
    work.assert_matches_clean_build()

    (static / "notes.txt").write_text("rain " * 400)
    work.build()
    assert brotli.decompress((work.output / "notes.txt.br").read_bytes()) == b"rain " * 400
    work.assert_matches_clean_build()
    result = work.build()
    assert result.rendered == frozenset() and result.stats.written == 0


def test_a_sites_own_compressed_file_is_published_as_it_is(tmp_path: Path) -> None:
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    static = work.site / "static"
    static.mkdir(exist_ok=True)
    (static / "data.json").write_text('{"rain": [' + "1," * 800 + "1]}")
    (static / "data.json.gz").write_bytes(b"the site's own bytes")
    work.build()
    assert (work.output / "data.json.gz").read_bytes() == b"the site's own bytes"
    assert not (work.output / "data.json.br").exists()
    assert work.build().rendered == frozenset()


def test_a_server_session_makes_no_copies(tmp_path: Path) -> None:
    from generator.build import BuildSession
    from generator.config import load_config

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    BuildSession(load_config(work.site), work.output, jobs=1, persist=False,
                 precompress=False).build()
    files = snapshot(work.output)
    assert not [path for path in files if path.endswith((".br", ".gz"))]


# /_headers ----------------------------------------------------------------------------

def rules(text: str) -> dict[str, dict[str, str]]:
    """The rules of a _headers file: path pattern → header → value."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith((" ", "\t")):
            current = found.setdefault(line.strip(), {})
        else:
            assert current is not None
            name, _, value = line.strip().partition(":")
            current[name.strip()] = value.strip()
    return found


def directives(policy: str) -> dict[str, set[str]]:
    return {words[0]: set(words[1:]) for words in (d.split() for d in policy.split(";")) if words}


def test_headers_file_has_security_headers_and_caches_hashed_assets(built: Built) -> None:
    found = rules((built.output / "_headers").read_text())
    assert set(found) == {"/*", "/assets/*"}
    every = found["/*"]
    assert every["X-Content-Type-Options"] == "nosniff"
    assert every["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in every["Permissions-Policy"]
    assert every["X-Frame-Options"] == "DENY"
    assert found["/assets/*"]["Cache-Control"] == "public, max-age=31536000, immutable"
    header = directives(every["Content-Security-Policy"])
    assert header["frame-ancestors"] == {"'none'"}
    assert header["object-src"] == {"'none'"} and header["default-src"] == {"'self'"}
    assert not [s for s in header["script-src"] if s.startswith("'sha")], \
        "the same file whichever languages a build writes: no page's own hashes"
    for page in built.output.rglob("*.html"):  # it allows everything a page's policy does
        meta = META.search(page.read_text(encoding="utf-8"))
        assert meta, page
        for name, sources in directives(meta.group(2)).items():
            allowed = header.get(name, header["default-src"])
            inline = {s for s in sources if s.startswith("'sha")}
            assert sources - inline - {"'none'"} <= allowed, (page, name)
            assert not inline or "'unsafe-inline'" in allowed, (page, name)


def test_headers_follow_the_base_urls_path(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "multilingual", tmp_path,
                       "--base-url", "https://org.github.io/hub/")
    assert built.code == 0
    assert set(rules((built.output / "_headers").read_text())) == {"/hub/*", "/hub/assets/*"}


def test_a_sites_own_headers_file_wins(tmp_path: Path) -> None:
    work = Workspace(tmp_path, FIXTURES / "multilingual")
    (work.site / "static").mkdir(exist_ok=True)
    (work.site / "static/_headers").write_text("/*\n  X-Robots-Tag: noindex\n")
    work.build()
    assert (work.output / "_headers").read_text() == "/*\n  X-Robots-Tag: noindex\n"


def test_header_policy_union_replaces_hashes() -> None:
    merged = union(["default-src 'self'; script-src 'sha256-AB='; object-src 'none'",
                    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-CD='",
                    "default-src 'self'; script-src 'none'"])
    assert merged == ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'; "
                      "object-src 'none'; frame-ancestors 'none'")
    assert union([]) == "frame-ancestors 'none'"


class _HeadersHandler(SimpleHTTPRequestHandler):
    """Serves files with the headers ``/_headers`` gives them, as Netlify would."""

    rules: ClassVar[dict[str, dict[str, str]]] = {}

    def end_headers(self) -> None:
        path = self.path.split("?")[0]
        for pattern, headers in self.rules.items():
            if re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), path):
                for name, value in headers.items():
                    self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@needs_chromium
def test_pages_run_their_scripts_under_the_header_policy(built: Built) -> None:
    handler = type("Handler", (_HeadersHandler,),
                   {"rules": rules((built.output / "_headers").read_text())})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(built.output)))
    Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with chromium() as browser:
            page = browser.new_page()
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text
                    or "Refused" in m.text else None)
            for path in _pages(built):
                response = page.goto(f"{base}/{path}")
                assert response is not None
                assert "frame-ancestors" in response.headers["content-security-policy"]
                page.wait_for_load_state("networkidle")
            assert refused == []
            page.goto(f"{base}/en/news/appeal/")  # the share script ran: it sets a handler
            assert page.evaluate("typeof document.querySelector('.share .copy').onclick") \
                == "function"
    finally:
        server.shutdown()
        server.server_close()


def _pages(built: Built) -> Iterator[str]:
    yield "en/"
    yield "ar/news/wells/"
    yield "en/news/appeal/"
    if (built.output / "en/search/index.html").exists():
        yield "en/search/"

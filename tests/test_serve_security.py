"""``newshub serve`` against hostile clients: a real server in a subprocess, requests
written byte for byte on raw sockets (http.client and urllib would normalise them),
secrets placed beside the build folder that must never be served."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.serve import BadRequest, host_allowed, request_path, serve_folder
from tests.conftest import FIXTURES
from tests.test_serve import TIMEOUT, free_port, until

SECRET = "TOP-SECRET-OUTSIDE-THE-BUILD-FOLDER"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="127.0.0.2 is a loopback address only on Linux")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def send(port: int, request: bytes, address: str = "127.0.0.1", wait: float = 5.0,
         enough: bytes | None = None) -> Reply:
    """One request on a fresh connection, read until the server closes it, ``enough``
    arrived, or ``wait`` seconds of silence (a server that streams on is answered with
    what it sent)."""
    data = b""
    with socket.create_connection((address, port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        sock.settimeout(wait)
        try:
            while (enough is None or enough not in data) and (chunk := sock.recv(65536)):
                data += chunk
        except TimeoutError:
            pass
    assert data, f"the server dropped the connection without an answer to {request[:80]!r}"
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), headers, body)


def request(port: int, target: str, method: str = "GET", host: str | None = "127.0.0.1",
            extra: str = "", address: str = "127.0.0.1") -> Reply:
    lines = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines.append("Connection: close")
    raw = "\r\n".join(lines) + "\r\n" + extra + "\r\n"
    return send(port, raw.encode("latin-1"), address)


class Served:
    """``newshub serve`` on a copy of the multilingual fixture (its build folder in the
    site's cache), its temporary folder inside ``workdir/tmp``, its stderr in a file."""

    def __init__(self, workdir: Path, *args: str, address: str = "127.0.0.1") -> None:
        self.site = workdir / "site"
        shutil.copytree(FIXTURES / "multilingual", self.site)
        self.tmp = workdir / "tmp"
        self.tmp.mkdir()
        self.stderr_path = workdir / "stderr.txt"
        self.port = free_port()
        self.address = address
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "generator", "serve", "--site", str(self.site),
                 "--port", str(self.port), *args],
                stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(self.tmp)})

        def ready() -> bool:
            assert self.process.poll() is None, self.stderr()
            try:
                return request(self.port, "/", address=address, host=address).status == 200
            except OSError:
                return False

        try:
            until(ready, "the server answers")
        except BaseException:
            self.stop()  # never leave a server running behind a failed test
            raise
        self.output = serve_folder(self.site, address, self.port)
        # Pages are answered while the first build renders: wait for all of it.
        until((self.output / "en/news/wells/card.jpg").is_file, "the first build is written")

    def get(self, target: str, **options: str) -> Reply:
        return request(self.port, target, **options)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.stderr(), self.stderr()
        assert self.process.poll() is None, "the server died"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(TIMEOUT)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose build folder sits beside secrets and holds symlinks out to them."""
    running = Served(tmp_path_factory.mktemp("serve-security"))
    outside = running.tmp / "outside"
    outside.mkdir()
    page = f"<!doctype html><html><body><p>{SECRET}</p></body></html>"
    for name in ("404.html", "index.html", "page.html", "secret.txt"):
        (outside / name).write_text(page)
        (running.tmp / name).write_text(page)
        (running.output.parent / name).write_text(page)  # the build folder's parent
    build = running.output
    (build / "leak.txt").symlink_to(outside / "secret.txt")
    (build / "leakdir").symlink_to(outside)
    (build / "en/leak.html").symlink_to(outside / "page.html")
    (build / "en/news/leakdir").symlink_to(outside)
    (build / "alias.txt").symlink_to("robots.txt")  # a link that stays inside is served
    (build / "café.txt").write_text("café\n")
    (build / "loop").symlink_to("loop")
    yield running
    running.stop()


def not_found_page(served: Served, target: str = "/") -> Reply:
    """The 404 page the site itself has for a path like ``target`` (its language's)."""
    lang = "/en" if target.startswith("/en/") else ""
    reply = served.get(f"{lang}/no-such-page")
    assert reply.status == 404 and "<html" in reply.text and SECRET not in reply.text
    return reply


@pytest.mark.parametrize("target", [
    "/..", "/../", "/../secret.txt", "/%2e%2e", "/%2e%2e/", "/%2E%2E/404.html", "/.%2e/",
    "/en/../../secret.txt", "/en/%2e%2e/%2e%2e/secret.txt", "/./../secret.txt",
    "/..%2fsecret.txt", "/..%2f..%2f404.html", "/en%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt", "/..\\secret.txt", "/en\\..\\..\\secret.txt", "//../secret.txt",
    "/%2f..%2fsecret.txt", "/%252e%252e/secret.txt",
    "http://127.0.0.1/../secret.txt", "http://localhost/%2e%2e/404.html",
])
def test_paths_that_climb_out_never_leave_the_build_folder(served: Served,
                                                           target: str) -> None:
    """Dot segments and encoded or back slashes are refused (400); the 404 page, when
    one is answered, is the site's own, never the one beside the build folder."""
    reply = served.get(target)
    assert SECRET not in reply.text
    assert reply.status in (400, 404), (target, reply.status)
    if reply.status == 404:
        assert reply.body == not_found_page(served).body
    served.assert_no_traceback()


@pytest.mark.parametrize("target", [
    lambda served: "/" + str(served.tmp / "secret.txt").lstrip("/"),
    lambda served: "/" + str(served.tmp / "secret.txt"),
    lambda served: "/" + str(served.tmp / "secret.txt").replace("/", "%2f"),
], ids=["absolute", "double-slash", "encoded-absolute"])
def test_absolute_paths_are_inside_the_build_folder(served: Served, target) -> None:
    reply = served.get(target(served))
    assert SECRET not in reply.text
    assert reply.status in (400, 404)


@pytest.mark.parametrize("target", [
    "/leak.txt", "/leakdir", "/leakdir/", "/leakdir/index.html", "/leakdir/page.html",
    "/leakdir/nothing-here", "/en/leak.html", "/en/news/leakdir/",
    "/en/news/leakdir/page.html",
])
def test_symlinks_out_of_the_build_folder_are_not_followed(served: Served,
                                                           target: str) -> None:
    """Not for the file, nor for a folder's index.html, nor for the 404 page of a
    'language' that is a link."""
    for method in ("GET", "HEAD"):
        reply = served.get(target, method=method)
        assert reply.status == 404, (method, target)
        assert SECRET not in reply.text
    assert served.get(target).body == not_found_page(served, target).body
    served.assert_no_traceback()


def test_links_and_names_inside_the_build_folder_are_served(served: Served) -> None:
    assert served.get("/alias.txt").body == (served.output / "robots.txt").read_bytes()
    assert served.get("/caf%C3%A9.txt").text == "café\n"
    assert served.get("/en/news/wells/?utm=x#top").status == 200
    assert served.get("/en").status == 200 and served.get("/en//news//wells/").status == 200


@pytest.mark.parametrize("target", ["/loop", "/loop/", "/loop/index.html"])
def test_a_symlink_loop_is_not_found(served: Served, target: str) -> None:
    for method in ("GET", "HEAD"):
        assert served.get(target, method=method).status == 404
    served.assert_no_traceback()


@pytest.mark.parametrize("target", [
    "/%00", "/en/%00.html", "/a%00b/", "/%zz", "/%", "/%f", "/abc%4", "/%ff",
    "/%c3%28", "/%ed%a0%80", "/%01", "/%1b[31m", "/%7f", "/%c2%85",
    "/%0d%0aSet-Cookie:%20x=1", "/en/\x01", "/\x7f", "/" + "a" * 10_000,
    "/en/" + "%C3%A9" * 200, "/" + "a/" * 1500, "*", "en/", "http:/en/",
])
def test_bad_paths_get_400_and_a_short_answer(served: Served, target: str) -> None:
    for method in ("GET", "HEAD"):
        reply = served.get(target, method=method)
        assert reply.status == 400, (method, target[:80], reply.status)
        assert reply.headers["content-type"].startswith("text/plain")
        assert int(reply.headers["content-length"]) < 200
        assert reply.body == (b"" if method == "HEAD" else reply.body)
        assert b"Traceback" not in reply.body and b"Set-Cookie" not in reply.body
        assert "set-cookie" not in reply.headers
    served.assert_no_traceback()
    assert served.get("/en/").status == 200, "the server still answers"


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:{port}", "localhost.evil.example", "127.0.0.1.nip.io",
    "127.0.0.1.nip.io:{port}", "127.0.0.1@evil.example", "localhost:{port}@evil.example",
    "evil.example#@localhost", "[::1].evil.example", "localhost:80:80", "localhost:x",
    "127.0.0.2", "10.0.0.1:{port}", "[::2]", "", "local host",
])
@pytest.mark.parametrize("target", ["/en/news/secret/", "/__newshub/events", "/robots.txt"])
def test_a_foreign_host_is_refused(served: Served, host: str, target: str) -> None:
    """DNS rebinding: a page on a name the attacker makes resolve to 127.0.0.1 would
    read the drafts (and listen to the builds); only local names are answered."""
    reply = served.get(target, host=host.format(port=served.port))
    assert reply.status in (400, 421), (host, target, reply.status)
    assert "Draft" not in reply.text and "event:" not in reply.text
    assert int(reply.headers["content-length"]) < 200
    served.assert_no_traceback()


def test_a_missing_duplicated_or_overridden_host_is_refused(served: Served) -> None:
    assert served.get("/en/", host=None).status == 400
    assert served.get("/en/", extra="Host: evil.example\r\n").status == 400
    assert served.get("http://evil.example/en/").status == 421, "absolute form names a host"
    assert served.get("http://evil.example/__newshub/events").status == 421
    served.assert_no_traceback()


@pytest.mark.parametrize("host", [
    "127.0.0.1", "127.0.0.1:{port}", "localhost", "LocalHost:{port}", "localhost.",
    "[::1]", "[::1]:{port}",
])
def test_local_hosts_are_answered(served: Served, host: str) -> None:
    host = host.format(port=served.port)
    assert served.get("/en/news/secret/", host=host).status == 200
    events = served.get("/__newshub/events", method="HEAD", host=host)
    assert events.status == 200 and events.headers["content-type"] == "text/event-stream"


def test_the_build_events_stream_to_a_local_host(served: Served) -> None:
    raw = (f"GET /__newshub/events HTTP/1.1\r\nHost: localhost:{served.port}\r\n\r\n")
    reply = send(served.port, raw.encode(), enough=b"event: build")  # it streams on
    assert reply.status == 200 and b"event: build" in reply.body


@pytest.mark.parametrize("target", [
    "/", "/en/", "/en", "/en/news/wells/", "/ar/", "/robots.txt", "/sitemap.xml",
    "/en/news/wells/card.jpg", "/alias.txt", "/en/no-such-page", "/no-such-page",
    "/leakdir/", "/%00", "/..",
])
def test_head_answers_like_get(served: Served, target: str) -> None:
    """Pages carry the reload script: HEAD's length counts it too."""
    get, head = served.get(target), served.get(target, method="HEAD")
    assert_same_head(get, head)


def assert_same_head(get: Reply, head: Reply) -> None:
    assert head.status == get.status
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]
    assert int(get.headers["content-length"]) == len(get.body)
    assert head.body == b""


def test_head_of_a_foreign_host_answers_like_get(served: Served) -> None:
    assert_same_head(served.get("/en/", host="evil.example"),
                     served.get("/en/", host="evil.example", method="HEAD"))


def test_the_error_page_answers_head_like_get(tmp_path: Path) -> None:
    running = Served(tmp_path)
    try:
        (running.site / "content/en/news/broken.md").write_text("---\ntitle: [x\n---\n")
        until(lambda: running.get("/en/").status == 500, "the error page shows")
        for target in ("/en/", "/no-such-page", "/en/news/wells/"):
            get, head = running.get(target), running.get(target, method="HEAD")
            assert get.status == 500 and "broken.md" in get.text
            assert_same_head(get, head)
        running.assert_no_traceback()
    finally:
        running.stop()


@linux_only
def test_it_listens_on_127_0_0_1_only_by_default(served: Served) -> None:
    """The whole of 127.0.0.0/8 reaches this machine on Linux: a server listening on
    every address would answer 127.0.0.2 too."""
    assert served.get("/en/").status == 200
    with pytest.raises(OSError):
        request(served.port, "/en/", address="127.0.0.2")
    with pytest.raises(OSError):
        socket.create_connection(("::1", served.port), timeout=TIMEOUT).close()


@linux_only
def test_host_option_listens_there_and_answers_to_its_name(tmp_path: Path) -> None:
    running = Served(tmp_path, "--host", "127.0.0.2", address="127.0.0.2")
    try:
        port = running.port
        for host in ("127.0.0.2", f"127.0.0.2:{port}", "localhost", f"127.0.0.1:{port}"):
            assert request(port, "/en/", host=host, address="127.0.0.2").status == 200
        for host in ("evil.example", "127.0.0.3", "10.0.0.1"):
            assert request(port, "/en/", host=host, address="127.0.0.2").status == 421
        with pytest.raises(OSError):
            request(port, "/en/", address="127.0.0.1")
        running.assert_no_traceback()
    finally:
        running.stop()


@pytest.mark.parametrize(("host", "bound", "allowed"), [
    ("localhost:8000", "127.0.0.1", True),
    ("[::1]:8000", "127.0.0.1", True),
    ("192.168.1.5:8000", "192.168.1.5", True),
    ("devbox.lan:8000", "devbox.lan", True),
    ("192.168.1.5:8000", "127.0.0.1", False),
    ("192.168.1.5:8000", "0.0.0.0", True),  # every address of this machine: IPs only
    ("[fe80::1]", "::", True),
    ("devbox.lan", "0.0.0.0", False),  # a name could be the attacker's
    ("evil.example", "0.0.0.0", False),
    ("...:8000", "", False),
])
def test_host_rule(host: str, bound: str, allowed: bool) -> None:
    assert host_allowed(host, bound) is allowed


@pytest.mark.parametrize(("target", "path"), [
    ("/", "/"), ("/en/", "/en/"), ("/en", "/en"), ("//en//news/", "/en/news/"),
    ("/caf%C3%A9/?q=1#x", "/café/"), ("/a%20b", "/a b"),
])
def test_request_path_decodes(target: str, path: str) -> None:
    assert request_path(target) == (None, path)


def test_request_path_keeps_the_authority_of_an_absolute_target() -> None:
    assert request_path("http://localhost:8000/en/") == ("localhost:8000", "/en/")
    assert request_path("HTTP://localhost:8000") == ("localhost:8000", "/")


def test_request_path_wants_utf_8() -> None:
    assert request_path("/caf\xc3\xa9/") == (None, "/café/")  # raw UTF-8, read as Latin-1
    for target in ("/caf\xe9/", "/\u0100"):
        with pytest.raises(BadRequest):
            request_path(target)

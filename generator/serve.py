"""``newshub serve``: build, serve on localhost, rebuild on change, reload the browser.

The dev build goes to a temporary folder (never ``output/``), includes drafts and
future posts unless ``--no-drafts``, and every HTML response gets a tiny script
that listens for Server-Sent Events; the published site never carries it. A build
that fails shows its errors in the browser until the next good save.
"""

from __future__ import annotations

import errno
import gc
import html
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from generator.build import BuildSession
from generator.config import load_config
from generator.errors import SiteError
from generator.watch import Change, ChangeKind, Watcher

EVENTS_PATH = "/__newshub/events"
KEEPALIVE_SECONDS = 10.0
IDLE_COLLECT_SECONDS = 1.0  # after a build: browsers have fetched the new pages by then
COLLECT_AT_LEAST_EVERY = 10  # builds, when saves come faster than that
LATER_KINDS = frozenset({"card"})  # made after the browsers reload: no page shows them
RELOAD_SCRIPT = (
    '<script>(function(){{var g={generation},s=new EventSource("{events}");'
    's.addEventListener("build",function(e){{if(+e.data!==g)location.reload()}})}})()</script>'
)


@dataclass(frozen=True, slots=True)
class BuildState:
    """The outcome of the latest build: a generation number and any errors."""

    generation: int
    errors: tuple[str, ...] = ()


class DevSite:
    """The site being served: rebuilds on demand and tells waiting browsers."""

    def __init__(self, root: Path, host: str, port: int, drafts: bool,
                 log: Callable[[str], None]) -> None:
        self.root = root
        self.base_url = f"http://{host}:{port}/"
        self.drafts = drafts
        self.log = log
        self.output = Path(tempfile.mkdtemp(prefix="newshub-serve-"))
        self.session: BuildSession | None = None
        self.state = BuildState(0)
        self.changed = threading.Condition()
        self.build_lock = threading.Lock()
        self.stopping = False
        self.collection: threading.Timer | None = None
        self.uncollected = 0  # builds since the last collection

    def rebuild(self, changes: frozenset[Change] = frozenset()) -> None:
        with self.build_lock:
            start = time.perf_counter()
            errors = self._build(self._touched_sources(changes))
            seconds = time.perf_counter() - start
            what = ", ".join(sorted(str(c.path) for c in changes)[:3]) or "site"
            if errors:
                self.log(f"✗ build failed ({what}):\n  " + "\n  ".join(errors))
            else:
                self.log(f"✓ rebuilt {what} in {seconds:.2f} s")
            with self.changed:
                self.state = BuildState(self.state.generation + 1, errors)
                self.changed.notify_all()
            if not errors and self.session is not None:  # cards, once browsers were told
                problems = self._run(self.session.finish)
                if problems:
                    self.log("✗ share cards failed:\n  " + "\n  ".join(problems))
        self._collect_when_idle()

    def _collect_when_idle(self) -> None:
        """Free earlier builds' sites (their views make reference cycles) a moment after
        a build, not whenever the automatic collector would: a full collection walks the
        whole site (~0.1 s) and landed inside the next save's build or page fetch."""
        self.uncollected += 1
        if self.collection is not None:
            self.collection.cancel()
        if self.uncollected >= COLLECT_AT_LEAST_EVERY:
            self.collect()
            return
        self.collection = threading.Timer(IDLE_COLLECT_SECONDS, self.collect)
        self.collection.daemon = True
        self.collection.start()

    def collect(self) -> None:
        with self.build_lock:
            self.uncollected = 0
            gc.collect()

    def _touched_sources(self, changes: frozenset[Change]) -> frozenset[str] | None:
        """The Markdown sources a batch of changes touched, when it touched nothing else
        (the build then skips walking the content folder); None otherwise."""
        paths = [self.root / change.path for change in changes]
        if not changes or any(change.kind != ChangeKind.CONTENT for change in changes) or \
                not all(path.suffix == ".md" and path.is_file() for path in paths):
            return None
        return frozenset(str(path) for path in paths)

    def _build(self, touched: frozenset[str] | None = None) -> tuple[str, ...]:
        return self._run(partial(self._build_with, touched))

    def _build_with(self, touched: frozenset[str] | None) -> None:
        config = load_config(self.root, base_url=self.base_url, include_drafts=self.drafts)
        first = self.session is None
        if self.session is None:  # the first build runs before any thread: all cores
            self.session = BuildSession(config, self.output, persist=False)
        else:  # later ones run beside the server's threads: never fork there
            self.session.workers = 1
        self.session.build(config, touched=touched, later=LATER_KINDS)
        if first:
            self.session.prepare()  # templates compiled before the first save

    def _run(self, step: Callable[[], None]) -> tuple[str, ...]:
        """Run a build step; its problems as lines to show (a bug must not kill the
        server: it is shown like a build error)."""
        try:
            step()
        except SiteError as exc:
            return tuple(str(problem) for problem in exc.problems)
        except Exception:
            return (traceback.format_exc(),)
        return ()

    def wait_for_change(self, generation: int, timeout: float) -> BuildState:
        with self.changed:
            self.changed.wait_for(lambda: self.state.generation != generation or self.stopping,
                                  timeout)
            return self.state

    def stop(self) -> None:
        if self.collection is not None:
            self.collection.cancel()
        with self.changed:
            self.stopping = True
            self.changed.notify_all()
        with self.build_lock:
            if self.session is not None:
                self.session.close()
        shutil.rmtree(self.output, ignore_errors=True)


def make_handler(site: DevSite) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(site.output), **kwargs)  # type: ignore[misc]

        def log_message(self, format: str, *args: object) -> None:
            pass

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if path == EVENTS_PATH:
                return self._events()
            state = site.state
            target = self._target(path)
            if state.errors and (target is None or target.suffix == ".html"):
                return self._send_html(error_page(state), HTTPStatus.INTERNAL_SERVER_ERROR)
            if target is None:
                return self._not_found(path)
            if target.suffix == ".html":
                return self._send_html(target.read_text(encoding="utf-8"), HTTPStatus.OK)
            return super().do_GET()

        def _target(self, path: str) -> Path | None:
            candidate = (site.output / path.lstrip("/")).resolve()
            if not candidate.is_relative_to(site.output.resolve()):
                return None
            if candidate.is_dir():
                if not path.endswith("/"):
                    return candidate / "index.html" if (candidate / "index.html").is_file() \
                        else None
                candidate = candidate / "index.html"
            return candidate if candidate.is_file() else None

        def _not_found(self, path: str) -> None:
            lang = path.strip("/").split("/", 1)[0]
            page = site.output / lang / "404.html"
            page = page if lang and page.is_file() else site.output / "404.html"
            body = page.read_text(encoding="utf-8") if page.is_file() else "<h1>Not found</h1>"
            self._send_html(body, HTTPStatus.NOT_FOUND)

        def _send_html(self, text: str, status: HTTPStatus) -> None:
            script = RELOAD_SCRIPT.format(generation=site.state.generation, events=EVENTS_PATH)
            text = text.replace("</body>", script + "</body>", 1) if "</body>" in text \
                else text + script
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "keep-alive")
            self.end_headers()
            generation = -1
            try:
                while not site.stopping:
                    state = site.wait_for_change(generation, KEEPALIVE_SECONDS)
                    if state.generation != generation:
                        generation = state.generation
                        self.wfile.write(f"event: build\ndata: {generation}\n\n".encode())
                    else:
                        self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return Handler


def error_page(state: BuildState) -> str:
    """The build's errors, shown instead of every page until the next good build."""
    items = "".join(f"<li><pre>{html.escape(error)}</pre></li>" for error in state.errors)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<title>Build failed · newshub</title><style>body{font:16px/1.5 system-ui,sans-serif;"
        "margin:2rem;color:#1b1f1d}h1{color:#a1260d}pre{white-space:pre-wrap;"
        "background:#fdecea;padding:.75rem;border-radius:4px}ul{padding:0;list-style:none}"
        "</style></head><body><h1>The site could not be built</h1>"
        f"<p>Fix the problem below and save: this page reloads by itself.</p><ul>{items}</ul>"
        "</body></html>"
    )


def serve(root: Path, host: str, port: int, drafts: bool) -> int:
    """Run the development server until Ctrl-C; return the exit code."""
    log = _log
    site = DevSite(root, host, port, drafts, log)
    try:
        server = ThreadingHTTPServer((host, port), make_handler(site))
    except OSError as exc:
        site.stop()
        if exc.errno == errno.EADDRINUSE:
            print(f"newshub serve: port {port} is already in use on {host}; "
                  f"try --port {port + 1}", file=sys.stderr)
        else:
            print(f"newshub serve: cannot listen on {host}:{port}: {exc.strerror}",
                  file=sys.stderr)
        return 1
    server.daemon_threads = True
    _stop_on_terminate(os.getpid())
    gc.disable()  # garbage is collected a moment after each build instead (see DevSite)
    watcher = Watcher(root, site.rebuild)
    try:
        site.rebuild()
        watcher.start()
        shown = "drafts and future posts included" if drafts else "drafts left out"
        log(f"Serving {root} at {site.base_url} ({shown}); Ctrl-C to stop")
        server.serve_forever()
    except KeyboardInterrupt:
        log("Stopping…")
    finally:
        watcher.stop()
        site.stop()
        server.server_close()
    return 0


def _stop_on_terminate(main_pid: int) -> None:
    """SIGTERM (a process manager, ``timeout``, ``kill``) stops the server like Ctrl-C,
    so its temporary output folder is removed; forked build workers keep the default."""

    def stop(signum: int, _frame: object) -> None:
        if os.getpid() != main_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

"""``newshub serve``: build, serve on localhost, rebuild on change, reload the browser.

The dev build goes to a folder of the server's own in the site's cache
(``.newshub-cache/serve/<host>-<port>/``, never ``output/``), includes drafts and
future posts unless ``--no-drafts``, and every HTML response gets a tiny script
that listens for Server-Sent Events; the published site never carries it. A build
that fails shows its errors in the browser until the next good save.

Starting is quick on a warm cache. The folder and its manifest are kept between runs
(stored when the server stops), so a restart renders only what changed meanwhile.
Requests are answered as soon as the first build has linked the site: an output it has
not written yet is rendered when asked for, while the rest is rendered behind it. Pages,
lists, feeds and sitemaps are planned next, while the workers it forked first wait, and
rendered by those workers (no process is forked once the server answers); a page asked
for before then is planned alone, a list, feed or sitemap is answered once planned. Share
cards (one per article: the costliest plan) are planned only after the build; one asked
for earlier is planned and drawn on its own. Share cards show
the published site's host, not localhost, so they are the cards ``newshub build``
draws (and keeps in the cache): the preview shows what sharing will show, and no
card is drawn again for the server.

The server shows drafts, so it trusts no request: it listens on 127.0.0.1 unless
``--host`` says otherwise, answers only requests whose ``Host`` is a local name or
that address (DNS rebinding), sends only files whose real path is inside the build
folder, and answers a path no file can have with 400, never a traceback.
"""

from __future__ import annotations

import errno
import gc
import html
import ipaddress
import os
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from generator import csp, delta, snapshot
from generator.build import WRITING_PREFIX, BuildSession
from generator.cache import CACHE_FOLDER, BodyStore, Store, manifest_name
from generator.config import SiteConfig, load_config
from generator.deps import catalog_digests
from generator.errors import SiteError
from generator.load import source_body
from generator.model import Page, Site
from generator.outputs import pages
from generator.outputs.static import theme_assets, theme_jobs
from generator.render import Job, Renderer
from generator.watch import Change, ChangeKind, Watcher

EVENTS_PATH = "/__newshub/events"
KEEPALIVE_SECONDS = 10.0
IDLE_COLLECT_SECONDS = 1.0  # after a build: browsers have fetched the new pages by then
COLLECT_AT_LEAST_EVERY = 10  # builds, when saves come faster than that
LATER_KINDS = frozenset({"card", "search"})  # made after the browsers reload
BEHIND_KINDS = frozenset({"page", "listing", "feed", "sitemap"})  # planned after answering
WORKER_NICENESS = 2  # the first build's workers: the server's answers first, yet no starving
# beside other busy programs (at 10, two of them made a small first build take 50 s, not 8)
PLANNED_WAIT_SECONDS = 60.0  # at most, for a list, feed or sitemap asked for before planned
WATCHING_WAIT_SECONDS = 10.0  # at most, for the watcher to start before a first answer
FINISH_SHOWN_SECONDS = 1.0  # cards and search are logged after the first build, or when slow
RELOAD_SCRIPT = (
    '<script>(function(){{var g={generation},s=new EventSource("{events}");'
    's.addEventListener("build",function(e){{if(+e.data!==g)location.reload()}})}})()</script>'
)
SERVE_FOLDER = "serve"  # in the site's cache: one output folder per address served
MAX_SEGMENT_BYTES = 255  # the longest file name Linux, macOS and Windows file systems allow
MAX_PATH_BYTES = 2048
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9._-]+))(?::[0-9]{1,5})?",
                   re.ASCII)


class EarlyPages:
    """Pages answered before the first build has loaded and linked the site: rendered
    from the last build's stored layout and the page records its shards hold
    (``delta``), as the first build will render them. Made by ``early_pages`` only when
    no input changed since that build and its linked site is the one this server links."""

    def __init__(self, site: Site, assets: Mapping[str, str], renderer: Renderer) -> None:
        self.site = site
        self.assets = assets
        self.renderer = renderer
        self.theme_files = theme_jobs(site.config)  # its CSS, scripts, fonts and icons

    def rendered(self, relative: str) -> tuple[str, bytes] | None:
        """The page whose output is at ``relative`` (a folder's: its index.html), rendered
        now, or the theme's file at ``relative``; None when no page's id is its folder (a
        permalink, a list, a feed, another file), or it fails (the first build answers
        then)."""
        theme_file = self.theme_files.get(relative)
        if theme_file is not None:
            try:
                return relative, self.renderer.render(theme_file)
            except OSError:
                return None
        folder = relative.rstrip("/")
        if relative.endswith("/index.html"):
            folder = relative[:-len("/index.html")]
        elif relative.endswith(".html") or not folder:
            return None
        output = f"{folder}/index.html"
        config = self.site.config
        ids = (folder, f"{config.default_language}/{folder}") \
            if config.default_language_at_root else (folder,)
        try:
            for pid in ids:
                page = self.site.pages.get(pid)
                if page is not None and page.output_path == output and \
                        pages.has_output(page) and config.owns(output):
                    return output, self.renderer.render(
                        pages.page_job(self.site, self.assets, page))
        except Exception:  # a damaged shard or a failing template: the build tells
            return None
        return None


def early_pages(config: SiteConfig, published: SiteConfig) -> EarlyPages | None:
    """Pages to answer from the last ``newshub build`` (or server) of this site, before
    the first build links it: when no input changed since (its stamps and settings are
    those the stored layout was linked from) and that build linked the site this
    server links (it left out no page, so drafts shown or not make no difference, and
    no page expires meanwhile; only the base URL, the cards' host, cards and search,
    which no page record holds, may differ). None otherwise."""
    store = Store(config.root)
    mark = store.read(delta.LAYOUT_MARK)
    if not isinstance(mark, str):
        return None
    inputs = _inputs(store, config)
    built = next((candidate for candidate in _built_as(config, published)
                  if inputs(candidate) == mark), None)
    layout = delta.read_layout(store, mark, built) if built is not None else None
    if built is None or layout is None or layout.hidden or \
            (layout.expiring and not config.include_drafts):
        return None
    bodies = BodyStore(store)

    def body(page: Page) -> str:
        found = bodies.body(page.digest)
        return found if found is not None else source_body(config, page)

    site = delta.site_from(config, layout, delta.ShardedPages(store, layout.shards), body)
    renderer = Renderer(config, compiled=store.folder / "templates",
                        catalogs=catalog_digests(config))
    return EarlyPages(site, theme_assets(config), renderer)


def _inputs(store: Store, config: SiteConfig) -> Callable[[SiteConfig], str]:
    """The inputs' digest under settings (``snapshot.Taken.inputs``), their paths listed
    as the no-change check keeps them (``snapshot.listed``: no walk while no folder
    changed) and each stamped once."""
    names, refused = snapshot.listed(store, config)
    values = array("q")
    for path in snapshot.unpacked(names):
        try:
            status = os.stat(path)
        except OSError:  # removed meanwhile: the first build will see it
            values.extend((-1, -1))
            continue
        values.extend((snapshot.wrapped(status.st_mtime_ns), status.st_size))
    return lambda settings: snapshot.inputs_digest(repr(settings), refused, names, values)


def _built_as(config: SiteConfig, published: SiteConfig) -> list[SiteConfig]:
    """The settings a build of this site that links it as ``config`` does may have
    had: the published ones, drafts left out or as ``config`` has them, with or
    without cards and search (``newshub build``'s options, or no Pagefind)."""
    return [replace(published, include_drafts=drafts, share_cards=cards, search=search)
            for drafts in sorted({False, config.include_drafts})
            for cards in (True, False) for search in (True, False)]


@dataclass(frozen=True, slots=True)
class BuildState:
    """The outcome of the latest build: a generation number and any errors."""

    generation: int
    errors: tuple[str, ...] = ()


class DevSite:
    """The site being served: rebuilds on demand and tells waiting browsers."""

    def __init__(self, root: Path, host: str, port: int, drafts: bool,
                 log: Callable[[str], None],
                 on_ready: Callable[[], None] | None = None) -> None:
        self.root = root
        self.host = host
        self.base_url = f"http://{host}:{port}/"
        self.drafts = drafts
        self.log = log
        self.output = serve_folder(root, host, port)
        self.session: BuildSession | None = None
        # While a build renders: its renderer and the outputs it has not written yet
        # (rendered when asked for, see ``rendered``).
        self.unwritten: tuple[Renderer, Mapping[str, Job]] | None = None
        self.planned = threading.Event()  # clear while lists, feeds and sitemaps are not
        self.planned.set()
        self.planner: int | None = None  # the thread that plans them (it never waits)
        self.on_ready = on_ready  # called once, when requests can be answered
        self.watching = threading.Event()  # no answer is sent before the watcher runs
        self.watching.set()  # (``serve`` clears it until it starts one)
        # Before the first build answers: pages from the last build's layout, answered
        # under the fork gate (a build forks its workers only while no thread renders
        # one: a fork while another thread holds a lock, say Babel's or the log's, can
        # leave the child stuck); anything else waits until ``answering``.
        self.early: EarlyPages | None = None
        self.answering = threading.Event()
        self.answering.set()
        self.fork_gate = threading.RLock()
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
                # Pages rendered on request during the build carry the next number: a
                # failed build takes the one after, so that they reload to the errors.
                step = 2 if errors else 1
                self.state = BuildState(self.state.generation + step, errors)
                self.changed.notify_all()
            self.mark_ready()
            if not errors and self.session is not None:  # cards and search, once browsers know
                start = time.perf_counter()
                problems = self._run(self.session.finish)
                seconds = time.perf_counter() - start
                if problems:
                    self.log("✗ share cards or search index failed:\n  " + "\n  ".join(problems))
                elif self.state.generation == 1 or seconds >= FINISH_SHOWN_SECONDS:
                    self.log(f"✓ share cards and search index done in {seconds:.2f} s")
            self.unwritten = None
        self._collect_when_idle()

    def answer_early(self) -> bool:
        """Answer pages from the last build's layout until the first build answers (when
        it is this site's as it is now: ``early_pages``); whether it does."""
        try:
            published = load_config(self.root, include_drafts=self.drafts)
            early = early_pages(self.config(), published)
        except Exception:  # a broken site.toml or cache: the first build shows what failed
            return False
        if early is None:
            return False
        self.early = early
        self.answering.clear()
        gate = self.fork_gate
        os.register_at_fork(before=gate.acquire, after_in_parent=gate.release,
                            after_in_child=gate.release)
        return True

    def end_early(self) -> None:
        """The first build answers: no page is answered from the layout any more."""
        self.early = None
        self.answering.set()

    def mark_ready(self) -> None:
        """Requests can be answered: the first build failed, finished, or is rendering."""
        ready, self.on_ready = self.on_ready, None
        if ready is not None:
            ready()

    def _rendering(self, renderer: Renderer, jobs: list[Job], complete: bool) -> None:
        """The build began rendering (its workers forked): its outputs can be rendered
        here when asked for, until it has written them. Not ``complete``: lists, feeds
        and sitemaps are planned next (a request for one waits for that)."""
        self.unwritten = (renderer, {job.path: job for job in jobs})
        self.planner = threading.get_ident()
        if complete:
            self.planned.set()
        else:
            self.planned.clear()
        self.mark_ready()

    def rendered(self, relative: str, wait: bool = True) -> tuple[str, bytes] | None:
        """An output (a file's path, or a folder's for its index.html) the running build
        has not written yet, rendered now; None when there is none, or it fails (the
        build reports why). With ``wait``, a page the build has not planned yet is
        planned alone, and one perhaps among the lists, feeds and sitemaps it has not
        planned yet is looked for once they are (without: a kept folder's file answers
        meanwhile, and reloads when the build is done)."""
        found = self._unwritten(relative)
        session = self.session
        if found is None and wait and session is not None:  # a page not planned yet
            found = session.page_behind(relative)
        if found is None and wait and not self.planned.is_set() and \
                threading.get_ident() != self.planner:
            self.planned.wait(PLANNED_WAIT_SECONDS)
            found = self._unwritten(relative)
        if found is None and session is not None:  # a card the build has not planned yet
            found = session.unplanned_job(relative)
        if found is None:
            return None
        renderer, job = found
        try:
            return job.path, renderer.render(job)
        except Exception:
            return None

    def _unwritten(self, relative: str) -> tuple[Renderer, Job] | None:
        """The running build's job for an output it has not written yet."""
        unwritten = self.unwritten
        if unwritten is None:
            return None
        renderer, jobs = unwritten
        folder = relative.rstrip("/")
        return next(((renderer, jobs[path]) for path in
                     (relative, f"{folder}/index.html" if folder else "index.html")
                     if path in jobs), None)

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
        config = self.config()
        first = self.session is None
        if self.session is None:  # the first build forks before any other thread runs
            # No .br/.gz: the folder is read only by this server, which sends files as
            # they are, and each save waits for its build. The manifest stays in memory
            # (stored when the server stops, for the next start).
            self.session = BuildSession(config, self.output, persist=False,
                                        precompress=False)
            self.session.rendering = self._rendering
            self.session.niceness = WORKER_NICENESS
            self.session.resume()
            if self.on_ready is None:  # answering already (a kept folder): never fork
                self.session.workers = 1
        try:
            self.session.build(config, touched=touched, later=LATER_KINDS,
                               behind=BEHIND_KINDS)
        finally:
            self.unwritten = None
            self.planned.set()  # (a failed build: no request waits for its plan)
            # What follows (cards, search, later builds) runs beside the server's
            # threads: never fork there.
            self.session.workers = 1
        later = self.session.pending  # cards: made by ``finish``, or when asked for first
        if later is not None:
            self.unwritten = (later[0], {job.path: job for job in later[1]})
        if first:
            self.session.prepare()  # templates compiled before the first save

    def kept(self) -> bool:
        """Whether the last server at this address stopped cleanly and left its folder
        as its manifest says: then it can be answered from at once, before the first
        build (pages that changed meanwhile reload when it is done)."""
        name = manifest_name(self.output)
        interrupted = (self.root / CACHE_FOLDER / (WRITING_PREFIX + name)).exists()
        return self.output.is_dir() and not interrupted and \
            Store(self.root).read(name) is not None

    def config(self) -> SiteConfig:
        """The site's settings at this server's address, drafts as asked; cards show the
        published site's host (the same cards as ``newshub build``'s)."""
        published = load_config(self.root, include_drafts=self.drafts)
        return replace(published, base_url=self.base_url,
                       share_host=urlsplit(published.base_url).netloc)

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
                self.session.keep()  # the next start renders only what changed meanwhile
                self.session.close()


def serve_folder(root: Path, host: str, port: int) -> Path:
    """The server's own output folder, kept between runs: one per address, since every
    page names it."""
    name = re.sub(r"[^A-Za-z0-9.-]", "_", host) or "_"
    return root / CACHE_FOLDER / SERVE_FOLDER / f"{name}-{port}"


class BadRequest(ValueError):
    """A request answered with 400 and this short reason."""


def request_path(target: str) -> tuple[str | None, str]:
    """The authority (of an absolute-form target) and the decoded path of a request.

    A path that could name something outside the build folder, or that no file can
    have, is refused rather than normalised: browsers never send dot segments, encoded
    slashes, NULs or control characters, so only a broken or hostile client does."""
    try:
        raw = target.encode("latin-1")  # http.server decoded the request line as Latin-1
    except UnicodeEncodeError:
        raise BadRequest("the path is not ASCII or percent-encoded") from None
    authority = None
    scheme, separator, rest = raw.partition(b"://")
    if separator and scheme.lower() in (b"http", b"https"):
        host, _, rest = rest.partition(b"/")
        authority, raw = host.decode("latin-1"), b"/" + rest
    if not raw.startswith(b"/"):
        raise BadRequest("the path must start with /")
    raw = raw.partition(b"#")[0].partition(b"?")[0]
    if len(raw) > MAX_PATH_BYTES:
        raise BadRequest(f"the path is longer than {MAX_PATH_BYTES} bytes")
    if _BAD_ESCAPE.search(raw):
        raise BadRequest("invalid percent-encoding")
    segments = [_segment(part) for part in raw.split(b"/")]
    path = "/".join(segment for segment in segments if segment)
    return authority, "/" + path + ("/" if path and raw.endswith(b"/") else "")


def _segment(part: bytes) -> str:
    try:
        segment = unquote_to_bytes(part).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the path is not UTF-8") from None
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise BadRequest(f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes")
    if segment in (".", ".."):
        raise BadRequest("the path has a . or .. segment")
    if "/" in segment or "\\" in segment:
        raise BadRequest("the path has an encoded slash or a backslash")
    if any(char < " " or "\x7f" <= char <= "\x9f" for char in segment):
        raise BadRequest("the path has a control character")
    return segment


def host_allowed(host: str, bound: str) -> bool:
    """Whether a ``Host`` header names this server: localhost, the loopback addresses,
    the address given to ``--host``, and any IP address when listening on all of them.

    Any other name is refused because of DNS rebinding: a page on evil.example whose
    name is made to resolve to 127.0.0.1 could otherwise read the drafts served here."""
    match = _HOST.fullmatch(host.strip().lower())
    if match is None:
        return False
    name = (match["ipv6"] or match["name"]).rstrip(".")
    bound = bound.strip("[]").lower().rstrip(".")
    if not name:
        return False
    if name in LOCAL_HOSTS or name == bound:
        return True
    if bound not in WILDCARD_HOSTS:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def inside(root: Path, path: Path) -> Path | None:
    """``path`` with every symlink resolved, if it is still inside ``root`` (resolved):
    a link in the build folder never leads the server out of it."""
    real = Path(os.path.realpath(path))
    return real if real.is_relative_to(root) else None


class DevServer(ThreadingHTTPServer):
    """The HTTP server, logging a failed connection in one line instead of a traceback."""

    daemon_threads = True
    request_queue_size = 64  # browsers connecting during the first build's planning wait

    def __init__(self, address: tuple[str, int], handler: type[SimpleHTTPRequestHandler],
                 log: Callable[[str], None]) -> None:
        self.log = log
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):  # a browser that went away is no news
            self.log(f"✗ answering {client_address[0]}: {type(error).__name__}: {error}")


def make_handler(site: DevSite) -> type[SimpleHTTPRequestHandler]:
    root = Path(os.path.realpath(site.output))

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        responded = False

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[misc]

        def log_message(self, format: str, *args: object) -> None:
            pass

        def version_string(self) -> str:
            return "newshub"  # not the Python version

        def send_response(self, code: int, message: str | None = None) -> None:
            site.watching.wait(WATCHING_WAIT_SECONDS)  # an answered page shows the next save
            self.responded = True
            super().send_response(code, message)

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            """The same status and headers as GET, without the body."""
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            self.responded = False
            try:
                self._route(body)
            except ConnectionError:
                self.close_connection = True
            except Exception as exc:  # a bug answers 500, never a dropped connection
                site.log(f"✗ answering {self.command} {self.path[:200]!r}: "
                         f"{type(exc).__name__}: {exc}")
                if not self.responded:
                    self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "the server failed", body)
                self.close_connection = True

        def _route(self, body: bool) -> None:
            try:
                authority, path = request_path(self.path)
            except BadRequest as exc:
                return self._refuse(HTTPStatus.BAD_REQUEST, str(exc), body)
            hosts = self.headers.get_all("Host") or []
            if len(hosts) > 1 or (not hosts and self.request_version != "HTTP/1.0"):
                return self._refuse(HTTPStatus.BAD_REQUEST, "one Host header is required", body)
            if not all(host_allowed(host, site.host) for host in [*hosts, authority] if
                       host is not None):
                return self._refuse(HTTPStatus.MISDIRECTED_REQUEST,
                                    "this server answers only to localhost or the address "
                                    "given to --host", body)
            if path == EVENTS_PATH:
                return self._events(body)
            early = site.early
            if early is not None:  # the first build has not linked the site yet
                with site.fork_gate:  # (no build worker is forked meanwhile)
                    found = early.rendered(path.lstrip("/")) if site.early else None
                if found is not None:
                    return self._send_rendered(*found, body)
                site.answering.wait()
            state = site.state
            target = self._target(path)
            if state.errors and (target is None or target.suffix == ".html"):
                return self._send_html(error_page(state), HTTPStatus.INTERNAL_SERVER_ERROR, body)
            fresh = site.rendered(path.lstrip("/"), wait=target is None)
            if fresh is not None:  # the running build has not written it yet
                return self._send_rendered(*fresh, body)
            if target is None:
                return self._not_found(path, body)
            if target.suffix == ".html":
                try:
                    text = target.read_text(encoding="utf-8", errors="replace")
                except OSError:  # replaced by a build since
                    return self._not_found(path, body)
                return self._send_html(text, HTTPStatus.OK, body)
            return self._send_file(target, path, body)

        def _file(self, relative: str) -> Path | None:
            """The file a decoded path names inside the build folder (a folder's
            index.html); None for anything else."""
            try:
                found = inside(root, root / relative)
                if found is not None and found.is_dir():
                    found = inside(root, found / "index.html")
                return found if found is not None and found.is_file() else None
            except (OSError, ValueError):
                return None

        def _target(self, path: str) -> Path | None:
            return self._file(path.lstrip("/"))

        def _not_found(self, path: str, body: bool) -> None:
            lang = path.strip("/").split("/", 1)[0]
            text = (self._page(f"{lang}/404.html") if lang else None) or self._page("404.html")
            self._send_html(text or "<h1>Not found</h1>", HTTPStatus.NOT_FOUND, body)

        def _page(self, relative: str) -> str | None:
            """An HTML output's text: as the running build renders it, else its file."""
            fresh = site.rendered(relative, wait=False)  # (a 404 page is planned first)
            if fresh is not None:
                return fresh[1].decode("utf-8", errors="replace")
            page = self._file(relative)
            try:
                return page.read_text(encoding="utf-8", errors="replace") if page else None
            except OSError:
                return None

        def _send_rendered(self, relative: str, data: bytes, body: bool) -> None:
            """An output the running build renders, as it will write it: a page carries
            the build's number to come, so it is not reloaded when the build is done."""
            if relative.endswith(".html"):
                return self._send_html(data.decode("utf-8", errors="replace"), HTTPStatus.OK,
                                       body, site.state.generation + 1)
            self._send(HTTPStatus.OK, self.guess_type(relative), data, body)

        def _send_html(self, text: str, status: HTTPStatus, body: bool,
                       generation: int | None = None) -> None:
            """A page with the reload script: its length counts the script, for HEAD too."""
            if generation is None:
                generation = site.state.generation
            script = RELOAD_SCRIPT.format(generation=generation, events=EVENTS_PATH)
            text = text.replace("</body>", script + "</body>", 1) if "</body>" in text \
                else text + script
            text = csp.permit(text, script)  # the page's policy lets this script run
            self._send(status, "text/html; charset=utf-8", text.encode("utf-8"), body)

        def _refuse(self, status: HTTPStatus, reason: str, body: bool) -> None:
            data = f"{status.value} {status.phrase}: {reason}\n".encode()
            self._send(status, "text/plain; charset=utf-8", data, body, close=True)

        def _send(self, status: HTTPStatus, content_type: str, data: bytes, body: bool,
                  close: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def _send_file(self, target: Path, path: str, body: bool) -> None:
            try:
                file = target.open("rb")
            except OSError:  # removed by a build since
                return self._not_found(path, body)
            with file:
                stat = os.fstat(file.fileno())
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", self.guess_type(str(target)))
                self.send_header("Content-Length", str(stat.st_size))
                self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
                self.end_headers()
                if body:
                    shutil.copyfileobj(file, self.wfile)

        def _events(self, body: bool) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "keep-alive" if body else "close")
            self.end_headers()
            self.close_connection = True
            # The current build's number at once, for a page sent before it was done; but
            # not during the first build: a page rendered then carries the number to come
            # (1) and would reload at a 0, again and again until that build is done.
            generation = -1 if site.state.generation else 0
            while body and not site.stopping:
                state = site.wait_for_change(generation, KEEPALIVE_SECONDS)
                if state.generation != generation:
                    generation = state.generation
                    self.wfile.write(f"event: build\ndata: {generation}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()

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
        server = DevServer((host, port), make_handler(site), log)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"newshub serve: port {port} is already in use on {host}; "
                  f"try --port {port + 1}", file=sys.stderr)
        else:
            print(f"newshub serve: cannot listen on {host}:{port}: {exc.strerror}",
                  file=sys.stderr)
        return 1
    _stop_on_terminate(os.getpid())
    gc.disable()  # garbage is collected a moment after each build instead (see DevSite)
    watcher = Watcher(root, site.rebuild)
    answering = threading.Thread(target=server.serve_forever, name="newshub-serve",
                                 daemon=True)

    def ready() -> None:
        """Answer requests and watch the site (threads start only now: the first build's
        workers are forked before any other thread runs). A first request is rendered
        while the watcher starts (~0.1 s at 50,000 files), and sent once it runs: a page
        answered shows the next save too."""
        answering.start()
        try:
            watcher.start()
        finally:
            site.watching.set()
        shown = "drafts and future posts included" if drafts else "drafts left out"
        log(f"Serving {root} at {site.base_url} ({shown}); Ctrl-C to stop")

    site.on_ready = ready
    site.watching.clear()
    try:
        if site.kept():
            site.mark_ready()  # the kept folder answers while the first build checks it
        elif site.answer_early():  # pages from the last build's layout, and its workers
            site.on_ready = site.end_early  # are forked under the gate (see DevSite)
            ready()
        site.rebuild()
        while answering.is_alive():
            answering.join(0.5)
    except KeyboardInterrupt:
        log("Stopping…")
    finally:
        if answering.is_alive():
            server.shutdown()
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

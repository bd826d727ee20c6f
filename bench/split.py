"""A five-machine CI matrix, on one machine: does the merged site equal one build?

    python bench/split.py                      # 5 languages × 20,000 articles (100,000)
    python bench/split.py --articles 2000      # 5 × 2,000
    python bench/split.py --option=--no-search # options for every build

It writes the corpus with ``../shared/corpus/make_corpus.py`` (5 languages), builds it
once whole, then once per language with ``newshub build --languages <lang>``, one
after another, each as a fresh CI machine would: a new process, no cache, its own
empty output folder. Then it merges the five folders the way the CI recipe in the
README does (a plain copy: a file several machines write must be the same on all of
them, whichever is copied last) and compares the result with the whole build, file
by file, byte for byte. It prints each build's wall time, peak RSS and phases, the
time the matrix takes (its slowest machine) and the comparison; it exits 1 when the
merged site differs from the whole build or two machines disagree about a file.

Builds run without share cards unless ``--cards`` (as bench/run.py: at 100,000
articles they would dominate every figure), with search (when Pagefind is installed)
and precompressed copies. With ``--checkouts`` every machine builds its own copy of
the corpus (new file times, as a fresh checkout gives); by default they share one
folder and each starts with the cache removed.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS_SCRIPT = REPO.parent / "shared" / "corpus" / "make_corpus.py"
LANGUAGES = ("en", "fr", "es", "ar", "zh")  # make_corpus.py's, the default language first
CACHE = ".newshub-cache"
PHASES = re.compile(r"^load \d+ ms.*$", re.MULTILINE)  # --verbose's line of phase times


@dataclass(frozen=True)
class Run:
    """One build: what it built, its wall time, peak RSS and phase times."""

    name: str
    seconds: float
    peak_rss_mb: float
    files: int
    phases: str


@dataclass(frozen=True)
class Comparison:
    """The merged folders against the whole build (paths relative to the output)."""

    files: int
    missing: tuple[str, ...]  # in the whole build, written by no machine
    extra: tuple[str, ...]  # written by a machine, not in the whole build
    different: tuple[str, ...]  # other bytes than the whole build's
    conflicts: tuple[str, ...]  # written by several machines with other bytes
    shared: int  # written by more than one machine (the same bytes)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.different or self.conflicts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20000, help="articles per language")
    parser.add_argument("--work", type=Path, default=HERE / "work" / "split")
    parser.add_argument("--jobs", type=int, default=None, help="newshub --jobs")
    parser.add_argument("--cards", action="store_true", help="draw share cards too")
    parser.add_argument("--checkouts", action="store_true",
                        help="a copy of the corpus per machine (new file times)")
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    parser.add_argument("--option", action="append", default=[], dest="options",
                        metavar="OPTION", help="pass OPTION to every build, e.g. "
                        "--option=--no-search")
    parser.add_argument("--corpus-script", type=Path, default=CORPUS_SCRIPT)
    args = parser.parse_args()
    work: Path = args.work.resolve()
    for name in ("whole", "merged", *(f"machine-{lang}" for lang in LANGUAGES)):
        shutil.rmtree(work / name, ignore_errors=True)
    site = work / "site"
    make_corpus(args.corpus_script, site, args.articles)
    options = [*([] if args.cards else ["--no-cards"]), *args.options,
               *(["--jobs", str(args.jobs)] if args.jobs else [])]
    runs = [timed_build("whole", site, work / "whole", options)]
    parts = []
    for lang in LANGUAGES:
        machine = work / f"machine-{lang}"
        checkout = site
        if args.checkouts:
            checkout = machine / "site"
            shutil.copytree(site, checkout, ignore=shutil.ignore_patterns(CACHE))
        runs.append(timed_build(lang, checkout, machine / "output",
                                [*options, "--languages", lang]))
        parts.append(machine / "output")
    start = time.perf_counter()
    comparison = merge_and_compare(parts, work / "merged", work / "whole")
    merge_seconds = time.perf_counter() - start
    report(args.articles, runs, comparison, merge_seconds)
    if not args.keep:
        for name in ("whole", "merged", *(f"machine-{lang}" for lang in LANGUAGES)):
            shutil.rmtree(work / name, ignore_errors=True)
    return 0 if comparison.equal else 1


def make_corpus(script: Path, site: Path, articles: int) -> None:
    """The corpus, made again only when its size changed (it is deterministic)."""
    marker = site / ".articles"
    if marker.is_file() and marker.read_text() == str(articles):
        return
    if not script.is_file():
        sys.exit(f"corpus generator not found: {script} (use --corpus-script)")
    shutil.rmtree(site, ignore_errors=True)
    subprocess.run([sys.executable, str(script), str(site), "--articles", str(articles),
                    "--seed", "41"], check=True, stdout=subprocess.DEVNULL)
    marker.write_text(str(articles))


def timed_build(name: str, site: Path, output: Path, options: list[str]) -> Run:
    """One cold ``newshub build`` (no cache, no output) in a process of its own: its
    wall time and peak RSS (the largest of the process and its workers)."""
    shutil.rmtree(site / CACHE, ignore_errors=True)
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "generator", "build", "--site", str(site), "--output",
               str(output), "--verbose", *options]
    os.sync()
    time.sleep(1)  # let the disk catch up with the last build's writes
    log = output.parent / f"{name}.log"
    output.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    text = log.read_text(encoding="utf-8", errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{text}")
    phases = PHASES.findall(text)
    files = sum(len(names) for _, _, names in os.walk(output))
    # ru_maxrss: the largest of the process and its workers (each process's own peak).
    run = Run(name, seconds, usage.ru_maxrss / 1024, files, phases[-1] if phases else "")
    print(f"built {name}: {seconds:.1f} s, {run.peak_rss_mb:.0f} MB, {files:,} files, load "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)  # a long run's progress
    return run


def merge_and_compare(parts: list[Path], merged: Path, whole: Path) -> Comparison:
    """Copy every machine's folder into ``merged`` (hard links: the same bytes as a
    copy, without the disk space), then compare it with ``whole``."""
    owner: dict[str, Path] = {}
    conflicts, shared = [], 0
    for part in parts:
        for directory, _folders, names in os.walk(part):
            for name in names:
                source = Path(directory, name)
                path = source.relative_to(part).as_posix()
                if path in owner:
                    shared += 1
                    if not filecmp.cmp(owner[path], source, shallow=False):
                        conflicts.append(path)
                    continue  # the same bytes, whichever machine's copy is kept
                owner[path] = source
                target = merged / path
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)
    expected = {Path(directory, name).relative_to(whole).as_posix()
                for directory, _folders, names in os.walk(whole) for name in names}
    missing = sorted(expected - owner.keys())
    extra = sorted(owner.keys() - expected)
    different = sorted(path for path in expected & owner.keys()
                       if not filecmp.cmp(whole / path, owner[path], shallow=False))
    return Comparison(len(expected), tuple(missing), tuple(extra), tuple(different),
                      tuple(sorted(conflicts)), shared)


def report(articles: int, runs: list[Run], comparison: Comparison,
           merge_seconds: float) -> None:
    whole, machines = runs[0], runs[1:]
    print(f"\nnewshub split: {articles:,} articles × {len(LANGUAGES)} languages, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} (1 min) at the end")
    print(f"{'build':<24} {'seconds':>9} {'peak RSS MB':>12} {'files':>9}  phases")
    for run in runs:
        label = "whole site" if run is whole else f"--languages {run.name}"
        print(f"{label:<24} {run.seconds:>9.1f} {run.peak_rss_mb:>12.0f} {run.files:>9,}  "
              f"{run.phases}")
    slowest = max(run.seconds for run in machines)
    print(f"{'matrix (slowest machine)':<24} {slowest:>9.1f}")
    print(f"{'all machines together':<24} {sum(run.seconds for run in machines):>9.1f}")
    print(f"{'merge and compare':<24} {merge_seconds:>9.1f}")
    print(f"merged: {comparison.files:,} files in the whole build, {comparison.shared:,} "
          "copies written by more than one machine")
    for label, paths in (("missing (no machine wrote)", comparison.missing),
                         ("extra (not in the whole build)", comparison.extra),
                         ("different bytes", comparison.different),
                         ("machines disagree", comparison.conflicts)):
        if paths:
            print(f"{label}: {len(paths)}: {', '.join(paths[:10])}"
                  f"{' …' if len(paths) > 10 else ''}")
    print("merged site EQUALS the whole build" if comparison.equal
          else "merged site DIFFERS from the whole build")


if __name__ == "__main__":
    sys.exit(main())

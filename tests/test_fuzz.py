"""Seeded fuzz test (issue #15): hostile front matter, Markdown, file names, links, images
and symlinks written into a copy of a site, built with the real command line in this
process, every time judged the way a reader, a feed reader and an editor would:

- the build exits 0, and every page parses with lxml and holds no script but the
  theme's (each inline script's hash in the page's Content-Security-Policy), no event
  handler and no ``javascript:``/``vbscript:``/``data:`` URL; every XML file parses
  strictly, feeds read without error in feedparser, ``feed.json`` is JSON, every rule of
  ``_redirects`` is one rule; nothing in the output is a symlink, editor noise, a file
  from outside the site or an image's metadata; ``newshub check`` finds no script, no
  foreign resource (unless the content loads one on purpose), no ill-formed file and no
  page without a policy, and reports every script in a file published as it is;
- or it exits 1, every message names ``path:line:`` (or ``path:``) of a file in the
  site, one of them a changed one, and the output folder is byte for byte as it was;
- a symlink out of the site (or into its cache) is always refused by name;
- never exit 2, never a Python exception, never "Traceback", nothing written into the
  site folder but the cache;
- and once the case's files are taken away again, a build of the clean site gives
  exactly the clean output (checked every ``RESTORE_EVERY`` cases and after a failure).

Most cases change a tiny two-language site (one RTL), a tenth of them with raw HTML
escaped; a few change a copy of this repository's example site. Each case's random
generator is seeded by the seed, the lane and the case number, so a case replays with
the few before it since the last restore (a failure prints the line to use):

    NEWSHUB_FUZZ_CASES=3000 pytest tests/test_fuzz.py              # a longer exploration
    NEWSHUB_FUZZ_SEED=7 NEWSHUB_FUZZ_CASES=3000 pytest tests/test_fuzz.py  # another one
    NEWSHUB_FUZZ_ONLY=tiny-safe:123 pytest tests/test_fuzz.py -s   # replay one case
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import resource
import shutil
import signal
import stat
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import feedparser
import lxml.etree
import lxml.html
import pytest

from generator.cli import main
from tests import fuzz_inputs
from tests.conftest import REPO
from tests.fuzz_inputs import EMBARGO, METADATA, SECRET, Layout, Mutation

SEED = int(os.environ.get("NEWSHUB_FUZZ_SEED", "15"))
CASES = int(os.environ.get("NEWSHUB_FUZZ_CASES", "300"))
# The default run stops starting cases after this many seconds (a loaded machine runs
# fewer; the summary says how many); an explicit NEWSHUB_FUZZ_CASES runs them all.
SECONDS = float(os.environ.get("NEWSHUB_FUZZ_SECONDS",
                               "inf" if "NEWSHUB_FUZZ_CASES" in os.environ else "90"))
ONLY = os.environ.get("NEWSHUB_FUZZ_ONLY", "")  # "lane:case[,lane:case…]"
CASE_SECONDS = float(os.environ.get("NEWSHUB_FUZZ_CASE_SECONDS", "60"))
MEMORY_HEADROOM = 3 * 1024 ** 3  # bytes of address space a case may add
EXAMPLE_SHARE = 100  # one case in this many runs on the example site
# Every this many cases (and after a failing one) the clean site is built again and must
# give exactly the clean output; in between, a case starts from what the last one left
# (its files taken away again), which costs one build per case instead of two.
RESTORE_EVERY = 5
CACHE = ".newshub-cache"

# `newshub check` findings that no input may cause: a script or handler outside the
# theme's policy, a page without a policy, a file a strict parser refuses, a page built
# for another base URL. A resource from another host only where the content asks for one.
NEVER = frozenset({"script", "csp", "not-well-formed", "base-url"})
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "poster", "data",
                            "background", "cite", "xlink:href", "ping", "manifest",
                            "codebase", "longdesc", "lowsrc", "dynsrc", "srcdoc"})
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
# One rule of /_redirects: an old site path (and its query), the page's address, 301.
REDIRECT_LINE = re.compile(r"/\S* (\S+ )?(/hub)?/\S* 301")
THEME_SCRIPT = re.compile(r"(/hub)?/assets/[a-z-]+\.[0-9a-f]{10}\.js")  # the theme's own files
ACTIVE_TAGS = frozenset({"iframe", "frame", "frameset", "object", "embed", "applet", "base"})

TINY_CONFIG = """\
base_url = "https://example.org/hub/"
title = "Fuzz Relief"
[organisation]
name = "Fuzz Relief"
logo = "images/logo.svg"
[languages.en]
name = "English"
[languages.ar]
name = "العربية"
[taxonomy.sections.news]
en = "News"
ar = "أخبار"
{extra}"""
TINY = {
    "content/en/news/a.md": "---\ntitle: First story\ndate: 2026-01-02T10:00:00+00:00\n"
                            "tags: [water]\nsummary: A summary.\n---\n\nHello [b](../b/) and "
                            "[about](/hub/en/about/).\n",
    "content/en/news/b/index.md": "---\ntitle: Second story\ndate: 2026-01-03T10:00:00Z\n"
                                  "image: photo.jpg\nimage_alt: A photo\naliases: [/old-address/]\n"
                                  "---\n\n![A photo](photo.jpg)\n",
    "content/en/about.md": "---\ntitle: About\n---\n\nWho we are.\n",
    "content/ar/news/a.md": "---\ntitle: القصة الأولى\ndate: 2026-01-02T10:00:00+03:00\n"
                            "tags: [water]\n---\n\nمرحبا.\n",
}
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4">'
        b'<rect width="4" height="4"/></svg>')


# Running one command ----------------------------------------------------------------

class CaseTimeout(BaseException):
    """A case took longer than ``CASE_SECONDS``: unbounded work on some input."""


@dataclass
class Run:
    code: int | None
    out: str
    err: str
    error: str = ""  # a Python exception that escaped main(), with its traceback


def newshub(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    escaped = ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: bad usage
            code = exc.code if isinstance(exc.code, int) else 2
        except CaseTimeout:
            raise
        except BaseException:
            escaped = traceback.format_exc()
    return Run(code, out.getvalue(), err.getvalue(), escaped)


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """At most ``seconds`` of wall time for the block."""
    def expire(*_: object) -> None:
        raise CaseTimeout(f"over {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_limited() -> Iterator[None]:
    """A memory bomb fails this process's allocation instead of the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        yield
        return
    limit = used + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# The state of folders -----------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file's digest, a link's target, "dir"."""
    found: dict[str, str] = {}
    for directory, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, folder)
            if os.path.islink(path):
                found[relative] = "link → " + os.readlink(path)
            elif name in folders:
                found[relative] = "dir"
            else:
                mode = os.lstat(path).st_mode
                if not stat.S_ISREG(mode):
                    found[relative] = "special"
                    continue
                with open(path, "rb") as handle:
                    found[relative] = hashlib.sha256(handle.read()).hexdigest()
    return found


def site_entries(site: Path) -> set[str]:
    """Paths in the site folder (not following links), the cache left out."""
    found = set()
    for directory, folders, files in os.walk(site):
        if directory == str(site):
            folders[:] = [name for name in folders if name != CACHE]
        for name in [*folders, *files]:
            found.add(os.path.relpath(os.path.join(directory, name), site))
    return found


def difference(before: dict[str, str], after: dict[str, str]) -> str:
    lines = [f"  + {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"  - {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"  ~ {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return "\n".join(lines[:30] + ([f"  … {len(lines) - 30} more"] if len(lines) > 30 else []))


# What a reader's browser and feed reader would meet -----------------------------------

def sha256_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def url_runs_code(value: str) -> bool:
    """Whether a browser would run this URL (its scheme read as browsers read it)."""
    cleaned = re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(0x21)))).lower()
    return cleaned.startswith(SCRIPT_SCHEMES)


JAVASCRIPT_TYPES = frozenset({"", "module", "text/javascript", "application/javascript",
                              "text/ecmascript", "application/ecmascript", "text/jscript",
                              "text/livescript", "application/x-javascript"})


def runs(script_type: str | None) -> bool:
    """Whether a browser runs a <script> of this type (data blocks such as JSON-LD are
    never run, so a page's policy need not name them)."""
    return script_type is None or script_type.strip().lower().split(";")[0] in JAVASCRIPT_TYPES


def page_problems(data: bytes, *, theme: bool = True) -> list[str]:
    """What in one HTML file could run code a reader did not get from the theme; for a
    page of the ``theme``, a missing or weak Content-Security-Policy too (a file copied
    from content/ has none, and check only warns about that)."""
    if not data.strip():
        return ["empty page"] if theme else []
    try:
        doc = lxml.html.document_fromstring(data)
    except (lxml.etree.ParserError, ValueError) as exc:
        return [f"does not parse: {exc}"]
    found = []
    metas = doc.xpath('//meta[translate(@http-equiv, "CSP", "csp")="content-security-policy"]')
    if len(metas) != 1:
        if theme:
            found.append(f"{len(metas)} Content-Security-Policy metas")
        allowed: set[str] = set()
    else:
        directives = {d.split()[0]: d.split()[1:] for d in metas[0].get("content", "").split(";")
                      if d.split()}
        allowed = set(directives.get("script-src", []))
        if "'unsafe-inline'" in allowed or directives.get("default-src") != ["'self'"]:
            found.append(f"weak policy: {metas[0].get('content')}")
    scripts = list(doc.iter("script"))
    unclosed_script = scripts[-1] if len(scripts) > data.lower().count(b"</script") else None
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag == "script" and not runs(element.get("type")):
            if (element.get("type") or "").lower().endswith("json"):
                try:
                    json.loads(element.text or "")
                except ValueError as exc:
                    found.append(f"a {element.get('type')} block that is not JSON: {exc}")
        elif tag == "script":
            if element.get("src") is not None:
                if not THEME_SCRIPT.fullmatch(element.get("src")):
                    found.append(f"<script src={element.get('src')!r}>")
            elif sha256_source(element.text or "") not in allowed and \
                    element is not unclosed_script:  # the file ends in it: never run
                found.append(f"inline script not in the policy: {(element.text or '')[:80]!r}")
        if tag in ACTIVE_TAGS:
            found.append(f"<{tag}>")
        for name, value in element.attrib.items():
            name = name.lower()
            if name.startswith("on"):
                found.append(f"<{tag} {name}={value[:60]!r}>")
            if name in URL_ATTRIBUTES and url_runs_code(value):
                found.append(f"<{tag} {name}={value[:60]!r}>")
            if name in ("srcset", "imagesrcset") and any(
                    url_runs_code(candidate.strip()) for candidate in value.split(",")):
                found.append(f"<{tag} {name}={value[:60]!r}>")
        if tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
            target = (element.get("content") or "").partition("=")[2]
            if url_runs_code(target.strip("'\" ")):
                found.append(f"refresh to {target[:60]!r}")
    return found


def document_problems(path: str, data: bytes) -> list[str]:
    """A feed, the sitemap or any XML or JSON file, read by a strict parser (and by
    feedparser, for feeds)."""
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".xml") or name.endswith(".svg"):
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = lxml.etree.fromstring(data, parser)
        except lxml.etree.XMLSyntaxError as exc:
            return [f"ill-formed XML: {exc}"]
        if name.endswith(".svg"):
            scripts = [el for el in root.iter() if isinstance(el.tag, str) and
                       (el.tag.rsplit("}", 1)[-1] == "script" or
                        any(a.lower().rsplit("}", 1)[-1].startswith("on") for a in el.attrib))]
            return ["SVG with a script or handler"] if scripts else []
        if name in ("atom.xml", "rss.xml"):
            parsed = feedparser.parse(data)
            if parsed.bozo:
                return [f"feedparser: {parsed.bozo_exception}"]
        return []
    if name.endswith(".json"):
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            return [f"not JSON: {exc}"]
        if name == "feed.json" and not (isinstance(value, dict) and "items" in value):
            return ["feed.json without items"]
    return []


# A site to fuzz, case after case ------------------------------------------------------

@dataclass
class Lane:
    """A site copy, its output folder, and the clean build every case starts from."""

    name: str
    workdir: Path
    site: Path
    output: Path
    layout: Layout
    clean: dict[str, str] = field(default_factory=dict)  # the clean site's output
    entries: set[str] = field(default_factory=set)  # the clean site folder's paths
    cards: bool = True

    def build(self, *args: str) -> Run:
        return newshub("build", "--site", str(self.site), "--output", str(self.output),
                       "--jobs", "1", *args)

    def check(self) -> Run:
        return newshub("check", "--site", str(self.site), "--output", str(self.output),
                       "--json")


def secret_file(workdir: Path) -> Path:
    secret = workdir / "secret" / "secret.md"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"---\ntitle: Secret\n---\n\n" + SECRET + b"\n")
    (secret.parent / "photo.jpg").write_bytes(fuzz_inputs.jpeg_bytes(16, 16) + SECRET)
    return secret


def tiny_lane(workdir: Path, mode: str) -> Lane:
    site = workdir / "site"
    extra = f'[markdown]\nhtml = "{mode}"\n' if mode != "safe" else ""
    files: dict[str, bytes] = {path: text.encode() for path, text in TINY.items()}
    files["site.toml"] = TINY_CONFIG.format(extra=extra).encode()
    files["content/en/news/b/photo.jpg"] = fuzz_inputs.jpeg_bytes(320, 200)
    files["static/images/logo.svg"] = LOGO
    for relative, data in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(data)
    secret = secret_file(workdir)
    sources = {p: d for p, d in files.items() if p.endswith(".md")}
    layout = Layout(("en", "ar"), ("news",), sources, (("content/en/news/b", "photo.jpg"),),
                    str(secret))
    return Lane(f"tiny-{mode}", workdir, site, workdir / "out", layout)


def example_lane(workdir: Path) -> Lane:
    site = workdir / "site"
    site.mkdir(parents=True)
    for name in ("site.toml", "content", "themes", "locales", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, site / name)
        elif source.is_file():
            shutil.copy2(source, site / name)
    secret = secret_file(workdir)
    content = site / "content"
    sources = {p.relative_to(site).as_posix(): p.read_bytes()
               for p in sorted(content.rglob("*.md"))}
    languages = tuple(sorted(p.name for p in content.iterdir() if p.is_dir()))
    bundles = tuple((p.parent.relative_to(site).as_posix(), p.name)
                    for p in sorted(content.rglob("*.jpg")))
    layout = Layout(languages, ("news", "appeals", "press"), sources, bundles, str(secret))
    return Lane("example", workdir, site, workdir / "out", layout)


def start(lane: Lane) -> None:
    """The clean build every case is compared with, judged like any other."""
    run = lane.build()
    assert run.code == 0 and not run.error, f"{lane.name}: the clean site does not build:\n" \
                                            f"{run.err}{run.error}"
    lane.clean = snapshot(lane.output)
    lane.entries = site_entries(lane.site)
    problems = judge_output(lane, Mutation(), {}, lane.clean)
    assert not problems, f"{lane.name}: the clean site fails the fuzz test's own checks:\n" + \
        "\n".join(problems)


@dataclass
class Applied:
    originals: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def apply(lane: Lane, mutation: Mutation) -> Applied:
    applied = Applied()
    site = lane.site

    def prepare(relative: str) -> Path:
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.is_file():
            if relative in lane.layout.sources or relative in lane.entries:
                applied.originals.setdefault(relative, path.read_bytes()
                                             if not path.is_symlink() else b"")
            path.unlink()
        return path

    for relative in mutation.folders:
        with contextlib.suppress(OSError):
            (site / relative).mkdir(parents=True, exist_ok=True)
    for relative, data in mutation.files.items():
        try:
            prepare(relative).write_bytes(data)
        except OSError as exc:  # a name this file system refuses, a file where a folder is
            applied.skipped.append(f"{relative}: {exc.strerror}")
    for relative, target in mutation.links.items():
        try:
            os.symlink(target, prepare(relative))
        except OSError as exc:
            applied.skipped.append(f"{relative}: {exc.strerror}")
    for relative in mutation.fifos:
        try:
            os.mkfifo(prepare(relative))
        except OSError as exc:
            applied.skipped.append(f"{relative}: {exc.strerror}")
    return applied


def revert(lane: Lane, applied: Applied) -> None:
    """Take every file the case added away again and put back what it changed."""
    for relative in sorted(site_entries(lane.site) - lane.entries, key=len, reverse=True):
        path = lane.site / relative
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    for relative, data in applied.originals.items():
        path = lane.site / relative
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(data)


def judge_output(lane: Lane, mutation: Mutation, before: dict[str, str],
                 after: dict[str, str]) -> list[str]:
    """Everything a successful build must be; only files that changed are read again."""
    problems = []
    output = lane.output
    verbatim = {hashlib.sha256(mutation.files[p]).hexdigest() for p in mutation.verbatim
                if p in mutation.files}
    for link in mutation.links:  # a link inside the site publishes its target as it is
        target = os.path.realpath(lane.site / link)
        if os.path.isfile(target) and target.startswith(str(lane.site) + os.sep):
            with open(target, "rb") as handle:
                verbatim.add(hashlib.sha256(handle.read()).hexdigest())
    flagged: dict[str, list[str]] = {}  # verbatim copies with problems: check must see them
    noise = [Path(p).name for p in mutation.paths() if fuzz_inputs.is_noise_name(Path(p).name)]
    for relative, digest in after.items():
        path = output / relative
        if digest.startswith("link") or digest == "special":
            problems.append(f"{relative}: {digest} in the output")
            continue
        if digest == "dir":
            continue
        if any(relative.endswith("/" + name) or relative == name for name in noise):
            problems.append(f"{relative}: editor or OS noise published")
        if before.get(relative) == digest:
            continue
        data = path.read_bytes()
        for marker, what in ((SECRET, "a file outside the site"),
                             (EMBARGO, "an editor's backup file"),
                             (METADATA.encode(), "an image's metadata"),
                             (b"root:x:0:0", "/etc/passwd")):
            if marker in data:
                problems.append(f"{relative}: holds {what}")
        copied = digest in verbatim
        found = page_problems(data, theme=not copied) \
            if relative.endswith((".html", ".htm")) else []
        found += document_problems(relative, data)
        if found and copied:
            flagged[relative] = found
        elif found:
            problems.extend(f"{relative}: {item}" for item in found[:5])
    if after.get("_redirects") not in (None, before.get("_redirects")):
        problems += [f"_redirects: {line!r} is not 'from [query] to 301'"
                     for line in (output / "_redirects").read_text().splitlines()
                     if not REDIRECT_LINE.fullmatch(line)]
    real = os.path.realpath(output)
    for directory, _folders, _files in os.walk(output):
        if not os.path.realpath(directory).startswith(real):
            problems.append(f"{directory} is outside the output folder")
    check = lane.check()
    if check.code not in (0, 1) or check.error or "Traceback" in check.out + check.err:
        return [*problems, f"check exited {check.code}:\n{check.err}{check.error}"]
    report = json.loads(check.out)
    changed = set(mutation.paths())
    reported: set[str] = set()
    for finding in report["findings"]:
        if finding["severity"] != "error":
            continue
        kind, source, where = finding["kind"], finding["source"], finding["output"]
        if where in flagged:
            reported.add(where)
            continue
        if kind in NEVER or (kind == "foreign-resource" and not (
                mutation.foreign and source in changed)):
            problems.append(f"check: {kind}: {finding['message']} "
                            f"[{source}:{finding['line']} → {where}]")
    problems.extend(f"{relative}: published as written, and check does not report: {found}"
                    for relative, found in flagged.items() if relative not in reported)
    return problems


def refused_links(lane: Lane, mutation: Mutation, applied: Applied) -> list[str]:
    """The case's symlinks the build must refuse by name: those leading out of the site
    folder, or into its cache."""
    refused = []
    site = os.path.realpath(lane.site)
    for link in mutation.links:
        path = lane.site / link
        if not path.is_symlink() or any(link.startswith(s.split(":")[0])
                                         for s in applied.skipped):
            continue
        target = os.path.realpath(path)
        inside = target == site or target.startswith(site + os.sep)
        if not inside or os.path.relpath(target, site).split(os.sep)[0] == CACHE:
            refused.append(link)
    return refused


def judge_failure(lane: Lane, mutation: Mutation, applied: Applied, run: Run,
                  before: dict[str, str], after: dict[str, str]) -> list[str]:
    """An exit 1: every message names a file of the site; the output is untouched."""
    problems = []
    if before != after:
        problems.append("exit 1, but the output changed:\n" + difference(before, after))
    lines = [line for line in run.err.splitlines() if line.strip()]
    if not lines or not re.fullmatch(r"newshub: \d+ errors?; nothing was written \(the previous "
                                     r"output is unchanged\)", lines[-1]):
        problems.append(f"exit 1 without the closing line: {lines[-1:]}")
    messages = [line for line in lines[:-1] if not line.startswith("waiting for")]
    known = site_entries(lane.site) | set(mutation.paths())
    named = set()
    for line in messages:
        path = next((p for p in sorted(known, key=len, reverse=True)  # or a path through a link
                     if re.match(re.escape(p) + r"(/[^:]+)?:(\d+:)? ", line)), None)
        if path is None:
            problems.append(f"a message that names no file of the site: {line[:300]!r}")
        else:
            named.add(path)
    touched = set(mutation.paths()) | set(applied.originals)
    if messages and not any(p == t or t.startswith(p + "/") or p.startswith(t + "/")
                            for p in named for t in touched):
        problems.append(f"no message names a changed file ({sorted(touched)[:5]})")
    return problems


def run_case(lane: Lane, number: int) -> tuple[str, list[str]]:
    """One case; returns its outcome ("0", "1", …) and what went wrong."""
    rng = Random(f"{SEED}:{lane.name}:{number}")
    mutation = fuzz_inputs.mutation(rng, lane.layout)
    before = snapshot(lane.output)
    applied = apply(lane, mutation)
    try:
        with bounded(CASE_SECONDS), memory_limited():
            run = lane.build(*mutation.args)
            after = snapshot(lane.output)
            problems: list[str] = []
            if run.error:
                problems.append("an exception escaped main():\n" + run.error)
            for stream in (run.out, run.err):
                if "Traceback" in stream or re.search(r'^\s*File "', stream, re.M):
                    problems.append("a traceback in the output:\n" + stream[-3000:])
            if run.code == 0:
                for line in run.err.splitlines():
                    if line.strip() and not re.match(r"^(.+?:(\d+:)? )?warning: ", line) and \
                            not line.startswith("waiting for"):
                        problems.append(f"exit 0 with a line that is no warning: {line[:300]!r}")
                problems += judge_output(lane, mutation, before, after)
            elif run.code == 1:
                problems += judge_failure(lane, mutation, applied, run, before, after)
            for link in refused_links(lane, mutation, applied):
                if run.code != 1 or not re.search(rf"^{re.escape(link)}: symlink", run.err, re.M):
                    problems.append(f"the symlink {link} leads out of the site, and the build "
                                    f"(exit {run.code}) did not refuse it by name")
            if not run.error and run.code not in (0, 1):
                problems.append(f"exit {run.code}:\n{run.err[-2000:]}")
            extra = site_entries(lane.site) - lane.entries - mutation.paths() - {
                str(Path(p).parent) for p in mutation.paths()}
            extra = {p for p in extra if not any(p.startswith(m + "/") or m.startswith(p + "/")
                                                 for m in mutation.paths())}
            if extra:
                problems.append(f"the build wrote into the site folder: {sorted(extra)[:5]}")
    except CaseTimeout as exc:
        run = Run(None, "", "")
        problems = [f"timed out ({exc})"]
    finally:
        revert(lane, applied)
    if problems:
        problems.append(f"the case: {'; '.join(mutation.notes)} {' '.join(mutation.args)}"
                        + (f" (skipped: {applied.skipped})" if applied.skipped else ""))
    outcome = "timeout" if run.code is None and not run.error else \
        "exception" if run.error else str(run.code)
    return outcome, problems


def restore(lane: Lane) -> list[str]:
    """The clean site again: it builds, to exactly the clean output."""
    try:
        with bounded(CASE_SECONDS):
            run = lane.build()
    except CaseTimeout:
        return ["rebuilding the clean site timed out"]
    if run.code != 0 or run.error:
        return [f"the clean site no longer builds (exit {run.code}):\n{run.err[-2000:]}"
                f"{run.error}"]
    now = snapshot(lane.output)
    if now != lane.clean:
        return ["after the case, a build of the clean site differs from the clean build:\n"
                + difference(lane.clean, now)]
    return []


def shorten(text: str) -> str:
    """A problem as shown: long lines cut, a long traceback's first and last lines."""
    lines = [line if len(line) <= 400 else line[:300] + f" …[{len(line) - 400} more]… " +
             line[-100:] for line in text.splitlines()]
    if len(lines) > 40:
        lines = [*lines[:6], f"…[{len(lines) - 36} lines]…", *lines[-30:]]
    return "\n".join(lines)


def cases_for(lane_name: str, count: int) -> list[int]:
    """The lane's cases; a replayed case comes with those since the last restore, which
    it ran after."""
    if ONLY:
        wanted = {int(item.split(":")[1]) for item in ONLY.split(",")
                  if item.split(":")[0] == lane_name}
        return sorted({n for case in wanted
                       for n in range(case - case % RESTORE_EVERY, case + 1)})
    return list(range(count))


def fuzz(lanes: dict[str, tuple[int, object]], tmp_path: Path) -> None:
    """Run every lane's cases (each lane within its share of ``SECONDS``); report every
    failing case with how to replay it."""
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    slowest: list[tuple[float, str]] = []
    skipped = 0
    began = time.perf_counter()
    total = sum(count for count, _make in lanes.values()) or 1
    for name, (count, make) in lanes.items():
        numbers = cases_for(name, count)
        if not numbers:
            continue
        lane_began, budget = time.perf_counter(), SECONDS * count / total
        lane = make(tmp_path / name)  # type: ignore[operator]
        start(lane)
        restored = True
        for index, number in enumerate(numbers):
            if time.perf_counter() - lane_began > budget and not ONLY:
                skipped += len(numbers) - index
                break
            case_began = time.perf_counter()
            outcome, problems = run_case(lane, number)
            restored = bool(problems) or number % RESTORE_EVERY == RESTORE_EVERY - 1
            if restored:
                problems += restore(lane)
            seconds = time.perf_counter() - case_began
            outcomes[outcome] += 1
            slowest.append((seconds, f"{name}:{number}"))
            if problems:
                failures.append(f"case {name}:{number} (NEWSHUB_FUZZ_SEED={SEED} "
                                f"NEWSHUB_FUZZ_ONLY={name}:{number}):\n  " +
                                "\n  ".join(shorten(p).replace("\n", "\n    ")
                                             for p in problems))
                if len(failures) >= 20:
                    break
                if restore(lane):  # the lane is spoiled: start again from a fresh copy
                    shutil.rmtree(lane.workdir)
                    lane = make(lane.workdir)  # type: ignore[operator]
                    start(lane)
        if not restored and (problems := restore(lane)):
            failures.append(f"the clean {name} site after its last case:\n  "
                            + "\n  ".join(problems))
    took = time.perf_counter() - began
    slowest.sort(reverse=True)
    print(f"\nfuzz seed {SEED}: {sum(outcomes.values())} cases in {took:.1f} s "
          f"({dict(outcomes)}"
          + (f"; {skipped} not started: over {SECONDS:.0f} s" if skipped else "")
          + "); slowest: "
          + ", ".join(f"{case} {seconds:.1f} s" for seconds, case in slowest[:5]))
    assert not failures, "\n\n".join(failures)


def test_fuzz_tiny_site(tmp_path: Path) -> None:
    """Most cases: a tiny site (English, Arabic), sanitised; every tenth escaped."""
    examples = CASES // EXAMPLE_SHARE
    tiny = CASES - examples
    fuzz({"tiny-safe": (tiny - tiny // 10, lambda w: tiny_lane(w, "safe")),
          "tiny-escape": (tiny // 10, lambda w: tiny_lane(w, "escape"))}, tmp_path)


def test_fuzz_example_site(tmp_path: Path) -> None:
    """A few cases on a copy of this repository's example site (five languages)."""
    fuzz({"example": (max(1, CASES // EXAMPLE_SHARE), example_lane)}, tmp_path)


# What the fuzz test found, one test each ----------------------------------------------

def built_tiny(tmp_path: Path) -> Lane:
    lane = tiny_lane(tmp_path, "safe")
    start(lane)
    return lane


@pytest.mark.parametrize("body", [
    "- " * 600 + "deep",  # one line: Python-Markdown's recursion limit
    "\n".join("  " * i + "- item" for i in range(1500)),  # 1.6 MB: minutes before it failed
    "\r".join("  " * i + "- item" for i in range(1500)),  # the same, lines ended by CR alone
    "~~~\n" + "\n".join("  " * i + "- item" for i in range(1500)),  # after a fence never closed
    "[" * 20000 + "x",  # each open bracket a scan to the end: seconds per thousand
    "Text.\n\n" + "\n".join(">" * i + " q" for i in range(1, 1000)) + "\n\n> quote",
])
def test_markdown_nested_too_deep_is_an_error_at_its_line(tmp_path: Path, body: str) -> None:
    lane = built_tiny(tmp_path)
    story = lane.site / "content/en/news/deep.md"
    story.write_text(f"---\ntitle: Deep\ndate: 2026-01-05T10:00:00Z\n---\n\n{body}\n")
    began = time.perf_counter()
    run = lane.build()
    assert run.code == 1 and not run.error and "Traceback" not in run.err, run.err + run.error
    assert time.perf_counter() - began < 30
    line = 8 + 100 if body.startswith("Text.") else None  # the first quote too deep
    shown = run.err.splitlines()[0]
    assert re.match(r"content/en/news/deep\.md:(\d+): ", shown), shown
    assert "nested" in shown or "'[' open at once" in shown, shown
    if line:
        assert shown.startswith(f"content/en/news/deep.md:{line}: "), shown
    assert snapshot(lane.output) == lane.clean
    story.unlink()
    assert restore(lane) == []


def test_a_text_too_deep_for_markdown_leaves_later_texts_intact() -> None:
    """A conversion that hit the recursion limit left the reused converter's parser
    state behind: every later page in that process lost its paragraphs (and an
    attribute list could then land on the root, a ValueError traceback)."""
    from generator import markup

    ordinary = "Para one.\n\n- item\n\n    more\n\nPara two.\n{: #x }\n"
    before = markup.to_html(ordinary)
    with pytest.raises(RecursionError):
        markup.to_html("- " * 2000 + "x")
    assert markup.to_html(ordinary) == before


SHORTCODE_BYPASSES = """\
---
title: Shortcodes
date: 2026-01-05T10:00:00Z
link: "javascript:alert('param')"
---

{{< figure src="photo.jpg" caption="<script>alert(1)</script><img src=x onerror=alert(2)>" >}}

{{< figure src="photo.jpg" alt="y" link="javascript:alert('link')" >}}

{{< details summary="More" >}}In <script>alert(3)</script><a href="vbscript:x">v</a>{{< /details >}}

[param link]({{< param "link" >}}) and [a ref]({{< ref "a.md" >}}).
"""


@pytest.mark.parametrize("mode", ["safe", "escape"])
def test_shortcode_html_follows_the_raw_html_policy(tmp_path: Path, mode: str) -> None:
    """A ``{{< >}}`` shortcode's HTML was put back after the sanitiser had run: a
    caption or inner text with a script (markdownify, inner_html), a javascript: link
    argument or front-matter value reached the page."""
    lane = tiny_lane(tmp_path, mode)
    start(lane)
    bundle = lane.site / "content/en/news/codes"
    bundle.mkdir()
    (bundle / "index.md").write_text(SHORTCODE_BYPASSES)
    (bundle / "photo.jpg").write_bytes(fuzz_inputs.jpeg_bytes(64, 48))
    run = lane.build()
    assert run.code == 0, run.err + run.error
    page = (lane.output / "en/news/codes/index.html").read_bytes()
    assert page_problems(page) == []
    body = lxml.html.fromstring(page).xpath('//div[contains(@class, "body")]')[0]
    assert body.xpath('.//figure/figcaption') and body.xpath('.//details/summary')
    assert body.xpath('.//a[text()="a ref"]/@href') == ["/hub/en/news/a/"]
    for line, what in ((7, "<script>"), (9, "javascript: URL"), (11, "<script>"),
                       (11, "vbscript: URL")):
        assert f"content/en/news/codes/index.md:{line}: warning: removed {what}" in run.err, \
            (line, what, run.err)
    assert judge_output(lane, Mutation(files={"content/en/news/codes/index.md": b""}),
                        lane.clean, snapshot(lane.output)) == []


@pytest.mark.parametrize("files, named", [
    ({"content/ar/index.html": b"<p>x</p>"}, "content/ar/index.html: "),  # a file and a list
    ({"content/en/feed.json": b"{}"}, "content/en/feed.json: "),  # a file and a feed
    ({"content/en/news/c.md": "---\ntitle: C\ndate: 2026-01-04T10:00:00Z\n"
                              "aliases: [/en/news/]\n---\n\nC.\n"},
     "content/en/news/c.md:1: "),  # an alias and a list
])
def test_an_output_produced_twice_names_a_file(tmp_path: Path, files: dict[str, str | bytes],
                                               named: str) -> None:
    """A file in content/ or an alias colliding with a list or a feed was reported as
    'output ar/index.html is produced twice (static and listing)', naming no file."""
    lane = built_tiny(tmp_path)
    for relative, data in files.items():
        path = lane.site / relative
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    run = lane.build()
    assert run.code == 1, run.err + run.error
    assert run.err.startswith(named) and "is produced twice" in run.err, run.err
    assert snapshot(lane.output) == lane.clean


def test_files_a_forced_build_published_go_when_their_source_goes(tmp_path: Path) -> None:
    """``build --force`` left the stored manifest as the cached build before it wrote it:
    a file published by the forced build, then deleted, stayed in the output for good."""
    lane = built_tiny(tmp_path)
    leak = lane.site / "content/en/news/embargoed.txt"
    leak.write_text("embargoed until Friday")
    assert lane.build("--force").code == 0
    assert (lane.output / "en/news/embargoed.txt").is_file()
    leak.unlink()
    assert lane.build().code == 0
    assert not (lane.output / "en/news/embargoed.txt").exists()
    assert snapshot(lane.output) == lane.clean


def test_check_reports_scripts_in_files_published_as_they_are(tmp_path: Path) -> None:
    """An HTML file or an SVG with a script in content/ or static/ is published as it is
    (as Hugo does), and opened, it runs on the site's own origin: check said nothing."""
    lane = built_tiny(tmp_path)
    (lane.site / "content/en/news/flyer.html").write_bytes(fuzz_inputs.SCRIPT_HTML)
    (lane.site / "content/en/news/b/chart.svg").write_bytes(fuzz_inputs.SCRIPT_SVG)
    (lane.site / "content/en/news/b/plain.svg").write_bytes(LOGO)
    (lane.site / "static/widget.html").write_bytes(fuzz_inputs.SCRIPT_HTML)  # importers copy
    assert lane.build().code == 0
    run = lane.check()
    found = {(f["kind"], f["source"], f["output"]) for f in json.loads(run.out)["findings"]
             if f["severity"] == "error"}
    assert run.code == 1
    assert ("script", "content/en/news/flyer.html", "en/news/flyer.html") in found
    assert ("script", "content/en/news/b/chart.svg", "en/news/b/chart.svg") in found
    assert not [f for f in found if "plain.svg" in f[2]]
    assert {f for f in found if f[0] == "script"} == {
        ("script", "content/en/news/flyer.html", "en/news/flyer.html"),
        ("script", "content/en/news/b/chart.svg", "en/news/b/chart.svg"),
        ("script", "static/widget.html", "widget.html")}


def test_a_file_added_to_a_bundle_is_published_by_the_next_build(tmp_path: Path) -> None:
    """A file dropped beside an unchanged index.md was never published (and a front
    matter image added that way stayed 'not found') until the page itself changed:
    the cached page record kept the bundle's old list of files."""
    lane = built_tiny(tmp_path)
    bundle = lane.site / "content/en/news/b"
    (bundle / "report.pdf").write_bytes(b"%PDF-1.4 report")
    assert lane.build().code == 0
    assert (lane.output / "en/news/b/report.pdf").read_bytes() == b"%PDF-1.4 report"
    story = lane.site / "content/en/news/c/index.md"
    story.parent.mkdir()
    story.write_text("---\ntitle: C\ndate: 2026-01-04T10:00:00Z\nimage: late.jpg\n"
                     "image_alt: Late\n---\n\nC.\n")
    run = lane.build()
    assert run.code == 1 and "content/en/news/c/index.md:4: image 'late.jpg' not found" \
        in run.err, run.err
    (story.parent / "late.jpg").write_bytes(fuzz_inputs.jpeg_bytes(64, 48))
    assert lane.build().code == 0, "the page was not read again"
    assert (lane.output / "en/news/c/late.jpg").is_file()


@pytest.mark.parametrize("mode", ["safe", "escape"])
def test_character_references_xml_forbids_never_reach_a_feed(tmp_path: Path, mode: str) -> None:
    """The sanitiser decodes &#x1; into the character itself: with raw HTML (or any
    markup) beside it, the language's Atom and RSS feeds became ill-formed XML."""
    lane = tiny_lane(tmp_path, mode)
    start(lane)
    story = lane.site / "content/en/news/refs.md"
    story.write_text("---\ntitle: References\ndate: 2026-01-06T10:00:00Z\n---\n\n"
                     "Some <b>bold</b> text.\n\nA &#x1; and &#12; and &#xFFFE; here.\n")
    run = lane.build()
    assert run.code == 0, run.err + run.error
    assert "content/en/news/refs.md:8: warning: removed character references to U+0001, " \
        "U+000C, U+FFFE: XML does not allow them" in run.err, run.err
    for feed in ("en/atom.xml", "en/rss.xml", "en/tags/index.html"):
        assert document_problems(feed, (lane.output / feed).read_bytes()) == []
    assert judge_output(lane, Mutation(files={"content/en/news/refs.md": b""}), lane.clean,
                        snapshot(lane.output)) == []


@pytest.mark.parametrize("character", ["\x7f", "\x80", "\x9f"])
def test_a_character_yaml_refuses_is_one_message_at_its_line(tmp_path: Path,
                                                             character: str) -> None:
    """DEL and C1 controls are legal in XML (so they were left in), but YAML's reader
    refuses them: the message was PyYAML's two lines, at the block's first line."""
    lane = built_tiny(tmp_path)
    story = lane.site / "content/en/news/del.md"
    story.write_text(f"---\ntitle: Fine\nsummary: a{character}b\ndate: 2026-01-06T10:00:00Z\n"
                     "---\n\nText.\n")
    run = lane.build()
    assert run.code == 1
    lines = run.err.splitlines()
    assert len(lines) == 2 and lines[0] == (
        f"content/en/news/del.md:3: invalid YAML in front matter: character "
        f"U+{ord(character):04X} is not allowed (control characters are not allowed); "
        "remove it"), lines
    assert snapshot(lane.output) == lane.clean


def test_a_share_card_keeps_nothing_of_its_photos_metadata(tmp_path: Path) -> None:
    """A card drawn from a bundle photo with a JPEG comment carried that comment: Pillow
    writes the source image's comment again unless told not to."""
    lane = built_tiny(tmp_path)
    bundle = lane.site / "content/en/news/noted"
    bundle.mkdir()
    (bundle / "photo.jpg").write_bytes(fuzz_inputs.jpeg_bytes(700, 500, comment=True))
    (bundle / "index.md").write_text("---\ntitle: Noted\ndate: 2026-01-06T10:00:00Z\n"
                                     "image: photo.jpg\nimage_alt: A photo\n---\n\nText.\n")
    assert lane.build().code == 0
    for path in (lane.output / "en/news/noted").iterdir():
        assert METADATA.encode() not in path.read_bytes(), path.name


def test_a_body_of_prose_and_one_shortcode_is_cleaned_too(tmp_path: Path) -> None:
    """The sanitiser skips a body without '<' or '{' in its text, and with its shortcodes
    replaced by placeholders a body of prose and one {{< details >}} had neither: the
    script inside the shortcode reached the page."""
    lane = built_tiny(tmp_path)
    intro = lane.site / "content/ar/news/_index.md"
    intro.write_text("---\ntitle: Section\n---\nPlain prose.\n\n"
                     "{{< details summary=\"More\" >}}body<script>alert(1)</script>"
                     "{{< /details >}}\n")
    run = lane.build()
    assert run.code == 0, run.err + run.error
    assert "content/ar/news/_index.md:6: warning: removed <script>" in run.err, run.err
    assert page_problems((lane.output / "ar/news/index.html").read_bytes()) == []


def test_audio_and_video_pass_the_policy_without_their_script_urls() -> None:
    """Cleaning shortcode HTML must keep the audio and video shortcodes' players; a
    poster (which Ammonia does not check) keeps no script or data URL."""
    from generator import sanitize

    html, removed = sanitize.body_html(
        '<video poster="javascript:alert(1)" src="clip.mp4" controls onplay="x"></video>\n\n'
        '<figure class="media"><audio controls preload="none" src="talk.mp3"></audio>'
        '<p><a href="talk.mp3" download>talk.mp3</a></p></figure>', "safe")
    doc = lxml.html.fragment_fromstring(html, create_parent="div")
    assert doc.xpath("//video/@src") == ["clip.mp4"] and not doc.xpath("//video/@poster")
    assert not doc.xpath("//video/@onplay")
    assert doc.xpath("//audio/@preload") == ["none"] and doc.xpath("//a/@download") == [""]
    assert [r.message.split(" (")[0] for r in removed] == [
        "removed javascript: URL from poster= of <video>", "removed event handler onplay= from "
        "<video>"]


def test_a_tag_on_undated_pages_only_builds_with_an_empty_feed(tmp_path: Path) -> None:
    """An undated page (about, FAQ) with a tag no article has stopped the build with
    'AssertionError:  (rendering en/tags/lonely/atom.xml)': the tag's feed took the
    undated page as an entry. Undated pages are in no feed."""
    lane = built_tiny(tmp_path)
    (lane.site / "content/en/about.md").write_text(
        "---\ntitle: About\ntags: [lonely, water]\n---\n\nWho we are.\n")
    run = lane.build()
    assert run.code == 0, run.err + run.error
    lonely = feedparser.parse((lane.output / "en/tags/lonely/atom.xml").read_bytes())
    assert not lonely.bozo and lonely.entries == []
    water = feedparser.parse((lane.output / "en/tags/water/atom.xml").read_bytes())
    assert [entry.title for entry in water.entries] == ["First story"]
    assert lxml.html.fromstring((lane.output / "en/tags/lonely/index.html").read_bytes()) \
        .xpath('//a[contains(@href, "/en/about/")]')


@pytest.mark.parametrize("files, message", [
    ({"content/en/news/c.md": "---\ntitle: C\ndate: 2026-01-04T10:00:00Z\n"
                              "tags: 'x, " + "x, " * 200 + "x'\n---\n\nC.\n"},
     "content/en/news/c.md:4: tag 'x, x, x"),  # a list written as one quoted string
    ({"content/en/news/c.md": "---\ntitle: C\ndate: 2026-01-04T10:00:00Z\nslug: " +
                              "s" * 230 + "\n---\n\nC.\n"},
     "content/en/news/c.md:4: slug 'sss"),
    ({"content/en/news/c.md": "---\ntitle: C\ndate: 2026-01-04T10:00:00Z\naliases: [/" +
                              "a" * 230 + "/]\n---\n\nC.\n"},
     "content/en/news/c.md:4: alias '/aaa"),
    ({"content/en/news/index.html/index.md": "---\ntitle: C\ndate: 2026-01-04T10:00:00Z\n"
                                             "---\n\nC.\n"},
     "content/en/news/index.html/index.md:1: output en/news/index.html/index.html would be "
     "inside en/news/index.html, which is a file of the site (listing)"),
    ({"content/en/news/b/" + "r" * 245 + ".pdf": b"%PDF"},
     "content/en/news/b/rrrr"),
])
def test_an_output_no_file_system_holds_is_an_error_naming_its_source(
        tmp_path: Path, files: dict[str, str | bytes], message: str) -> None:
    """A tag of a few hundred bytes (a list written as one quoted string), a long slug
    or alias, or a page bundle named index.html stopped the build with 'cannot write
    en/tags/x, x, x…: File name too long' or '…: Not a directory', naming no file (and a
    tag only undated pages have with an AssertionError)."""
    lane = built_tiny(tmp_path)
    for relative, data in files.items():
        path = lane.site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    run = lane.build()
    assert run.code == 1 and not run.error, run.err + run.error
    assert run.err.startswith(message), run.err[:500]
    assert "cannot write" not in run.err and len(run.err) < 2000, run.err[:500]
    assert snapshot(lane.output) == lane.clean


def test_every_message_is_one_line_whatever_value_it_quotes(tmp_path: Path) -> None:
    """'translation_of 'fr\\n…': there is no version…' quoted the front-matter value with
    its line break, so the message ran onto a second line that named no file."""
    lane = built_tiny(tmp_path)
    (lane.site / "content/ar/news/a.md").write_text(
        '---\ntitle: t\ndate: 2026-01-02T10:00:00Z\ntranslation_of: "fr\\nsecond\\u2028third"\n'
        "---\n\nText.\n")
    run = lane.build()
    assert run.code == 1
    assert run.err.splitlines() == [
        "content/ar/news/a.md:1: translation_of 'fr second third': there is no version of "
        "this story in that language",
        "newshub: 1 error; nothing was written (the previous output is unchanged)"]
    check = newshub("check", "--site", str(lane.site), "--output", str(lane.output))
    assert "content/ar/news/a.md:1: error: translation_of 'fr second third': there is" \
        in check.out, check.out


def test_an_alias_cannot_write_a_rule_of_its_own_into_redirects(tmp_path: Path) -> None:
    """An alias's query was written into /_redirects as it was: with a line break in
    it, an editor added any rule (an open redirect from the site to another host)."""
    lane = built_tiny(tmp_path)
    story = lane.site / "content/en/news/c.md"
    story.write_text('---\ntitle: C\ndate: 2026-01-04T10:00:00Z\naliases: ["/?p=1\\n/admin '
                     'https://evil.example 301", "/?p=2 /x https://evil.example/ 302"]\n'
                     "---\n\nC.\n")
    run = lane.build()
    assert run.code == 1
    assert run.err.count("content/en/news/c.md:4: alias") == 2, run.err
    assert "has a space or a line break" in run.err
    assert snapshot(lane.output) == lane.clean


def test_a_page_or_redirect_is_never_html_under_another_files_name(tmp_path: Path) -> None:
    """url: /x.svg wrote the page's HTML into x.svg, and an alias /old-feed.xml a
    redirect page into old-feed.xml: served as an image or XML, and check reported the
    site's own file as not well-formed."""
    lane = built_tiny(tmp_path)
    story = lane.site / "content/en/news/c.md"
    story.write_text("---\ntitle: C\ndate: 2026-01-04T10:00:00Z\nurl: /x.svg\n---\n\nC.\n")
    run = lane.build()
    assert run.code == 1 and run.err.startswith("content/en/news/c.md:4: url '/x.svg' names "
                                                "a svg file, but a page is HTML"), run.err
    story.write_text("---\ntitle: C\ndate: 2026-01-04T10:00:00Z\naliases: [/old-feed.xml, "
                     "/old.html, /older]\n---\n\nC.\n")
    assert lane.build().code == 0
    assert not (lane.output / "old-feed.xml").exists()
    assert (lane.output / "old.html").is_file() and (lane.output / "older/index.html").is_file()
    assert "/hub/old-feed.xml /hub/en/news/c/ 301" in (lane.output / "_redirects").read_text()
    report = json.loads(lane.check().out)
    assert not [f for f in report["findings"] if f["kind"] in NEVER], report["findings"]


def test_check_names_the_file_published_as_it_is_for_any_finding(tmp_path: Path) -> None:
    """A resource from another host in an HTML file copied from content/ was reported
    with no source; the file is its own source."""
    lane = built_tiny(tmp_path)
    (lane.site / "content/en/news/flyer.html").write_text(
        '<!doctype html><title>x</title>\n<p>x</p>\n<img src="https://evil.example/x.png" '
        'alt="x">\n')
    assert lane.build().code == 0
    report = json.loads(lane.check().out)
    assert [(f["source"], f["line"]) for f in report["findings"]
            if f["kind"] == "foreign-resource"] == [("content/en/news/flyer.html", 3)]

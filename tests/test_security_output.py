"""Nothing from outside the site, only what is meant to be published, output integrity,
a cache that is safe to load (issue #15).

Every test builds real sites with the real command line in a subprocess: real
symlinks, real concurrent builds, real damaged and crafted cache files.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from jinja2.bccache import bc_magic
from PIL import Image

from generator.cache import CACHE_FOLDER, CACHE_VERSION, Store, manifest_name
from generator.files import is_noise
from generator.load import INDEX_REDUCERS, Parsed
from generator.lock import build_locks
from generator.model import replaced
from tests.conftest import DEFAULT_CONFIG, REPO

SECRET = "TOP-SECRET-7f3a"
EMBARGO = "EMBARGOED-TEXT-91c2"


def article(title: str, body: str = "Some news.", *, date: str = "2024-03-01T09:00:00+00:00",
            extra: str = "") -> str:
    return f"---\ntitle: {title}\ndate: {date}\n{extra}---\n\n{body}\n"


def make_site(root: Path, files: dict[str, str | bytes], config: str = DEFAULT_CONFIG) -> Path:
    (root / "content" / "en").mkdir(parents=True, exist_ok=True)
    (root / "site.toml").write_text(config, encoding="utf-8")
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return root


def newshub(*args: str | Path, env: dict[str, str] | None = None,
            tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=600,
                          env=_env(tmp, env))


def start(*args: str | Path, env: dict[str, str] | None = None,
          tmp: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "generator", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=_env(tmp, env))


def _env(tmp: Path | None, extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    if tmp is not None:  # this test's own signing key for compiled templates
        env["XDG_CACHE_HOME"] = str(tmp / "user-cache")
    env.update(extra or {})
    return env


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def clean_tree(site: Path, tmp: Path, *args: str) -> dict[str, bytes]:
    """What a build from scratch makes: the site copied without its cache, built fresh."""
    copy = tmp / f"clean-{len(list(tmp.glob('clean-*')))}"
    shutil.copytree(site, copy / "site", ignore=shutil.ignore_patterns("output", CACHE_FOLDER))
    done = newshub("build", "--site", copy / "site", "--output", copy / "out", *args, tmp=tmp)
    assert done.returncode == 0, done.stderr
    return tree(copy / "out")


def assert_clean_failure(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr


# Nothing from outside the site


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def test_symlinks_out_of_the_site_are_errors_naming_the_link(tmp_path: Path,
                                                             secret: Path) -> None:
    site = make_site(tmp_path / "site", {"content/en/news/ok.md": article("Fine")})
    output = tmp_path / "out"
    first = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert first.returncode == 0, first.stderr
    before = tree(output)

    folder = secret.parent / "folder"
    folder.mkdir()
    (folder / "leak.md").write_text(article(SECRET), encoding="utf-8")
    (folder / "leak.txt").write_text(SECRET, encoding="utf-8")
    links = {
        "content/en/news/x.md": secret,  # a post
        "content/en/news/notes.txt": secret,  # a file published as it is
        "content/en/news/bundle/data.txt": secret,  # a bundle resource
        "content/en/linked": folder,  # a folder
        "static/leak.txt": secret,
        "themes/default/static/leak.css": secret,  # the site's own theme folder
        "content/en/news/cmdline.txt": Path("/proc/self/cmdline"),
    }
    (site / "content/en/news/bundle").mkdir(parents=True)
    (site / "content/en/news/bundle/index.md").write_text(article("Bundle"), encoding="utf-8")
    for relative, target in links.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, site / relative)

    done = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert_clean_failure(done)
    for relative, target in links.items():
        shown = "/proc/" if relative.endswith("cmdline.txt") else f"{target.resolve()})"
        assert f"{relative}: symlink points outside the site ({shown}" in done.stderr, \
            done.stderr
    assert tree(output) == before, "the previous output is untouched"
    assert not any(SECRET.encode() in data for data in tree(output).values())

    check = newshub("check", "--site", site, "--output", output, tmp=tmp_path)
    assert check.returncode == 1, check.stdout
    assert "content/en/news/x.md" in check.stdout and "symlink points outside" in check.stdout


def test_symlinks_inside_the_site_are_followed_but_not_into_its_noise(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {
        "content/en/news/ok.md": article("Fine"),
        "shared/post.md": article("Shared story"),
        "shared/pictures/map.txt": "a map",
        ".git/config": f"[remote]\n{SECRET}\n",
    })
    os.symlink(site / "shared/post.md", site / "content/en/news/shared.md")
    (site / "static").mkdir()
    os.symlink(Path("../shared/pictures"), site / "static/pictures")  # a folder, relative
    built = newshub("build", "--site", site, "--output", tmp_path / "out", "--no-cards",
                    tmp=tmp_path)
    assert built.returncode == 0, built.stderr
    assert b"Shared story" in (tmp_path / "out/en/news/shared/index.html").read_bytes()
    assert (tmp_path / "out/pictures/map.txt").read_text() == "a map"

    os.symlink(site / ".git/config", site / "content/en/news/config.txt")
    os.symlink(Path(".."), site / "content/en/news/loop")
    done = newshub("build", "--site", site, "--output", tmp_path / "out", "--no-cards",
                   tmp=tmp_path)
    assert_clean_failure(done)
    assert "content/en/news/config.txt: symlink points to a file that is never published " \
           "(.git/config)" in done.stderr
    assert "content/en/news/loop: symlink loop" in done.stderr


# Only what is meant to be published

NOISE = ("x.md~", "#x.md#", ".#x.md", "x.md.bak", "x.md.orig", "x.md.rej", ".x.md.swp",
         ".x.md.swo", ".x.md.swx", "4913", ".DS_Store", "Thumbs.db", "desktop.ini",
         "x.md.BAK", ".hidden")


def test_editor_vcs_and_os_noise_is_never_published(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "content/en/news/x.md": article("Public", "The public text."),
        "content/en/news/photo.txt": "published beside the posts",
        "static/humans.txt": "Team\n",
        "static/.well-known/security.txt": "Contact: mailto:security@example.org\n",
        "content/en/news/.git/config": EMBARGO,
        "static/.git/HEAD": EMBARGO,
        "content/en/.svn/entries": EMBARGO,
    }
    for name in NOISE:
        files[f"content/en/news/{name}"] = article("Draft", EMBARGO)
        files[f"static/{name}"] = EMBARGO
        files[f"content/en/news/bundle/{name}"] = EMBARGO
    files["content/en/news/bundle/index.md"] = article("Bundle")
    site = make_site(tmp_path / "site", files)
    done = newshub("build", "--site", site, "--output", tmp_path / "out", "--no-cards",
                   tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    published = tree(tmp_path / "out")
    assert not [name for name, data in published.items() if EMBARGO.encode() in data]
    assert not [name for name in published
                if any(is_noise(part) for part in name.split("/") if part != ".well-known")]
    assert "en/news/photo.txt" in published and "humans.txt" in published
    assert ".well-known/security.txt" in published, "a dotfolder sites publish on purpose"
    assert "Traceback" not in done.stderr


def test_a_drafts_or_future_posts_bundle_files_are_never_published(tmp_path: Path) -> None:
    png = _png(tmp_path / "p.png")
    files: dict[str, str | bytes] = {"content/en/news/ok.md": article("Fine")}
    for slug, extra in (("embargo", "draft: true\n"), ("later", "")):
        date = "2099-01-01T00:00:00+00:00" if slug == "later" else "2024-03-01T09:00:00+00:00"
        files[f"content/en/news/{slug}/index.md"] = article("Secret", EMBARGO, date=date,
                                                            extra=extra)
        files[f"content/en/news/{slug}/photo.png"] = png
        files[f"content/en/news/{slug}/files/report.txt"] = EMBARGO
        files[f"content/en/news/{slug}/images/deep/map.png"] = png
    site = make_site(tmp_path / "site", files)
    done = newshub("build", "--site", site, "--output", tmp_path / "out", "--no-cards",
                   tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    published = tree(tmp_path / "out")
    assert not [name for name in published if "/embargo/" in name or "/later/" in name]
    assert not [name for name, data in published.items() if EMBARGO.encode() in data]

    drafts = newshub("build", "--site", site, "--output", tmp_path / "drafts", "--drafts",
                     "--no-cards", tmp=tmp_path)
    assert drafts.returncode == 0, drafts.stderr
    shown = tree(tmp_path / "drafts")
    for slug in ("embargo", "later"):
        assert f"en/news/{slug}/files/report.txt" in shown, "published with its page"
        assert f"en/news/{slug}/images/deep/map.png" in shown


def _png(path: Path) -> bytes:
    Image.new("RGB", (40, 30), (200, 30, 30)).save(path)
    return path.read_bytes()


# One build at a time


def _story_site(root: Path, name: str, count: int) -> Path:
    files: dict[str, str | bytes] = {
        f"content/en/news/{name}-{n}.md": article(f"{name} story {n}", f"{name} body {n}. " * 40,
                                                  date=f"2024-03-{1 + n % 27:02d}T09:00:00Z")
        for n in range(count)}
    files["static/site.txt"] = name
    return make_site(root, files)


def test_builds_creating_one_new_output_folder_at_once_all_get_it(tmp_path: Path) -> None:
    """Many builds making the same missing output folder in the same instant: each
    either creates it or finds it made, then takes the lock in turn (none fails)."""
    output = tmp_path / "deep" / "new-output"
    start_together = threading.Barrier(8)
    held: list[int] = []
    failures: list[BaseException] = []

    def one_build(number: int) -> None:
        start_together.wait()
        try:
            with build_locks(output, tmp_path / f"cache-{number}", "new-output/",
                             say=lambda _line: None):
                held.append(number)
        except BaseException as exc:  # reported below
            failures.append(exc)

    for _round in range(5):
        held.clear()
        shutil.rmtree(tmp_path / "deep", ignore_errors=True)
        threads = [threading.Thread(target=one_build, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert sorted(held) == list(range(8))


def test_two_sites_building_into_one_folder_at_once_take_turns(tmp_path: Path) -> None:
    one = _story_site(tmp_path / "one", "alpha", 150)
    two = _story_site(tmp_path / "two", "beta", 120)
    output = tmp_path / "shared-output"
    runs = {site: start("build", "--site", site, "--output", output, "--no-cards",
                        tmp=tmp_path) for site in (one, two)}
    finished: list[Path] = []  # in the order the builds ended
    while len(finished) < 2:
        finished.extend(site for site, run in runs.items()
                        if site not in finished and run.poll() is not None)
        time.sleep(0.01)
    results = {site: run.communicate(timeout=600) for site, run in runs.items()}
    assert [run.returncode for run in runs.values()] == [0, 0], results
    assert not any("Traceback" in err for _out, err in results.values())

    # The site whose build ended first builds again: what the other one wrote meanwhile
    # is found and undone, though none of its own sources changed.
    third = newshub("build", "--site", finished[0], "--output", output, "--no-cards",
                    tmp=tmp_path)
    assert third.returncode == 0, third.stderr
    assert tree(output) == clean_tree(finished[0], tmp_path, "--no-cards")


def test_another_sites_build_in_between_is_undone_by_the_next_build(tmp_path: Path) -> None:
    one = _story_site(tmp_path / "one", "alpha", 5)
    two = _story_site(tmp_path / "two", "beta", 4)
    output = tmp_path / "shared-output"
    for site in (two, one, two):
        done = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
        assert done.returncode == 0, done.stderr
    assert tree(output) == clean_tree(two, tmp_path, "--no-cards")


def test_a_second_build_waits_for_the_first_then_gives_up_clearly(tmp_path: Path) -> None:
    site = _story_site(tmp_path / "site", "alpha", 3)
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, "--no-cards",
                   tmp=tmp_path).returncode == 0
    before = tree(output)
    (site / "content/en/news/alpha-0.md").write_text(article("Changed"), encoding="utf-8")
    holder = os.open(output, os.O_RDONLY)  # as a running build holds it
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        done = newshub("build", "--site", site, "--output", output, "--no-cards",
                       env={"NEWSHUB_LOCK_TIMEOUT": "1"}, tmp=tmp_path)
        assert_clean_failure(done)
        assert f"waiting for another build of {output} (pid {os.getpid()}) …" in done.stderr
        assert "still running after 1 s" in done.stderr
        assert tree(output) == before

        waiting = start("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
        time.sleep(1.5)
        assert waiting.poll() is None, "it waits while the lock is held"
    finally:
        os.close(holder)
    _out, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err
    assert "waiting for another build of" in err
    assert b"Changed" in (output / "en/news/alpha-0/index.html").read_bytes()
    assert not list(output.rglob("*lock*")), "no lock file lands in the published folder"


def test_language_builds_at_once_merge_into_the_full_site(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {
        **{f"content/{lang}/news/story.md": article(f"Story {lang}")
           for lang in ("en", "fr", "ar")},
    })
    output = tmp_path / "out"
    runs = [start("build", "--site", site, "--output", output, "--no-cards", "--languages", lang,
                  tmp=tmp_path) for lang in ("en", "fr", "ar")]
    for run in runs:
        _out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    assert tree(output) == clean_tree(site, tmp_path, "--no-cards")


# The manifest is checked against the disk


def test_output_files_changed_or_removed_by_hand_are_repaired(tmp_path: Path) -> None:
    site = _story_site(tmp_path / "site", "alpha", 4)
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, "--no-cards",
                   tmp=tmp_path).returncode == 0
    expected = tree(output)
    (output / "en/index.html").write_text("defaced", encoding="utf-8")
    page = output / "en/news/alpha-1/index.html"
    page.write_bytes(page.read_bytes().replace(b"alpha", b"ALPHA"))  # same size
    (output / "en/news/alpha-2/index.html").unlink()
    (output / "site.txt").unlink()
    (output / "en/.index.html.newshub-tmp").write_text("left by a killed build")
    marker = site / CACHE_FOLDER / f"writing-{manifest_name(output)}"
    marker.touch()  # as a build killed while it wrote leaves it
    done = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tree(output) == expected
    assert not marker.exists()
    again = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert "0 written" in again.stdout, "and then it is up to date again"


def test_an_interrupted_build_leaves_no_staging_file(tmp_path: Path) -> None:
    site = _story_site(tmp_path / "site", "alpha", 400)
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, "--no-cards",
                   tmp=tmp_path).returncode == 0
    config = site / "site.toml"
    config.write_text(config.read_text().replace("Test Relief", "Renamed Relief"))
    run = start("build", "--site", site, "--output", output, "--no-cards", "--jobs", "1",
                tmp=tmp_path)
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline:
        if next(output.rglob("*.newshub-tmp"), None) is not None:
            run.send_signal(signal.SIGINT)
            break
        time.sleep(0.01)
    _out, err = run.communicate(timeout=600)
    if run.returncode == 0:
        pytest.skip("the build finished before it could be interrupted")
    assert run.returncode == 130, err
    assert "Traceback" not in err
    assert not list(output.rglob("*.newshub-tmp"))


# Cached cards and images


def test_damaged_cards_and_images_in_the_cache_are_made_again(tmp_path: Path) -> None:
    png = _png(tmp_path / "p.png")
    site = make_site(tmp_path / "site", {
        "content/en/news/story/index.md": article("Story", "![A map](map.png)",
                                                  extra="image: map.png\nimage_alt: A map\n"),
        "content/en/news/story/map.png": png,
    })
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, tmp=tmp_path).returncode == 0
    expected = tree(output)
    kept = [p for kind in ("cards", "images") for p in (site / CACHE_FOLDER / kind).iterdir()]
    assert any(p.suffix == ".jpg" for p in kept) and any(p.suffix == ".webp" for p in kept)
    for path in kept:
        data = path.read_bytes()
        path.write_bytes(b"\0" * 10 + data[10:])  # damaged, same size

    forced = newshub("build", "--site", site, "--output", output, "--force", tmp=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert tree(output) == expected, "--force makes cards and images again"

    for path in kept:
        path.write_bytes(path.read_bytes()[:100])  # truncated
    fresh = newshub("build", "--site", site, "--output", tmp_path / "fresh", tmp=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert tree(tmp_path / "fresh") == expected, "a damaged file is never published"


# Loading the cache never runs code


class _Plant:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_crafted_cache_entries_never_run_and_count_as_missing(tmp_path: Path) -> None:
    site = _story_site(tmp_path / "site", "alpha", 3)
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, "--no-cards",
                   tmp=tmp_path).returncode == 0
    marker = tmp_path / "code-ran"
    crafted = pickle.dumps({"x": _Plant(marker)})
    cache = site / CACHE_FOLDER
    entries = list(cache.rglob("*.pickle"))
    compiled = list(cache.rglob("*.cache"))
    assert entries and compiled
    for path in entries:
        path.write_bytes(crafted)
    for path in compiled:  # Jinja reads a compiled template's header with pickle
        path.write_bytes(bc_magic + crafted)
    (site / "content/en/news/alpha-1.md").write_text(article("alpha story 1", "New body."),
                                                     encoding="utf-8")
    done = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "a crafted cache entry ran code"
    assert tree(output) == clean_tree(site, tmp_path, "--no-cards")


def test_records_of_the_wrong_shape_in_the_cache_are_parsed_again(tmp_path: Path) -> None:
    site = _story_site(tmp_path / "site", "alpha", 3)
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, "--no-cards",
                   tmp=tmp_path).returncode == 0
    store = Store(site)
    index = store.read_sharded("pages")
    assert isinstance(index, dict) and index
    bent = {name: replaced(parsed, page=replaced(parsed.page, title=7, tags=(1, 2)))
            if isinstance(parsed, Parsed) and parsed.page else parsed
            for name, parsed in index.items()}
    store.write("pages", bent, INDEX_REDUCERS)
    (site / "static/site.txt").write_text("changed")  # so the build is not skipped
    done = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tree(output) == clean_tree(site, tmp_path, "--no-cards")


@pytest.mark.parametrize("damage", ["truncated", "empty", "folder", "version-file",
                                    "cache-file"])
def test_damaged_cache_files_are_never_a_traceback(tmp_path: Path, damage: str) -> None:
    site = _story_site(tmp_path / "site", "alpha", 3)
    output = tmp_path / "out"
    assert newshub("build", "--site", site, "--output", output, "--no-cards",
                   tmp=tmp_path).returncode == 0
    cache = site / CACHE_FOLDER
    version = cache / f"v{CACHE_VERSION}"
    if damage in ("truncated", "empty", "folder"):
        for path in version.glob("*.pickle"):
            if damage == "folder":
                path.unlink()
                path.mkdir()
            else:
                path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]
                                 if damage == "truncated" else b"")
    elif damage == "version-file":
        shutil.rmtree(version)
        version.write_text("not a folder")
    else:
        shutil.rmtree(cache)
        cache.write_text("not a folder")
    (site / "content/en/news/alpha-1.md").write_text(article("Edited"), encoding="utf-8")
    done = newshub("build", "--site", site, "--output", output, "--no-cards", tmp=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    if damage == "cache-file":
        assert_clean_failure(done)
        assert f"{cache}: is a file, but newshub keeps its cache in a folder" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert tree(output) == clean_tree(site, tmp_path, "--no-cards")
    assert damage != "version-file" or version.is_dir(), "made a folder again"


def test_the_watcher_ignores_what_the_build_never_publishes() -> None:
    from pathlib import PurePath

    from generator.watch import ChangeKind, classify

    for name in NOISE:
        assert classify(PurePath("content/en/news", name)) is None, name
        assert is_noise(name), name
    assert classify(PurePath("static/.git/HEAD")) is None
    assert classify(PurePath("static/.well-known/security.txt")) == ChangeKind.STATIC
    assert classify(PurePath("content/en/news/x.md")) == ChangeKind.CONTENT


@pytest.mark.parametrize("path", ["", "/etc/x", "en/", "en//x", "..", "../x", "en/..",
                                  "en/../../x", "a\n/../b"])
def test_an_output_path_outside_the_output_folder_is_refused(path: str) -> None:
    """``check_paths`` looks at every path joined at once: a bad one among many safe ones
    (and one a line break could hide) is still found."""
    from generator.errors import SiteError
    from generator.write import check_paths

    safe = [f"en/news/story-{number}/index.html" for number in range(1000)]
    check_paths([*safe, "x../y", "a/b..", "a/.../b", "..a", "a\nb"])
    with pytest.raises(SiteError, match="refusing to write outside the output folder"):
        check_paths([*safe[:500], path, *safe[500:]])

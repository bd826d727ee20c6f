"""The no-change check ``newshub build`` makes before loading the engine
(``snapshot.unchanged``): every input's stamp and every output's size and mtime, the
outputs checked by a forked helper while the inputs are stamped. A changed, added,
removed or renamed input, or a changed or removed output, always means a real build,
whichever process checked it and however the helper ended."""

from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import signal
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import snapshot
from generator.cache import Store, manifest_name
from generator.config import load_config
from generator.files import stamps, walk
from generator.snapshot import OutputCheck, Taken, unchanged
from tests.conftest import FIXTURES
from tests.test_incremental import Workspace

forking = pytest.mark.skipif(not snapshot.can_fork(), reason="no fork here")


@pytest.fixture
def work(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, FIXTURES / "multilingual")
    workspace.build()
    workspace.build()  # the second build leaves the snapshot of a site as it stands
    return workspace


def check(work: Workspace, verify: bool = True) -> tuple[snapshot.Snapshot, int] | Taken | None:
    """The check, by default as ``--verify-output`` makes it: every output statted."""
    return unchanged(load_config(work.site), work.output, verify=verify)


def no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.fixture(params=["helper", "alone"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "alone":
        monkeypatch.setattr(snapshot, "can_fork", lambda: False)
    elif not snapshot.can_fork():
        pytest.skip("no fork here")
    return request.param


def outputs_of(work: Workspace) -> list[Path]:
    return sorted(path for path in work.output.rglob("*") if path.is_file())


def test_nothing_changed_counts_every_output(work: Workspace, mode: str) -> None:
    found = check(work)
    assert isinstance(found, tuple), found
    assert found[1] == len(outputs_of(work))
    assert no_child_left()


CHANGES: dict[str, Callable[[Path], None]] = {
    "input edited": lambda site: (site / "content/fr/news/wells.md").write_text(
        (site / "content/fr/news/wells.md").read_text(encoding="utf-8") + "\nPlus.\n",
        encoding="utf-8"),
    "input touched": lambda site: os.utime(site / "content/en/news/wells.md",
                                           ns=(1, 1_000_000_000)),
    "input added": lambda site: (site / "content/en/news/new.md").write_text(
        "---\ntitle: New\ndate: 2024-01-01T08:00:00Z\n---\n\nNew.\n", encoding="utf-8"),
    "input removed": lambda site: (site / "content/en/news/wells.md").unlink(),
    "input renamed": lambda site: (site / "content/en/news/wells.md").rename(
        site / "content/en/news/wells-2.md"),
    "template touched": lambda site: os.utime(next((site / "themes").rglob("*.html")),
                                              ns=(1, 1_000_000_000)),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_input_means_a_build(work: Workspace, mode: str, change: str) -> None:
    CHANGES[change](work.site)
    found = check(work)
    assert isinstance(found, Taken), "the build gets the stamps just taken"
    assert no_child_left(), "the helper is stopped and reaped"


FOLDER_CHANGES: dict[str, Callable[[Path], None]] = {
    **CHANGES,
    "folder added": lambda site: (site / "content/en/news/2024").mkdir(),
    "input added in a new folder": lambda site: (
        (site / "content/en/more").mkdir(), (site / "content/en/more/new.md").write_text(
            "---\ntitle: New\ndate: 2024-01-01T08:00:00Z\n---\n\nNew.\n", encoding="utf-8")),
    "folder removed": lambda site: shutil.rmtree(site / "content/fr/news"),
    "folder renamed": lambda site: (site / "content/fr/news").rename(site / "content/fr/nouvelles"),
    "static file added": lambda site: (site / "static").mkdir(exist_ok=True) or
    (site / "static/robots.txt").write_text("User-agent: *\n", encoding="utf-8"),
}


@pytest.fixture
def kept(work: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A site whose listing of inputs the last check kept (no folder changed lately)."""
    if not snapshot.can_fork():
        pytest.skip("no fork here")
    monkeypatch.setattr(snapshot, "RACY_SECONDS", 0)
    assert isinstance(check(work), tuple)
    assert Store(work.site).read(snapshot.LISTING_ENTRY) is not None
    return work


def test_a_kept_listing_is_used_while_no_folder_changed(
        kept: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def walk_again(*_args: object) -> None:
        raise AssertionError("the input folders were listed again")

    with monkeypatch.context() as patched:
        patched.setattr(snapshot, "_in_folders", walk_again)
        found = check(kept)
    assert isinstance(found, tuple) and found[1] == len(outputs_of(kept))
    config = load_config(kept.site)
    assert snapshot.listed(Store(kept.site), config) == \
        (snapshot.packed(snapshot.listing(config)[0]), ()), "the listing as the walk makes it"


@pytest.mark.parametrize("change", sorted(FOLDER_CHANGES))
def test_a_kept_listing_is_not_used_once_a_folder_changed(kept: Workspace,
                                                          change: str) -> None:
    FOLDER_CHANGES[change](kept.site)
    config = load_config(kept.site)
    assert snapshot.listed(Store(kept.site), config) == \
        (snapshot.packed(snapshot.listing(config)[0]), ())
    if change != "folder added":  # (an empty folder is no input)
        assert isinstance(check(kept), Taken)
    assert no_child_left()


def test_a_listing_is_not_kept_when_a_folder_just_changed_or_a_link_was_met(
        work: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(work.site)
    config = load_config(work.site)
    os.utime(work.site / "content/en/news")  # changed just now, however long the copy took
    snapshot.listed(store, config)
    assert store.read(snapshot.LISTING_ENTRY) is None, "a folder changed just now"
    monkeypatch.setattr(snapshot, "RACY_SECONDS", 0)
    (work.site / "content/en/link.md").symlink_to(work.site / "content/en/news/wells.md")
    time.sleep(0.05)
    snapshot.listed(store, config)
    assert store.read(snapshot.LISTING_ENTRY) is None, "where a link leads may change"
    (work.site / "content/en/link.md").unlink()
    time.sleep(0.05)
    assert snapshot.listed(store, config) == (snapshot.packed(snapshot.listing(config)[0]), ())
    assert store.read(snapshot.LISTING_ENTRY) is not None


@pytest.mark.parametrize("value", [None, "text", ("key",), lambda kept: (*kept[:3], "text"),
                                   lambda kept: (kept[0], kept[1][:-1], kept[2], kept[3]),
                                   lambda kept: ("other key", *kept[1:])])
def test_a_damaged_kept_listing_is_listed_again(kept: Workspace, value: object) -> None:
    store = Store(kept.site)
    stored = store.read(snapshot.LISTING_ENTRY)
    store.write(snapshot.LISTING_ENTRY, value(stored) if callable(value) else value)
    config = load_config(kept.site)
    assert snapshot.listed(store, config) == (snapshot.packed(snapshot.listing(config)[0]), ())
    assert store.read(snapshot.LISTING_ENTRY) == stored, "listed again, and kept"


@pytest.mark.parametrize("at", [0.0, 0.3, 0.6, 0.99])  # outputs in different shards
@pytest.mark.parametrize("how", ["appended", "removed", "touched"])
def test_a_changed_output_means_a_build(work: Workspace, mode: str, at: float,
                                        how: str) -> None:
    files = outputs_of(work)
    target = files[int(at * len(files))]
    if how == "appended":
        stat = target.stat()
        with target.open("ab") as handle:
            handle.write(b" ")
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # only the size differs
    elif how == "removed":
        target.unlink()
    else:
        os.utime(target, ns=(1, 1_000_000_000))
    assert isinstance(check(work), Taken)
    assert no_child_left()


def packed_outputs_kept(work: Workspace) -> bool:
    name = snapshot.OUTPUTS_PREFIX + manifest_name(work.output)
    return Store(work.site).read(name) is not None


@pytest.mark.parametrize("how", ["appended", "removed", "touched"])
def test_a_changed_output_is_found_in_the_packed_outputs(
        work: Workspace, mode: str, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that found every output intact keeps them packed, and the next checks
    them so, without the manifest's shards: the same count, and a change is found."""
    Store(work.site).delete(snapshot.OUTPUTS_PREFIX + manifest_name(work.output))
    assert not packed_outputs_kept(work)
    assert isinstance(check(work), tuple)
    assert packed_outputs_kept(work)

    def no_shard(*_args: object) -> None:
        raise AssertionError("a manifest shard was read")

    monkeypatch.setattr(Store, "read_shard", no_shard)
    found = check(work)
    assert isinstance(found, tuple) and found[1] == len(outputs_of(work))
    for target in (outputs_of(work)[0], outputs_of(work)[-1]):
        stat = target.stat()
        if how == "appended":
            with target.open("ab") as handle:
                handle.write(b" ")
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        elif how == "removed":
            saved = target.read_bytes()
            target.unlink()
        else:
            os.utime(target, ns=(1, 1_000_000_000))
        assert isinstance(check(work), Taken), target
        if how == "removed":
            target.write_bytes(saved)
        target.write_bytes(target.read_bytes()[:stat.st_size])
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert isinstance(check(work), tuple), "as the last build left it again"
    assert no_child_left()


def test_packed_outputs_are_not_used_once_the_manifest_changed(work: Workspace,
                                                                mode: str) -> None:
    """Any write of the manifest replaces its files: outputs packed before are not
    used (here the manifest says an output should be a byte longer than it is)."""
    from generator.cache import SHARDS, manifest_name

    assert isinstance(check(work), tuple) and packed_outputs_kept(work)
    store = Store(work.site)
    name = manifest_name(work.output)
    index = next(index for index in range(SHARDS) if store.read(f"{name}-{index:02x}"))
    part = store.read(f"{name}-{index:02x}")
    path, (key, size, mtime) = next(iter(part.items()))
    part[path] = (key, size + 1, mtime)
    store.write(f"{name}-{index:02x}", part)
    assert isinstance(check(work), Taken)
    assert no_child_left()


def helper_does(monkeypatch: pytest.MonkeyPatch, act: Callable[[OutputCheck, int], None] | None,
                first: bool = True) -> None:
    """The helper serves as ``act`` says (None: as it does); with ``first``, this process
    starts on the inputs only once the helper took every shard."""
    monkeypatch.setattr(snapshot, "CHUNK", 2)  # chunks of inputs to share, even here
    if act is not None:
        monkeypatch.setattr(OutputCheck, "_serve", act)
    stamp = OutputCheck.stamp

    def stamp_later(self: OutputCheck) -> None:
        assert self.helper, "a helper was forked"
        while first and pending(self.tasks):
            time.sleep(0.001)
        stamp(self)

    monkeypatch.setattr(OutputCheck, "stamp", stamp_later)


def pending(descriptor: int) -> int:
    """Bytes waiting in a pipe."""
    import fcntl
    import termios

    return int.from_bytes(fcntl.ioctl(descriptor, termios.FIONREAD, bytes(4)), sys.byteorder)


@forking
def test_the_helper_s_answers_are_the_answer(work: Workspace,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shard checked by the helper alone: the same count, and an output changed
    by hand is still found."""
    helper_does(monkeypatch, None)
    found = check(work)
    assert isinstance(found, tuple) and found[1] == len(outputs_of(work))
    outputs_of(work)[-1].write_bytes(b"changed by hand")
    assert isinstance(check(work), Taken)
    assert no_child_left()


@forking
def test_inputs_stamped_by_two_processes_are_take_s_stamps(
        work: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.cache import Store

    monkeypatch.setattr(snapshot, "CHUNK", 2)
    config = load_config(work.site)
    alone = snapshot.take(config)
    with OutputCheck(Store(work.site), work.output, config) as both:
        both.stamp()
        assert both.found is None, "the stamps lie in the shared memory"
        digest = both.digest()
        assert both.owned() == len(outputs_of(work))
        shared = both.taken()
    assert digest == alone.inputs(config), "the same digest from the shared memory"
    assert list(shared.stamps.items()) == list(alone.stamps.items())
    assert shared.refused == alone.refused
    assert no_child_left()


@forking
def test_nothing_to_do_is_answered_without_a_record_per_input(
        work: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest is made from the shared memory as the two processes stamped it: the
    stamps become records (and are digested again) only for a build."""
    helper_does(monkeypatch, None, first=False)

    def refused(*_args: object) -> None:
        raise AssertionError("a record per input was made")

    with monkeypatch.context() as patched:
        patched.setattr(OutputCheck, "_taken", refused)
        patched.setattr(Taken, "inputs", refused)
        found = check(work)
    assert isinstance(found, tuple) and found[1] == len(outputs_of(work))
    os.utime(work.site / "content/en/news/wells.md", ns=(1, 1_000_000_000))
    taken = check(work)
    assert isinstance(taken, Taken)
    assert taken.stamps == snapshot.take(load_config(work.site)).stamps
    assert no_child_left()


FAR = 2 ** 63 + 5_000_000_000  # nanoseconds past 2262: more than 64 bits hold


@pytest.mark.parametrize("shared", [True, False])
def test_an_input_dated_past_2262_is_stamped(work: Workspace, mode: str, shared: bool,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if shared:
        monkeypatch.setattr(snapshot, "CHUNK", 2)  # stamped into the shared memory
    target = work.site / "content/en/news/wells.md"
    try:
        os.utime(target, ns=(FAR, FAR))
    except (OSError, OverflowError):
        pytest.skip("no such date on this file system")
    if os.stat(target).st_mtime_ns != FAR:
        pytest.skip("no such date on this file system")
    work.build()
    found = check(work)
    assert isinstance(found, tuple), "nothing changed"
    os.utime(target, ns=(FAR + 1, FAR + 1))
    assert isinstance(check(work), Taken), "a changed date past 2262 is a change"
    assert no_child_left()


@pytest.mark.parametrize("paths", [["a"] * 10, ["a", "b" * 40, "c", "d", "e" * 3, "f"],
                                   [f"/site/content/{'é' * (n % 7)}{n}.md" for n in range(997)]])
@pytest.mark.parametrize("chunks", [1, 2, 3, 10, 40])
def test_chunks_of_packed_names_hold_every_path_once(paths: list[str], chunks: int) -> None:
    names = snapshot.packed(paths)
    cuts = snapshot._cuts(names, chunks)
    assert cuts[0] == (0, 0) and cuts[-1] == (len(names), len(paths))
    assert 1 <= len(cuts) - 1 <= chunks
    found = []
    for (start, first), (stop, _next) in itertools.pairwise(cuts):
        assert start < stop and names[stop - 1:stop] == b"\0"
        part = snapshot.unpacked(names[start:stop])
        assert first == len(found)
        found += part
    assert found == paths


def test_stamps_by_folder_are_os_stat_s(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a/one.md").write_text("one", encoding="utf-8")
    (tmp_path / "b/two.md").write_text("two!", encoding="utf-8")
    (tmp_path / "b/link.md").symlink_to(tmp_path / "a/one.md")
    paths = [str(tmp_path / name) for name in ("a/one.md", "a/gone.md", "b/two.md",
                                               "b/link.md", "c/none.md", "a/one.md")]
    expected = [(os.stat(path).st_mtime_ns, os.stat(path).st_size)
                if os.path.exists(path) else (-1, -1) for path in paths]
    stamps = snapshot._stamps_by_folder(paths)
    assert list(zip(stamps[::2], stamps[1::2], strict=True)) == expected


def takes_a_chunk_and_dies(check: OutputCheck, _answering: int) -> None:
    select.select([check.inputs], [], [])
    os.read(check.inputs, 2)
    os._exit(1)


@forking
def test_a_chunk_of_inputs_the_helper_took_and_lost_is_stamped_here(
        work: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    helper_does(monkeypatch, takes_a_chunk_and_dies, first=False)
    stamp = OutputCheck._stamp_chunk

    def stamp_once_it_died(self: OutputCheck, index: int) -> None:
        os.waitid(os.P_PID, self.helper, os.WEXITED | os.WNOWAIT)  # (not reaped)
        stamp(self, index)

    monkeypatch.setattr(OutputCheck, "_stamp_chunk", stamp_once_it_died)
    found = check(work)
    assert isinstance(found, Taken), "a helper that failed: never 'nothing to do'"
    assert list(found.stamps.items()) == list(snapshot.take(load_config(work.site))
                                              .stamps.items())
    assert no_child_left()


def drain(check: OutputCheck) -> None:
    while os.read(check.tasks, 64):
        pass


def takes_all_and_fails(check: OutputCheck, _answering: int) -> None:
    drain(check)
    raise RuntimeError("the helper failed")


def takes_all_and_is_killed(check: OutputCheck, _answering: int) -> None:
    drain(check)
    os.kill(os.getpid(), signal.SIGKILL)


def takes_all_and_answers_some(check: OutputCheck, answering: int) -> None:
    drain(check)
    os.write(answering, snapshot.ANSWER.pack(snapshot.OUTPUT, 0, 2))  # an exit of 0, but
    # shards without an answer


@forking
@pytest.mark.parametrize("act", [takes_all_and_fails, takes_all_and_is_killed,
                                 takes_all_and_answers_some])
def test_a_helper_that_does_not_answer_every_shard_means_a_build(
        work: Workspace, monkeypatch: pytest.MonkeyPatch,
        act: Callable[[OutputCheck, int], None]) -> None:
    helper_does(monkeypatch, act)
    assert isinstance(check(work), Taken), "never a wrong 'nothing to do'"
    assert no_child_left()


@pytest.mark.parametrize("crafted", [
    lambda path, entry: (path, None), lambda path, entry: (path, entry[:2]),
    lambda path, entry: (path, {"size": entry[1]}), lambda path, entry: (5, entry),
    lambda path, entry: (path + "\0", entry), lambda path, entry: (path, (*entry[:2], "1"))])
def test_a_crafted_manifest_entry_means_a_build(work: Workspace, mode: str,
                                                crafted: Callable[[str, tuple[str, int, int]],
                                                                  tuple[object, object]]) -> None:
    """Each shard's entries are checked as they are used: one that is not an output's
    path and (key, size, mtime) is never a wrong 'nothing to do', and never a crash."""
    from generator.cache import SHARDS, Store, manifest_name

    store = Store(work.site)
    name = manifest_name(work.output)
    index = next(index for index in range(SHARDS)
                 if store.read(f"{name}-{index:02x}"))
    part = store.read(f"{name}-{index:02x}")
    path, entry = next(iter(part.items()))
    del part[path]
    key, value = crafted(path, entry)
    part[key] = value  # (as many entries as the header says)
    store.write(f"{name}-{index:02x}", part)
    assert isinstance(check(work), Taken)
    assert no_child_left()


def test_a_language_subset_counts_its_own_outputs(work: Workspace, mode: str) -> None:
    config = load_config(work.site, only_languages=("fr",))
    from generator.build import build

    build(config, work.output, jobs=1)
    found = unchanged(config, work.output)
    assert isinstance(found, tuple)
    assert 0 < found[1] < len(outputs_of(work))


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")
def test_stamps_are_the_files_walk_finds_as_os_stat_sees_them(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "content/en/news").mkdir(parents=True)
    (site / "content/en/news/a.md").write_text("a", encoding="utf-8")
    (site / "content/en/news/b.md~").write_text("backup", encoding="utf-8")
    (site / "content/en/shared.md").write_text("shared text", encoding="utf-8")
    (site / "content/en/news/link.md").symlink_to(site / "content/en/shared.md")
    (site / "content/en/news/out.md").symlink_to("/etc/hostname")
    os.utime(site / "content/en/shared.md", ns=(1, 2_000_000_000))
    problems: list[object] = []
    found = stamps(site / "content", site, problems)  # type: ignore[arg-type]
    expected_problems: list[object] = []
    expected = [(os.path.join(folder, name), os.stat(os.path.join(folder, name)).st_mtime_ns,
                 os.stat(os.path.join(folder, name)).st_size)
                for folder, _folders, files in walk(site / "content", site,
                                                    expected_problems)  # type: ignore[arg-type]
                for name in files]
    assert found == expected
    assert [path for path, _mtime, _size in found] == [
        str(site / "content/en/shared.md"), str(site / "content/en/news/a.md"),
        str(site / "content/en/news/link.md")]
    assert found[-1][1:] == (2_000_000_000, len("shared text")), "a link stamps its target"
    assert len(problems) == len(expected_problems) == 1, "the link out of the site"


# What an edit's new process reads before its short path ---------------------------------

def test_changed_stamps_are_found_in_order_or_by_path() -> None:
    from generator.snapshot import Stamps, changed_stamps

    def stamps(made: dict[str, tuple[str, int, int]]) -> Stamps:
        return Stamps.of(made)

    before = stamps({name: (name, 1, 1) for name in "abc"}).stored()
    now = {**dict(stamps({name: (name, 1, 1) for name in "abc"})), "b": ("b", 2, 1)}
    assert changed_stamps(before, {}, stamps(now)) == ["b"]
    assert changed_stamps(before, {"b": ("b", 2, 1)}, stamps(now)) == [], \
        "an edit's stamps since"
    assert changed_stamps(before, {"x": ("x", 1, 1)}, stamps(now)) == ["b"]
    reordered = {"c": ("c", 1, 2), "a": ("a", 1, 1), "b": ("b", 1, 1)}
    assert changed_stamps(before, {}, stamps(reordered)) == ["c"]
    assert changed_stamps(before, {"c": ("c", 1, 2)}, stamps(reordered)) == []
    assert changed_stamps(before, {}, stamps({"a": ("a", 1, 1)})) is None, "files went"
    assert changed_stamps(before, {}, stamps({**now, "d": ("d", 1, 1)})) is None, \
        "a file came"
    assert changed_stamps({"a": ("a", 1, 1)}, {}, stamps(now)) is None, "an older format"


def test_packed_stamps_are_compared_block_by_block_and_read_as_a_mapping() -> None:
    """Stamps as the no-change check packs them: changes found in every block and at
    its edges, single stamps looked up without making the mapping, past 2262 too."""
    from array import array

    from generator.snapshot import BLOCK, Stamps, changed_stamps, packed

    paths = [f"/site/content/{index // 500}/é-{index}.md" for index in range(3 * BLOCK + 5)]
    values = array("q", [value for index in range(len(paths)) for value in (index, 7)])
    before = Stamps(packed(paths), values).stored()
    edited = (0, BLOCK - 1, BLOCK, 2 * BLOCK + 3, len(paths) - 1)
    now_values = array("q", values)
    for index in edited:
        now_values[2 * index + 1] = 8
    now = Stamps(packed(paths), now_values)
    assert changed_stamps(before, {}, now) == [paths[index] for index in edited]
    assert changed_stamps(before, {paths[BLOCK]: (paths[BLOCK], BLOCK, 8)}, now) == \
        [paths[index] for index in edited if index != BLOCK], "an edit's stamp since"
    assert now.stamp(paths[BLOCK]) == (paths[BLOCK], BLOCK, 8)
    assert now.stamp(paths[0]) == (paths[0], 0, 8)
    assert now.stamp("/site/content/0/é-1") is None, "a prefix of a path is not one"
    assert now.stamp("/nowhere.md") is None
    assert now._made is None, "no mapping made for a few look-ups"
    assert dict(now) == {path: (path, index, 8 if index in edited else 7)
                         for index, path in enumerate(paths)}
    assert len(now) == len(paths)
    late = Stamps.of({"a": ("a", 2 ** 64 + 5, 1)})
    assert Stamps(*late.packed()).stamp("a") == ("a", snapshot.wrapped(2 ** 64 + 5), 1)


def test_a_new_process_takes_the_template_digests_from_the_cache(
        work: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import deps
    from generator.cache import Store
    from generator.theme import theme_folders

    folders = theme_folders(load_config(work.site), "templates")
    store = Store(work.site)
    made = deps.template_digests(folders, store)
    deps._MADE.clear()  # as in a new process

    def parse(_folders: object) -> None:
        raise AssertionError("the templates were parsed again")

    with monkeypatch.context() as patched:
        patched.setattr(deps, "_template_digests", parse)
        assert deps.template_digests(folders, store) == made
    deps._MADE.clear()
    template = next(folder for folder in folders if (folder / "base.html").is_file()) / \
        "base.html"
    shadow = work.site / "themes" / "default" / "templates" / "base.html"
    shadow.parent.mkdir(parents=True, exist_ok=True)
    shadow.write_text(template.read_text(encoding="utf-8") + "\n{# changed #}\n",
                      encoding="utf-8")
    folders = theme_folders(load_config(work.site), "templates")
    again = deps.template_digests(folders, store)
    assert again["base.html"] != made["base.html"], "a changed template is parsed again"


def test_a_config_loads_without_babel_once_its_languages_are_remembered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The languages' names and directions are kept per Babel installation in the user's
    cache folder: a later process loading the config imports no Babel, and gets the same
    config."""
    import subprocess

    from generator import config as config_module
    from tests.conftest import REPO

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    site = FIXTURES / "multilingual"
    first = load_config(site)
    memo = tmp_path / "cache" / "newshub" / config_module.MEMO_FILE
    assert memo.is_file()
    script = ("import sys; from pathlib import Path; from generator.config import load_config; "
              f"config = load_config(Path({str(site)!r})); "
              "print('babel' in sys.modules); print(repr(config))")
    lines = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, cwd=REPO, env={**os.environ}).stdout.splitlines()
    assert lines[0] == "False", "Babel is not imported"
    assert lines[1] == repr(first)
    assert [language.direction for language in first.languages if language.code == "ar"] \
        == ["rtl"]


def test_a_remembered_language_is_checked_against_its_babel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import config as config_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert config_module.locale_facts("fr") == ("français", "ltr")
    assert config_module.locale_facts("xx") is None, "unknown to Babel: never remembered"
    memo = tmp_path / "cache" / "newshub" / config_module.MEMO_FILE
    value = json.loads(memo.read_text(encoding="utf-8"))
    assert "xx" not in value["languages"]
    value["languages"]["fr"] = ["Crafted", "sideways"]  # not a direction: ignored
    value["languages"]["de"] = ["Anders", "ltr"]
    memo.write_text(json.dumps(value), encoding="utf-8")
    assert config_module.locale_facts("fr") == ("français", "ltr")
    assert config_module.locale_facts("de") == ("Anders", "ltr")
    value["babel"][1] += 1  # another Babel: its memo is not this one's
    memo.write_text(json.dumps(value), encoding="utf-8")
    assert config_module.locale_facts("de") == ("Deutsch", "ltr")


def test_the_no_change_path_imports_nothing_it_does_not_use() -> None:
    """What ``newshub build`` imports before its answer (shutil pulls in lzma and bz2,
    difflib only suggests a config key, generator.model makes a 40-field record)."""
    import subprocess

    from tests.conftest import REPO

    script = ("import sys, generator.cli; print(sorted(m for m in ('shutil', 'difflib', "
              "'jinja2', 'babel', 'generator.model') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, cwd=REPO).stdout.strip()
    assert found == "[]"


def sealed_workspace(tmp_path: Path) -> Workspace:
    """A built workspace whose outputs a check has sealed: the build's own seal is
    racy (its folders changed within a tick of it), so one full check seals them."""
    workspace = Workspace(tmp_path, FIXTURES / "multilingual")
    workspace.build()
    time.sleep(snapshot.SEAL_FINE / 1e9 + 0.05)
    assert isinstance(check(workspace, verify=False), tuple)
    return workspace


def kept_seal(work: Workspace) -> snapshot.Sealed | None:
    store, name = Store(work.site), manifest_name(work.output)
    return snapshot.kept_seal(store, name, store.sharded_identity(name))


def test_a_sealed_check_reads_no_output_but_its_folders(
        tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the folders holding folders are as sealed, each output is taken as written:
    the same count, without a stat of any file; a file changed in place in a page's own
    folder is then only found by ``--verify-output``."""
    work = sealed_workspace(tmp_path)
    assert kept_seal(work) is not None
    counted = len(outputs_of(work))
    page = work.output / "fr/news/wells/index.html"
    page.write_bytes(page.read_bytes().replace(b"<html", b"<HTML", 1))  # in place

    def no_file_read(*_args: object) -> None:
        raise AssertionError("an output was statted")

    with monkeypatch.context() as patched:
        patched.setattr(snapshot.Outputs, "intact", no_file_read)
        patched.setattr(snapshot, "intact", no_file_read)
        found = check(work, verify=False)
    assert isinstance(found, tuple) and found[1] == counted
    assert isinstance(check(work, verify=True), Taken)
    assert no_child_left()


@pytest.mark.parametrize("change", [
    "page folder removed", "list removed", "feed renamed", "file added", "output replaced",
    "folder touched"])
def test_a_change_to_a_sealed_folder_means_a_full_check(tmp_path: Path, change: str) -> None:
    """Anything made, removed or renamed in a folder above a page's own breaks the seal:
    every output is statted then (a build when one is missing or changed, nothing to do
    when all are as written: a stray file is not an output)."""
    work = sealed_workspace(tmp_path)
    output = work.output
    if change == "page folder removed":
        shutil.rmtree(output / "fr/news/wells")
    elif change == "list removed":
        (output / "en/index.html").unlink()
    elif change == "feed renamed":
        feed = next(output.glob("en/*.xml"))
        feed.rename(feed.with_suffix(".old"))
    elif change == "file added":
        (output / "en/news/stray.txt").write_text("left here")
    elif change == "output replaced":  # a copy with its times, one page changed in place
        shutil.copytree(output, tmp_path / "copy", copy_function=shutil.copy2)
        shutil.rmtree(output)
        (tmp_path / "copy").rename(output)
        page = output / "fr/news/wells/index.html"
        page.write_bytes(page.read_bytes().replace(b"<html", b"<HTML", 1))
    else:
        os.utime(output / "en", ns=(1, 1_000_000_000))
    found = check(work, verify=False)
    if change in ("file added", "folder touched"):
        assert isinstance(found, tuple) and found[1] == len(outputs_of(work)) - (
            change == "file added")
        time.sleep(snapshot.SEAL_FINE / 1e9 + 0.05)
        assert isinstance(check(work, verify=False), tuple)  # (sealed anew)
    else:
        assert isinstance(found, Taken), change
    assert no_child_left()


def test_seal_folders_are_the_folders_above_each_file_s_own() -> None:
    paths = ["index.html", "sitemap.xml", "en/index.html", "en/news/a/index.html",
             "en/news/b/card.png", "fr/tags/eau/page/2/index.html", "ar/feed.xml"]
    assert snapshot.unpacked(snapshot.seal_folders(paths)) == [
        "", "en", "en/news", "fr", "fr/tags", "fr/tags/eau", "fr/tags/eau/page"]


def test_a_build_seals_its_outputs_past_the_grain_of_its_own_writes(tmp_path: Path) -> None:
    """A build took its seal as it wrote the folders, too near their change to be
    trusted, so the next check statted every output (0.5 s after a cold build of 140,000
    outputs, 0.9 s after an edit's build): the seal now waits out the clock's grain (a
    tenth of a second at most) and holds."""
    workspace = Workspace(tmp_path / "site", FIXTURES / "multilingual")
    workspace.build()
    sealed = kept_seal(workspace)
    assert sealed is not None and not sealed.seal.racy()
    assert sealed.seal.holds(workspace.output)
    (tmp_path / "x").mkdir()  # changed just now
    settled = snapshot.Seal.settled(tmp_path, snapshot.packed(["", "x"]))
    assert settled is not None and not settled.racy() and settled.holds(tmp_path)


def test_a_seal_is_racy_within_a_tick_of_a_change_and_two_seconds_of_a_coarse_one(
        tmp_path: Path) -> None:
    """A folder changed just before its seal may change again with the same times: such
    a seal is never trusted; where times have no fraction of a second, for two seconds."""
    (tmp_path / "en").mkdir()
    folders = snapshot.packed(["", "en"])
    seal = snapshot.Seal.take(tmp_path, folders)
    assert seal is not None and seal.racy() and not seal.holds(tmp_path)
    later = snapshot.Seal(seal.folders, seal.stats, seal.taken + snapshot.SEAL_FINE + 1)
    assert not later.racy() and later.holds(tmp_path)
    (tmp_path / "en" / "new").mkdir()
    assert not later.holds(tmp_path)
    whole = array("q", [7, 1_000_000_000, 1_000_000_000] * 2).tobytes()
    assert snapshot.Seal(folders, whole, 2_500_000_000).racy()
    assert not snapshot.Seal(folders, whole, 3_100_000_000).racy()
    fine = array("q", [7, 1_000_000_001, 1_000_000_001] * 2).tobytes()
    assert not snapshot.Seal(folders, fine, 1_200_000_001).racy()
    assert snapshot.Seal.take(tmp_path / "gone", folders) is None


@pytest.mark.parametrize("value", [None, "seal", (1, 2, 3, 4, 5),
                                   "outside", "absolute", "short"])
def test_a_damaged_or_crafted_seal_is_not_used(tmp_path: Path, value: object) -> None:
    work = sealed_workspace(tmp_path)
    store, name = Store(work.site), manifest_name(work.output)
    identity = store.sharded_identity(name)
    kept = store.read(snapshot.SEAL_PREFIX + name)
    if value == "outside":
        value = (*kept[:2], b"\0..\0", array("q", [0] * 6).tobytes(), kept[4])
    elif value == "absolute":
        value = (*kept[:2], b"/etc\0", array("q", [0] * 3).tobytes(), kept[4])
    elif value == "short":
        value = (*kept[:3], kept[3][:-8], kept[4])
    store.write(snapshot.SEAL_PREFIX + name, value)
    assert snapshot.kept_seal(store, name, identity) is None
    assert isinstance(check(work, verify=False), tuple)  # found by statting each output


def test_an_edit_s_build_seals_the_outputs_again(tmp_path: Path) -> None:
    """An edit rewrites a few outputs (``delta.py``'s path): the seal is taken again
    under the manifest's new identity, with the same count, and a full check finds all
    as written."""
    from generator.build import build

    work = Workspace(tmp_path, FIXTURES / "multilingual")
    config = load_config(work.site, share_cards=False, search=False)
    build(config, work.output, jobs=1)
    time.sleep(snapshot.SEAL_FINE / 1e9 + 0.05)
    assert isinstance(unchanged(config, work.output), tuple)
    before = kept_seal(work)
    work.edit("content/en/news/wells.md", "Teams repaired", "Teams fixed")
    assert "edit" in build(config, work.output, jobs=1).timings, "the edit's own path"
    after = kept_seal(work)
    assert before is not None and after is not None and after.seal.taken > before.seal.taken
    assert after.count == before.count == len(outputs_of(work))
    assert not packed_outputs_kept(work), "the last build's sizes and times: dropped"
    assert isinstance(unchanged(config, work.output, verify=True), tuple)


def test_verify_output_rebuilds_a_page_a_sealed_check_takes_as_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from generator.cli import main

    work = sealed_workspace(tmp_path)
    page = work.output / "fr/news/wells/index.html"
    written = page.read_bytes()
    page.write_bytes(b"x" * len(written))
    command = ["build", "--site", str(work.site), "--output", str(work.output)]
    assert main(command) == 0
    assert page.read_bytes() == b"x" * len(written)
    assert " 0 rendered, 0 written" in capsys.readouterr().out
    assert main([*command, "--verify-output"]) == 0
    assert page.read_bytes() == written
    assert "1 rendered, 1 written" in capsys.readouterr().out


def test_an_edit_below_a_folder_the_seal_does_not_read_drops_it(tmp_path: Path) -> None:
    work = sealed_workspace(tmp_path)
    store, name = Store(work.site), manifest_name(work.output)
    identity = store.sharded_identity(name)
    snapshot.reseal_outputs(store, name, identity, ["en/news/wells/index.html"], work.output)
    assert kept_seal(work) is not None
    identity = store.sharded_identity(name)
    snapshot.reseal_outputs(store, name, identity, ["en/appeals/2027/x/index.html"], work.output)
    assert kept_seal(work) is None
    assert isinstance(check(work, verify=False), tuple)  # every output statted

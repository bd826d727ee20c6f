"""The no-change check ``newshub build`` makes before loading the engine
(``snapshot.unchanged``): every input's stamp and every output's size and mtime, the
outputs checked by a forked helper while the inputs are stamped. A changed, added,
removed or renamed input, or a changed or removed output, always means a real build,
whichever process checked it and however the helper ended."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import snapshot
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


def check(work: Workspace) -> tuple[snapshot.Snapshot, int] | Taken | None:
    return unchanged(load_config(work.site), work.output)


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


def helper_does(monkeypatch: pytest.MonkeyPatch,
                act: Callable[[OutputCheck], dict[int, int | None]]) -> None:
    """The helper acts as ``act`` says, and takes every shard before this process asks
    for one (the inputs are stamped once it has ended)."""
    parent = os.getpid()
    checked = OutputCheck._check_shards
    started: list[OutputCheck] = []
    enter = OutputCheck.__enter__

    def entered(self: OutputCheck) -> OutputCheck:
        started.append(self)
        return enter(self)

    def check_shards(self: OutputCheck) -> dict[int, int | None]:
        return checked(self) if os.getpid() == parent else act(self)

    take = snapshot.take

    def take_after_helper(config: object) -> Taken:
        assert started and started[-1].helper, "a helper was forked"
        os.waitid(os.P_PID, started[-1].helper, os.WEXITED | os.WNOWAIT)  # not reaped
        return take(config)  # type: ignore[arg-type]

    monkeypatch.setattr(OutputCheck, "__enter__", entered)
    monkeypatch.setattr(OutputCheck, "_check_shards", check_shards)
    monkeypatch.setattr(snapshot, "take", take_after_helper)


@forking
def test_the_helper_s_answers_are_the_answer(work: Workspace,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shard checked by the helper alone: the same count, and an output changed
    by hand is still found."""
    helper_does(monkeypatch, OutputCheck._check_shards)
    found = check(work)
    assert isinstance(found, tuple) and found[1] == len(outputs_of(work))
    outputs_of(work)[-1].write_bytes(b"changed by hand")
    assert isinstance(check(work), Taken)
    assert no_child_left()


def drain(check: OutputCheck) -> None:
    while os.read(check.tasks, 64):
        pass


def takes_all_and_fails(check: OutputCheck) -> dict[int, int | None]:
    drain(check)
    raise RuntimeError("the helper failed")


def takes_all_and_is_killed(check: OutputCheck) -> dict[int, int | None]:
    drain(check)
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


def takes_all_and_answers_some(check: OutputCheck) -> dict[int, int | None]:
    drain(check)
    return {0: 1}  # an exit of 0, but shards without an answer


@forking
@pytest.mark.parametrize("act", [takes_all_and_fails, takes_all_and_is_killed,
                                 takes_all_and_answers_some])
def test_a_helper_that_does_not_answer_every_shard_means_a_build(
        work: Workspace, monkeypatch: pytest.MonkeyPatch,
        act: Callable[[OutputCheck], dict[int, int | None]]) -> None:
    helper_does(monkeypatch, act)
    assert isinstance(check(work), Taken), "never a wrong 'nothing to do'"
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

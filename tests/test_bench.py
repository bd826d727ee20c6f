"""The benchmark runs end to end on a tiny corpus (its figures are not checked here:
no test asserts a wall-clock time)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS_SCRIPT = ROOT.parent / "shared" / "corpus" / "make_corpus.py"


@pytest.mark.skipif(not CORPUS_SCRIPT.is_file(), reason="../shared/corpus is not beside the repo")
def test_the_benchmark_runs_and_reports_every_row(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--articles", "12", "--repeat", "1",
         "--no-hugo", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    for row in ("cold build (no cache, no output)", "rebuild, nothing changed",
                "new process, newest headline edited", "same edit in a running session (serve)",
                "serve answers, first start after build", "serve answers, restart",
                "pages per second (cold)", "share cards per second (all cores)"):
        assert row in result.stdout, row
    edited = max((tmp_path / "site/content/fr/news").glob("*.md")).read_text(encoding="utf-8")
    assert 'title: "Update 2: ' in edited, "both edit rows changed the newest headline"
    assert not (tmp_path / "trash").exists(), "folders moved aside are deleted at the end"

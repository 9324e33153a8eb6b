"""The GitHub Actions workflow that tests and publishes the book, and the files
that make the repository citable.

* actionlint (pinned in requirements.txt) finds no problem in .github/workflows/.
* .github/workflows/book.yml does what issue #11 asks: on every push and pull
  request it runs `make test` with MINIMODELS_REQUIRE_BROWSER set (the browser
  test fails instead of skipping); it keeps the trained models of _build/cache
  with actions/cache, with restore-keys for partial hits; and on a push to main
  only, it uploads _build/html with actions/upload-pages-artifact and publishes
  it with actions/deploy-pages.
* MINIMODELS_REQUIRE_BROWSER turns the browser test's skip into a failure
  (tests/test_site.py, checked here without a browser).
* CITATION.cff and LICENSE agree with _config.yml and pyproject.toml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BOOK = WORKFLOWS / "book.yml"
ON_MAIN = ("github.event_name == 'push'", "github.ref == 'refs/heads/main'")


# --- Helpers ----------------------------------------------------------------------


def actionlint() -> str | None:
    """The actionlint binary of this environment (pip puts it beside python), or the
    one on PATH."""
    beside = Path(sys.executable).with_name("actionlint")
    return str(beside) if beside.is_file() else shutil.which("actionlint")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(BOOK.read_text())


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        on = [on]
    return dict.fromkeys(on) if isinstance(on, list) else on


def steps(workflow: dict):
    """(job name, job, step) for every step of every job."""
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, job, step


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def the_step(workflow: dict, action: str) -> tuple[str, dict, dict]:
    found = [
        (name, job, step) for name, job, step in steps(workflow) if uses(step, action)
    ]
    assert len(found) == 1, (
        f"book.yml: expected one step that uses {action}, found {len(found)}"
    )
    return found[0]


def make_test_step(workflow: dict) -> tuple[str, dict, dict]:
    found = [
        (n, j, s)
        for n, j, s in steps(workflow)
        if re.search(r"(^|[\s;&|])make test\b", s.get("run", ""))
    ]
    assert len(found) == 1, (
        f"book.yml: expected one step that runs `make test`, found {len(found)}"
    )
    return found[0]


def on_main_only(condition: str | None) -> bool:
    condition = re.sub(r"\s+", " ", condition or "")
    return all(part in condition for part in ON_MAIN) and "||" not in condition


# --- actionlint -------------------------------------------------------------------


def test_actionlint_finds_no_problem():
    binary = actionlint()
    # Pinned in requirements.txt: missing means a broken install, not a reason to skip.
    assert binary is not None, "actionlint is not installed: make install"
    files = sorted(str(p.relative_to(ROOT)) for p in WORKFLOWS.glob("*.y*ml"))
    assert files, "no workflow in .github/workflows"
    # It also runs shellcheck over every `run:` script where shellcheck is on PATH (as
    # on GitHub's runners).
    result = subprocess.run(
        [binary, "-no-color", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        f"actionlint (exit {result.returncode}):\n{result.stdout}{result.stderr}"
    )


# --- What the workflow does ---------------------------------------------------------


def test_runs_on_every_push_and_pull_request(workflow):
    on = triggers(workflow)
    for event in ("push", "pull_request"):
        assert event in on, f"book.yml does not run on {event}"
        assert not (on[event] or {}).get("branches"), (
            f"book.yml runs on {event} for some branches only"
        )


def test_make_test_runs_with_the_browser_test_required(workflow):
    name, job, step = make_test_step(workflow)
    env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
    assert str(env.get("MINIMODELS_REQUIRE_BROWSER")) == "1", (
        f"job {name!r}: `make test` runs without MINIMODELS_REQUIRE_BROWSER=1, "
        "so a missing browser would only skip"
    )
    assert "if" not in step, (
        "`make test` must run on every push and pull request, not under a condition"
    )


def test_python_311_with_pip_cache(workflow):
    _, _, step = the_step(workflow, "actions/setup-python")
    assert str(step["with"]["python-version"]) == "3.11"
    assert step["with"].get("cache") == "pip"
    assert step["with"].get("cache-dependency-path") == "requirements.txt"


def test_trained_models_are_cached_with_restore_keys(workflow):
    name, job, step = the_step(workflow, "actions/cache")
    cache = step["with"]
    assert "_build/cache" in str(cache["path"]).split(), (
        f"actions/cache keeps {cache['path']!r}, not _build/cache"
    )
    key = cache["key"]
    for source in ("src/minimodels/", "requirements.txt", "pyproject.toml"):
        assert source in key, f"the cache key does not depend on {source}: {key}"
    prefixes = [
        line.strip()
        for line in str(cache.get("restore-keys", "")).splitlines()
        if line.strip()
    ]
    assert prefixes, (
        "no restore-keys: a change to the code would start from an empty cache"
    )
    assert all(key.startswith(prefix) for prefix in prefixes), (
        f"restore-keys {prefixes} are not prefixes of {key}"
    )
    order = job["steps"]
    _, _, test = make_test_step(workflow)
    assert test in order and order.index(step) < order.index(test), (
        "the cache must be restored before `make test`"
    )


def test_the_site_is_uploaded_from_main_only(workflow):
    name, job, step = the_step(workflow, "actions/upload-pages-artifact")
    assert str(step["with"]["path"]).rstrip("/") == "_build/html"
    assert on_main_only(step.get("if")) or on_main_only(job.get("if")), (
        "the Pages artifact is uploaded outside pushes to main: "
        f"if {step.get('if') or job.get('if')!r}"
    )
    _, test_job, test_step = make_test_step(workflow)
    assert test_job is job and job["steps"].index(test_step) < job["steps"].index(
        step
    ), "the site is uploaded by the job that tested it, after `make test`"


def test_deploy_job_publishes_to_pages_from_main_only(workflow):
    deployers = [
        (name, job)
        for name, job, step in steps(workflow)
        if uses(step, "actions/deploy-pages")
    ]
    assert len(deployers) == 1, "expected one job that uses actions/deploy-pages"
    name, job = deployers[0]
    uploader, _, _ = the_step(workflow, "actions/upload-pages-artifact")
    needs = job.get("needs", [])
    assert uploader in ([needs] if isinstance(needs, str) else needs), (
        f"job {name!r} does not need {uploader!r}"
    )
    assert on_main_only(job.get("if")), (
        f"job {name!r} deploys outside pushes to main: if {job.get('if')!r}"
    )
    assert job.get("permissions") == {"pages": "write", "id-token": "write"}, job.get(
        "permissions"
    )
    environment = job["environment"]
    assert environment["name"] == "github-pages"
    deploy_step = next(
        step for step in job["steps"] if uses(step, "actions/deploy-pages")
    )
    assert (
        environment["url"] == f"${{{{ steps.{deploy_step['id']}.outputs.page_url }}}}"
    )
    concurrency = job.get("concurrency") or workflow.get("concurrency")
    assert concurrency and concurrency.get("cancel-in-progress") is False, (
        "deployments need a concurrency group that queues them "
        "instead of cancelling one midway"
    )


def test_every_job_has_a_timeout(workflow):
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), (
            f"job {name!r} has no timeout-minutes"
        )


def test_actions_are_pinned_to_a_major_version(workflow):
    for name, _, step in steps(workflow):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), (
                f"job {name!r}: {step['uses']} is not @vN"
            )


# --- MINIMODELS_REQUIRE_BROWSER turns the browser test's skip into a failure ------


@pytest.fixture
def no_browser(monkeypatch):
    import test_site

    monkeypatch.setattr(shutil, "which", lambda name: None)
    return test_site.browser_and_driver


@pytest.mark.parametrize("value", [None, "", "0"])
def test_missing_browser_skips_by_default(no_browser, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MINIMODELS_REQUIRE_BROWSER", raising=False)
    else:
        monkeypatch.setenv("MINIMODELS_REQUIRE_BROWSER", value)
    with pytest.raises(pytest.skip.Exception, match="chromedriver"):
        no_browser()


def test_missing_browser_fails_where_required(no_browser, monkeypatch):
    monkeypatch.setenv("MINIMODELS_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="Chromium .* and chromedriver"):
        no_browser()


def test_browser_found_whatever_the_variable(monkeypatch):
    pytest.importorskip("selenium.webdriver")
    import test_site

    on_path = {
        "google-chrome": "/opt/google/chrome/chrome",
        "chromedriver": "/usr/local/bin/chromedriver",
    }
    monkeypatch.setattr(shutil, "which", on_path.get)
    monkeypatch.setenv("MINIMODELS_REQUIRE_BROWSER", "1")
    assert test_site.browser_and_driver() == (
        "/opt/google/chrome/chrome",
        "/usr/local/bin/chromedriver",
    )


# --- Citation and license -----------------------------------------------------------


def test_citation_agrees_with_config_and_package(config):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert citation["cff-version"] == "1.2.0"
    assert citation["type"] == "software"
    assert citation["repository-code"] == config["repository"]["url"]
    assert citation["version"] == project["version"]
    assert citation["license"] == project["license"] == "MIT"
    assert [author["name"] for author in citation["authors"]] == [config["author"]]
    # GitHub Pages serves a project repository at https://<owner>.github.io/<repo>/.
    owner, repo = urlsplit(config["repository"]["url"]).path.strip("/").split("/")
    site = f"https://{owner}.github.io/{repo}/"
    assert citation["url"] == site
    assert site in (ROOT / "README.md").read_text(), (
        f"README.md does not say where the site lives ({site})"
    )


def test_license_is_mit(config):
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert f"Copyright (c) {config['copyright']} {config['author']}" in text


def test_site_test_builds_like_make_book():
    """tests/test_site.py rebuilds the site with `make book`'s own command, --all
    included (without it Sphinx keeps the old outputs of unchanged notebooks)."""
    from test_site import BUILD_COMMAND

    makefile = (ROOT / "Makefile").read_text()
    assert "--all" in BUILD_COMMAND
    assert "$(BIN)/jupyter-book " + " ".join(BUILD_COMMAND) + " ||" in makefile

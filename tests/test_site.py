"""The built site, read as a reader would: headless Chromium over HTTP.

For every page of the table of contents: it loads, every image on it has
loaded, and every internal link points to an existing file (and, with a
#fragment, to an element with that id). Each chapter's Colab launch link opens
that chapter's notebook, and the search page finds a chapter for "attention".
Screenshots of the index and one chapter go to _build/test-artifacts/.

The site used is, in order:

* the folder named by the environment variable ``MINIMODELS_SITE_DIR``, as it
  is (for development, e.g. a build made with notebook execution off);
* ``_build/html`` when its ``index.html`` is newer than every source (a failed
  build, here or by ``make book``, removes ``index.html``);
* otherwise a fresh build, with the command of ``make book``.

Needs Chromium, chromedriver (Debian: ``chromium`` and ``chromium-driver``,
installed by ``make install`` where apt allows) and selenium
(requirements.txt); without one of them the tests are skipped, saying which,
or fail where the environment variable ``MINIMODELS_REQUIRE_BROWSER`` is set
(CI: .github/workflows/book.yml).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "_build" / "test-artifacts"
BUILD_COMMAND = [
    "build",
    ".",
    "--all",
    "--builder",
    "html",
    "-W",
    "--keep-going",
]  # as `make book`
SOURCES = [
    "chapters/*.ipynb",
    "*.md",
    "_config.yml",
    "_toc.yml",
    "references.bib",
    "src/**/*.py",
]
WAIT_S = 30  # for scripts (search, images) after a page has loaded
# A laptop screen. At this width and above the code column is 786 px wide, which
# holds 88 characters of code: the line length ruff enforces (pyproject.toml).
WINDOW = (1440, 900)


def toc_pages() -> list[str]:
    """Every document of _toc.yml, root first, without suffix.

    For example "index", "chapters/00_introduction", ...
    """
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", [{"chapters": toc.get("chapters")}]):
        walk(part.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", page) for page in pages]


PAGES = toc_pages()
CHAPTERS = [page for page in PAGES if page.startswith("chapters/")]


# --- Fixtures: the browser first (skips cost nothing), then the site ----------


BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
)  # the first one on PATH; `make install` agrees
# Set (as in CI): a missing browser fails instead of skipping.
REQUIRE_BROWSER = "MINIMODELS_REQUIRE_BROWSER"


def browser_and_driver() -> tuple[str, str]:
    """The paths of the browser and of chromedriver; skips saying what is missing,
    or fails where the environment variable MINIMODELS_REQUIRE_BROWSER is set
    (to anything but "0")."""
    missing = []
    chromium = next((shutil.which(n) for n in BROWSERS if shutil.which(n)), None)
    chromedriver = shutil.which("chromedriver")
    if chromium is None:
        missing.append("Chromium (Debian package chromium)")
    if chromedriver is None:
        missing.append("chromedriver (Debian package chromium-driver)")
    try:
        import selenium.webdriver  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -r requirements.txt)")
    if missing:
        reason = (
            "browser test needs "
            + " and ".join(missing)
            + "; `make install` installs them where apt allows"
        )
        if os.environ.get(REQUIRE_BROWSER, "") not in ("", "0"):
            pytest.fail(
                f"{reason} ({REQUIRE_BROWSER} is set, "
                "so this is a failure, not a skip)",
                pytrace=False,
            )
        pytest.skip(reason)
    return chromium, chromedriver


@pytest.fixture(scope="session")
def driver():
    chromium, chromedriver = browser_and_driver()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium then never tries to download one.
    browser = webdriver.Chrome(
        service=Service(executable_path=chromedriver), options=options
    )
    browser.set_page_load_timeout(120)
    yield browser
    browser.quit()


def _newest_source() -> float:
    return max(p.stat().st_mtime for pattern in SOURCES for p in ROOT.glob(pattern))


@pytest.fixture(scope="session")
def site(driver) -> Path:
    """The folder of the built HTML site (see the module docstring for which one)."""
    if os.environ.get("MINIMODELS_SITE_DIR"):
        html = Path(os.environ["MINIMODELS_SITE_DIR"])
        assert (html / "index.html").is_file(), (
            f"MINIMODELS_SITE_DIR={html} has no index.html"
        )
        return html
    html = ROOT / "_build" / "html"
    index = html / "index.html"
    if index.is_file() and index.stat().st_mtime > _newest_source():
        return html
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(
            jupyter_book
            if jupyter_book.exists()
            else shutil.which("jupyter-book") or "jupyter-book"
        )
    ]
    build = subprocess.run(
        command + BUILD_COMMAND, cwd=ROOT, capture_output=True, text=True
    )
    if build.returncode != 0:
        # A failed build still writes pages; without index.html the next run
        # builds again
        # instead of taking them for a good site (`make book` does the same).
        index.unlink(missing_ok=True)
        output = re.sub(
            r"\x1b\[[0-9;]*m", "", build.stdout + build.stderr
        )  # no colour codes
        tail = "\n".join(output.splitlines()[-60:])
        pytest.fail(
            f"`jupyter-book {' '.join(BUILD_COMMAND)}` failed "
            f"(exit {build.returncode}):\n{tail}"
        )
    return html


@pytest.fixture(scope="session")
def base_url(site):
    """The site served over HTTP on localhost, as a reader's browser would get it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


# --- Helpers --------------------------------------------------------------------


class _Anchors(HTMLParser):
    """Every id (and <a name>) of an HTML file: the targets of #fragments."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _ids(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _open(driver, url: str):
    driver.get(url)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


# --- The tests --------------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_fits_the_column(driver, site, base_url, chapter):
    """No code cell needs a horizontal scroll bar: lines fit ruff's line length."""
    _open(driver, f"{base_url}/{chapter}.html")
    overflowing = driver.execute_script(
        "return [...document.querySelectorAll('div.cell_input pre')]"
        ".filter(p => p.scrollWidth > p.clientWidth + 1)"
        ".map(p => p.textContent.split('\\n')"
        ".reduce((a, b) => (b.length > a.length ? b : a), ''))"
    )
    assert overflowing == [], f"{chapter}: code wider than the column: {overflowing}"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_with_its_images_and_working_links(driver, site, base_url, page):
    from selenium.webdriver.support.ui import WebDriverWait

    url = base_url + page + ".html"
    assert _status(url) == 200, f"{page}.html is not in the site"
    _open(driver, url)
    assert driver.execute_script("return document.querySelector('main h1') !== null"), (
        f"{page}: no heading in <main>"
    )

    # Images: load lazy ones too, wait until every image settled, then none may
    # be broken.
    driver.execute_script("for (const img of document.images) img.loading = 'eager';")
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.execute_script(
            "return Array.from(document.images).every(img => img.complete)"
        )
    )
    broken = driver.execute_script(
        "return Array.from(document.images)"
        ".filter(img => img.naturalWidth === 0)"
        ".map(img => img.currentSrc || img.src)"
    )
    problems = [f"image {src!r} did not load" for src in broken]

    # Internal links: the file must exist, and a #fragment must name an element of it.
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href]'))"
        ".map(a => [a.getAttribute('href'), a.href])"
    )
    for raw, resolved in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", raw, re.IGNORECASE):
            # external (http:, https:, mailto:, javascript:) or protocol-relative
            continue
        parts = urlsplit(resolved)
        target = site / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"link {raw!r}: no file {target.relative_to(site)}")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and unquote(parts.fragment) not in _ids(target)
        ):
            problems.append(
                f"link {raw!r}: no element with id {unquote(parts.fragment)!r} "
                f"in {target.relative_to(site)}"
            )
    assert not problems, f"{page}: {len(problems)} problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_no_script_from_another_site(site, page):
    # The site works offline. A notebook widget (tqdm's progress bar under Jupyter)
    # would make myst-nb add the ipywidgets script from a CDN; the book build prints
    # a final progress line instead (minimodels.book.setup).
    html = (site / f"{page}.html").read_text(encoding="utf-8")
    remote = re.findall(r"<script[^>]*\bsrc=[\"']((?:https?:)?//[^\"']+)", html)
    assert remote == [], f"{page}: scripts loaded from another site: {remote}"
    assert "application/vnd.jupyter.widget" not in html, f"{page}: a notebook widget"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_has_alt_text_and_every_figure_a_caption(site, page):
    # Alt text comes from mystnb.image.alt, captions from mystnb.figure
    # (tests/test_notebooks.py checks the metadata; this checks what was rendered).
    html = (site / f"{page}.html").read_text(encoding="utf-8")
    main = html[html.find("<main") : html.find("</main>")]
    images = re.findall(r"<img\b[^>]*>", main)
    no_alt = [i[:120] for i in images if not re.search(r'\balt="[^"]*\w+ \w+', i)]
    assert no_alt == [], f"{page}: images without alt text: {no_alt}"
    figures = re.findall(r"<figure\b.*?</figure>", main, flags=re.S)
    uncaptioned = [f[:120] for f in figures if "<figcaption" not in f]
    assert uncaptioned == [], f"{page}: figures without a caption: {uncaptioned}"
    plots = len(re.findall(r'<img\b[^>]*src="[^"]*_images/', main))
    assert plots <= len(figures), f"{page}: {plots} plots, {len(figures)} figures"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_colab_button_opens_this_chapter(driver, site, base_url, config, chapter):
    owner_repo = urlsplit(config["repository"]["url"]).path.strip("/")
    branch = config["repository"].get("branch", "main")
    expected = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{chapter}.ipynb"
    _open(driver, base_url + chapter + ".html")
    colab = driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
        ".filter(h => h.startsWith('https://colab.research.google.com/'))"
    )
    assert colab, f"{chapter}: no Colab launch link"
    assert set(colab) == {expected}, (
        f"{chapter}: Colab link {colab}, expected {expected}"
    )


def search(driver, base_url, query: str) -> list[str]:
    """The result links of the site's own search page (filled in by JavaScript)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    _open(driver, base_url + f"search.html?q={query}")
    results = (
        "return Array.from(document.querySelectorAll('#search-results li a'))"
        ".map(a => a.getAttribute('href'))"
    )
    # Sphinx's search script writes a summary line ("Search finished, found N
    # pages ...") when done.
    done = (
        "return !!document.querySelector("
        "'#search-results .search-summary, #search-results p')"
    )
    try:
        WebDriverWait(driver, WAIT_S).until(
            lambda d: d.execute_script(results) or d.execute_script(done)
        )
    except TimeoutException:
        pytest.fail(
            f"search for {query!r}: no results and no summary after {WAIT_S} s "
            "(is searchindex.js loading?)"
        )
    return driver.execute_script(results)


def test_search_finds_a_chapter_for_attention(driver, site, base_url):
    results = search(driver, base_url, "attention")
    assert any(href.startswith("chapters/") for href in results), (
        f"search for 'attention' found no chapter: {results}"
    )


def test_screenshots_of_the_index_and_a_chapter(driver, site, base_url):
    """Saved for a person to look at (and kept by CI as artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chapter = next((c for c in CHAPTERS if "convolution" in c), CHAPTERS[0])
    for name, page in (("index", "index"), ("chapter", chapter)):
        _open(driver, base_url + page + ".html")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(WINDOW[0], max(WINDOW[1], min(int(height), 6000)))
        path = ARTIFACTS / f"{name}.png"
        assert driver.save_screenshot(str(path)), f"could not save {path}"
        assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
    driver.set_window_size(*WINDOW)

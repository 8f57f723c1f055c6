"""The built site as a reader sees it: every page of ``site/`` (``make docs``) served on
127.0.0.1 and opened in headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright):
no console errors, every image loaded, no broken internal link or anchor, search answers, and a
screenshot of each tutorial's first figure in ``site-check/`` for review.

Run with ``make docs-check`` (it builds the site and installs chromium if missing);
``SPIKEFLOW_SITE`` points at another built site.
"""

import functools
import http.server
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(os.environ.get("SPIKEFLOW_SITE", ROOT / "site"))
SHOTS = ROOT / "site-check"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps calling out to services the closed
# network cannot reach; Playwright gives every launch a fresh, temporary profile.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEARCH_QUERY = "membrane"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make docs` first (or use `make docs-check`)")
    handler = functools.partial(_Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: `make docs-check` installs the docs-check extra")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make docs-check` installs Debian's chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def page_urls(base: str) -> list[str]:
    """Every page of the built site (its ``index.html`` files), as URLs."""
    urls = []
    for page in sorted(SITE.rglob("index.html")):
        folder = page.parent.relative_to(SITE).as_posix()
        urls.append(base if folder == "." else urljoin(base, folder + "/"))
    return urls


@pytest.fixture(scope="module")
def visits(server, browser):
    """Open every page once; keep what each page showed and what went wrong."""
    SHOTS.mkdir(exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    results = {}
    for url in page_urls(server):
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
        page.on("requestfailed", lambda r, e=errors: e.append(f"request failed: {r.url}"))
        response = page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        images = page.eval_on_selector_all(
            "img", "els => els.map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth])"
        )
        links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.href)")
        ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
        shot = None
        path = urlparse(url).path
        if path.startswith("/tutorials/") and path.rstrip("/") != "/tutorials":
            figure = page.locator("article img").first
            if figure.count():
                figure.scroll_into_view_if_needed()
                shot = SHOTS / f"{path.strip('/').split('/')[-1]}-first-figure.png"
                figure.screenshot(path=str(shot))
        results[url] = {
            "status": response.status if response else None,
            "errors": errors,
            "images": images,
            "links": links,
            "ids": set(ids),
            "shot": shot,
        }
        page.close()
    context.close()
    return results


def test_the_site_has_every_tutorial_and_api_page(visits, server):
    paths = {urlparse(u).path for u in visits}
    for n in range(1, 11):
        assert any(p.startswith(f"/tutorials/{n:02d}_") for p in paths), f"tutorial {n} missing"
    assert "/api/nn/" in paths
    assert all(v["status"] == 200 for v in visits.values())


def test_no_page_logs_a_console_error(visits):
    bad = {url: v["errors"] for url, v in visits.items() if v["errors"]}
    assert not bad


def test_every_image_loads(visits):
    broken = [
        (url, src) for url, v in visits.items() for src, ok, w in v["images"] if not (ok and w)
    ]
    assert not broken
    figures = sum(len(v["images"]) for url, v in visits.items() if "/tutorials/" in url)
    assert figures >= 20


def _fetch_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def test_no_internal_link_is_broken(visits, server):
    host = urlparse(server).netloc
    pages = {urlparse(u).path: v for u, v in visits.items()}
    missing, anchors, checked = [], [], {}
    for url, v in visits.items():
        for link in v["links"]:
            target, fragment = urldefrag(link)
            if urlparse(target).netloc != host:
                continue
            if target not in checked:
                checked[target] = _fetch_status(target)
            if checked[target] != 200:
                missing.append((url, link))
            elif fragment and fragment not in pages.get(urlparse(target).path, {}).get(
                "ids", {fragment}
            ):
                anchors.append((url, link))
    assert not missing
    assert not anchors
    assert set(visits) <= set(checked), "a page no other page links to"


def test_search_returns_results(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server, wait_until="load")
    box = page.locator("input[data-md-component='search-query']")
    box.click()
    box.press_sequentially(SEARCH_QUERY, delay=50)  # Material searches on key events
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=20_000)
    assert results.count() > 0
    assert SEARCH_QUERY in results.first.inner_text().lower()
    page.close()


def test_each_tutorial_has_a_screenshot_of_its_first_figure(visits):
    shots = sorted(v["shot"] for v in visits.values() if v["shot"] is not None)
    assert len(shots) == 10
    for shot in shots:
        assert shot.stat().st_size > 5_000

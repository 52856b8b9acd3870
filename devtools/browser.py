"""A real browser for the tests: Debian's Chromium driven by Playwright, plus an axe-core check.

The top-level ``conftest.py`` turns this into fixtures (``chromium``,
``browser_page``) and the ``browser`` marker, so any app's tests can drive
pages. Nothing here downloads anything: the browser is the ``chromium``
package (``apt-get install chromium``; ``.ci/run`` installs it) and axe-core
is the copy committed under ``devtools/vendor/axe-core``
(``devtools/vendor/fetch_axe_core.sh`` fetches the pinned release from the
npm registry). Never run ``playwright install``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SCRIPT = ROOT / "devtools" / "vendor" / "axe-core" / "axe.min.js"
# Test runs keep their screenshots under var/ (not committed); `make screenshots` writes the ones the
# docs show, under docs/screenshots/.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")
# What fails a page: axe's two highest impact levels. "moderate" and "minor" findings are reported, not fatal.
BLOCKING_IMPACTS = ("serious", "critical")


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"needs Chromium at {CHROMIUM}: apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "needs the playwright package (requirements-dev.txt)"
    if not AXE_SCRIPT.exists():
        return f"needs axe-core at {AXE_SCRIPT}: run devtools/vendor/fetch_axe_core.sh"
    return None


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """One headless Chromium for a whole test session (starting one costs about a second).

    Playwright's synchronous API keeps an asyncio loop running in the calling
    thread, which Django would take for async code and refuse ORM calls in
    (``SynchronousOnlyOperation``); the test code around the browser is plain
    synchronous code, so that check is switched off while the browser runs.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def axe_violations(page, *, impacts: tuple[str, ...] = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and return its violations of the given impacts.

    The script is evaluated through the DevTools protocol rather than added as
    a ``<script>`` tag, so the pages' Content-Security-Policy (which allows
    only this site's own scripts) stays on during the check.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    violations = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return [violation for violation in violations if violation.get("impact") in impacts]


def assert_accessible(page) -> None:
    """Fail with a readable list when axe finds a serious or critical violation on the page."""
    violations = axe_violations(page)
    if violations:
        summary = [
            {
                "rule": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "nodes": [node["target"] for node in violation["nodes"][:5]],
            }
            for violation in violations
        ]
        raise AssertionError(f"axe found on {page.url}:\n{json.dumps(summary, indent=2)}")


def save_screenshot(page, folder: str, name: str) -> Path:
    """A full-page PNG under ``<SCREENSHOTS_DIR>/<folder>/<name>.png``.

    ``make screenshots`` sets ``SCREENSHOTS_DIR=docs/screenshots``, so the
    pictures the docs show come from these tests; an ordinary test run writes
    them under ``var/screenshots/`` and leaves the repository untouched.
    """
    path = SCREENSHOTS / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path

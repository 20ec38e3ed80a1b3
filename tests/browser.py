"""A headless Chromium for the web pages' tests (Debian's `chromium` and
`chromium-driver`, driven by selenium), and where its screenshots go.

`browser` is a pytest fixture: import it into a test module
(`from tests.browser import browser, shot`). A machine without chromium,
chromedriver or selenium skips the test and says which one is missing.
Screenshots go to `$SIM_ARTIFACTS` or `test-artifacts/` under the repository
(git-ignored)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


def artifacts() -> Path:
    path = Path(os.environ.get("SIM_ARTIFACTS") or ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _executables() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver); "
                    f"missing: {', '.join(n for n, p in (('chromium', chromium), ('chromedriver', driver)) if not p)}")
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (its own profile directory), quit after the test."""
    chromium, driver = _executables()
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver, log_output=str(tmp_path / "chromedriver.log"))
    drv = webdriver.Chrome(options=options, service=service)
    drv.set_page_load_timeout(20)
    try:
        yield drv
    finally:
        drv.quit()


def shot(driver: Any, name: str) -> Path:
    """Save a screenshot of the whole page as `<artifacts>/<name>.png`."""
    path = artifacts() / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(800, min(int(height) + 40, 4000)))
    driver.save_screenshot(str(path))
    return path

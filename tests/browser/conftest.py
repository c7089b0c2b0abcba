"""The browser tests share one headless Chromium per module; they skip, naming what is
missing, where Chromium, chromedriver, Selenium or textual-serve are not installed."""

from __future__ import annotations

import pytest

from tests.browser.browser import Browser, browser_problem


@pytest.fixture(scope="module")
def browser():
    problem = browser_problem()
    if problem is not None:
        pytest.skip(f"browser tests need a headless Chromium: {problem}")
    b = Browser()
    yield b
    b.quit()

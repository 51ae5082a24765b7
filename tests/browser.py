"""A real headless Chromium for the report tests: the page as rendered after its scripts ran, and a screenshot.

Chromium comes from Debian (`apt-get install chromium`); `.ci/run` installs it and sets
EVREPRO_REQUIRE_CHROMIUM=1, so on CI a missing browser fails instead of skipping."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000"]


def chromium() -> str:
    """The browser's path; skips (or fails on CI) when none is installed."""
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if found is None:
        message = "no Chromium: `apt-get install chromium` (Debian) to check the HTML report in a real browser"
        if os.environ.get("EVREPRO_REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def rendered_dom(html: Path) -> str:
    """The page's DOM after its scripts ran."""
    result = subprocess.run([chromium(), *FLAGS, "--dump-dom", html.resolve().as_uri()], capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(html: Path, png: Path, size=(1400, 1000)) -> Path:
    """A screenshot of the page as a reader first sees it."""
    result = subprocess.run([chromium(), *FLAGS, f"--window-size={size[0]},{size[1]}", f"--screenshot={png}",
                             html.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and png.exists(), result.stderr[-2000:]
    return png

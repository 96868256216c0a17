"""Print an HTML report to PDF with a headless Chromium (the same page, charts drawn by
plotly.js); no browser is downloaded: the system's Chromium or Chrome is used."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from trendcast.errors import TrendcastError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-pdf-header-footer",
         "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000",
         # the page is laid out (and plotly sizes its charts) at the width of an A4 page's
         # printable box (210 mm - 2 x 12 mm at 96 px/in), so nothing runs past the right margin
         "--window-size=703,1000")


def find_browser(configured: str | None = None) -> str | None:
    """``configured`` (``Settings.chromium``, ``TRENDCAST_CHROMIUM``) if set, else the first
    Chromium or Chrome on the PATH."""
    if configured:
        return configured if Path(configured).exists() else None
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html_path: str | Path, pdf_path: str | Path | None = None, *, timeout: float = 120,
                browser: str | None = None) -> Path:
    """Write ``pdf_path`` (default: beside the HTML) and return it; ``browser`` as in
    :func:`find_browser`."""
    src = Path(html_path).resolve()
    dest = Path(pdf_path) if pdf_path else src.with_suffix(".pdf")
    browser = find_browser(browser)
    if browser is None:
        raise TrendcastError(
            "PDF output needs Chromium or Chrome (none found on the PATH or in TRENDCAST_CHROMIUM); "
            "install it (Debian/Ubuntu: apt-get install chromium fonts-noto-cjk) or pass --no-pdf")
    dest.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="trendcast-pdf-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={dest.resolve()}",
               src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise TrendcastError(f"{browser} did not print {src} within {timeout:.0f} s") from None
    if not dest.exists() or dest.stat().st_size == 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise TrendcastError(f"{browser} wrote no PDF for {src} (exit {proc.returncode}): {' | '.join(tail)}")
    return dest

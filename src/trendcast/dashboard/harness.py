"""Run the app on a free 127.0.0.1 port in a background thread and drive the system's
Chromium with playwright: the machinery of the browser tests and the screenshot script.

Never downloads a browser: the executable is ``TRENDCAST_CHROMIUM`` or ``/usr/bin/chromium``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trendcast.errors import TrendcastError

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium_path() -> Path:
    """The Chromium binary to drive (``TRENDCAST_CHROMIUM``, default /usr/bin/chromium)."""
    return Path(os.environ.get("TRENDCAST_CHROMIUM", DEFAULT_CHROMIUM))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any, *, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yields its base URL, stops it after."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="trendcast-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise TrendcastError(f"the app did not start on 127.0.0.1:{port} within {timeout:.0f}s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def browser(playwright: Any) -> Iterator[Any]:
    """Launch the system Chromium headless with the flags CI needs (no sandbox, no GPU)."""
    path = chromium_path()
    if not path.exists():
        raise TrendcastError(f"Chromium not found at {path}; install it (apt-get install chromium) "
                             "or set TRENDCAST_CHROMIUM")
    b = playwright.chromium.launch(executable_path=str(path), args=list(CHROMIUM_ARGS))
    try:
        yield b
    finally:
        b.close()


def sign_in(page: Any, base_url: str, key: str) -> None:
    """Sign in through the login form and wait for the overview."""
    page.goto(f"{base_url}/login")
    page.fill("#key", key)
    page.click("#login-submit")
    page.wait_for_url(f"{base_url}/")

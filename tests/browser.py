"""Headless Chromium for the browser tests and benchmarks: one place for how it is started.

The Debian package ``chromium`` (``make browser``) is driven by Playwright as the system
browser; Playwright's own browser download does not work on the machines this runs on.
"""

from __future__ import annotations

import socket
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = "no browser: /usr/bin/chromium is missing (Debian package chromium; `make browser`)"


def launch(playwright):
    """Start headless Chromium through a ``sync_playwright()`` handle."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def free_port() -> int:
    """Return a TCP port on localhost that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

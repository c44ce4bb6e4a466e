"""Headless Chromium for the report tests: Debian's package, installed with apt when missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# ------------------------------------------------------------------------------ headless Chromium

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary, installed with apt when missing and possible (as ``make test`` does)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=1800)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip(
            "Chromium is not installed and apt-get cannot install it here (apt-get install -y chromium)"
        )
    return found


def render(chromium: str, page: Path, work: Path) -> tuple[str, list[str]]:
    """The DOM Chromium builds for ``page`` and the URLs the page itself asked the network for.

    The net log also holds the browser's own background requests (time sync, accounts); those have
    no initiating origin, while a page's requests carry the page's file:// isolation key.
    """
    net_log = work / "net.json"
    completed = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={net_log}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [e["params"] for e in log["events"] if e["type"] == start_job and "url" in e.get("params", {})]
    requested = [
        params["url"]
        for params in starts
        if params.get("initiator") != "not an origin" and not params["url"].startswith("file:")
    ]
    return completed.stdout, requested

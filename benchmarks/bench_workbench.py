"""How fast the workbench answers a planner, measured in a real browser (Debian's chromium, driven by Playwright).

Two servers run in turn, the same code: the workbench as it is (a warm server: the engine and the first view's
runs made at start, charts drawn in the browser, downloads prepared as soon as a run shows) and as it answered
before (``LITHIUM_SIM_APP_COLD=1``: every run made again, charts drawn on the server as PNG images, downloads
made on the click, with the comparison's and both runs' charts drawn then). For each it prints:

  1. slider to chart: a slider clicked (the capex subsidy, a new value each time, 20 replicates) until the
     headline and every chart show the new run; median of 5;
  2. first page: a new browser tab opening the workbench until the headline and every chart are drawn; median of 3;
  3. shared link: a new browser tab opening a link with levers moved (new values each time, so the run is made)
     until the headline and charts are drawn; median of 3;
  4. downloads: right after a run shows, a click on the zip and on the workbook until the file is saved;
     median of 3 each.

It prints figures and never fails on them: the machine is shared, so compare the two columns of one run.
Needs chromium (apt-get install chromium fonts-noto-cjk) and the test extra (Playwright).

Run from the project root:  make bench   (or .venv/bin/python benchmarks/bench_workbench.py [--quick])
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSER_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TIMEOUT_MS = 120_000
CHARTS = 7  # charts on the results tab
# the new run is on screen when the headline carries a new version and every chart has drawn that version
SHOWN = """([old, charts]) => {
  const against = document.querySelector('.lsim-against');
  const version = against && against.getAttribute('data-version');
  if (!version || version === old) { return false; }
  const drawn = [...document.querySelectorAll('.lsim-chart')].map(
    (c) => c.getAttribute('data-drawn') || (c.querySelector('[data-drawn]') || {getAttribute: () => null})
      .getAttribute('data-drawn'));
  return drawn.length >= charts && drawn.every((d) => d === version);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``lithium-sim app`` on a free port; warm: wait until its warm start is done (it prints 'warm')."""

    def __init__(self, cold: bool) -> None:
        self.cold = cold
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix="lithium-sim-bench-", suffix=".log", delete=False)
        env = {**os.environ, "LITHIUM_SIM_APP_COLD": "1" if cold else ""}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sim", "app", "--port", str(self.port)],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the workbench's server exited; see {self.log.name}")
            if self._up() and (cold or "lithium-sim app: warm" in Path(self.log.name).read_text()):
                return
            time.sleep(0.25)
        raise RuntimeError(f"the workbench's server did not start; see {self.log.name}")

    def _up(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


def _version(page) -> str:
    return page.get_attribute(".lsim-against", "data-version") or ""


def _open(browser, url: str) -> tuple[float, object]:
    """Seconds from opening ``url`` in a new tab until the run and its charts are drawn; and the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(SHOWN, arg=["", CHARTS])
    return time.perf_counter() - started, page


def _slider(page, share: float) -> float:
    """Seconds from a click on the capex-subsidy slider at ``share`` of its length until the run is drawn."""
    old = _version(page)
    track = page.locator(".ctl-investment_support--capex_subsidy .v-slider")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    started = time.perf_counter()
    track.click(position={"x": box["width"] * share, "y": box["height"] / 2})
    page.wait_for_function(SHOWN, arg=[old, CHARTS])
    return time.perf_counter() - started


def _download(page, label: str, folder: Path) -> float:
    started = time.perf_counter()
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.click(f"text={label}")
    info.value.save_as(folder / info.value.suggested_filename)
    return time.perf_counter() - started


def measure(cold: bool, repeats: int, quick: bool) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    server = Server(cold)
    figures: dict[str, list[float]] = {"slider": [], "first": [], "link": [], "zip": [], "xlsx": []}
    try:
        with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="lithium-sim-bench-") as tmp:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BROWSER_ARGS)
            for _ in range(3 if not quick else 1):
                seconds, page = _open(browser, server.url + "/")
                figures["first"].append(seconds)
                page.context.close()
            _, page = _open(browser, server.url + "/")
            for i in range(repeats):  # a new value each time: a run the server has not made
                figures["slider"].append(_slider(page, 0.15 + 0.1 * i))
            for i in range(3 if not quick else 1):
                _slider(page, 0.12 + 0.1 * i)  # a fresh run, then the downloads at once
                figures["xlsx"].append(_download(page, "Comparison workbook (xlsx)", Path(tmp)))
                figures["zip"].append(_download(page, "Run directories (zip)", Path(tmp)))
            page.context.close()
            for i in range(3 if not quick else 1):
                link = f"{server.url}/?energy_support.cost_cut={0.11 + 0.02 * i:g}&price_level={101000 + 2000 * i}"
                seconds, page = _open(browser, link)
                figures["link"].append(seconds)
                page.context.close()
            browser.close()
    finally:
        server.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 slider moves and one of everything else")
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        print("bench_workbench: needs chromium (apt-get install chromium fonts-noto-cjk); skipped")
        return 0
    repeats = 3 if args.quick else 5
    print(f"workbench in chromium: {os.cpu_count()} cores, 20 replicates, medians (of {repeats} slider moves)")
    now = measure(cold=False, repeats=repeats, quick=args.quick)
    before = measure(cold=True, repeats=repeats, quick=args.quick)
    rows = (
        ("slider to chart", "slider"),
        ("first page", "first"),
        ("shared link", "link"),
        ("download zip", "zip"),
        ("download xlsx", "xlsx"),
    )
    print(f"  {'':<18}{'now':>10}{'before':>10}   (all runs, s)")
    for label, key in rows:
        a, b = statistics.median(now[key]), statistics.median(before[key])
        spread = ", ".join(f"{v:.2f}" for v in now[key])
        print(f"  {label:<18}{a:>9.2f}s{b:>9.2f}s   ({spread})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

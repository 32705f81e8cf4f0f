"""The workbench as a person uses it: the server started on a free local port, a real headless browser (Debian's
``chromium`` driven by Playwright) loading the page, changing a lever, reading a chart and a number, switching to
Chinese, downloading the workbook, uploading a bad scenario, following a link; and no request to another host.

Screenshots of each step go to ``results/app-screenshots/``. Without a browser these tests skip with a message
saying how to install one, except in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "results" / "app-screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"
BROWSER_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START = "/?replicates=2&end=2026"  # two replicates to 2026: a run takes a second or two
TIMEOUT_MS = 30_000


def _missing() -> str:
    """What the browser tests lack on this machine ('' when nothing)."""
    problems = []
    if shutil.which("chromium") is None:
        problems.append("a chromium browser (Debian/Ubuntu: apt-get install chromium fonts-noto-cjk)")
    for module, package in (("playwright", "playwright"), ("solara", "solara")):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"the Python package {package} (pip install -e '.[app,test]')")
    return "; ".join(problems)


MISSING = _missing()
if MISSING:
    if IN_CI:
        pytest.fail(f"CI must run the browser tests, but this machine lacks {MISSING}", pytrace=False)
    pytest.skip(f"the workbench's browser tests need {MISSING}", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    log = open(SHOTS.parent / "app-server.log", "w", encoding="utf-8") if SHOTS.parent.is_dir() else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the workbench's server did not start (exit {process.poll()}); see results/app-server.log")
        time.sleep(0.25)
    yield url
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if log is not subprocess.DEVNULL:
        log.close()


class Session:
    """One browser page over the tests of this module, recording every request it makes."""

    def __init__(self, page: Page, url: str) -> None:
        self.page, self.url = page, url
        self.requests: list[str] = []
        self.failures: list[str] = []
        self.after_lever = ""
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: self.failures.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)

    def _failed(self, request) -> None:
        # a request to this server that the browser itself cancelled because the test moved to another page
        # (the session's close call, a script still loading): not a failure of the server. A missing asset is
        # an HTTP error (`response`), an unreachable host another network error.
        local = urlsplit(request.url).netloc == urlsplit(self.url).netloc
        if local and "ERR_ABORTED" in (request.failure or ""):
            return
        self.failures.append(f"{request.url}: {request.failure}")

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def scenario_value(self, card: str = "output_value") -> str:
        return self.page.inner_text(f".headline-{card} .lsim-scenario")

    def chart(self, name: str) -> str:
        """The version of the run the chart shows (set by the browser once it has drawn it)."""
        return self.page.get_attribute(f".chart-{name} [data-drawn]", "data-drawn") or ""


@pytest.fixture(scope="module")
def session(server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield Session(page, server)
        context.close()
        browser.close()


def wait_for_new(page: Page, selector: str, attribute: str, old: str) -> None:
    page.wait_for_function(
        "([sel, attr, old]) => { const e = document.querySelector(sel); "
        "return e && e.getAttribute(attr) && e.getAttribute(attr) !== old; }",
        arg=[selector, attribute, old],
    )


def test_the_page_loads_and_runs_the_view_in_its_link(session):
    page = session.page
    page.goto(session.url + START)
    page.wait_for_selector(".headline-output_value .lsim-scenario")
    page.wait_for_selector(".chart-value_added [data-drawn]:not([data-drawn=''])")
    body = page.inner_text("body")
    assert "Suining lithium workbench" in body and "policy_package" in body  # a preset against the baseline
    assert "亿元" in session.scenario_value()
    for card in ("support", "revenue_gain", "net"):  # cost beside benefit
        assert "亿元" in page.inner_text(f".fiscal-{card}")
    assert "price path mode" in page.inner_text(".lsim-against")
    # each lever shows its explanation, unit and source
    control = page.locator(".ctl-energy_support--cost_cut")
    text = control.inner_text()
    assert "% of energy cost" in text and "direct gas supply" in text and "work report line 125" in text
    assert "90000.0" not in body
    session.shot("01-loaded")


def test_changing_a_lever_changes_a_chart_and_a_number(session):
    page = session.page
    before_value, before_chart = session.scenario_value(), session.chart("value_added")
    field = page.locator(".ctl-energy_support--cost_cut .lsim-control-input")
    field.fill("30")  # percent, as the control shows it
    field.press("Enter")
    page.wait_for_selector("text=1 control(s) changed")
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
        arg=[".headline-output_value .lsim-scenario", before_value],
    )
    wait_for_new(page, ".chart-value_added [data-drawn]", "data-drawn", before_chart)
    assert session.scenario_value() != before_value
    session.after_lever = session.scenario_value()
    assert "energy_support.cost_cut=0.3" in page.url  # the link holds the view
    assert page.inner_text(".ctl-energy_support--cost_cut .lsim-control-value") == "30%"
    session.shot("02-lever-changed")


def click_slider(page: Page, key: str, share: float) -> None:
    """Click a control's slider at ``share`` of its length (as a planner clicks a point on it)."""
    track = page.locator(f".{key} .v-slider")
    box = track.bounding_box()
    track.click(position={"x": box["width"] * share, "y": box["height"] / 2})


# what a Chinese page may hold in Latin letters: the switch to English, units and names Chinese readers write so
# (GDP, GWh, 元/Wh, LCE, P5-P95), file formats and names, the discovery method and the command that runs it at scale
LATIN_ON_CHINESE_PAGE = {
    *("english", "gdp", "gwh", "wh", "lce", "p5", "p95"),
    *("toml", "xlsx", "zip", "city.csv", "prim", "lithium-sim"),
}


def english_on(text: str) -> list[str]:
    """Latin words on a Chinese page that are not in `LATIN_ON_CHINESE_PAGE`."""
    text = re.sub(r"`[^`]*`", " ", text)  # a command quoted as code
    words = re.findall(r"[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]", text)
    return sorted({w for w in words if w.lower().strip(".") not in LATIN_ON_CHINESE_PAGE})


def settled_english(page, seconds: float = 15.0) -> list[str]:
    """The English left on the page once it has finished switching (a page redraws part by part): empty as soon
    as it is, else what is still there after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        english = english_on(page.inner_text("body"))
        if not english or time.monotonic() > deadline:
            return english
        page.wait_for_timeout(250)


def test_a_slider_click_runs_the_scenario(session):
    page = session.page
    before = session.chart("value_added")
    click_slider(page, "ctl-investment_support--capex_subsidy", 0.6)
    wait_for_new(page, ".chart-value_added [data-drawn]", "data-drawn", before)
    assert "investment_support.capex_subsidy=0.3" in page.url  # 60% along 0-50%
    session.shot("03-slider")


def test_market_mode_idles_the_price_controls_and_picks_the_market_baseline(session):
    page = session.page
    page.goto(session.url + START + "&price_mode=market")
    page.wait_for_selector(".ctl-price_level.lsim-idle")
    idle = page.inner_text(".ctl-price_level .lsim-control-idle")
    assert "market mode" in idle
    assert page.locator(".ctl-price_level input").first.is_disabled()
    page.wait_for_selector(".headline-output_value .lsim-scenario")
    assert "baseline_market" in page.inner_text(".lsim-against") and "market mode" in page.inner_text(".lsim-against")
    session.shot("04-market-mode")
    page.goto(session.url + START + "&energy_support.cost_cut=0.3")
    page.wait_for_selector(".headline-output_value .lsim-scenario")


def test_switching_to_chinese_shows_chinese_labels_in_the_bundled_font(session):
    page = session.page
    page.click(".language-switch")
    page.wait_for_selector("text=遂宁锂电产业模拟工作台")
    body = page.inner_text("body")
    for label in ("能源成本降幅", "产值（营收）", "起始情景", "图表", "城市净收益", "政府工作报告第125行"):
        assert label in body
    assert "lang=zh" in page.url
    english = settled_english(page)
    assert not english, f"English in the Chinese page: {english}"
    statuses = page.evaluate(
        """async () => { await document.fonts.ready;
            return [...document.fonts].filter(f => f.family.includes('LithiumSim')).map(f => f.status); }"""
    )
    assert "loaded" in statuses, f"the bundled CJK font was not loaded: {statuses}"
    session.shot("05-chinese")


def test_the_workbook_downloads_and_opens(session, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    page = session.page
    with page.expect_download(timeout=60_000) as info:
        page.click("text=对比工作簿（xlsx）")
    path = tmp_path / "comparison.xlsx"
    info.value.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert {"主要指标", "与基准差值", "完整对比表"} <= set(book.sheetnames)
    scenarios = {row[0] for row in book["完整对比表"].iter_rows(min_col=1, max_col=1, values_only=True)}
    assert {"baseline", "policy_package-workbench"} <= scenarios
    book.close()
    session.shot("06-workbook-downloaded")


def test_a_bad_uploaded_scenario_shows_the_error_with_its_key(session, tmp_path):
    page = session.page
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "baseline.toml"\nname = "bad"\n\n[carbonate_price]\nvolatility = 0.9\n', encoding="utf-8")
    page.set_input_files(".lsim-upload-input", str(bad))
    error = page.wait_for_selector(".upload-error")
    text = error.inner_text()
    assert "bad.toml" in text and "carbonate_price.volatility" in text and "0.9" in text
    session.shot("07-bad-upload")


def test_a_link_reproduces_the_view(session):
    page = session.page
    page.goto(session.url + START + "&lang=zh&energy_support.cost_cut=0.3")
    page.wait_for_selector(".headline-output_value .lsim-scenario")
    page.wait_for_selector("text=遂宁锂电产业模拟工作台")
    assert float(page.input_value(".ctl-energy_support--cost_cut .lsim-control-input")) == 30
    assert session.scenario_value() == session.after_lever  # the same inputs: the same (cached) run
    session.shot("08-link")


def test_scenario_discovery_warns_on_a_small_sample(session):
    page = session.page
    page.click("text=情景发现")
    for selector, value in ((".discovery-samples input", "12"), (".discovery-replicates input", "1")):
        page.fill(selector, value)
        page.press(selector, "Enter")
    page.click(".explore-button")
    summary = page.wait_for_selector(".discovery-summary", timeout=120_000)
    assert "12" in summary.inner_text()
    assert "12" in page.inner_text(".caveat-few_samples")  # too few draws for twelve inputs: said so
    page.wait_for_selector(".discovery img")
    english = settled_english(page)  # the question, the boxes, the caveats: all in Chinese
    assert not english, f"English in the Chinese discovery tab: {english}"
    assert "tab=1" in page.url
    session.shot("09-discovery")


def test_a_neighbours_bid_changes_suinings_share_of_new_capacity(session):
    page = session.page
    page.goto(session.url + START + "&lang=zh")
    card = ".headline-new_capacity_share-lfp_cathode .lsim-scenario"
    before = page.wait_for_selector(card).inner_text()
    page.click("text=邻市：周边城市的政策")  # folded away while the scenario sets no neighbour's levers
    field = page.locator(".ctl-yibin--energy_support--cost_cut .lsim-control-input")
    field.fill("50")  # Yibin's power 50% cheaper from 2026
    field.press("Enter")
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
        arg=[card, before],
    )
    assert "yibin.energy_support.cost_cut=0.5" in page.url
    assert "宜宾：能源成本降幅" in page.inner_text(".ctl-yibin--energy_support--cost_cut")
    assert "遂宁占全国新增产能比重" in page.inner_text("body")
    for text in page.locator(".lsim-control-why").all_inner_texts():  # the neighbours' words in Chinese too
        assert not re.findall(r"[A-Za-z]{4,}", text), f"English in the Chinese page: {text}"
    session.shot("10-neighbour")


def test_no_request_left_the_machine(session):
    local = urlsplit(session.url).netloc
    elsewhere = [u for u in session.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                 and urlsplit(u).netloc != local]  # fmt: skip
    assert not elsewhere, f"requests to other hosts: {elsewhere[:5]}"
    assert session.requests, "the page made no requests at all"
    assert not session.failures, f"failed requests: {session.failures[:5]}"

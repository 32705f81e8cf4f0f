"""The workbench serves its own page only (sim/app/gate.py): a foreign Host, a WebSocket or form from another
origin, an over-long link and sessions beyond the bound are refused, idle sessions closed; scenario text from a
browser is parsed within a time and memory budget (sim/app/budget.py); a failure shows a message, never a
traceback (sim/app/failure.py, sim/app/guarded.py). Checked on the middleware itself, then on the running
server, and in a browser where one is installed."""

from __future__ import annotations

import asyncio
import http.client
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("solara", reason="the workbench's tests need Solara (pip install -e '.[app,test]')")

from sim.app import budget, gate  # noqa: E402
from sim.app.failure import INTERNAL, message  # noqa: E402
from sim.inputs import files  # noqa: E402
from sim.inputs.errors import InputError  # noqa: E402
from sim.inputs.scenario import load_scenario_text, set_text_parser  # noqa: E402
from tests.conftest import BASELINE, ROOT  # noqa: E402

TEXT = BASELINE.read_text(encoding="utf-8")


# --- the middleware ---------------------------------------------------------------------------------------------
class Recorder:
    """An ASGI app that accepts what reaches it and keeps the messages it receives."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.received: list[dict] = []

    async def __call__(self, scope, receive, send) -> None:
        self.calls.append(scope)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"page"})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "websocket.disconnect":
                return


def _scope(kind="http", host="127.0.0.1:8765", origin=None, method="GET", path="/", query=b""):
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    scope = {"type": kind, "path": path, "query_string": query, "headers": headers, "scheme": "http"}
    if kind == "http":
        scope["method"] = method
    return scope


def _call(app, scope, incoming=()):
    """Run ``app`` on ``scope``; returns what it sent."""
    sent: list[dict] = []
    queue = list(incoming)

    async def receive():
        if queue:
            item = queue.pop(0)
            if isinstance(item, float):
                await asyncio.sleep(item)
                return {"type": "websocket.receive", "text": "late"}
            return item
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    return sent


def _status(sent):
    return next(m["status"] for m in sent if m["type"] in ("http.response.start", "websocket.http.response.start"))


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "planning-pc.local:8765"])
def test_the_page_answers_its_own_names(host):
    inner = Recorder()
    sent = _call(gate.guard(inner, ["planning-pc.local"]), _scope(host=host))
    assert _status(sent) == 200 and len(inner.calls) == 1


@pytest.mark.parametrize("kind", ["http", "websocket"])
@pytest.mark.parametrize("host", ["evil.example.org:8765", "rebound.127.0.0.1.nip.io", "", "127.0.0.1.evil.org"])
def test_a_foreign_host_is_refused(kind, host):
    inner = Recorder()
    sent = _call(gate.guard(inner), _scope(kind, host=host, path="/jupyter/api/kernels/k/channels"))
    assert _status(sent) == 400 and inner.calls == []


def test_a_websocket_from_another_origin_is_refused_and_its_own_accepted():
    inner = Recorder()
    app = gate.guard(inner)
    path = "/jupyter/api/kernels/k/channels"
    sent = _call(app, _scope("websocket", origin="http://evil.example.org", path=path))
    assert sent == [{"type": "websocket.close", "code": 1008}] and inner.calls == []
    sent = _call(
        app, _scope("websocket", origin="http://127.0.0.1:8765", path=path), [{"type": "websocket.disconnect"}]
    )
    assert sent[0]["type"] == "websocket.accept" and len(inner.calls) == 1
    sent = _call(app, _scope("websocket", origin="http://127.0.0.1:9999", path=path))  # another local page
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_a_form_from_another_origin_is_refused():
    inner = Recorder()
    sent = _call(
        gate.guard(inner), _scope(method="POST", origin="http://evil.example.org", path="/_solara/api/close/k")
    )
    assert _status(sent) == 403 and inner.calls == []
    sent = _call(gate.guard(inner), _scope(method="POST", origin="http://127.0.0.1:8765", path="/_solara/api/close/k"))
    assert _status(sent) == 200


def test_an_over_long_link_is_refused_before_the_page_reads_it():
    inner = Recorder()
    sent = _call(gate.guard(inner), _scope(query=b"toml=" + b"a" * (gate.MAX_LINK + 1)))
    assert _status(sent) == 414 and inner.calls == []
    body = b"".join(m.get("body", b"") for m in sent)
    assert b"longer than" in body and b"Traceback" not in body


def test_sessions_beyond_the_bound_wait_their_turn():
    inner = Recorder()
    app = gate.Gate(inner, max_sessions=2, idle_seconds=60, max_link=100)
    app.sessions = 2  # two tabs are open
    sent = _call(app, _scope("websocket", path="/jupyter/api/kernels/k/channels"))
    assert sent == [{"type": "websocket.close", "code": 1013}] and inner.calls == []
    app.sessions = 1
    _call(app, _scope("websocket", path="/jupyter/api/kernels/k/channels"), [{"type": "websocket.disconnect"}])
    assert app.sessions == 1 and len(inner.calls) == 1  # counted while open, and no longer


def test_an_idle_session_is_closed_and_its_page_told():
    inner = Recorder()
    app = gate.Gate(inner, max_sessions=2, idle_seconds=0.2, max_link=100)
    sent = _call(app, _scope("websocket", path="/jupyter/api/kernels/k/channels"), [0.05, 0.6])
    assert {"type": "websocket.close", "code": 1001, "reason": "idle"} in sent
    assert inner.received[0]["type"] == "websocket.receive" and inner.received[-1]["type"] == "websocket.disconnect"


def test_allowed_hosts_take_names_and_addresses():
    assert gate.allowed_hosts(["Planning-PC", "fe80::1", "*.office.example"])[3:] == [
        "planning-pc",
        "[fe80::1]",
        "*.office.example",
    ]


# --- parsing within a budget ------------------------------------------------------------------------------------
@pytest.fixture
def parser():
    made = budget.Parser()
    yield made
    made.close()


def test_text_parses_in_the_worker_as_it_would_here(parser):
    assert parser.parse(TEXT, "b.toml")["name"] == "baseline"
    with pytest.raises(InputError) as info:
        parser.parse("[policy]\n" + ".".join(["a"] * 20_000) + " = 1\n", "deep.toml")
    assert "nested too deeply" in info.value.message and info.value.file == "deep.toml"
    with pytest.raises(InputError) as info:
        parser.parse("name = ", "bad.toml")
    assert "not valid TOML" in info.value.message


def test_text_over_the_workbench_bound_is_refused_unread(parser):
    with pytest.raises(InputError) as info:
        parser.parse("# " + "x" * budget.MAX_TEXT_BYTES, "big.toml")
    assert "the workbench reads scenarios of at most 256 kB" in info.value.message
    assert parser._process is None  # it never reached the worker


def test_a_parse_over_its_time_stops_the_worker_and_the_next_one_works():
    slow = budget.Parser(seconds=0.0)
    try:
        with pytest.raises(InputError) as info:
            slow.parse(TEXT, "b.toml")
        assert "within 0 s" in info.value.message and slow._process is None
        slow.seconds = 30.0
        assert slow.parse(TEXT, "b.toml")["name"] == "baseline"
    finally:
        slow.close()


def test_a_parse_over_its_memory_is_input():
    small = budget.Parser(memory=20 * 1024 * 1024)  # too little to start Python at all
    try:
        with pytest.raises(InputError) as info:
            small.parse(TEXT, "b.toml")
        assert "memory the workbench gives a scenario" in info.value.message
    finally:
        small.close()


def test_scenario_text_goes_through_the_installed_parser():
    seen = []

    def spy(text, name):
        seen.append(name)
        return files.parse_toml(text, name)

    set_text_parser(spy)
    try:
        assert load_scenario_text(TEXT, name="upload.toml").name == "baseline" and seen == ["upload.toml"]
    finally:
        set_text_parser(None)


# --- a failure is a message -------------------------------------------------------------------------------------
def test_input_shows_its_message_and_a_bug_is_logged_not_shown(caplog):
    assert message(InputError("is broken", file="x.toml", key="k")) == "in x.toml at key 'k': is broken"
    with caplog.at_level(logging.ERROR, logger="lithium_sim.app"):
        try:
            {}["levels"]
        except KeyError as err:
            shown = message(err)
    assert shown == INTERNAL and "Traceback" not in shown and "levels" not in shown
    assert "KeyError" in caplog.text and "test_gate.py" in caplog.text  # the log has the traceback


# --- the running server -----------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, path: str = "/", host: str | None = None, method: str = "GET", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers={"Host": host or f"127.0.0.1:{port}", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - open for the server's whole life
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port), "--allow-host", "planning-pc.local"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            if _request(port)[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"the workbench did not start: {log_path.read_text(encoding='utf-8')[-2000:]}")
        time.sleep(0.3)
    yield port
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


@pytest.mark.slow
def test_the_server_refuses_a_foreign_host_and_answers_its_names(server):
    assert _request(server, host="rebound.example.org")[0] == 400
    assert _request(server, host=f"planning-pc.local:{server}")[0] == 200
    status, body = _request(server, "/?toml=" + "a" * (gate.MAX_LINK + 10))
    assert status == 414 and "Traceback" not in body


@pytest.mark.slow
def test_the_server_refuses_a_websocket_from_another_origin(server):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def attempt(origin: str) -> int:
        url = f"ws://127.0.0.1:{server}/jupyter/api/kernels/k1/channels?session_id=s1"
        try:
            async with connect(url, origin=origin):
                return 101
        except InvalidStatus as err:
            return err.response.status_code

    assert asyncio.run(attempt("http://evil.example.org")) == 403
    assert asyncio.run(attempt(f"http://127.0.0.1:{server}")) == 101


@pytest.mark.slow
def test_a_link_to_a_scenario_missing_a_key_shows_the_message_not_a_traceback(server):
    """The 248-character link of a scenario whose storage table has a unit but no levels showed the full
    traceback, with the server's file paths, in the page."""
    if shutil.which("chromium") is None:
        pytest.skip("the browser check needs chromium (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    from sim.app.workbench import View, encode_query

    text = TEXT.replace("levels = { 2022 = 0.133", "# levels = { 2022 = 0.133", 1)
    query = encode_query(View(uploaded=text, uploaded_name="broken.toml"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--headless"])
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{server}/?{query}")
        page.wait_for_selector("text=demand.storage_share.levels")
        body = page.inner_text("body")
        browser.close()
    assert "is required" in body and "broken.toml" in body
    assert "Traceback" not in body and "site-packages" not in body and "KeyError" not in body

"""The workbench under load: many browser tabs opening its page at once, for a while.

Starts ``lithium-sim app`` on a free local port, then runs CLIENTS concurrent clients for SECONDS. Each client,
again and again, does what a browser tab does when it opens the page: it asks for the page (HTTP), opens the
page's WebSocket with the page's cookie and origin, asks Solara to run the app on a link (a library scenario, a
few controls changed), waits until the page is rendered, stays a moment, and leaves as a browser does (closes the
WebSocket and sends the close beacon). Some clients also try what a hostile page would (a foreign Host, a
foreign Origin): those must be refused.

Printed: pages opened, errors (anything but a rendered page, or a refusal that did not happen), the page time
(request to rendered page) at the median, 95th percentile and worst, and the server's memory (resident, with its
parser worker) after a first page, at the end, and after the sessions are freed.

    .venv/bin/python benchmarks/bench_load.py [--clients 30] [--seconds 60]

Speed is measured here, never asserted in tests (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

ROOT = Path(__file__).resolve().parent.parent
VIEWS = (  # links a planner would open: two replicates to 2026 keep a run to a second or two
    "/?replicates=2&end=2026",
    "/?replicates=2&end=2026&energy_support.cost_cut=0.2",
    "/?scenario=low_price&replicates=2&end=2026",
    "/?scenario=policy_package&replicates=2&end=2026&lang=zh",
)
PAGE_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            status, _ = http_get(port, "/")
            if status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the workbench did not start within 90 s")


def http_get(port: int, path: str, host: str | None = None) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_TIMEOUT_S)
    try:
        connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        response = connection.getresponse()
        response.read()
        cookies = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                cookies[key.strip()] = rest.split(";")[0]
        return response.status, cookies
    finally:
        connection.close()


def http_post(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, headers={"Origin": f"http://127.0.0.1:{port}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def sessions_alive(port: int) -> int | None:
    """Solara's live sessions (kernels), from its /resourcez page; None if it does not say."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/resourcez", headers={"Host": f"127.0.0.1:{port}"})
        return int(json.loads(connection.getresponse().read())["kernels"]["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        connection.close()


def memory_mb(process: subprocess.Popen) -> float:
    """Resident memory of the server and its children (the parser worker), MB."""
    try:
        root = psutil.Process(process.pid)
        members = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in members if p.is_running()) / 1e6
    except psutil.Error:
        return float("nan")


def message(kind: str, content: dict, session: str) -> str:
    header = {
        "msg_id": uuid.uuid4().hex,
        "username": "bench",
        "session": session,
        "msg_type": kind,
        "version": "5.3",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
    }
    return json.dumps(
        {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}
    )


def rendered(raw: str | bytes) -> bool:
    """Whether a message from the server is Solara's "finished" (the page is rendered)."""
    if isinstance(raw, bytes):  # binary frames carry widget buffers, never the control reply
        return False
    data = json.loads(raw)
    content = data.get("content", {})
    return data.get("msg_type") == "comm_msg" and content.get("data", {}).get("method") == "finished"


async def open_page(port: int, path: str) -> float:
    """One tab: the page, its WebSocket, the app run on ``path``, rendered; then leaving. Returns seconds."""
    started = time.perf_counter()
    status, cookies = await asyncio.to_thread(http_get, port, path)
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}")
    kernel, page = str(uuid.uuid4()), str(uuid.uuid4())
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = f"ws://127.0.0.1:{port}/jupyter/api/kernels/{kernel}/channels?session_id={page}"
    async with connect(
        url, origin=f"http://127.0.0.1:{port}", additional_headers={"Cookie": cookie}, max_size=None
    ) as ws:
        comm = uuid.uuid4().hex
        await ws.send(message("comm_open", {"comm_id": comm, "target_name": "solara.control", "data": {}}, page))
        args = {"path": path, "appName": "__default__", "dark": False, "themes": {"light": {}, "dark": {}}}
        await ws.send(message("comm_msg", {"comm_id": comm, "data": {"method": "run", "args": args}}, page))
        async with asyncio.timeout(PAGE_TIMEOUT_S):
            while not rendered(await ws.recv()):
                pass
        elapsed = time.perf_counter() - started
        await asyncio.sleep(random.uniform(0.5, 1.5))  # the planner looks at the page
    await asyncio.to_thread(http_post, port, f"/_solara/api/close/{kernel}?session_id={page}")  # the tab closes
    return elapsed


async def hostile(port: int) -> str:
    """What a page elsewhere would try; '' when refused as it must be, else what got through."""
    status, _ = await asyncio.to_thread(http_get, port, "/", "rebound.example.org")
    if status != 400:
        return f"a foreign Host got HTTP {status}"
    url = f"ws://127.0.0.1:{port}/jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()}"
    try:
        async with connect(url, origin="http://elsewhere.example.org"):
            return "a WebSocket from a foreign Origin was accepted"
    except InvalidStatus as err:
        return "" if err.response.status_code == 403 else f"a foreign Origin got HTTP {err.response.status_code}"


async def client(
    port: int, index: int, deadline: float, times: list[float], errors: list[str], refused: list[int]
) -> None:
    rng = random.Random(index)  # each client its own sequence of views, hostile requests and pauses
    while time.monotonic() < deadline:
        try:
            if rng.random() < 0.1:
                problem = await hostile(port)
                if problem:
                    errors.append(problem)
                else:
                    refused[0] += 1
                continue
            times.append(await open_page(port, rng.choice(VIEWS)))
        except Exception as err:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(err).__name__}: {err}")
        await asyncio.sleep(rng.uniform(0.1, 0.5))


async def load(port: int, clients: int, seconds: float) -> tuple[list[float], list[str], int]:
    times: list[float] = []
    errors: list[str] = []
    refused = [0]
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(client(port, i, deadline, times, errors, refused) for i in range(clients)))
    return times, errors, refused[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        first = asyncio.run(open_page(port, VIEWS[0]))  # the first page loads the app and its modules
        for view in VIEWS:  # and each view's runs are computed once (they are cached by fingerprint)
            asyncio.run(open_page(port, view))
        before = memory_mb(server)
        started = time.monotonic()
        times, errors, refused = asyncio.run(load(port, args.clients, args.seconds))
        wall = time.monotonic() - started
        during, open_sessions = memory_mb(server), sessions_alive(port)
        freed = time.monotonic() + 150  # closed sessions are freed within Solara's cull time (2 minutes)
        while time.monotonic() < freed and sessions_alive(port) != 0:
            time.sleep(5)
        time.sleep(5)
        after, left = memory_mb(server), sessions_alive(port)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else float("nan")
    print(f"workbench load: {args.clients} concurrent clients for {wall:.0f} s (first page {first:.2f} s)")
    print("| clients | pages opened | hostile requests refused | errors | page time p50 | p95 | worst |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.clients} | {len(times)} | {refused} | {len(errors)} | "
        f"{statistics.median(ordered) if ordered else float('nan'):.2f} s | {p95:.2f} s | "
        f"{max(ordered) if ordered else float('nan'):.2f} s |"
    )
    print(
        f"server memory (resident, with its parser worker): {before:.0f} MB after the first pages, "
        f"{during:.0f} MB at the end of the load ({during - before:+.0f} MB), "
        f"{after:.0f} MB once the sessions were freed ({after - before:+.0f} MB); sessions alive at the end of the "
        f"load {open_sessions}, after {left}"
    )
    for problem in sorted(set(errors))[:10]:
        print(f"  error: {problem} (x{errors.count(problem)})")


if __name__ == "__main__":
    main()

"""What the workbench's server lets in: its own page, from its own names, in bounded sessions.

An ASGI middleware around Solara's app (`guard`):

- **Host**: a request whose ``Host`` header is not one of the allowed names is refused (HTTP 400), whatever
  address it came from: a web page elsewhere that points its own name at this machine (DNS rebinding) cannot
  talk to the workbench. Loopback names by default; ``lithium-sim app --allow-host NAME`` adds a name (the
  machine's name on the office network). Starlette's `TrustedHostMiddleware` does the check.
- **Origin**: a browser names the page that opens a WebSocket, or sends a form, in ``Origin``; the workbench
  accepts only its own (``http://`` + the request's ``Host``), so a page elsewhere cannot drive a session
  (browsers apply no same-origin rule to WebSockets). Clients that are not browsers send no ``Origin``.
- **Links**: a query string longer than `MAX_LINK` characters is refused (HTTP 414) before the page reads it.
- **Sessions**: at most `MAX_SESSIONS` open WebSockets (one per browser tab); a session that sends nothing for
  `IDLE_SECONDS` is closed (its state is freed once Solara culls it, `CULL_TIMEOUT`). What one session can
  hold is bounded elsewhere: a message at most `MAX_MESSAGE_BYTES` (an upload's text within it, and at most
  `sim.app.budget.MAX_TEXT_BYTES` of it is read), runs at most `sim.app.workbench.MAX_REPLICATES` replicates,
  finished runs shared and cached `sim.app.workbench.MAX_CACHED_RUNS` deep.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")  # the names a browser on this machine uses
MAX_LINK = 64 * 1024  # characters of a query string (the workbench reads links of at most this)
MAX_SESSIONS = 64  # open WebSockets (browser tabs) at once
IDLE_SECONDS = 30 * 60  # a session silent this long is closed
CULL_TIMEOUT = "2m"  # Solara keeps a closed session this long (a reload within it finds its state)
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # one WebSocket message (an upload of 4 MB, escaped, fits)
_SESSION_PATH = "/jupyter/api/kernels/"  # where Solara's page opens its WebSocket
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

logger = logging.getLogger("lithium_sim.app")


def allowed_hosts(extra: Iterable[str] = ()) -> list[str]:
    """The loopback names and ``extra`` (names or addresses, no port; ``*.example.org`` for a domain)."""
    out = list(LOOPBACK)
    for name in extra:
        name = name.strip().lower()
        if ":" in name and not name.startswith("["):  # an IPv6 address: as a Host header writes it
            name = f"[{name}]"
        if name and name not in out:
            out.append(name)
    return out


def guard(
    app: Any,
    hosts: Iterable[str] = (),
    *,
    max_sessions: int = MAX_SESSIONS,
    idle_seconds: float = IDLE_SECONDS,
    max_link: int = MAX_LINK,
) -> Any:
    """``app`` behind the checks of the module docs; ``hosts`` adds allowed names to the loopback ones."""
    inner = Gate(app, max_sessions=max_sessions, idle_seconds=idle_seconds, max_link=max_link)
    return TrustedHostMiddleware(inner, allowed_hosts=allowed_hosts(hosts), www_redirect=False)


def same_origin(scope: dict[str, Any]) -> bool:
    """Whether a request's ``Origin`` (if any) is the page's own: its scheme and ``Host``."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    secure = scope.get("scheme") in ("https", "wss")
    return origin.lower() == f"{'https' if secure else 'http'}://{headers.get('host', '')}".lower()


class Gate:
    """The Origin, link and session checks (see the module docs); `guard` adds the Host check around it."""

    def __init__(self, app: Any, *, max_sessions: int, idle_seconds: float, max_link: int) -> None:
        self.app = app
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.max_link = max_link
        self.sessions = 0  # open WebSockets of Solara's page

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("method") in _UNSAFE and not same_origin(scope):
            logger.warning("refused a %s from another origin: %s", scope.get("method"), scope.get("path"))
            await _page(403, "Forbidden", "The workbench takes requests from its own page only.")(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_link:
            await _page(
                414,
                "Link too long",
                f"This link is longer than {self.max_link:,} characters, more than any view of the workbench "
                "needs; it was not opened. Open the workbench without it and load the scenario file instead.",
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not same_origin(scope):
            logger.warning("refused a WebSocket from another origin: %s", Headers(scope=scope).get("origin"))
            await send({"type": "websocket.close", "code": 1008})  # before accepting: HTTP 403
            return
        session = scope.get("path", "").startswith(_SESSION_PATH)
        if session and self.sessions >= self.max_sessions:
            logger.warning("refused a session: %d are open (at most %d)", self.sessions, self.max_sessions)
            await send({"type": "websocket.close", "code": 1013})  # try again later
            return
        if not session:
            await self.app(scope, receive, send)
            return
        self.sessions += 1
        closed = False

        async def guarded_send(message: dict[str, Any]) -> None:
            if closed and message.get("type") != "websocket.close":
                return  # the session was closed for idling: what the app still sends goes nowhere
            await send(message)

        async def idle_receive() -> dict[str, Any]:
            nonlocal closed
            if closed:
                return {"type": "websocket.disconnect", "code": 1001}
            try:
                return await asyncio.wait_for(receive(), self.idle_seconds)
            except TimeoutError:
                closed = True
                logger.info("closed a session idle for %.0f s", self.idle_seconds)
                await send({"type": "websocket.close", "code": 1001, "reason": "idle"})
                return {"type": "websocket.disconnect", "code": 1001}

        try:
            await self.app(scope, idle_receive, guarded_send)
        finally:
            self.sessions -= 1


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h3>{html.escape(title)}</h3><p>{html.escape(text)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)

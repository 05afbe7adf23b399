"""Run the sandbox: plain HTTP for control and the Google APIs, HTTPS for Azure.

``Sandbox(state).start()`` serves both listeners from one background thread and returns
once they accept connections; ``.url`` is the control URL users export as
``CLAMP_SANDBOX_URL``. Injected faults (``state.faults``) apply to every cloud request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from clamp.errors import ClampError, InputError
from clamp.sandbox.audit_logs import AuditLogs
from clamp.sandbox.azure import build_azure_app
from clamp.sandbox.blobs import BlobRouter, BlobStore
from clamp.sandbox.deliveries import Deliveries, DeliveryOptions
from clamp.sandbox.eventgrid import EventGrid, EventGridArm
from clamp.sandbox.gcp_app import build_gcp_app
from clamp.sandbox.oidc import PREFIX as OIDC_PREFIX
from clamp.sandbox.oidc import SandboxIdentities, build_oidc_app
from clamp.sandbox.pubsub import PubSub
from clamp.sandbox.state import Fault, SandboxState
from clamp.sandbox.tls import SandboxTLS
from clamp.sandbox.write_events import WriteHook

HOST = "127.0.0.1"
# Google's status and reason for the HTTP codes faults usually inject.
GOOGLE_STATUS = {
    403: ("PERMISSION_DENIED", "forbidden"),
    404: ("NOT_FOUND", "notFound"),
    429: ("RESOURCE_EXHAUSTED", "rateLimitExceeded"),
    500: ("INTERNAL", "backendError"),
    503: ("UNAVAILABLE", "backendError"),
}


class FaultInjection:
    """ASGI middleware: answer matching requests with the injected status or latency."""

    def __init__(self, app: ASGIApp, state: SandboxState, provider: str) -> None:
        self.app, self.state, self.provider = app, state, provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        fault = self.state.take_fault(self.provider, scope["method"], path)
        if fault is not None and fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault is None or not fault.status:
            await self.app(scope, receive, send)
            return
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        message = f"injected fault: HTTP {fault.status}"
        body: dict[str, Any] = (
            {"error": {"code": "InjectedFault", "message": message}}
            if self.provider == "azure"
            else {
                "error": {
                    "code": fault.status,
                    "message": message,
                    "status": GOOGLE_STATUS.get(fault.status, ("INTERNAL", ""))[0],
                    "errors": [
                        {
                            "message": message,
                            "reason": GOOGLE_STATUS.get(fault.status, ("", "backendError"))[1]
                            or "backendError",
                        }
                    ],
                }
            }
        )
        await JSONResponse(body, status_code=fault.status, headers=headers)(scope, receive, send)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this (Linux): without it, a response's headers and body
    # go out as two segments and the second waits ~40 ms for the client's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise InputError(
            f"the sandbox cannot listen on {HOST}:{port}: {exc.strerror}",
            hint="pick another --port, or 0 for any free one",
        ) from exc
    return sock


class Sandbox:
    """The local fake cloud, in a background thread."""

    def __init__(self, state: SandboxState, port: int = 0, azure_port: int = 0) -> None:
        self.state = state
        control = _bind(port)
        try:
            azure = _bind(azure_port)
        except InputError:
            control.close()
            raise
        self._sockets = (control, azure)
        self.tls = SandboxTLS.create()
        self.port = self._sockets[0].getsockname()[1]
        self.azure_port = self._sockets[1].getsockname()[1]
        self._servers: list[uvicorn.Server] = []
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.identities = SandboxIdentities()
        """The OpenID Connect provider's key and its users' groups (``sandbox.oidc``)."""
        self.deliveries = Deliveries()
        """Outbound webhook deliveries: Event Grid's and Pub/Sub push's (``sandbox.deliveries``)."""
        self.event_grid = EventGrid(state, self.deliveries, self.identities)
        self.pubsub = PubSub(state, self.deliveries, self.identities)
        self.audit_logs = AuditLogs(state, self.pubsub)
        self.blobs = BlobStore()
        """Azure Blob Storage: the flow-log containers (``sandbox.blobs``)."""

    @property
    def url(self) -> str:
        """The control URL (also the Google APIs' endpoint)."""
        return f"http://{HOST}:{self.port}"

    @property
    def azure_url(self) -> str:
        """The Azure Resource Manager endpoint (HTTPS)."""
        return f"https://{HOST}:{self.azure_port}"

    # -- control endpoints ----------------------------------------------------------------
    async def _info(self, _request: Request) -> Response:
        return JSONResponse(
            {"azure_url": self.azure_url, "gcp_url": self.url, "ca_pem": self.tls.ca_pem}
        )

    async def _state(self, _request: Request) -> Response:
        return JSONResponse(self.state.to_scenario())

    async def _faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self.state.lock:
                self.state.faults.clear()
            return Response(status_code=204)
        try:
            fault = Fault.from_json(await request.json())
        except (InputError, TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        with self.state.lock:
            self.state.faults.append(fault)
        return JSONResponse({"faults": len(self.state.faults)}, status_code=201)

    async def _deliveries(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                options = DeliveryOptions.from_json(await request.json())
            except (InputError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            self.deliveries.options = options
        return JSONResponse(self.deliveries.stats())

    async def _flowlogs(self, request: Request) -> Response:
        # Generate flow-log traffic into a storage account's PT1H.json blobs (the demo story).
        from clamp.sandbox.flow_traffic import publish_azure, publish_gcp

        try:
            body = await request.json()
            if body.get("cloud") == "gcp":  # through the log sinks to their Pub/Sub topics
                minutes = int(body.get("minutes", 60))
                since = datetime.now(UTC).replace(second=0, microsecond=0)
                routed = publish_gcp(
                    self.state,
                    self.audit_logs.route,
                    since - timedelta(minutes=minutes),
                    minutes,
                    scale=int(body.get("scale", 1)),
                    seed=int(body.get("seed", 15)),
                )
                return JSONResponse({"entries": routed}, status_code=201)
            account = str(body["account"])
            minutes, scale = int(body.get("minutes", 60)), int(body.get("scale", 1))
            start = datetime.fromisoformat(str(body["start"])) if "start" in body else None
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse(
                {"error": f"account, minutes, scale, start: {exc}"}, status_code=400
            )
        when = start or datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(
            minutes=minutes
        )
        written = publish_azure(
            self.state,
            self.blobs,
            account,
            when,
            minutes,
            scale=scale,
            seed=int(body.get("seed", 15)),
        )
        return JSONResponse({"records": written}, status_code=201)

    async def _google_certs(self, _request: Request) -> Response:
        # Where Google serves the keys of its OIDC tokens (/oauth2/v3/certs, a JWK set).
        return JSONResponse(self.identities.public_jwks())

    def _control_app(self) -> ASGIApp:
        app = Starlette(
            routes=[
                Route("/_sandbox/info", self._info),
                Route("/_sandbox/state", self._state),
                Route("/_sandbox/faults", self._faults, methods=["POST", "DELETE"]),
                Route("/_sandbox/deliveries", self._deliveries, methods=["GET", "PUT"]),
                Route("/_sandbox/flowlogs", self._flowlogs, methods=["POST"]),
                Route("/oauth2/v3/certs", self._google_certs),
                Mount(OIDC_PREFIX, app=build_oidc_app(self.identities)),
                *self.pubsub.routes(),
                *self.audit_logs.routes(),
                Mount("/", app=WriteHook(build_gcp_app(self.state), self.audit_logs.publish)),
            ]
        )
        return FaultInjection(app, self.state, "gcp")

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Serve both listeners; return once they accept connections."""
        common: dict[str, Any] = {
            "log_level": "warning",
            "access_log": False,
            "lifespan": "off",
            "timeout_graceful_shutdown": 1,
            # uvicorn's 5 s default drops idle connections while a client honours a 5 s
            # quota window or Retry-After; a POST on a dropped one is not retried.
            "timeout_keep_alive": 120,
        }
        http = uvicorn.Config(self._control_app(), **common)
        https = uvicorn.Config(
            FaultInjection(
                BlobRouter(
                    # Event Grid's own resources are served outside the hook: they emit no events
                    EventGridArm(
                        WriteHook(build_azure_app(self.state), self.event_grid.publish),
                        self.event_grid,
                    ),
                    self.blobs,
                ),
                self.state,
                "azure",
            ),
            ssl_certfile=str(self.tls.cert_file),
            ssl_keyfile=str(self.tls.key_file),
            **common,
        )
        self._servers = [uvicorn.Server(http), uvicorn.Server(https)]

        async def serve() -> None:
            await asyncio.gather(
                *(
                    server.serve(sockets=[sock])
                    for server, sock in zip(self._servers, self._sockets, strict=True)
                )
            )

        self._thread = threading.Thread(
            target=lambda: asyncio.run(serve()), daemon=True, name="clamp-sandbox"
        )
        self._thread.start()
        for _ in range(500):
            if all(s.started for s in self._servers):
                return self
            if not self._thread.is_alive():
                break
            self._stopped.wait(0.01)
        raise ClampError("the sandbox did not start")

    def wait(self) -> None:
        """Block until ``stop()`` is called (or the process is interrupted)."""
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop both listeners and remove the TLS files."""
        for server in self._servers:
            server.should_exit = True
            server.force_exit = True  # don't wait for SDK keep-alive connections
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()
        self.deliveries.stop()
        self.tls.cleanup()
        self._stopped.set()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

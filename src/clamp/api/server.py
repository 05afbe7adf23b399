"""Running the service: bind, settle what a crash left, start the scheduler, serve with
uvicorn until stopped; ``--demo`` adds the sandbox, demo users and a first scan."""

from __future__ import annotations

import secrets
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from clamp.api.app import create_app
from clamp.api.notify_pump import NoticePump
from clamp.api.scheduler import Scheduler
from clamp.api.service import Service
from clamp.config import Settings
from clamp.errors import ConfigError
from clamp.model import Provider
from clamp.scanning import scan_clouds

DEMO_USERS = {
    "admin": ["admin"],
    "alice": ["remediator"],
    "bob": ["responder"],
    "carol": ["approver"],
    "victor": ["viewer"],
}


@dataclass(frozen=True)
class Listener:
    """Where the service listens, and over what."""

    host: str = "127.0.0.1"
    port: int = 8765
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def tls(self) -> bool:
        """Whether uvicorn serves HTTPS itself."""
        return self.tls_cert is not None


def bind(listener: Listener) -> socket.socket:
    """A listening socket (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in listener.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listener.host, listener.port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {listener.host}:{listener.port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket, listener: Listener) -> str:
    """The URL clients use."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if listener.tls else 'http'}://{shown}:{port}"


@contextmanager
def demo_estate(settings: Settings) -> Iterator[Settings]:
    """The built-in sandbox and a store of its own (never a real one)."""
    from clamp.sandbox.scenario import load_state
    from clamp.sandbox.server import Sandbox

    with (
        tempfile.TemporaryDirectory(prefix="clamp-serve-demo-") as tmp,
        Sandbox(load_state(None)) as sandbox,
    ):
        yield replace(
            settings,
            database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
            sandbox_url=sandbox.url,
        )


def seed_demo(service: Service) -> list[tuple[str, list[str], str, str]]:
    """Demo users (name, roles, password, token) and a first scan of the sandbox."""
    users = []
    for name, roles in DEMO_USERS.items():
        password = secrets.token_urlsafe(12)
        token = service.accounts.add(name, roles, actor="demo", password=password)
        users.append((name, roles, password, token))
    scan_clouds(service.settings, service.store, service.drivers, list(Provider), {})
    return users


def run(
    settings: Settings,
    listener: Listener,
    *,
    demo: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Serve until stopped. ``say`` gets ``CLAMP_URL=…`` first, then what else to know."""
    with ExitStack() as stack:
        if demo:
            settings = stack.enter_context(demo_estate(settings))
        sock = bind(listener)
        stack.callback(sock.close)
        service = Service(settings)
        stack.callback(service.close)
        url = url_of(sock, listener)
        say(f"CLAMP_URL={url}")
        service.settle()
        service.warm()
        if demo:
            for name, roles, password, token in seed_demo(service):
                say(f"demo user {name} ({', '.join(roles)}): password {password}")
                say(f"  CLAMP_TOKEN={token}")
        elif not service.accounts.users():
            say("no users yet: add one with `clamp users add NAME --role admin --password-stdin`")
        scheduler = Scheduler(service)
        scheduler.start()
        stack.callback(scheduler.stop)
        pump = NoticePump(service)
        pump.start()
        stack.callback(pump.stop)
        say(f"console: {url}/   API: {url}/api/v1   OpenAPI: {url}/api/v1/openapi.json")
        app = create_app(service, secure_cookies=listener.tls)
        config = uvicorn.Config(
            app,
            log_level="warning",
            ssl_certfile=str(listener.tls_cert) if listener.tls_cert else None,
            ssl_keyfile=str(listener.tls_key) if listener.tls_key else None,
            proxy_headers=False,
        )
        uvicorn.Server(config).run(sockets=[sock])

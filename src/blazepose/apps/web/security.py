"""Who may talk to the web server: the ``Host`` and ``Origin`` checks, and the server's own
temporary folder (named with its pid, so that a later server can remove what a killed one left).

Nothing here imports FastAPI; the guard is plain ASGI middleware.

The rules (checked on every HTTP request and WebSocket handshake, before the application runs):

- ``Host`` must name this server: a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``), the
  bound address when it is not a loopback one, the machine's own names and addresses when bound to
  every interface (``0.0.0.0`` / ``::``), or the host of an ``--allow-origin``; and, when the
  server knows its port, that port. Anything else is a DNS-rebinding attempt: 400.
- ``Origin``, when a browser sends one on a request that changes something (POST, PUT, PATCH,
  DELETE) or opens the webcam socket, must be one of the same names and port (``http`` or
  ``https``) or an ``--allow-origin`` exactly: else 403 (the socket is closed with code 1008,
  policy violation, before it is accepted). Requests without ``Origin`` (curl, scripts) pass.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TEMP_PREFIX = "blazepose-web-"
WS_POLICY_VIOLATION = 1008


def _bracket(host: str) -> str:
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def parse_origin(origin: str) -> tuple[str, str, int]:
    """``scheme://host[:port]`` → (scheme, host, port), the port defaulted from the scheme.
    ``ValueError`` names the problem (used for ``--allow-origin`` values)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{origin!r} is not an origin like http://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{origin!r}: an origin has no path, query or user (http://host:port)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"{origin!r}: bad port") from None
    return parts.scheme, _bracket(parts.hostname), port


def machine_names() -> set[str]:
    """This machine's host names and addresses (for a server bound to every interface)."""
    names: set[str] = set()
    try:
        hn = socket.gethostname()
        names |= {hn, socket.getfqdn()}
        for info in socket.getaddrinfo(hn, None):
            names.add(info[4][0])
    except OSError:
        pass
    for family, probe in ((socket.AF_INET, "10.255.255.255"), (socket.AF_INET6, "fd00::1")):
        try:   # the address of the default route (connect() on UDP sends nothing)
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                names.add(s.getsockname()[0])
        except OSError:
            pass
    names |= _interface_addresses()
    return {_bracket(n.split("%")[0]) for n in names if n}


def _interface_addresses() -> set[str]:
    """Every interface's addresses on Linux (IPv4 by ioctl, IPv6 from /proc); empty elsewhere."""
    out: set[str] = set()
    try:
        import fcntl
        import struct

        for _, ifname in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:   # SIOCGIFADDR
                    packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", ifname[:15].encode()))
                    out.add(socket.inet_ntoa(packed[20:24]))
                except OSError:
                    pass
    except (ImportError, OSError, AttributeError):
        pass
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = bytes.fromhex(line.split()[0])
            out.add(socket.inet_ntop(socket.AF_INET6, raw))
    except (OSError, ValueError, IndexError):
        pass
    return out


class Access:
    """The names, port and extra origins this server answers to (see the module's rules).
    ``port=None`` (an in-process app, tests) accepts any port on the accepted names."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, allow_origins=()):
        self.port = port
        self.origins = set()
        names = set(LOOPBACK_NAMES)
        host = (host or "").strip()
        if host in WILDCARD_HOSTS:
            names |= machine_names()
        elif _bracket(host) not in names:
            names.add(_bracket(host))
        self.host_ports: set[tuple[str, int]] = set()
        for o in allow_origins:
            scheme, name, p = parse_origin(o)
            self.origins.add(f"{scheme}://{name}:{p}")
            self.host_ports.add((name, p))
        self.names = names

    def _name_port_ok(self, name: str, port: int | None, default_port: int) -> bool:
        if (name, port or default_port) in self.host_ports:
            return True
        if name not in self.names:
            return False
        return self.port is None or (port or default_port) == self.port

    def host_ok(self, host: str | None) -> bool:
        if not host:
            return False
        m = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?", host.strip())
        if not m:
            return False
        return self._name_port_ok(m.group(1).lower(), int(m.group(2)) if m.group(2) else None, 80)

    def origin_ok(self, origin: str) -> bool:
        try:
            scheme, name, port = parse_origin(origin)
        except ValueError:       # "null" (sandboxed frames, file://) and garbage
            return False
        if f"{scheme}://{name}:{port}" in self.origins:
            return True
        explicit = urlsplit(origin.strip()).port
        return self._name_port_ok(name, explicit, 443 if scheme == "https" else 80)


def _allow_hint(origin: str) -> str:
    """How to allow ``origin``, when ``--allow-origin`` can (not for ``null`` or a path)."""
    try:
        parse_origin(origin)
    except ValueError:
        return ""
    return f" (start it with --allow-origin {origin.strip()})"


class HostOriginGuard:
    """ASGI middleware applying ``Access`` to every HTTP request and WebSocket handshake."""

    def __init__(self, app, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {}
        for k, v in scope.get("headers") or []:
            headers.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
        host, origin = headers.get("host"), headers.get("origin")
        problem = None
        if not self.access.host_ok(host):
            status, problem = 400, f"Host header {host!r} is not this server's (use http://127.0.0.1:<port>/ " \
                                   "or start it with --allow-origin)"
        elif origin is not None and (scope["type"] == "websocket" or scope.get("method") not in SAFE_METHODS) \
                and not self.access.origin_ok(origin):
            status, problem = 403, f"Origin {origin!r} may not use this server{_allow_hint(origin)}"
        if problem is None:
            return await self.app(scope, receive, send)
        log.warning("refused %s %s: %s", scope["type"], scope.get("path"), problem)
        if scope["type"] == "websocket":
            await receive()     # the websocket.connect message
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": problem[:120]})
            return
        body = json.dumps({"error": f"{scope.get('path', '')}: {problem}", "status": status}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# ---- the server's temporary folder --------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # someone else's process: alive
        return True
    return True


def remove_stale_folders(parent: Path | None = None) -> list[Path]:
    """Remove ``blazepose-web-<pid>-*`` folders (ours, by owner) whose server process is gone
    (killed with SIGKILL, a crash, a power cut); return them. Folders of running pids are kept."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    try:
        entries = list(parent.glob(f"{TEMP_PREFIX}*-*"))
    except OSError:
        return removed
    for d in entries:
        m = re.fullmatch(re.escape(TEMP_PREFIX) + r"(\d+)-[^/]+", d.name)
        try:
            if not m or not d.is_dir() or d.is_symlink() or d.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        shutil.rmtree(d, ignore_errors=True)
        log.info("removed %s, left by a server that is no longer running", d)
        removed.append(d)
    return removed


def make_server_folder() -> Path:
    """A new private temporary folder named with this process's pid (after removing stale ones)."""
    remove_stale_folders()
    return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))

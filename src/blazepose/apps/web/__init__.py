"""``blazepose serve``: a local web page to try the pipeline on photos, videos and a webcam.

The server needs the optional ``web`` extra (FastAPI, uvicorn); it is imported only when the
command runs, so the rest of the CLI works without it.
"""
from __future__ import annotations

import argparse
import math
import sys

INSTALL_HINT = "the web page needs the optional 'web' extra: pip install 'blazepose[web]'"


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0..65535 (0: any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0..65535)")
    return port


def megabytes(text: str) -> float:
    """argparse type: a size limit in MB, a positive finite number."""
    try:
        mb = float(text)
    except ValueError:
        mb = float("nan")
    if not (math.isfinite(mb) and mb > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size in MB (a positive number)")
    return mb


def origin(text: str) -> str:
    """argparse type: an origin, scheme://host[:port]."""
    from .security import parse_origin

    try:
        parse_origin(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().rstrip("/")


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="a local web page: photos, videos, webcam (needs the 'web' extra)",
                              description="Start a local web server with a page to try BlazePose on photos, "
                                          "videos and a webcam, and its HTTP API (docs at /docs). It answers "
                                          "only requests addressed to this computer's names (Host) from its own "
                                          "pages (Origin); see --allow-origin.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this computer only; 0.0.0.0: every network "
                        "interface, reachable from the network, without authentication)")
    p.add_argument("--port", type=port_number, default=8000, help="port, 0..65535 (default 8000)")
    p.add_argument("--allow-origin", action="append", type=origin, default=[], metavar="ORIGIN",
                   help="also accept pages from ORIGIN (e.g. https://pose.example.org, behind a reverse proxy) "
                        "and requests addressed to its host; repeatable")
    p.add_argument("--max-image-mb", type=megabytes, default=20.0, metavar="MB", help="photo upload limit (default 20)")
    p.add_argument("--max-video-mb", type=megabytes, default=200.0, metavar="MB", help="video upload limit (default 200)")
    p.add_argument("--decode-budget-mb", type=megabytes, default=1024.0, metavar="MB",
                   help="memory for images being decoded at once (default 1024; each image counts "
                        "12 bytes per pixel)")
    from ..options_cli import add_option_arguments

    add_option_arguments(p, only=("num_threads", "engine"), help_overrides={
        "num_threads": "inference threads per model (default: all cores, or $BLAZEPOSE_NUM_THREADS)",
        "engine": "the engine of requests that name none: litert (default) or openvino (needs the 'openvino' extra)"})
    p.set_defaults(func=cmd_serve)


def _url(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def addresses(host: str, port: int) -> list[str]:
    """The URLs that reach a server bound to ``host``: for every interface (0.0.0.0, ::), the
    loopback one first, then the machine's own addresses."""
    from .security import WILDCARD_HOSTS, machine_names

    if host not in WILDCARD_HOSTS:
        return [_url("::1" if host == "::1" else host, port)]
    others = sorted(n for n in machine_names() if n not in ("127.0.0.1", "[::1]", "localhost")
                    and not n.startswith(("127.", "[fe80:")) and (host == "::" or not n.startswith("[")))
    return [_url("127.0.0.1", port)] + [_url(n, port) for n in others]


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        print(f"error: {INSTALL_HINT} ({exc})", file=sys.stderr)
        return 2
    from .security import LOOPBACK_NAMES, WILDCARD_HOSTS
    from .service import MB, Settings

    from ..options_cli import options_from_args

    opts = options_from_args(args)   # OptionsError: one line, exit 2 (the CLI's main)

    def settings_for(port: int) -> Settings:
        return Settings(max_image_bytes=int(args.max_image_mb * MB), max_video_bytes=int(args.max_video_mb * MB),
                        decode_budget_bytes=int(args.decode_budget_mb * MB), num_threads=opts.num_threads,
                        engine=opts.engine, host=args.host, port=port, allow_origins=tuple(args.allow_origin))

    settings = settings_for(args.port)
    if args.host in WILDCARD_HOSTS or args.host.strip("[]") not in [n.strip("[]") for n in LOOPBACK_NAMES]:
        print(f"warning: --host {args.host} makes this server reachable from the network, without "
              "authentication: anyone who can reach this machine can use it. Requests must name "
              "this machine (its names and addresses, or an --allow-origin).", file=sys.stderr, flush=True)
    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            if not self.started:
                return
            port = args.port
            if port == 0 and self.servers and self.servers[0].sockets:   # the port the system chose
                port = self.servers[0].sockets[0].getsockname()[1]
                app.state.access.port = port      # the Host/Origin checks use the real port
            urls = addresses(args.host, port)
            print(f"blazepose web page: open {urls[0]}  (API docs: {urls[0]}docs; Ctrl-C stops)", flush=True)
            for u in urls[1:]:
                print(f"  from the network: {u}", flush=True)

    config = uvicorn.Config(app, host=args.host, port=args.port,
                            log_level="info" if args.verbose else "warning",
                            ws_max_size=settings.max_image_bytes + 1024)
    server = Server(config)
    try:
        server.run()
    except SystemExit as exc:   # uvicorn exits 3 when it cannot start (it has logged why)
        if getattr(server, "started", False) or exc.code in (0, None):
            raise
    # Never started (cannot bind, models failed to load): a runtime failure, exit 1 as for the rest
    # of the CLI. Started, then stopped (Ctrl-C): 0.
    if not getattr(server, "started", False):
        print(f"error: cannot serve on {args.host}:{args.port} (the reason is above)", file=sys.stderr)
        return 1
    return 0

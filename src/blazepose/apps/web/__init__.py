"""``blazepose serve``: a local web page to try the pipeline on photos, videos and a webcam.

The server needs the optional ``web`` extra (FastAPI, uvicorn); it is imported only when the
command runs, so the rest of the CLI works without it.
"""
from __future__ import annotations

import argparse
import sys

INSTALL_HINT = "the web page needs the optional 'web' extra: pip install 'blazepose[web]'"


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="a local web page: photos, videos, webcam (needs the 'web' extra)",
                              description="Start a local web server with a page to try BlazePose on photos, "
                                          "videos and a webcam, and its HTTP API (docs at /docs).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-image-mb", type=float, default=20.0, metavar="MB", help="photo upload limit (default 20)")
    p.add_argument("--max-video-mb", type=float, default=200.0, metavar="MB", help="video upload limit (default 200)")
    p.add_argument("--num-threads", type=int, default=None, metavar="N",
                   help="inference threads per model (default: all cores, or $BLAZEPOSE_NUM_THREADS)")
    p.set_defaults(func=cmd_serve)


def _address(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .app import create_app
    except ImportError as exc:
        print(f"error: {INSTALL_HINT} ({exc})", file=sys.stderr)
        return 2
    from .service import MB, Settings

    settings = Settings(max_image_bytes=int(args.max_image_mb * MB), max_video_bytes=int(args.max_video_mb * MB),
                        num_threads=args.num_threads)
    url = _address(args.host, args.port)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started:  # the socket is bound: the address works now
                print(f"blazepose web page: open {url}  (API docs: {url}docs; Ctrl-C stops)", flush=True)

    config = uvicorn.Config(create_app(settings), host=args.host, port=args.port,
                            log_level="info" if args.verbose else "warning",
                            ws_max_size=settings.max_image_bytes + 1024)
    server = Server(config)
    server.run()
    # uvicorn returns normally when it cannot bind (after logging why) or after Ctrl-C.
    return 0 if getattr(server, "started", False) else 1

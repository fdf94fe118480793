"""Bounds on what one request may cost the server: body bytes, declared pixels, and the memory of
the images being decoded at once.

- ``UploadLimit`` (ASGI middleware) counts a request body as it streams and stops reading it at
  the limit: nothing past the limit is stored (not even by the multipart parser's spool file).
- ``image_size`` reads an image's declared width and height from its header (Pillow reads a few
  bytes, decodes no pixel) and refuses more than ``max_pixels`` before anything is decoded.
- ``DecodeBudget`` bounds the memory of decoded images: each decode holds
  ``width × height × BYTES_PER_PIXEL`` bytes of the budget until its request is done (decode,
  inference, drawing); a request that does not fit waits its turn (first come, first served).
  HTTP uploads and webcam frames share one budget.

Nothing here imports FastAPI.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Iterator

from ...errors import BudgetTimeout  # noqa: F401 - raised here, re-exported

MB = 1024 * 1024
# Decoded RGB (3 bytes) plus the copies made on the way (orientation, RGB conversion, the drawn
# copy and PNG buffer of the annotated answers), measured in benchmarks/web_abuse.py.
BYTES_PER_PIXEL = 12
DEFAULT_BUDGET = 1024 * MB


class DecodeBudget:
    """A weighted, first-come-first-served semaphore over bytes of decoded pixels."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, bytes_per_pixel: int = BYTES_PER_PIXEL):
        if budget_bytes <= 0:
            raise ValueError(f"decode budget must be positive, got {budget_bytes}")
        self.budget = int(budget_bytes)
        self.bytes_per_pixel = bytes_per_pixel
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()

    def cost(self, pixels: int) -> int:
        # One image larger than the budget may still run, alone.
        return min(self.budget, max(1, int(pixels) * self.bytes_per_pixel))

    @contextmanager
    def hold(self, pixels: int, timeout: float = 120.0) -> Iterator[None]:
        cost = self.cost(pixels)
        ticket = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
            try:
                while self._queue[0] is not ticket or self.used + cost > self.budget:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise BudgetTimeout(f"waited {timeout:g} s for {cost} bytes of decode memory")
                    self._cond.wait(left)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
            self.used += cost
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._cond:
                self.used -= cost
                self._cond.notify_all()


def image_size(source) -> tuple[int, int] | None:
    """(width, height) an image declares in its header, or None when Pillow cannot identify it.
    ``source``: bytes or a seekable binary file (its position is restored). Pillow raises
    ``Image.DecompressionBombError`` for a header above twice its own cap."""
    import io

    from PIL import Image, UnidentifiedImageError

    f = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    pos = f.tell()
    try:
        with Image.open(f) as im:       # lazy: reads the header only
            return im.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return None
    finally:
        f.seek(pos)


class UploadLimit:
    """ASGI middleware: answer 413 (JSON, with the limit) to a request body larger than its limit.

    ``limits`` maps paths to bytes; every other request with a body gets ``default``. It checks
    Content-Length first, then counts the bytes actually received (chunked uploads) and stops
    passing them on at the limit, so an oversized upload is never stored. Up to ``DRAIN_CAP`` more
    bytes are read and dropped so that the client reads the answer rather than a reset connection;
    beyond that the connection is closed.
    """

    DRAIN_CAP = 4 * MB

    def __init__(self, app, limits: dict[str, int], default: int = 64 * 1024):
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        limit = self.limits.get(scope.get("path", ""), self.default)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._drain(receive, min(int(declared), self.DRAIN_CAP))
            return await self._reject(scope, send, limit, int(declared))
        state = {"n": 0, "over": False, "more": True, "started": False}

        async def counted():
            if state["over"]:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                state["n"] += len(msg.get("body", b""))
                state["more"] = msg.get("more_body", False)
                if state["n"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg):
            if state["over"] and not state["started"]:
                return
            state["started"] = True
            await send(msg)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not state["over"] or state["started"]:
                raise
        if state["over"] and not state["started"]:
            if state["more"]:
                await self._drain(receive, self.DRAIN_CAP)
            await self._reject(scope, send, limit, None)

    @staticmethod
    async def _drain(receive, cap: int) -> None:
        n = 0
        while n < cap:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            n += len(msg.get("body", b""))
            if not msg.get("more_body", False):
                return

    @staticmethod
    async def _reject(scope, send, limit: int, size: int | None) -> None:
        msg = f"{scope.get('path', '')}: upload too large: the limit is {limit} bytes ({limit / MB:.3g} MB)"
        if size is not None:
            msg += f", this one is {size} bytes"
        body = json.dumps({"error": msg, "status": 413, "limit_bytes": limit}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

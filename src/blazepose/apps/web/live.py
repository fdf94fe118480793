"""The webcam socket ``WS /api/live``: frames in, landmarks out, one video-mode session each.

The Host and Origin of the handshake are checked before this runs (``security.HostOriginGuard``).
Every frame is under the same limits as a photo upload: its bytes (``max_image_bytes``; the
server also refuses larger WebSocket messages), its declared pixels (read from the header before
decoding) and the shared decode budget. A refused frame gets a JSON error message; the session
stays open and usable.
"""
from __future__ import annotations

import io
import json
import threading
import time
from typing import TYPE_CHECKING

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from ...errors import BlazePoseError, ModelError
from ...io.images import as_rgb
from .limits import BudgetTimeout, DecodeBudget
from .service import Settings, UploadError, check_image, decode_image_file, options_dict, request_options

if TYPE_CHECKING:
    import numpy as np

NOT_AN_IMAGE = "frame: not an image file (format not recognised)"   # as an HTTP upload's answer


def people_message(res) -> list[dict]:
    """People of a result for drawing: x, y normalized (/ width, / height; x right, y down),
    z in pixels (the scale of x), visibility."""
    xyn = res.xyn
    return [{"id": int(res.ids[i]), "score": round(float(res.scores[i]), 4),
             "landmarks": [[round(float(xyn[i, j, 0]), 5), round(float(xyn[i, j, 1]), 5),
                            round(float(res.landmarks[i, j, 2]), 2), round(float(res.visibility[i, j]), 4)]
                           for j in range(res.num_landmarks)]} for i in range(len(res))]


def _json_kind(v) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number")


def options_message(text: str) -> dict:
    """The options of a text message ``{"options": {name: value, ...}}`` (checked by
    ``request_options``); ``UploadError`` 422 naming what is wrong with its shape."""
    shape = 'a text message must be a JSON object {"options": {...}}'
    try:
        msg = json.loads(text)
    except ValueError:
        raise UploadError(422, f"options: {shape}, not valid JSON") from None
    if not isinstance(msg, dict):
        raise UploadError(422, f"options: {shape}, got {_json_kind(msg)}")
    unknown = sorted(set(msg) - {"options"})
    if unknown:
        raise UploadError(422, f"options: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                               "a text message has one key, options")
    asked = msg.get("options", {})
    if not isinstance(asked, dict):
        raise UploadError(422, f"options: options must be a JSON object of names and values, got {_json_kind(asked)}")
    return asked


def _plain_8bit(data: bytes) -> bool:
    """Whether an image is 8-bit RGB or gray without transparency (read from its header)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.mode in ("RGB", "L") and "transparency" not in im.info
    except Exception:   # noqa: BLE001 - undecidable: the full reader answers
        return False


def _decode_frame(data: bytes, scratch) -> "np.ndarray":
    """A webcam frame's RGB pixels. 8-bit RGB or gray (webcam JPEGs): OpenCV's decoder; anything
    else (alpha, 16 bits, CMYK) or what it cannot decode: the HTTP upload's reader, so the same
    picture gives the same landmarks and the same errors (truncated: 422)."""
    import cv2
    import numpy as np

    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if _plain_8bit(data) else None
    rgb = decode_image_file(io.BytesIO(data), "frame", scratch) if bgr is None else bgr[..., ::-1]
    return as_rgb(rgb, name="frame")   # the pipeline's checks (InputError)


def error_status(exc: BlazePoseError) -> int:
    """The HTTP status the upload routes answer for an error (``handlers``): the same here."""
    if isinstance(exc, UploadError):
        return exc.status
    if isinstance(exc, BudgetTimeout) or isinstance(exc, ModelError):
        return 503
    return 422


class LiveSession:
    """One webcam socket: its options, its landmarker and video session, its clock.

    Binary messages are frames (JPEG/PNG), each answered with one JSON message:
    ``{"width", "height", "ms", "tracked", "people": [{"id", "score", "landmarks": [[x_norm,
    y_norm, z_px, visibility], ...]}]}``, or ``{"error", "status"}`` for a frame that is refused
    (too many bytes or pixels, not an image; the HTTP upload's status and words). A text message
    ``{"options": {...}}`` changes the options: the landmarker for them is loaded then, and options
    it cannot run with (``engine: openvino`` without that extra, a model that cannot be fetched)
    are answered ``{"error", "status"}`` (422, or 503 for a model file) with the old options kept.
    Each session runs in video mode: the detector runs only while nobody is tracked, landmarks are
    smoothed (``smooth_landmarks``); a frame's time is its arrival time on this server (monotonic,
    from the session's first frame), as for a camera without timestamps.
    """

    def __init__(self, ws: WebSocket, settings: Settings, budget: DecodeBudget, scratch):
        self.ws, self.settings, self.budget, self.scratch = ws, settings, budget, scratch
        self.options = request_options({}, settings)
        self.landmarker = self.video = None
        self.t_start: float | None = None
        self.last_ts = -1.0
        self._lock = threading.Lock()     # one inference at a time on this session's landmarker

    async def run(self) -> None:
        """Answer messages until the client disconnects."""
        try:
            while True:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if msg.get("text") is not None:
                    await self.on_options(msg["text"])
                else:
                    await self.on_frame(msg.get("bytes") or b"")
        except WebSocketDisconnect:
            pass
        finally:
            self.close()

    async def send_error(self, exc: BlazePoseError) -> None:
        await self.ws.send_json({"error": str(exc), "status": error_status(exc)})

    def _load(self, opts) -> None:
        """The landmarker and a new video session for ``opts`` (the old ones closed)."""
        from ...api.landmarker import PoseLandmarker

        pl = PoseLandmarker(opts)
        self.close()
        self.landmarker, self.video, self.options = pl, pl.session(), opts
        self.t_start, self.last_ts = None, -1.0

    async def on_options(self, text: str) -> None:
        try:
            new = request_options(options_message(text), self.settings, "options", base=self.options)
            if new != self.options or self.landmarker is None:
                try:
                    await run_in_threadpool(self._load, new)
                except BlazePoseError as exc:   # cannot run with these options: say so, keep the old
                    raise UploadError(error_status(exc), f"options: {exc}") from None
            await self.ws.send_json({"options": options_dict(self.options)})
        except UploadError as exc:
            await self.send_error(exc)

    def _check_frame(self, data: bytes) -> tuple[int, int]:
        """The frame's declared (width, height); ``UploadError`` as for an HTTP upload."""
        if len(data) > self.settings.max_image_bytes:
            raise UploadError(413, f"frame: too large: {len(data)} bytes, the limit is "
                                   f"{self.settings.max_image_bytes} bytes")
        size = check_image(io.BytesIO(data), "frame", self.settings.max_image_pixels)
        if size is None:
            raise UploadError(415, NOT_AN_IMAGE)
        return size

    def _infer(self, data: bytes, ts: float, pixels: int):
        with self.budget.hold(pixels, timeout=30.0):
            rgb = _decode_frame(data, self.scratch)
            with self._lock:
                return self.video.process_frame(rgb, ts)

    async def on_frame(self, data: bytes) -> None:
        t0 = time.perf_counter()
        try:
            w, h = self._check_frame(data)
            if self.landmarker is None:
                await run_in_threadpool(self._load, self.options)
            if self.t_start is None:
                self.t_start = t0
            ts = max((t0 - self.t_start) * 1000.0, self.last_ts + 0.001)   # strictly increasing
            res = await run_in_threadpool(self._infer, data, ts, w * h)
        except BudgetTimeout:
            await self.ws.send_json({"error": "frame: the server is busy decoding other images; "
                                              "frame dropped", "status": 503})
            return
        except BlazePoseError as exc:
            await self.send_error(exc)
            return
        self.last_ts = ts
        await self.ws.send_json({"width": res.width, "height": res.height, "people": people_message(res),
                                 "tracked": not res.meta.get("detector", True),
                                 "ms": round((time.perf_counter() - t0) * 1000, 1)})

    def close(self) -> None:
        if self.landmarker is not None:
            with self._lock:
                self.landmarker.close()
        self.landmarker = self.video = None


def add_live_route(app: FastAPI, settings: Settings, budget: DecodeBudget) -> None:
    """``WS /api/live``: one ``LiveSession`` per socket, at most ``max_live_sessions`` at once."""
    live_slots = threading.BoundedSemaphore(settings.max_live_sessions)

    @app.websocket("/api/live")
    async def live(ws: WebSocket):
        """Webcam frames in, landmarks out (``LiveSession`` describes the messages)."""
        await ws.accept()
        if not live_slots.acquire(blocking=False):
            await ws.send_json({"error": f"{settings.max_live_sessions} webcam sessions are already running; "
                                         "try again later"})
            await ws.close(code=1013)
            return
        try:
            await LiveSession(ws, settings, budget, app.state.root / "scratch").run()
        finally:
            live_slots.release()

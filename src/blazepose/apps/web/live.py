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

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from ...errors import BlazePoseError, InputError
from ...io.images import as_rgb
from .limits import BudgetTimeout, DecodeBudget
from .service import Settings, UploadError, check_image, decode_image_file, options_dict, request_options

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


def add_live_route(app: FastAPI, settings: Settings, budget: DecodeBudget) -> None:
    live_slots = threading.BoundedSemaphore(settings.max_live_sessions)

    @app.websocket("/api/live")
    async def live(ws: WebSocket):
        """Webcam frames as binary JPEG/PNG messages; each answered with one JSON message:
        ``{"width", "height", "ms", "tracked", "people": [{"id", "score", "landmarks": [[x_norm,
        y_norm, z_px, visibility], ...]}]}``, or ``{"error": ...}`` for a frame that is refused
        (too many bytes or pixels, not an image). A text message ``{"options": {...}}`` changes
        the options. Each session runs in video mode with a landmarker of its own: the detector
        runs only while nobody is tracked, landmarks are smoothed (``smooth_landmarks``); a
        frame's time is its arrival time on this server (monotonic, from the session's first
        frame), as for a camera without timestamps."""
        import cv2
        import numpy as np

        from ...api.landmarker import PoseLandmarker

        await ws.accept()
        if not live_slots.acquire(blocking=False):
            await ws.send_json({"error": f"{settings.max_live_sessions} webcam sessions are already running; "
                                         "try again later"})
            await ws.close(code=1013)
            return
        opts, pl, t_start, last_ts = request_options({}, settings), None, None, -1.0
        lock = threading.Lock()     # one inference at a time for this session's landmarker
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if msg.get("text") is not None:
                    try:
                        new = request_options(options_message(msg["text"]), settings, "options", base=opts)
                        if new != opts and pl is not None:
                            with lock:
                                pl.close()
                            pl, t_start, last_ts = None, None, -1.0
                        opts = new
                        await ws.send_json({"options": options_dict(opts)})
                    except UploadError as exc:
                        await ws.send_json({"error": str(exc), "status": exc.status})
                    continue
                data = msg.get("bytes") or b""
                if len(data) > settings.max_image_bytes:
                    await ws.send_json({"error": f"frame: too large: {len(data)} bytes, the limit is "
                                                 f"{settings.max_image_bytes} bytes", "status": 413})
                    continue
                try:
                    size = check_image(io.BytesIO(data), "frame", settings.max_image_pixels)
                except UploadError as exc:
                    await ws.send_json({"error": str(exc), "status": exc.status})
                    continue
                if size is None:
                    await ws.send_json({"error": NOT_AN_IMAGE, "status": 415})
                    continue
                t0 = time.perf_counter()
                if t_start is None:
                    t_start = t0
                ts = max((t0 - t_start) * 1000.0, last_ts + 0.001)   # strictly increasing
                if pl is None:
                    pl = await run_in_threadpool(PoseLandmarker, opts)

                def work(data=data, pl=pl, ts=ts, pixels=size[0] * size[1]):
                    with budget.hold(pixels, timeout=30.0):
                        # 8-bit RGB or gray (webcam JPEGs): OpenCV's decoder; anything else (alpha,
                        # 16 bits, CMYK) or what it cannot decode: the HTTP upload's reader, so the
                        # same picture gives the same landmarks and the same errors (truncated 422).
                        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) \
                            if _plain_8bit(data) else None
                        if bgr is None:
                            rgb = decode_image_file(io.BytesIO(data), "frame", app.state.root / "scratch")
                        else:
                            rgb = bgr[..., ::-1]
                        rgb = as_rgb(rgb, name="frame")   # the pipeline's checks (InputError)
                        with lock:
                            return pl.process_frame(rgb, ts)

                try:
                    res = await run_in_threadpool(work)
                except BudgetTimeout:
                    await ws.send_json({"error": "frame: the server is busy decoding other images; "
                                                 "frame dropped", "status": 503})
                    continue
                except UploadError as exc:
                    await ws.send_json({"error": str(exc), "status": exc.status})
                    continue
                except InputError as exc:
                    await ws.send_json({"error": str(exc), "status": 422})
                    continue
                last_ts = ts
                await ws.send_json({"width": res.width, "height": res.height, "people": people_message(res),
                                    "tracked": not res.meta.get("detector", True),
                                    "ms": round((time.perf_counter() - t0) * 1000, 1)})
        except WebSocketDisconnect:
            pass
        except BlazePoseError as exc:
            await ws.close(code=1011, reason=str(exc)[:120])
        finally:
            live_slots.release()
            if pl is not None:
                with lock:
                    pl.close()

"""Jitter and lag of raw, causal-smoothed and offline-smoothed landmarks.

Clips: (1) a still clip: the reference photo pose.jpg repeated with Gaussian sensor noise
(sigma 2 grey levels per pixel), 30 fps timestamps; (2) the squats fixture with its real
timestamps (5 fps). For each output:

- jitter: the mean frame-to-frame landmark acceleration |x[t+1] - 2 x[t] + x[t-1]| (pixels, over
  frames, the 33 landmarks and both axes as a 2-D norm); on the still clip all of it is jitter;
- lag against raw on a moving joint (the left hip's height in the squats): the shift, in ms, that
  maximises the cross-correlation with the raw signal (sub-frame by a parabola through the peak);
  positive = behind raw.

    .venv/bin/python benchmarks/video_jitter.py [--quick] [--model full]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REF = HERE.parents[0] / "tests" / "data" / "reference"


def acceleration(a: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(a, 2, axis=0), axis=-1).mean())


def lag_ms(x: np.ndarray, raw: np.ndarray, dt_ms: float, max_shift: int = 5) -> float:
    x, raw = x - x.mean(), raw - raw.mean()
    shifts = np.arange(-max_shift, max_shift + 1)
    cc = np.array([np.dot(x[max(0, s):len(x) + min(0, s)], raw[max(0, -s):len(raw) - max(0, s)]) /
                   (len(x) - abs(s)) for s in shifts])
    i = int(np.argmax(cc))
    frac = 0.0
    if 0 < i < len(cc) - 1:
        den = cc[i - 1] - 2 * cc[i] + cc[i + 1]
        frac = 0.5 * (cc[i - 1] - cc[i + 1]) / den if den != 0 else 0.0
    return float((shifts[i] + frac) * dt_ms)


def still_clip(n: int, seed: int = 0):
    from blazepose.io.images import read_image

    img = read_image(REF / "pose.jpg").astype(np.float32)
    rng = np.random.default_rng(seed)
    for i in range(n):
        yield i * 1000.0 / 30.0, np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)


def run_frames(model: str, frames, smooth: bool) -> np.ndarray:
    from blazepose import PoseLandmarker

    with PoseLandmarker(model, smooth_landmarks=smooth) as pl:
        session = pl.session()
        return np.stack([session.process_frame(f, t).landmarks[0, :, :2] for t, f in frames])


def offline_from_raw_frames(model: str, frames) -> np.ndarray:
    """Offline smoothing of in-memory frames through the library's own path: the frames go into a
    lossless FFV1 video (PyAV; the noise is kept exactly), read back by ``process_video``."""
    import tempfile
    from fractions import Fraction

    import av

    from blazepose import PoseLandmarker

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "still.mkv"
        with av.open(str(path), mode="w") as out:
            h, w = frames[0][1].shape[:2]
            stream = out.add_stream("ffv1", rate=Fraction(30, 1))
            stream.width, stream.height, stream.pix_fmt = w, h, "bgr0"
            for _, f in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="bgr0")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        with PoseLandmarker(model) as pl:
            rs = list(pl.process_video(path, offline_smoothing=True))
    return np.stack([r.landmarks[0, :, :2] for r in rs])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="full")
    ap.add_argument("--still-frames", type=int, default=90)
    ap.add_argument("--quick", action="store_true", help="30 still frames, first 30 squats frames")
    a = ap.parse_args()
    from blazepose import PoseLandmarker

    n_still = 30 if a.quick else a.still_frames
    still = list(still_clip(n_still))
    rows = [("still (pose.jpg + noise)", run_frames(a.model, still, False), run_frames(a.model, still, True),
             offline_from_raw_frames(a.model, still), None)]
    squats = REF / "pose_squats.mp4"
    res = {}
    for key, kw in (("raw", {"smooth_landmarks": False}), ("causal", {}), ("offline", {})):
        with PoseLandmarker(a.model, **kw) as pl:
            rs = list(pl.process_video(squats, offline_smoothing=key == "offline"))
        if a.quick:
            rs = rs[:30]
        res[key] = np.stack([r.landmarks[0, :, :2] for r in rs])
    dt = float(rs[1].timestamp_ms - rs[0].timestamp_ms)
    rows.append(("squats (5 fps)", res["raw"], res["causal"], res["offline"], dt))
    print(f"model {a.model}; jitter = mean landmark acceleration (px/frame^2); lag vs raw on the left hip's y (ms)")
    print(f"{'clip':<26}{'raw':>9}{'causal':>9}{'offline':>9}   {'lag causal':>11}{'lag offline':>12}")
    for name, raw, causal, off, dt in rows:
        if dt is None:
            lags = ("-", "-")
        else:
            lags = tuple(f"{lag_ms(x[:, 23, 1], raw[:, 23, 1], dt):.1f}" for x in (causal, off))
        print(f"{name:<26}{acceleration(raw):>9.3f}{acceleration(causal):>9.3f}{acceleration(off):>9.3f}"
              f"   {lags[0]:>11}{lags[1]:>12}", flush=True)


if __name__ == "__main__":
    main()

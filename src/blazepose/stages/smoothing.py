"""Temporal filters for video mode (pipeline.md §5), driven by the frames' real timestamps.

All filters are vectorized: one filter object smooths a whole array (for example the 33×3
landmark coordinates) with one state per element. Times are in seconds.

- ``OneEuroFilter``: MediaPipe's variant of the one-euro filter: the derivative is multiplied by
  ``value_scale`` (1 / object scale in pixels for image landmarks, 1 for world landmarks), the
  sampling frequency comes from the time between frames, the first value passes unchanged.
- ``LowPassFilter``: exponential moving average ``out = alpha·new + (1 − alpha)·prev`` (visibility).
- ``SegmentationSmoother``: MediaPipe's uncertainty-weighted blend of the new and previous mask.
- ``PoseSmoother``: one person's filters together (landmarks, visibility, world, aux points).
- ``smooth_offline``: the forward-backward (zero-lag) smoother for whole files.

Landmark filters work in pixels (x, y, z with z in the scale of x), as MediaPipe's do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: (min_cutoff, beta, derivate_cutoff) per stream, from MediaPipe's pose_landmark_filtering graph.
LANDMARK_FILTER = (0.05, 80.0, 1.0)
WORLD_FILTER = (0.1, 40.0, 1.0)
AUX_FILTER = (0.01, 10.0, 1.0)
VISIBILITY_ALPHA = 0.1
SEGMENTATION_RATIO = 0.7
#: Below this object scale (pixels) landmark smoothing is skipped for the frame.
MIN_OBJECT_SCALE = 1e-6
#: Frequency assumed before two timestamps have been seen (MediaPipe's option default).
INITIAL_FREQUENCY = 30.0


def _alpha(cutoff, frequency: float):
    """Smoothing factor of an EMA with the given cutoff (Hz) at the given sampling rate."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    te = 1.0 / frequency
    return 1.0 / (1.0 + tau / te)


class LowPassFilter:
    """Element-wise EMA: the first value passes; then ``alpha·new + (1 − alpha)·prev``."""

    def __init__(self, alpha: float):
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = float(alpha)
        self.value: np.ndarray | None = None

    def reset(self) -> None:
        self.value = None

    def apply(self, value) -> np.ndarray:
        v = np.asarray(value, dtype=np.float64)
        if self.value is None or self.value.shape != v.shape:
            self.value = v.copy()
        else:
            self.value = self.alpha * v + (1.0 - self.alpha) * self.value
        return self.value.copy()


class OneEuroFilter:
    """Element-wise one-euro filter (Casiez et al. 2012) in MediaPipe's form.

    For each new value x at time t (seconds; strictly increasing): frequency = 1 / (t − t_prev);
    dx = (x − x_prev_raw) · value_scale · frequency (0 on the first value);
    edx = EMA(dx, alpha(derivate_cutoff)); cutoff = min_cutoff + beta·|edx|;
    out = EMA(x, alpha(cutoff)), where alpha(c) = 1 / (1 + τ/Te), τ = 1/(2πc), Te = 1/frequency.
    A time that does not increase returns the value unfiltered and leaves the state unchanged.
    """

    def __init__(self, min_cutoff: float, beta: float, derivate_cutoff: float,
                 frequency: float = INITIAL_FREQUENCY):
        if min_cutoff <= 0 or derivate_cutoff <= 0 or frequency <= 0:
            raise ValueError("min_cutoff, derivate_cutoff and frequency must be > 0")
        self.min_cutoff, self.beta, self.derivate_cutoff = float(min_cutoff), float(beta), float(derivate_cutoff)
        self.initial_frequency = float(frequency)
        self.reset()

    def reset(self) -> None:
        self.frequency = self.initial_frequency
        self.last_time: float | None = None
        self.raw: np.ndarray | None = None      # last raw value
        self.value: np.ndarray | None = None    # last filtered value
        self.dvalue: np.ndarray | None = None   # last filtered derivative

    def apply(self, value, t: float, value_scale: float = 1.0) -> np.ndarray:
        x = np.asarray(value, dtype=np.float64)
        if self.last_time is not None and t <= self.last_time:
            return x.copy()
        if self.last_time is not None:
            self.frequency = 1.0 / (t - self.last_time)
        self.last_time = t
        if self.raw is None or self.raw.shape != x.shape:
            dx = np.zeros_like(x)
            self.dvalue = dx
            out = x.copy()
        else:
            dx = (x - self.raw) * (value_scale * self.frequency)
            self.dvalue = self.dvalue + _alpha(self.derivate_cutoff, self.frequency) * (dx - self.dvalue)
            a = _alpha(self.min_cutoff + self.beta * np.abs(self.dvalue), self.frequency)
            out = self.value + a * (x - self.value)
        self.raw = x.copy()
        self.value = out
        return out.copy()


def segmentation_uncertainty(mask: np.ndarray) -> np.ndarray:
    """MediaPipe's polynomial approximation of a mask value's uncertainty (1 at 0.5, 0 near 0/1)."""
    t = mask.astype(np.float32) - np.float32(0.5)
    x = t * t
    c1, c2, c3, c4, c5 = 5.68842, -0.748699, -57.8051, 291.309, -624.717
    p = x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5))))
    return 1.0 - np.minimum(1.0, p)


class SegmentationSmoother:
    """``out = new + (prev − new)·uncertainty(new)·ratio`` with the previous *output* mask."""

    def __init__(self, ratio: float = SEGMENTATION_RATIO):
        self.ratio = float(ratio)
        self.prev: np.ndarray | None = None

    def reset(self) -> None:
        self.prev = None

    def apply(self, mask: np.ndarray) -> np.ndarray:
        new = np.asarray(mask, dtype=np.float32)
        if self.prev is None or self.prev.shape != new.shape:
            out = new.copy()
        else:
            w = segmentation_uncertainty(new) * np.float32(self.ratio)
            out = new + (self.prev - new) * w
        self.prev = out
        return out


def object_scale(aux_center, aux_scale_point) -> float:
    """Object scale in pixels from the raw aux points: (roi_w + roi_h) / 2 of the un-expanded ROI.

    The un-expanded ROI is the square of side 2·|scale_point − centre|, so both sides are equal.
    """
    return 2.0 * math.hypot(float(aux_scale_point[0]) - float(aux_center[0]),
                            float(aux_scale_point[1]) - float(aux_center[1]))


@dataclass
class SmoothedPose:
    """One person's smoothed values for one frame (pixels; world in metres)."""

    landmarks: np.ndarray   # (K, 3)
    visibility: np.ndarray  # (K,)
    world: np.ndarray       # (K, 3)
    aux: np.ndarray         # (2, 3): smoothed aux points 33 and 34


class PoseSmoother:
    """The filters of one tracked person (pipeline.md §5).

    ``smooth_landmarks=False`` passes landmarks, visibility and world points through; the aux
    points are always smoothed because the next frame's ROI comes from them.
    """

    def __init__(self, smooth_landmarks: bool = True):
        self.smooth_landmarks = bool(smooth_landmarks)
        self.landmarks = OneEuroFilter(*LANDMARK_FILTER)
        self.world = OneEuroFilter(*WORLD_FILTER)
        self.visibility = LowPassFilter(VISIBILITY_ALPHA)
        self.aux = OneEuroFilter(*AUX_FILTER)
        self.aux_visibility = LowPassFilter(VISIBILITY_ALPHA)

    def reset(self) -> None:
        for f in (self.landmarks, self.world, self.visibility, self.aux, self.aux_visibility):
            f.reset()

    def apply(self, landmarks: np.ndarray, visibility: np.ndarray, world: np.ndarray,
              aux: np.ndarray, t: float) -> SmoothedPose:
        """Smooth one frame: ``landmarks`` (K, 3) px, ``aux`` (2, 3) raw points 33/34 px, ``t`` s."""
        scale = object_scale(aux[0], aux[1])
        value_scale = 1.0 / scale if scale >= MIN_OBJECT_SCALE else None
        aux_s = aux if value_scale is None else self.aux.apply(aux, t, value_scale)
        if not self.smooth_landmarks:
            return SmoothedPose(np.asarray(landmarks, np.float64), np.asarray(visibility, np.float64),
                                np.asarray(world, np.float64), np.asarray(aux_s, np.float64))
        vis = self.visibility.apply(visibility)
        lm = landmarks if value_scale is None else self.landmarks.apply(landmarks, t, value_scale)
        wo = self.world.apply(world, t, 1.0)
        return SmoothedPose(np.asarray(lm, np.float64), vis, wo, np.asarray(aux_s, np.float64))


# ---- offline (whole-file) smoothing --------------------------------------------------------------
def _one_euro_pass(values: np.ndarray, times: np.ndarray, params, scales: np.ndarray | None) -> np.ndarray:
    f = OneEuroFilter(*params)
    out = np.empty_like(values, dtype=np.float64)
    for i in range(len(values)):
        out[i] = f.apply(values[i], float(times[i]), 1.0 if scales is None else float(scales[i]))
    return out


def smooth_offline(values: np.ndarray, times_s: np.ndarray, params=LANDMARK_FILTER,
                   value_scales: np.ndarray | None = None) -> np.ndarray:
    """Zero-lag smoothing of one uninterrupted track: (T, ...) values at strictly increasing times.

    The causal one-euro filter with the same parameters runs forwards in time and, separately,
    backwards (on the time-reversed sequence, times mirrored); the result is the mean of the two.
    The forward pass lags a movement by as much as the backward pass leads it, so the mean has
    no systematic lag, while each pass removes the jitter the causal filter removes and their
    mean averages what is left. The smoother is symmetric in time (the result on the reversed
    input is the reversed result). ``value_scales`` (T,) are the per-frame derivative scales
    (1 / object scale for image landmarks).
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(times_s, dtype=np.float64)
    if len(v) < 3:
        return v.copy()
    fwd = _one_euro_pass(v, t, params, value_scales)
    rev_scales = None if value_scales is None else np.asarray(value_scales)[::-1]
    bwd = _one_euro_pass(v[::-1], (t[-1] - t)[::-1], params, rev_scales)[::-1]
    return 0.5 * (fwd + bwd)


def smooth_offline_ema(values: np.ndarray, alpha: float = VISIBILITY_ALPHA) -> np.ndarray:
    """Forward-backward mean of the visibility EMA (zero lag), for (T, ...) values."""
    v = np.asarray(values, dtype=np.float64)
    f, b = LowPassFilter(alpha), LowPassFilter(alpha)
    fwd = np.stack([f.apply(x) for x in v]) if len(v) else v.copy()
    bwd = np.stack([b.apply(x) for x in v[::-1]])[::-1] if len(v) else v.copy()
    return 0.5 * (fwd + bwd)

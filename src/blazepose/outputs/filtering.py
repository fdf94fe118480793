"""Time-series clean-up for angle analysis: gap interpolation and a zero-phase Butterworth low-pass.

Both work on arrays (F, ...) sampled at a constant rate, column by column, NaN marking a gap:

- ``fill_gaps(x, max_gap)``: a gap of at most ``max_gap`` frames between two known values is
  filled by linear interpolation; longer gaps, and gaps at the start or end, stay NaN.
- ``butterworth(x, rate_hz, cutoff_hz, order)``: ``scipy.signal.butter`` + ``filtfilt`` (forward
  and backward, so no lag and the order doubles in effect). Each stretch of known values is
  filtered alone (a filter cannot cross a gap); a stretch too short for ``filtfilt``'s padding
  (``3 × (order + 1)`` frames or fewer) is left as it is. Needs scipy (``blazepose[analysis]``).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, MissingDependencyError


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def fill_gaps(x: np.ndarray, max_gap: int) -> np.ndarray:
    """A copy of ``x`` (F, ...) with interior NaN gaps of at most ``max_gap`` frames linearly
    interpolated, column by column."""
    x = np.array(x, np.float64)
    if max_gap <= 0 or len(x) < 3:
        return x
    flat = x.reshape(len(x), -1)
    idx = np.arange(len(x))
    for c in range(flat.shape[1]):
        col = flat[:, c]
        ok = np.isfinite(col)
        for a, b in _runs(~ok):
            if a > 0 and b < len(col) and b - a <= max_gap:
                col[a:b] = np.interp(idx[a:b], [a - 1, b], [col[a - 1], col[b]])
    return flat.reshape(x.shape)


def butterworth(x: np.ndarray, rate_hz: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """A copy of ``x`` (F, ...) low-passed at ``cutoff_hz`` (zero phase), column by column.

    Raises ``InputError`` when the cut-off is not below the Nyquist frequency (``rate_hz / 2``)
    or the order is not positive, ``MissingDependencyError`` without scipy."""
    try:
        from scipy.signal import butter, filtfilt
    except ImportError:
        raise MissingDependencyError("the Butterworth filter needs scipy: pip install 'blazepose[analysis]'") from None
    if not (0 < cutoff_hz < rate_hz / 2):
        raise InputError(f"Butterworth cut-off {cutoff_hz} Hz: must be above 0 and below half the frame rate "
                         f"({rate_hz / 2:g} Hz)")
    if order < 1:
        raise InputError(f"Butterworth order {order}: must be 1 or more")
    b, a = butter(order, cutoff_hz / (rate_hz / 2), btype="low")
    pad = 3 * max(len(a), len(b))
    x = np.array(x, np.float64)
    flat = x.reshape(len(x), -1)
    for c in range(flat.shape[1]):
        col = flat[:, c]
        for s, e in _runs(np.isfinite(col)):
            if e - s > pad:
                col[s:e] = filtfilt(b, a, col[s:e])
    return flat.reshape(x.shape)

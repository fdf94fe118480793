"""Offline (zero-lag) smoothing of a whole video's tracked poses, on named records. No I/O.

Video mode's first pass records, per frame, a ``RawFrame`` holding one ``PersonPose`` per tracked
person (raw landmarks, before any landmark filter; float32 to keep a long video small) and its
object scale. ``smooth_tracks`` then runs the forward-backward filters of ``stages.smoothing``
over each unbroken stretch of each id (a person re-identified after a gap starts a new stretch, so
the gap is not bridged) and returns, per frame, the people with smoothed landmarks, visibility and
world points (presence, score and ROI as recorded).

Coordinates: landmarks in image pixels (x right, y down, z in the scale of x), world in metres;
times in milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from . import smoothing as sm
from .landmarks import PersonPose


@dataclass(frozen=True)
class RawFrame:
    """One analysed frame: its index, time, size (width, height), people (33 body landmarks each,
    raw), whether the detector ran, and each person's object scale in pixels from the aux points
    (``smoothing.object_scale``, same order as ``people``)."""

    index: int
    timestamp_ms: float
    size: tuple[int, int]
    people: list[PersonPose] = field(default_factory=list)
    detector: bool = False
    scales: list[float] = field(default_factory=list)


def stretches(frames: list[RawFrame]) -> list[list[tuple[int, int]]]:
    """Each id's unbroken runs of consecutive frames, as ``(frame position, person position)``."""
    runs: dict[int, list[list[tuple[int, int]]]] = {}
    for i, f in enumerate(frames):
        for j, person in enumerate(f.people):
            own = runs.setdefault(person.id, [])
            if not own or own[-1][-1][0] != i - 1:   # first seen, or back after a gap
                own.append([])
            own[-1].append((i, j))
    return [run for own in runs.values() for run in own]


def smooth_tracks(frames: list[RawFrame], smooth_landmarks: bool = True) -> list[list[PersonPose]]:
    """Per frame, its people (same order as ``frame.people``) with zero-lag smoothed landmarks,
    visibility and world points (float64).

    With ``smooth_landmarks`` off the raw values are returned (as float64).
    """
    out: list[list[PersonPose | None]] = [[None] * len(f.people) for f in frames]
    for run in stretches(frames):
        people = [frames[i].people[j] for i, j in run]
        lm = np.stack([p.landmarks for p in people]).astype(np.float64)
        vis = np.stack([p.visibility for p in people]).astype(np.float64)
        wo = np.stack([p.world for p in people]).astype(np.float64)
        if smooth_landmarks:
            t = np.array([frames[i].timestamp_ms for i, _ in run]) / 1000.0
            raw = [frames[i].scales[j] for i, j in run]
            scales = np.array([1.0 / s if s >= sm.MIN_OBJECT_SCALE else 0.0 for s in raw])
            lm = sm.smooth_offline(lm, t, sm.LANDMARK_FILTER, scales)
            wo = sm.smooth_offline(wo, t, sm.WORLD_FILTER)
            vis = sm.smooth_offline_ema(vis)
        for n, (i, j) in enumerate(run):
            out[i][j] = replace(frames[i].people[j], landmarks=lm[n], visibility=vis[n], world=wo[n])
    return out  # type: ignore[return-value]

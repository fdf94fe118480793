"""Offline (zero-lag) smoothing of a whole video's tracked poses, on named records. No I/O.

Video mode's first pass records, per frame, a ``RawFrame`` holding one ``RawPose`` per tracked
person (raw landmarks, before any landmark filter). ``smooth_tracks`` then runs the
forward-backward filters of ``stages.smoothing`` over each unbroken stretch of each id (a person
re-identified after a gap starts a new stretch, so the gap is not bridged) and returns, per frame
and person, the smoothed ``(landmarks, visibility, world)``.

Coordinates: landmarks in image pixels (x right, y down, z in the scale of x), world in metres;
times in milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import smoothing as sm


@dataclass(frozen=True)
class RawPose:
    """One tracked person on one frame, as the landmark model gave it (33 body landmarks)."""

    track_id: int
    landmarks: np.ndarray      # (33, 3) pixels
    visibility: np.ndarray     # (33,)
    presence: np.ndarray       # (33,)
    world: np.ndarray          # (33, 3) metres
    score: float
    roi: np.ndarray            # (5,) cx, cy, width, height, rotation
    scale: float               # object scale from the aux points (pixels), see smoothing.object_scale


@dataclass(frozen=True)
class RawFrame:
    """One analysed frame: its index, time, size (width, height), people and whether the detector ran."""

    index: int
    timestamp_ms: float
    size: tuple[int, int]
    people: list[RawPose] = field(default_factory=list)
    detector: bool = False


@dataclass(frozen=True)
class SmoothedValues:
    """A person's smoothed values on one frame."""

    landmarks: np.ndarray
    visibility: np.ndarray
    world: np.ndarray


def stretches(frames: list[RawFrame]) -> list[list[tuple[int, int]]]:
    """Each id's unbroken runs of consecutive frames, as ``(frame position, person position)``."""
    runs: dict[int, list[list[tuple[int, int]]]] = {}
    for i, f in enumerate(frames):
        for j, person in enumerate(f.people):
            own = runs.setdefault(person.track_id, [])
            if not own or own[-1][-1][0] != i - 1:   # first seen, or back after a gap
                own.append([])
            own[-1].append((i, j))
    return [run for own in runs.values() for run in own]


def smooth_tracks(frames: list[RawFrame], smooth_landmarks: bool = True) -> list[list[SmoothedValues]]:
    """Per frame, per person (same order as ``frame.people``): the zero-lag smoothed values.

    With ``smooth_landmarks`` off the raw values are returned unchanged.
    """
    out: list[list[SmoothedValues | None]] = [[None] * len(f.people) for f in frames]
    for run in stretches(frames):
        people = [frames[i].people[j] for i, j in run]
        lm = np.stack([p.landmarks for p in people]).astype(np.float64)
        vis = np.stack([p.visibility for p in people]).astype(np.float64)
        wo = np.stack([p.world for p in people]).astype(np.float64)
        if smooth_landmarks:
            t = np.array([frames[i].timestamp_ms for i, _ in run]) / 1000.0
            scales = np.array([1.0 / p.scale if p.scale >= sm.MIN_OBJECT_SCALE else 0.0 for p in people])
            lm = sm.smooth_offline(lm, t, sm.LANDMARK_FILTER, scales)
            wo = sm.smooth_offline(wo, t, sm.WORLD_FILTER)
            vis = sm.smooth_offline_ema(vis)
        for n, (i, j) in enumerate(run):
            out[i][j] = SmoothedValues(lm[n], vis[n], wo[n])
    return out  # type: ignore[return-value]

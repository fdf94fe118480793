"""Our own angles in OpenSim's storage format (``.mot``): ``--mot FILE.mot``.

One file per person (several people: ``NAME.id<ID>.mot``; ``person=ID``: only that id), one row
per frame of the run with its real time in seconds (``time``), every angle in degrees, ``NaN``
where the person is missing. Columns:

- ``<joint>_3d`` and ``<joint>_2d`` for each joint of ``outputs.angles`` (``left_elbow``,
  …, ``right_ankle``): the unsigned angle at the joint, 0 to 180, 180 = straight (3-D from the
  world landmarks, 2-D from the image);
- ``<segment>`` for each segment of ``outputs.segments`` (feet, shanks, thighs, pelvis, trunk,
  shoulders, arms, forearms, hands): its orientation in the picture from the horizontal.

Options applied on close, in this order: ``fill_gaps`` (frames; interpolate gaps up to that long)
then ``filter_hz`` / ``filter_order`` (zero-phase Butterworth low-pass), see ``outputs.filtering``.
OpenSim's IK ``.mot`` uses the same format, so the same tools plot both.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..api.result import PoseResult
from .angles import JOINT_NAMES, joint_angles
from .filtering import butterworth, fill_gaps
from .markers import PersonSeries
from .segments import SEGMENT_NAMES, segment_angles
from .storage import write_storage

MOT_COLUMNS: tuple[str, ...] = (tuple(f"{j}_3d" for j in JOINT_NAMES) + tuple(f"{j}_2d" for j in JOINT_NAMES)
                                + SEGMENT_NAMES)


def angle_columns(result: PoseResult) -> np.ndarray:
    """(N, C) the ``MOT_COLUMNS`` values of the N people of one result."""
    ja = joint_angles(result)
    return np.concatenate([ja.angles_3d, ja.angles_2d, segment_angles(result)], axis=1)


class AnglesMotWriter(PersonSeries):
    """Joint and segment angles per person to an OpenSim ``.mot`` (see the module's docstring)."""

    def __init__(self, path: str | os.PathLike, *, person: int | None = None, fill_gaps: int = 0,
                 filter_hz: float | None = None, filter_order: int = 4):
        super().__init__(path, person=person)
        self.max_gap = int(fill_gaps)
        self.filter_hz = filter_hz
        self.filter_order = filter_order

    def _values(self, result: PoseResult) -> dict[int, np.ndarray]:
        vals = angle_columns(result)
        return {int(i): vals[n] for n, i in enumerate(result.ids)}

    def clean(self, series: np.ndarray, rate: float) -> np.ndarray:
        """Fill gaps, then low-pass, as the writer's options say."""
        out = fill_gaps(series, self.max_gap) if self.max_gap else series
        return butterworth(out, rate, self.filter_hz, self.filter_order) if self.filter_hz else out

    def _write_person(self, path: Path, person_id: int, times: np.ndarray, series: np.ndarray, rate: float) -> None:
        notes = [f"blazepose angles, person {person_id}", f"fill_gaps={self.max_gap}",
                 f"filter={'none' if not self.filter_hz else f'butterworth {self.filter_hz:g} Hz order {self.filter_order}'}"]
        write_storage(path, path.stem, MOT_COLUMNS, times, self.clean(series, rate), comments=notes)

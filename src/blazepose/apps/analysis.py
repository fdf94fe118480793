"""``--angles``, ``--plot`` and ``--reps`` for commands that process a video, frame by frame.

A command adds the options with ``add_video_analysis_options(parser)`` and wraps its loop in
``VideoAnalysis(args, meta)``: ``write(result)`` per frame (angles stream to disk as they come),
and on leaving the ``with`` block, also after an error or Ctrl-C, the angle summary, the plot
and the rep count of the frames processed so far are written.

Several people: the angles and their summary are per track id already; repetitions are counted
for every id separately (one line each, ``"people"`` in the JSON's ``"reps"``, each with its
``"person"``); the plot shows ``--person ID`` or else the id seen in most frames. ``--fill-gaps``
and ``--filter-hz`` (``apps.biomech``) clean the plotted series; the streamed angle files stay
raw, frame by frame.
"""
from __future__ import annotations

import sys

from ..outputs.reps import EXERCISES


def add_video_analysis_options(p) -> None:
    p.add_argument("--angles", metavar="FILE",
                   help="joint angles of every frame, .csv or .json, with a range-of-motion summary")
    p.add_argument("--plot", metavar="OUT.png",
                   help="joint angles over time, one panel per joint pair (needs matplotlib)")
    p.add_argument("--reps", metavar="EXERCISE", choices=list(EXERCISES),
                   help=f"count repetitions: {', '.join(EXERCISES)}")


class VideoAnalysis:
    """Joint angles, their plot and a rep count over the frames of one video."""

    def __init__(self, args, meta: dict | None = None, stream=None):
        from ..outputs.angles import AnglesWriter
        from ..outputs.reps import RepCounter

        self.stream = stream or sys.stdout
        self.plot_path = getattr(args, "plot", None)
        if self.plot_path:
            from ..outputs.plot import require_matplotlib

            require_matplotlib()         # fail before the video runs, not after
        self.angles = AnglesWriter(args.angles, meta) if getattr(args, "angles", None) else None
        self.exercise = getattr(args, "reps", None)
        self.counters: dict[int, RepCounter] = {}
        self.args = args
        self._frames: list = []
        self._closed = False

    @property
    def active(self) -> bool:
        return bool(self.angles or self.exercise or self.plot_path)

    @property
    def counter(self):
        """The rep counter of the person seen in most frames (None without ``--reps`` or anybody)."""
        if not self.counters:
            return None
        return max(self.counters.values(), key=lambda c: (sum(v == v for v in c.signal), -c.person))

    #: Sink protocol (see ``outputs.export``).
    needs_images = False

    def skip(self, frame_index, timestamp_ms, error) -> None:
        """A frame that could not be read: nothing to measure."""

    def write(self, result, image=None) -> None:
        from ..outputs.angles import joint_angles

        if not self.active:
            return
        ja = joint_angles(result)
        self._frames.append(ja)
        if self.angles:
            self.angles.write(ja)
        if self.exercise:
            from ..outputs.reps import RepCounter

            for pid in ja.ids:
                if int(pid) not in self.counters:
                    self.counters[int(pid)] = RepCounter(self.exercise, person=int(pid))
            for c in self.counters.values():
                c.update(result, ja)

    @staticmethod
    def _person_reps(c) -> dict:
        return {"person": c.person, "count": c.count, "in_progress": c.phase == "active",
                "reps": [{"start_frame": r.start_frame, "deepest_frame": r.peak_frame, "end_frame": r.end_frame,
                          "deepest_angle": round(r.peak_angle, 2), "start_ms": r.start_ms, "end_ms": r.end_ms}
                         for r in c.reps],
                "posture": {"needed": c.spec.posture, "frames_checked": c.posture_checked,
                            "frames_in_another_posture": c.posture_wrong}}

    def reps_summary(self) -> dict | None:
        """The rep count: one person's keys at the top (``person``: whose count it is), or with
        several ids, ``people``: one entry per id (same keys), smallest id first."""
        if not self.exercise:
            return None
        from ..outputs.reps import exercise_spec

        spec = exercise_spec(self.exercise)
        head = {"exercise": spec.name, "angle": spec.kind, "joints": list(spec.joints), "rest": spec.rest,
                "active": spec.active}
        people = [self._person_reps(self.counters[i]) for i in sorted(self.counters)]
        if len(people) == 1:
            return {**head, **people[0]}
        if not people:
            return {**head, "person": None, "count": 0, "in_progress": False, "reps": [],
                    "posture": {"needed": spec.posture, "frames_checked": 0, "frames_in_another_posture": 0}}
        return {**head, "people": people}

    def _plot_series(self):
        """The plotted person's ``AngleSeries``, gaps filled and filtered as asked."""
        from dataclasses import replace

        import numpy as np

        from ..outputs.angles import AngleSeries

        person = getattr(self.args, "person", None)
        if person is None and self.counter is not None:
            person = self.counter.person
        if person is None:
            counts: dict[int, int] = {}
            for ja in self._frames:
                for i in ja.ids:
                    counts[int(i)] = counts.get(int(i), 0) + 1
            person = min(counts, key=lambda i: (-counts[i], i)) if counts else None
        series = AngleSeries.from_frames(self._frames, person)
        gaps, hz = getattr(self.args, "fill_gaps", 0) or 0, getattr(self.args, "filter_hz", None)
        if not (gaps or hz):
            return series
        from ..outputs.filtering import butterworth, fill_gaps

        steps = np.diff(series.time_s)
        rate = 1.0 / float(np.median(steps)) if steps.size and np.isfinite(steps).all() else 30.0

        def clean(a):
            a = fill_gaps(a, gaps) if gaps else a
            return butterworth(a, rate, hz, getattr(self.args, "filter_order", 4)) if hz else a
        return replace(series, angles_2d=clean(series.angles_2d), angles_3d=clean(series.angles_3d))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        reps = self.reps_summary()
        if self.angles:
            self.angles.close(extra={"reps": reps} if reps else None)
        if self.plot_path and self._frames:
            from ..outputs.plot import plot_angles

            plot_angles(self._plot_series(), self.plot_path, reps=self.counter.reps if self.counter else None,
                        title=f"Joint angles, 3-D (world landmarks), {reps['exercise']}" if reps else None)
        if reps:
            several = "people" in reps
            for one in reps.get("people", [reps]):
                more = " (+1 in progress)" if one["in_progress"] else ""
                pos = one["posture"]
                if pos["frames_in_another_posture"]:
                    more += (f" ({pos['frames_in_another_posture']} of {pos['frames_checked']} frames were not "
                             f"{pos['needed']}, as a {reps['exercise']} needs: those were not counted)")
                who = f", person {one['person']}" if several else ""
                self.stream.write(f"{reps['exercise']}{who}: {one['count']} repetition(s){more}\n")
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""``--angles``, ``--plot`` and ``--reps`` for commands that process a video, frame by frame.

A command adds the options with ``add_video_analysis_options(parser)`` and wraps its loop in
``VideoAnalysis(args, meta)``: ``write(result)`` per frame (angles stream to disk as they come),
and on leaving the ``with`` block, also after an error or Ctrl-C, the angle summary, the plot
and the rep count of the frames processed so far are written.
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
        self.counter = RepCounter(args.reps) if getattr(args, "reps", None) else None
        self._frames: list = []
        self._closed = False

    @property
    def active(self) -> bool:
        return bool(self.angles or self.counter or self.plot_path)

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
        if self.counter:
            self.counter.update(result, ja)

    def reps_summary(self) -> dict | None:
        c = self.counter
        if c is None:
            return None
        return {"exercise": c.spec.name, "count": c.count, "in_progress": c.phase == "active",
                "angle": c.spec.kind, "joints": list(c.spec.joints), "rest": c.spec.rest, "active": c.spec.active,
                "reps": [{"start_frame": r.start_frame, "deepest_frame": r.peak_frame, "end_frame": r.end_frame,
                          "deepest_angle": round(r.peak_angle, 2), "start_ms": r.start_ms, "end_ms": r.end_ms}
                         for r in c.reps],
                "posture": {"needed": c.spec.posture, "frames_checked": c.posture_checked,
                            "frames_in_another_posture": c.posture_wrong}}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        reps = self.reps_summary()
        if self.angles:
            self.angles.close(extra={"reps": reps} if reps else None)
        if self.plot_path and self._frames:
            from ..outputs.plot import plot_angles

            plot_angles(self._frames, self.plot_path, reps=self.counter.reps if self.counter else None,
                        title=f"Joint angles, 3-D (world landmarks), {reps['exercise']}" if reps else None)
        if reps:
            more = " (+1 in progress)" if reps["in_progress"] else ""
            pos = reps["posture"]
            if pos["frames_in_another_posture"]:
                more += (f" ({pos['frames_in_another_posture']} of {pos['frames_checked']} frames were not "
                         f"{pos['needed']}, as a {reps['exercise']} needs: those were not counted)")
            self.stream.write(f"{reps['exercise']}: {reps['count']} repetition(s){more}\n")
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""``blazepose video IN [-o annotated.mp4] [--json F] [--csv F] [--angles F] [--plot P.png] [--reps EXERCISE]``.

Landmarks of every frame; joint angles, their plot and a repetition count (``apps/analysis.py``).

Outputs stream to disk as frames are processed (JSON and CSV stay valid after every frame, the
annotated video is finalised on Ctrl-C), so an interrupted run keeps every frame already done.
A frame that cannot be decoded is reported on stderr, recorded in the JSON (``"error"``),
skipped (the annotated video repeats the previous frame to keep its timing), and the exit
status is 1; the rest of the video is processed. A progress bar (frames, fps, time left) is drawn
on stderr when it is a terminal.

With ``--max-poses N`` every person keeps an id from frame to frame (the JSON ``id``, the CSV
``person`` column, one colour per id in the annotated video); ``--detection-interval-ms`` and
``--reid-timeout-ms`` set how often newcomers are looked for and how long a person who left may
come back with the same id (``stages.tracking`` states the rules).
"""
from __future__ import annotations

import sys
import time

from .analysis import VideoAnalysis, add_video_analysis_options
from .cli import add_model_options, landmarker_from_args


class Progress:
    """A one-line progress bar on a terminal; silent when ``enabled`` is false."""

    def __init__(self, total: int, enabled: bool, stream=None):
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.n = 0
        self.t0 = time.monotonic()
        self._last_draw = 0.0

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.enabled and (now - self._last_draw > 0.2 or self.n == self.total):
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        el = max(now - self.t0, 1e-9)
        fps = self.n / el
        if self.total:
            frac = min(1.0, self.n / self.total)
            bar = "#" * int(frac * 24)
            left = (self.total - self.n) / fps if fps > 0 else 0.0
            text = (f"\r[{bar:<24}] {self.n}/{self.total} frames  {fps:5.1f} fps  "
                    f"{int(left) // 60}:{int(left) % 60:02d} left ")
        else:
            text = f"\r{self.n} frames  {fps:5.1f} fps "
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.n:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


def cmd_video(args) -> int:
    from ..io.video import VideoReader
    from ..outputs.export import CsvWriter, JsonWriter, header
    from ..outputs.video import AnnotatedVideoWriter

    if not (args.output or args.json or args.csv or args.angles or args.plot or args.reps):
        print("error: nothing to write: give -o OUT.mp4, --json FILE, --csv FILE, --angles FILE, "
              "--plot OUT.png and/or --reps EXERCISE", file=sys.stderr)
        return 2
    smoothing = "off" if args.no_smooth_landmarks else ("offline" if args.offline_smoothing else "causal")
    reader = VideoReader(args.input, max_frames=args.max_frames)
    total = reader.frame_count
    if args.max_frames:
        total = min(total, args.max_frames) if total else args.max_frames
    progress = Progress(total, enabled=sys.stderr.isatty() and not args.no_progress)
    writers = []
    analysis = None
    skipped_reported = 0
    n_done = 0
    try:
        with landmarker_from_args(args, smooth_landmarks=not args.no_smooth_landmarks,
                                  smooth_segmentation=not args.no_smooth_landmarks,
                                  detection_interval_ms=args.detection_interval_ms,
                                  reid_timeout_ms=args.reid_timeout_ms) as pl:
            meta = header(args.model, source=str(args.input), fps=reader.fps, width=reader.width,
                          height=reader.height, frame_count=reader.frame_count, smoothing=smoothing,
                          min_detection_confidence=args.min_detection_confidence,
                          min_tracking_confidence=args.min_tracking_confidence,
                          max_num_poses=args.max_poses, detection_interval_ms=args.detection_interval_ms,
                          reid_timeout_ms=args.reid_timeout_ms)
            jw = JsonWriter(args.json, meta) if args.json else None
            cw = CsvWriter(args.csv) if args.csv else None
            vw = (AnnotatedVideoWriter(args.output, reader.fps, (reader.width, reader.height),
                                       min_visibility=args.min_visibility, draw_rois=args.draw_roi,
                                       color_by_id=True if args.max_poses > 1 else None)
                  if args.output else None)
            writers = [w for w in (vw, jw, cw) if w is not None]
            analysis = VideoAnalysis(args, meta)

            def report_skipped(upto: int | None) -> None:
                nonlocal skipped_reported
                while skipped_reported < len(reader.errors):
                    err = reader.errors[skipped_reported]
                    if upto is not None and err.index >= upto:
                        break
                    skipped_reported += 1  # the reader logged it (a warning on stderr)
                    if jw:
                        jw.write({"frame_index": err.index, "timestamp_ms": None if err.timestamp_ms is None
                                  else round(err.timestamp_ms, 3), "error": err.problem})
                    if vw and n_done:
                        vw.repeat_last()

            it = pl.process_video(reader, offline_smoothing=args.offline_smoothing, return_frames=bool(vw),
                                  progress=progress.update)
            for item in it:
                rgb, res = item if vw else (None, item)
                report_skipped(res.frame_index)
                if vw:
                    vw.write(rgb, res)
                if jw:
                    jw.write(res)
                if cw:
                    cw.write(res)
                analysis.write(res)
                n_done += 1
            report_skipped(None)
            stats = dict(pl.video_stats)
    finally:
        progress.close()
        for w in writers:
            w.close()
        if analysis:
            analysis.close()
        reader.close()
    n_err = len(reader.errors)
    print(f"{n_done} frames processed ({stats['detector_frames']} with the detector), "
          f"{n_err} skipped" + "".join(f" -> {w.path}" for w in writers), file=sys.stderr)
    return 1 if n_err else 0


def _ms(text: str) -> float:
    import argparse
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, got {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return v


def register(subparsers) -> None:
    p = subparsers.add_parser("video", help="landmarks of every frame of a video (tracking + smoothing)")
    p.add_argument("input", metavar="IN", help="video file, camera index (0) or stream URL")
    p.add_argument("-o", "--output", metavar="OUT", help="annotated video (same size and frame rate)")
    p.add_argument("--json", metavar="FILE", help="landmarks of every frame as one JSON document")
    p.add_argument("--csv", metavar="FILE", help="landmarks of every frame, long-format CSV")
    add_video_analysis_options(p)
    add_model_options(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--offline-smoothing", action="store_true",
                   help="zero-lag forward-backward smoothing (files only; reads the video to the end first)")
    g.add_argument("--no-smooth-landmarks", action="store_true",
                   help="raw landmarks, no smoothing (tracking stays on)")
    p.add_argument("--detection-interval-ms", type=_ms, default=250.0, metavar="MS",
                   help="with --max-poses > 1: while places are free, look for newcomers at most this "
                        "often (default 250; 0: every frame)")
    p.add_argument("--reid-timeout-ms", type=_ms, default=2000.0, metavar="MS",
                   help="a person lost and found again near the same place within this time gets the "
                        "same id back (default 2000; 0: never)")
    p.add_argument("--max-frames", type=int, default=0, metavar="N", help="stop after N frames")
    p.add_argument("--min-visibility", type=float, default=0.5, metavar="P",
                   help="drawing only: hide landmarks less visible than this (default 0.5)")
    p.add_argument("--draw-roi", action="store_true", help="draw the model's region of interest")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(func=cmd_video)

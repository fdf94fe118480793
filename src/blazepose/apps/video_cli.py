"""``blazepose video IN [-o annotated.mp4] [--json F] [--csv F] [--bvh F.bvh] [--plot3d F.html] [--angles F]
[--plot P.png] [--reps EXERCISE]``.

Landmarks of every frame; joint angles, their plot and a repetition count (``apps/analysis.py``).

Outputs stream to disk as frames are processed (JSON and CSV stay valid after every frame, the
annotated video is finalised on Ctrl-C), so an interrupted run keeps every frame already done.
A frame that cannot be decoded is reported on stderr, recorded in the JSON (``"error"``),
skipped (the annotated video repeats the previous frame to keep its timing), and the exit
status is 1; the rest of the video is processed. A progress bar (frames, fps, time left) is drawn
on stderr when it is a terminal. The loop is ``apps.loop.run_video``, the same as batch's and the
web server's.

With ``--max-poses N`` every person keeps an id from frame to frame (the JSON ``id``, the CSV
``person`` column, one colour per id in the annotated video); ``--detection-interval-ms`` and
``--reid-timeout-ms`` set how often newcomers are looked for and how long a person who left may
come back with the same id (``stages.tracking`` states the rules).

``--bvh`` writes the motion as a BVH skeleton animation (``outputs.bvh.BvhWriter``: Y up, metres;
several people: one ``NAME.id<ID>.bvh`` per id) and ``--plot3d`` an interactive 3-D view of the
world landmarks, one offline HTML page with a time slider (``outputs.plot3d.Plot3dWriter``; needs
plotly, checked before any model loads). Both are written when the video ends.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ..errors import UsageError
from ..options import OptionsError, PoseOptions
from .analysis import VideoAnalysis, add_video_analysis_options
from .biomech import add_biomech_options, check_biomech, finish_biomech, only_person, open_biomech_sinks, wants_biomech
from .loop import run_video, smoothing_name, stop_on_signals, video_header
from .cli_checks import int_at_least
from .options_cli import add_option_arguments
from .progress import progress_bar


#: ``video``'s flags for each output kind (``outputs.plan.KINDS``), in the order they are checked.
VIDEO_FLAGS = {"annotated": "output", "document": "json", "csv": "csv", "bvh": "bvh", "plot3d": "plot3d",
               "angles": "angles", "plot": "plot"}


def video_plan(args, options: PoseOptions):
    """The ``OutputPlan`` of ``blazepose video`` (every output one file), checked with the
    biomechanics outputs before any model loads or frame is read."""
    from types import SimpleNamespace

    from ..outputs.plan import OutputPlan
    from ..outputs.plan_checks import check_distinct

    if not (any(getattr(args, f) for f in VIDEO_FLAGS.values()) or args.reps or wants_biomech(args)):
        raise UsageError("nothing to write: give -o OUT.mp4, --json FILE, --csv FILE, --bvh FILE, --plot3d FILE, "
                         "--angles FILE, --plot OUT.png, --reps EXERCISE, --trc/--c3d/--mot FILE and/or --opensim DIR")
    if args.offline_smoothing and not options.smooth_landmarks:
        raise OptionsError("--offline-smoothing and --no-smooth-landmarks exclude each other")
    flags = {k: "-o" if f == "output" else f"--{f}" for k, f in VIDEO_FLAGS.items()}
    source = SimpleNamespace(source=str(args.input), rel=Path(str(args.input)).name, kind="video")
    plan = OutputPlan.build({k: getattr(args, f) for k, f in VIDEO_FLAGS.items()}, options, inputs=[source],
                            min_visibility=args.min_visibility, draw_rois=args.draw_roi, flags=flags)
    check_distinct([(flags[k], str(p)) for k, p in plan.files().items()] + check_biomech(args), [source.source])
    if args.output:
        from ..outputs.video import check_video_name

        check_video_name(args.output)
    return plan


def cmd_video(args, options: PoseOptions) -> int:
    from ..io.video import VideoReader

    plan = video_plan(args, options)
    reader = VideoReader(args.input, max_frames=args.max_frames)
    total = reader.frame_count
    if args.max_frames:
        total = min(total, args.max_frames) if total else args.max_frames
    sinks: list = []
    try:
        run, bio = _run(args, options, plan, reader, total, sinks)
    except KeyboardInterrupt as exc:   # the outputs are closed as interrupted: say what they keep
        run = getattr(exc, "run", None)
        kept = f"{run.frames if run else _frames_done(sinks)} frames kept"
        print(f"interrupted: {kept}" + "".join(f" -> {w}" for w in _written(sinks)), file=sys.stderr)
        return 130
    finish_biomech(args, bio, no_progress=args.no_progress)
    print(f"{run.frames} frames processed ({run.detector_frames} with the detector), "
          f"{run.skipped} skipped" + "".join(f" -> {w}" for w in _written(sinks)), file=sys.stderr)
    return 1 if run.skipped else 0


def _written(sinks) -> list[str]:
    return [str(p) for s in sinks for p in (s.paths if hasattr(s, "paths") else [getattr(s, "path", None)]) if p]


def _frames_done(sinks) -> int:
    """Frames the outputs hold (a second Ctrl-C stops before the run's count is known)."""
    return max([getattr(s, "frames_written", 0) or 0 for s in sinks] + [0])


def _run(args, options, plan, reader, total, sinks: list):
    """The run itself: opens the outputs (appended to ``sinks``) and feeds them; raises
    ``KeyboardInterrupt`` (the outputs closed as interrupted) when Ctrl-C or SIGTERM stops it."""
    from ..api.landmarker import PoseLandmarker

    with stop_on_signals() as stop, contextlib.ExitStack() as stack:
        stack.callback(reader.close)
        pl = stack.enter_context(PoseLandmarker(options))
        meta = video_header(options, str(args.input), reader, smoothing_name(options, args.offline_smoothing))
        files = {k: p for k, p in plan.files().items() if k != "angles"}   # angles: with the analysis below
        sinks[:] = plan.open_sinks(stack, files, meta, video=reader, title=Path(str(args.input)).name)
        sinks.append(stack.enter_context(VideoAnalysis(args, meta)))
        bio = open_biomech_sinks(stack, args, Path(str(args.input)).stem)
        sinks += bio.values()
        if args.person is not None:   # --person ID: every output and analysis sees only that id
            sinks[:] = [only_person(s, args.person) for s in sinks]
        bar = stack.enter_context(progress_bar(total, "frame", enabled=not args.no_progress))
        run = run_video(pl.session(), reader, sinks, bar, offline_smoothing=args.offline_smoothing, stop=stop.is_set)
        if stop.is_set():   # Ctrl-C or SIGTERM: the outputs close as interrupted (not marked complete)
            raise _Stopped(run)
    return run, bio


class _Stopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM ended the run after ``run.frames`` frames."""

    def __init__(self, run):
        super().__init__("interrupted")
        self.run = run


def register(subparsers) -> None:
    p = subparsers.add_parser("video", help="landmarks of every frame of a video (tracking + smoothing)")
    p.add_argument("input", metavar="IN", help="video file, camera index (0) or stream URL")
    from ..outputs.video import video_formats_help

    p.add_argument("-o", "--output", metavar="OUT", help="annotated video (same size and frame rate), by its "
                   f"suffix: {video_formats_help()}. The sound of a video file is carried over into "
                   ".mp4/.mkv (a camera or stream has none to carry)")
    p.add_argument("--json", metavar="FILE", help="landmarks of every frame: .json (one JSON document), "
                   ".coco.json (COCO keypoint results) or .npz, chosen by the name as export() does")
    p.add_argument("--csv", metavar="FILE", help="landmarks of every frame, long-format CSV")
    p.add_argument("--bvh", metavar="FILE.bvh", help="the motion as a BVH skeleton animation (Y up, metres; "
                   "several people: FILE.id<N>.bvh each)")
    p.add_argument("--plot3d", metavar="FILE.html", help="interactive 3-D view of the world landmarks with a "
                   "time slider, one HTML page that works offline (needs plotly)")
    add_video_analysis_options(p)
    add_biomech_options(p)
    add_option_arguments(p, video=True)
    p.add_argument("--offline-smoothing", action="store_true",
                   help="zero-lag forward-backward smoothing (files only; reads the video to the end first)")
    p.add_argument("--max-frames", type=int_at_least(0), default=0, metavar="N", help="stop after N frames (0: all)")
    p.add_argument("--min-visibility", type=float, default=0.5, metavar="P",
                   help="drawing only: hide landmarks less visible than this (default 0.5)")
    p.add_argument("--draw-roi", action="store_true", help="draw the model's region of interest")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(func=cmd_video, options=True)

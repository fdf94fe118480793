"""``blazepose batch``: the command line over ``run_batch``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import UsageError
from ...options import PoseOptions
from ..cli_checks import check_distinct, check_writable
from ..options_cli import add_option_arguments
from .inputs import check_out_folder
from .options import DEFAULT_BATCH_SIZE, BatchOptions
from .run import REPORT_NAME, RUNNERS, BatchInterrupted, run_batch


class EngineOrOldRunner(argparse.Action):
    """``--engine``: the inference engine; ``--engine local|ray`` (the runner's old spelling) still
    sets the runner, with a one-line deprecation note."""

    def __call__(self, parser, namespace, values, option_string=None):
        if values in RUNNERS:
            print(f"{parser.prog}: note: --engine {values} is deprecated, use --runner {values} "
                  "(--engine is the inference engine: litert or openvino)", file=sys.stderr)
            namespace.runner = values
        else:
            namespace.engine = values


def cmd_batch(args, options: PoseOptions) -> int:
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    check_out_folder(args.inputs, args.out)
    check_writable("--out", args.out, folder=True)
    if args.csv:
        check_writable("--csv", args.csv)
        check_distinct([("--csv", args.csv)], args.inputs)
    opts = BatchOptions(options.replace(num_threads=None), annotate=args.annotate, angles=args.angles,
                        min_visibility=args.min_visibility, batch_size=args.batch_size)
    try:
        report = run_batch(args.inputs, args.out, opts, workers=args.workers, threads=options.num_threads,
                           runner=args.runner, address=args.address, force=args.force)
    except BatchInterrupted as exc:   # what is done and what is not, then "interrupted", exit 130
        print(exc.report.summary(), file=sys.stderr)
        print(_report_line(exc.report) + " (run the same command again to resume)", file=sys.stderr)
        raise
    print(report.summary(), file=sys.stderr)
    print(_report_line(report), file=sys.stderr)
    if args.csv:
        from .combined import write_combined_csv

        print(f"csv: {args.csv} ({write_combined_csv(report, args.csv, opts)} rows)", file=sys.stderr)
    return 1 if report.failed or report.report_error else 0


def _report_line(report) -> str:
    """Where the report is, or the one line saying why it could not be written."""
    if report.report_error:
        return f"error: report not written: {report.report_error} (the summary above is its content)"
    return f"report: {Path(report.out) / REPORT_NAME}"


def register(subparsers) -> None:
    p = subparsers.add_parser("batch", help="many photos and videos into a folder of result files "
                              "(all cores, resumable, or on Ray)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (recursive) or glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (mirrors the inputs' tree)")
    add_option_arguments(p, video=True, actions={"engine": EngineOrOldRunner}, help_overrides={"num_threads": (
        "engine threads per worker (default: cores / workers; 1 with the default one worker per core)")})
    p.add_argument("--annotate", action="store_true", help="also write annotated images / videos")
    p.add_argument("--angles", action="store_true",
                   help="also write joint angles per frame with a range-of-motion summary (NAME.angles.json)")
    p.add_argument("--min-visibility", type=float, default=0.5, metavar="P",
                   help="drawing and angle summaries only: ignore landmarks less visible than this (default 0.5)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: one per core; Ray: the cluster's CPUs)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                   help=f"images per landmark-model call in a worker (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--runner", choices=RUNNERS, default="local", help="local process pool (default) or Ray")
    p.add_argument("--address", default=None, help="Ray: address of an existing cluster (default: start a local Ray)")
    p.add_argument("--csv", metavar="FILE", help="also one long CSV over every input (first column: the "
                   "input's path as in the result tree), made from the result files after the run")
    p.add_argument("--force", action="store_true", help="redo inputs whose results are up to date")
    # Ctrl-C or SIGTERM while the program starts: run_batch acts on it once its report exists
    p.set_defaults(func=cmd_batch, options=True, holds_interrupts=True)

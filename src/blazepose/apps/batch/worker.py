"""``BatchWorker``: one landmarker, processing inputs into their output files (one per worker
process or Ray actor). Photos go through ``process_batch`` (several images per landmark call);
videos through the same loop as ``blazepose video`` (``apps.loop.run_video``) with the same sinks.
"""
from __future__ import annotations

import logging
import os
import time

from ...errors import BlazePoseError, InputError, OutputWriteError, VideoReadError
from .inputs import BatchItem
from .options import BatchOptions
from .resume import output_paths, partial_path, source_record

log = logging.getLogger(__name__)


def outcome(item: BatchItem, status: str, t0: float, **extra) -> dict:
    return {"input": item.source, "rel": item.rel, "status": status,
            "seconds": round(time.perf_counter() - t0, 4), **extra}


def failure(item: BatchItem, exc: BaseException, t0: float) -> dict:
    if isinstance(exc, BlazePoseError):
        reason = str(exc)
    elif isinstance(exc, ImportError):
        reason = f"{item.source}: {exc}"
    else:
        log.debug("unexpected error on %s", item.source, exc_info=True)
        reason = f"{item.source}: {type(exc).__name__}: {exc}"
    return outcome(item, "failed", t0, error=reason)


class BatchWorker:
    """Processes items and writes their outputs; one per worker process (or Ray actor)."""

    def __init__(self, options: BatchOptions, out: str, num_threads: int):
        self.options = options
        self.out = str(out)
        self.num_threads = int(num_threads)
        self._landmarker = None

    @property
    def landmarker(self):
        if self._landmarker is None:
            from ...api.landmarker import PoseLandmarker

            self._landmarker = PoseLandmarker(self.options.pose.replace(num_threads=self.num_threads))
        return self._landmarker

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def run(self, items: list[BatchItem]) -> list[dict]:
        """Process a chunk of items; one outcome dict per item, never raising for a bad input.

        Each outcome carries ``cpu_seconds``: this worker's CPU time for the chunk, shared evenly.
        """
        cpu0 = time.process_time()
        outcomes: dict[int, dict] = {}
        images: list[tuple[int, BatchItem, object, dict]] = []
        for idx, item in enumerate(items):
            t0 = time.perf_counter()
            try:
                record = source_record(item, self.options)
                if item.kind == "video":
                    outcomes[idx] = outcome(item, "done", t0, frames=self._video(item, record))
                else:
                    images.append((idx, item, self.landmarker.load(item.source), record))
            except Exception as exc:  # a bad input never stops the batch
                outcomes[idx] = failure(item, exc, t0)
        if images:
            t0 = time.perf_counter()
            for (idx, item, rgb, record), res in zip(images, self._results([im for _, _, im, _ in images])):
                try:
                    if isinstance(res, Exception):
                        raise res
                    self._write_image(item, record, rgb, res)
                    outcomes[idx] = outcome(item, "done", t0, people=len(res))
                except Exception as exc:
                    outcomes[idx] = failure(item, exc, t0)
        cpu = round((time.process_time() - cpu0) / max(1, len(items)), 4)
        return [{**outcomes[i], "cpu_seconds": cpu} for i in range(len(items))]

    def _results(self, rgbs: list) -> list:
        """``process_batch`` on the images; if the batch fails, image by image to find the culprit."""
        pl = self.landmarker
        try:
            return pl.process_batch(rgbs, batch_size=self.options.batch_size)
        except Exception as exc:
            if len(rgbs) == 1:
                return [exc]
        results: list = []
        for im in rgbs:
            try:
                results += pl.process_batch([im])
            except Exception as exc1:
                results.append(exc1)
        return results

    # outputs: each written under its .partial name, renamed when complete; the result file last
    def _meta(self, record: dict, reader=None) -> dict:
        """The document header (``loop.video_header`` for a video), after the ``"batch"`` record."""
        from ...outputs.export import document_header
        from ..loop import smoothing_name, video_header

        pose = self.options.pose
        head = (document_header(pose, record["input"]) if reader is None
                else video_header(pose, record["input"], reader, smoothing_name(pose)))
        return {"batch": record, **head}

    @property
    def plan(self):
        from .resume import batch_plan

        return batch_plan(self.out, self.options)

    def _write_image(self, item: BatchItem, record: dict, rgb, res) -> None:
        import contextlib
        from dataclasses import replace

        res = replace(res, frame_index=0, meta={**res.meta, "file": item.rel})
        paths = output_paths(self.out, item, self.options)
        tmps = {k: partial_path(p) for k, p in paths.items()}
        try:
            with contextlib.ExitStack() as stack:
                for sink in self.plan.open_sinks(stack, _plan_paths(tmps), self._meta(record)):
                    sink.write(res, rgb)
            _publish(paths, tmps)
        except BaseException:
            for t in tmps.values():
                t.unlink(missing_ok=True)
            raise

    def _video(self, item: BatchItem, record: dict) -> int:
        import contextlib

        from ...io.video import VideoReader
        from ..loop import run_video

        paths = output_paths(self.out, item, self.options)
        tmps = {k: partial_path(p) for k, p in paths.items()}
        done = [0]   # frames written so far (also when the run stops half-way)
        try:
            with contextlib.ExitStack() as stack:
                reader = stack.enter_context(VideoReader(item.source))
                sinks = self.plan.open_sinks(stack, _plan_paths(tmps), self._meta(record, reader), video=reader)
                run_video(self.landmarker.session(), reader, sinks,
                          on_frame=lambda run: done.__setitem__(0, run.frames))
            if done[0] == 0:
                raise VideoReadError(item.source, "no frame could be decoded")
            _publish(paths, tmps)
        except BaseException as exc:
            for k in ("annotated", "angles"):
                if k in tmps:
                    tmps[k].unlink(missing_ok=True)
            if done[0] and isinstance(exc, BlazePoseError) and not isinstance(exc, OutputWriteError):
                # keep what was computed: the .partial JSON is valid and holds every frame so far
                # (until the next run, which removes every .partial file it finds)
                raise InputError(f"{exc} (after {done[0]} frames; those are kept in {tmps['result']})") from exc
            tmps["result"].unlink(missing_ok=True)   # a file that could not be written frees its space
            raise
        return done[0]


def _publish(paths: dict, tmps: dict) -> None:
    """Rename the ``.partial`` outputs to their names, the result file last (it marks the input
    done), and only once it reads back as a whole, complete document (``read_batch_record``)."""
    from .resume import read_batch_record

    if read_batch_record(tmps["result"]) is None:
        raise OutputWriteError(paths["result"], "the result file did not read back as a whole, complete "
                                                "document; not kept")
    for k in ("annotated", "angles", "result"):
        if k in paths:
            os.replace(tmps[k], paths[k])


def _plan_paths(paths: dict) -> dict:
    """Batch's output keys as the plan's kinds (``result`` is the ``document``)."""
    return {("document" if k == "result" else k): p for k, p in paths.items()}

"""``BatchOptions``: the pipeline's ``PoseOptions`` plus what batch adds (extra outputs, batch size)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...options import PoseOptions
from ..cli_checks import check_min_visibility

#: The split measured fastest on a 2-core machine (benchmarks/batch_throughput.py, README): one
#: worker process per core, one engine thread each, the landmark model on 4 images per call.
DEFAULT_THREADS_PER_WORKER = 1
DEFAULT_BATCH_SIZE = 4
#: The most images per landmark-model call (1024 crops of 256x256x3 float32 are 805 MB of input).
MAX_BATCH_SIZE = 1024


@dataclass(frozen=True)
class BatchOptions:
    """Everything that shapes a batch's result files; recorded in them and compared when resuming."""

    pose: PoseOptions = field(default_factory=PoseOptions)
    annotate: bool = False
    angles: bool = False
    min_visibility: float = 0.5
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self):
        from ...options import OptionsError

        if not 1 <= int(self.batch_size) <= MAX_BATCH_SIZE:
            raise OptionsError(f"batch_size must be an integer in 1..{MAX_BATCH_SIZE}, got {self.batch_size!r}")
        check_min_visibility(self.min_visibility)

    def fingerprint(self) -> dict:
        """The options that change the result file (not its speed, not the extra outputs)."""
        d = self.pose.to_dict()
        d.pop("num_threads", None)
        return d

    def extras(self) -> dict:
        """The extra outputs asked for, with the options that shape them (None: not asked)."""
        return {"annotated": {"min_visibility": self.min_visibility} if self.annotate else None,
                "angles": {"min_visibility": self.min_visibility} if self.angles else None}

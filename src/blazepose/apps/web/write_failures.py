"""A video job that failed writing its files: ``write_failure`` tells a storage failure of the
server (a full disk: answered 507, no result served) from the job's own errors, and
``drop_unreadable_results`` keeps a failed job's partial results only when its JSON parses."""
from __future__ import annotations

import errno
import json
import os

from ...errors import OutputWriteError

#: OS errors that say the server's storage refused a write (full, quota, too big, failing).
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def write_failure(exc: BaseException) -> str | None:
    """The problem when ``exc`` is the server failing to write a job's files (an
    ``OutputWriteError``, or an error caused by a storage ``OSError``, e.g. the video encoder's);
    None for other errors."""
    if isinstance(exc, OutputWriteError):
        return exc.problem
    seen = exc
    for _ in range(8):
        seen = seen.__cause__ or seen.__context__
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in STORAGE_ERRNOS:
            return seen.strerror or os.strerror(seen.errno)
    return None


def drop_unreadable_results(job) -> None:
    """A failed job keeps its partial results only when its JSON parses as a whole document."""
    if "json" not in job.files:
        return
    try:
        with open(job.files["json"][0], "rb") as f:
            json.load(f)
    except (OSError, ValueError):
        job.files = {}

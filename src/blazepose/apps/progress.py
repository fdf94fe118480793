"""The one progress bar (tqdm), drawn on stderr only when stderr is a terminal."""
from __future__ import annotations

import sys


def progress_bar(total: int | None, unit: str, *, enabled: bool = True, stream=None):
    """A tqdm bar counting ``unit`` up to ``total`` (None or 0: unknown); silent unless ``enabled``
    and the stream (default stderr) is a terminal. Use ``update(n)`` and ``close()``."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    on = enabled and bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=total or None, unit=unit, file=stream, disable=not on, dynamic_ncols=True,
                leave=True, smoothing=0.1)

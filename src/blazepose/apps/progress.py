"""The one progress bar (tqdm), drawn on stderr only when stderr is a terminal; the model
fetch lines the command line shows."""
from __future__ import annotations

import logging
import sys


def progress_bar(total: int | None, unit: str, *, enabled: bool = True, stream=None):
    """A tqdm bar counting ``unit`` up to ``total`` (None or 0: unknown); silent unless ``enabled``
    and the stream (default stderr) is a terminal. Use ``update(n)`` and ``close()``."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    on = enabled and bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=total or None, unit=unit, file=stream, disable=not on, dynamic_ncols=True,
                leave=True, smoothing=0.1)


class _Stderr(logging.Handler):
    """Messages as they are, on whatever ``sys.stderr`` is when they come."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def show_model_fetches() -> None:
    """Show each model file fetched as one line on stderr (``registry.fetch_log``), with a
    download bar when stderr is a terminal; idempotent (the command line calls it every run)."""
    from ..models import registry

    logger = registry.fetch_log
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        logger.addHandler(_Stderr())
    logger.setLevel(logging.INFO)
    logger.propagate = False    # shown once, also with -v
    registry.download_progress = _download_bar


def _download_bar(label: str, total: int | None):
    from tqdm import tqdm

    on = bool(getattr(sys.stderr, "isatty", lambda: False)())
    return tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=not on, leave=False, dynamic_ncols=True)

"""The command line's own argument helpers. The output checks (writable, distinct, known names)
live in ``outputs.plan_checks`` and run when an ``OutputPlan`` is built; they are re-exported
here for the commands that check a name outside a plan (``batch --csv``)."""
from __future__ import annotations

import os  # noqa: F401 - tests patch cli_checks.os.access

from ..outputs.plan_checks import (angles_summary, check_angles_name, check_distinct,  # noqa: F401
                                   check_export_name, check_writable)


def int_at_least(minimum: int):
    """An argparse ``type`` for whole numbers >= ``minimum``."""
    import argparse

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
        return v
    return parse


def int_in(minimum: int, maximum: int):
    """An argparse ``type`` for whole numbers in ``minimum..maximum``."""
    import argparse

    at_least = int_at_least(minimum)

    def parse(text: str) -> int:
        v = at_least(text)
        if v > maximum:
            raise argparse.ArgumentTypeError(f"must be in {minimum}..{maximum}, got {v}")
        return v
    return parse


def check_min_visibility(value) -> float:
    """``min_visibility`` (drawing, angles) in [0, 1], else ``OptionsError`` (exit status 2); the one
    check for ``image``, ``video`` and ``BatchOptions``."""
    from ..options import OptionsError

    if not 0.0 <= float(value) <= 1.0:
        raise OptionsError(f"min_visibility must be in [0, 1], got {value!r}")
    return float(value)

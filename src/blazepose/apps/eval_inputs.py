"""Reading a COCO person-keypoints file for ``blazepose eval``, checking every field the evaluation
uses before any image is processed, so that a malformed file is one error naming the file and
the field, never a traceback from deep in the metrics or in pycocotools."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

#: COCO's person category, the one the detections are given.
PERSON_CATEGORY = 1
TORSO_PAIRS = ((5, 12), (6, 11))   # shoulder and the opposite hip, COCO-17 indices


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:   # an integer too large for a float
        return False


def positive_fraction(text: str) -> float:
    """An argparse ``type`` for ``--alpha``: a finite number > 0 (``-1`` and ``nan`` found nobody)."""
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0 (a fraction of the torso), got {text}")
    return v


def _is_box(v) -> bool:
    return isinstance(v, list) and len(v) == 4 and all(_is_number(x) for x in v) and v[2] >= 0 and v[3] >= 0


def _escapes(name: str) -> bool:
    """Whether ``file_name`` could name a file outside the images folder (absolute, a drive, ``..``)."""
    return (PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute()
            or bool(PureWindowsPath(name).drive) or ".." in re.split(r"[\\/]", name))


def read_coco(path: str | Path) -> dict:
    """The checked COCO document at ``path``; ``ValueError`` saying what is malformed.

    Checked: an object with ``images`` and ``annotations`` lists; each image an object with a
    whole-number ``id`` and a relative ``file_name`` that stays inside the images folder; each
    annotation an object with a whole-number ``image_id`` and ``keypoints`` of 17 × (x, y, v)
    finite numbers, an optional ``bbox`` of 4 numbers (width and height >= 0), and, when it has
    labelled keypoints, either a torso (a shoulder and the opposite hip) or a ``bbox`` to size it.
    """
    try:
        d = json.loads(Path(path).read_bytes())
    except RecursionError:
        raise ValueError("nested too deeply to be a COCO file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}: line {exc.lineno} column {exc.colno})") from None
    if not isinstance(d, dict) or not isinstance(d.get("images"), list) or not isinstance(d.get("annotations"), list):
        raise ValueError("expected an object with 'images' and 'annotations' lists")
    for i, im in enumerate(d["images"]):
        if not isinstance(im, dict) or not _is_int(im.get("id")) or not isinstance(im.get("file_name"), str):
            raise ValueError(f"images[{i}]: expected an object with 'id' and 'file_name' (a whole number and a text)")
        if not im["file_name"] or _escapes(im["file_name"]):
            raise ValueError(f"images[{i}]: file_name {im['file_name']!r} is not a name inside the images "
                             "folder (absolute, empty or with '..'); refused")
    for i, a in enumerate(d["annotations"]):
        kp = a.get("keypoints") if isinstance(a, dict) else None
        if (not isinstance(a, dict) or not _is_int(a.get("image_id")) or not isinstance(kp, list) or len(kp) != 51
                or not all(_is_number(v) for v in kp)):
            raise ValueError(f"annotations[{i}]: expected an object with 'image_id' and 'keypoints' "
                             "(a whole number; 17 × x, y, v: 51 finite numbers)")
        if "bbox" in a and not _is_box(a["bbox"]):
            raise ValueError(f"annotations[{i}]: 'bbox' must be [x, y, width, height], 4 numbers, got {a['bbox']!r:.60}")
        labelled = [v > 0 for v in kp[2::3]]
        if any(labelled) and "bbox" not in a and not any(labelled[s] and labelled[h] for s, h in TORSO_PAIRS):
            raise ValueError(f"annotations[{i}]: no torso keypoints (a shoulder and the opposite hip) and no "
                             "'bbox' to size the person")
    return d


def check_for_ap(d: dict) -> None:
    """``ValueError`` unless ``d`` has what pycocotools' keypoint AP reads (``--no-ap`` skips AP)."""
    cats = d.get("categories")
    if not isinstance(cats, list) or not all(isinstance(c, dict) and _is_int(c.get("id")) for c in cats):
        raise ValueError("COCO AP needs a 'categories' list of objects with an 'id'; --no-ap skips AP")
    if PERSON_CATEGORY not in {c["id"] for c in cats}:
        raise ValueError(f"COCO AP needs the person category (id {PERSON_CATEGORY}) in 'categories'; "
                         "--no-ap skips AP")
    checks = {"id": (_is_int, "a whole number"), "category_id": (_is_int, "a whole number"),
              "area": (_is_number, "a number"), "bbox": (_is_box, "4 numbers"),
              "num_keypoints": (_is_int, "a whole number"), "iscrowd": (lambda v: v in (0, 1), "0 or 1")}
    ids = set()
    for i, a in enumerate(d["annotations"]):
        for field, (ok, what) in checks.items():
            if not ok(a.get(field)):
                raise ValueError(f"annotations[{i}]: COCO AP needs {field!r} ({what}); --no-ap skips AP")
        if a["id"] in ids:
            raise ValueError(f"annotations[{i}]: id {a['id']} is used twice; COCO AP needs distinct ids; "
                             "--no-ap skips AP")
        ids.add(a["id"])

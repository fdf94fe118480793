"""The COCO image id of each photo, for ``.coco.json`` results that pycocotools can evaluate.

``COCO.loadRes`` and ``COCOeval`` match results to ground truth by ``image_id``, the ``id`` of
the annotation file's ``images`` entry. So, as a pycocotools user expects:

- with an annotation file (``--coco-annotations FILE``), each photo's id is the ``id`` of the
  entry whose ``file_name`` is the photo's file name (a photo the file does not list is an error);
- without one, when every photo is named by a number (COCO's own ``000000197388.jpg``), that
  number (197388, the id in COCO's official annotation files), when no two share one;
- otherwise the photo's position among the inputs, 0..N-1.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from ..errors import InputError


def annotation_ids(path: str | os.PathLike) -> dict[str, int]:
    """``file_name`` → ``id`` of the ``images`` of a COCO annotation file."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        images = doc["images"]
        return {Path(str(im["file_name"])).name: int(im["id"]) for im in images}
    except FileNotFoundError:
        raise InputError(f"{path}: no such COCO annotation file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the COCO annotation file ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a COCO annotation file (need an \"images\" list of "
                         f"{{\"file_name\", \"id\"}}: {exc!r})") from None


def coco_image_ids(sources: Sequence[str], annotations: str | os.PathLike | None = None) -> list[int]:
    """The COCO image id of each photo in ``sources`` (the rules are in the module's docstring)."""
    names = [Path(s).name for s in sources]
    if annotations is not None:
        ids = annotation_ids(annotations)
        missing = [n for n in names if n not in ids]
        if missing:
            raise InputError(f"{annotations}: lists no image named {', '.join(missing[:5])}"
                             + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""))
        return [ids[n] for n in names]
    stems = [Path(n).stem for n in names]
    if stems and all(s.isascii() and s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems):
        return [int(s) for s in stems]
    return list(range(len(sources)))

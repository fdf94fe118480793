"""Make ``expected.json``: MediaPipe 0.10.14's landmarks on the resized sample photos.

Run once, from the project root, with the reference environment available (see
``benchmarks/reference.py``)::

    BLAZEPOSE_MP_VENV=/path/to/.venv-mediapipe .venv/bin/python tests/data/sizes/make_expected.py

Each photo of ``tests/sizes.PHOTOS`` is resized by ``tests/sizes.resized`` (Pillow BICUBIC) to
each size of ``tests/sizes.LONG_SIDES``, saved as a lossless PNG in a temporary folder, and run
through MediaPipe's legacy ``solutions.pose`` (full model, ``static_image_mode=True``). The JSON
keeps, per case, the array's sha256 (the test checks it is given the very same pixels), the
landmarks in pixels (x right, y down; z in the scale of x) and their visibility.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

from reference import MP_VERSION, run_reference  # noqa: E402
from sizes import LONG_SIDES, PHOTOS, digest, resized  # noqa: E402


def main() -> None:
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name in PHOTOS:
            for side in LONG_SIDES:
                rgb = resized(name, side)
                p = str(Path(tmp) / f"{Path(name).stem}_{side}.png")
                cv2.imwrite(p, rgb[..., ::-1])
                paths[p] = (name, side, rgb)
        got = run_reference(ROOT / "benchmarks" / "_mp_landmarks.py", "1", *paths)
        for p, (name, side, rgb) in paths.items():
            r = got[p]
            cases.append({"photo": name, "long_side": side, "width": rgb.shape[1], "height": rgb.shape[0],
                          "sha256": digest(rgb),
                          "landmarks": None if r is None else [[round(v, 4) for v in pt] for pt in r["landmarks"]],
                          "visibility": None if r is None else [round(v, 5) for v in r["visibility"]]})
    out = {"reference": f"mediapipe {MP_VERSION} solutions.pose, model_complexity=1, static_image_mode=True",
           "resize": "Pillow Image.resize BICUBIC of tests/data/reference/<photo>, longer side = long_side",
           "command": "BLAZEPOSE_MP_VENV=... .venv/bin/python tests/data/sizes/make_expected.py",
           "cases": cases}
    Path(__file__).with_name("expected.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(cases)} cases written")


if __name__ == "__main__":
    main()

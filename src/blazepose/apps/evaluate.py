"""Accuracy against human ground truth: COCO keypoints and PCK.

PCK@a: a keypoint is correct when it lies within ``a`` × the person's torso size of the ground
truth; torso size is the larger of the two shoulder-to-opposite-hip distances, or when those
keypoints are missing, the diagonal of the ground-truth box × 0.5. Only labelled keypoints
(COCO v > 0) count.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .cli_checks import int_in
from .eval_inputs import PERSON_CATEGORY, check_for_ap, positive_fraction, read_coco
from .options_cli import add_option_arguments

L_SH, R_SH, L_HIP, R_HIP = 5, 6, 11, 12


def load_coco(path: str | Path) -> tuple[dict, dict]:
    """(images by id, annotations grouped by image id) from a COCO person-keypoints file.

    Raises ``ValueError`` saying what is malformed (``eval_inputs.read_coco`` lists the checks).
    """
    return _group(read_coco(path))


def _group(d: dict) -> tuple[dict, dict]:
    images = {im["id"]: im for im in d["images"]}
    anns: dict[int, list] = {}
    for a in d["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    return images, anns


def gt_keypoints(ann: dict) -> np.ndarray:
    """(17, 3) x, y, v of a COCO annotation."""
    return np.asarray(ann["keypoints"], dtype=np.float64).reshape(17, 3)


def torso_size(gt: np.ndarray, bbox=None) -> float:
    d = []
    for a, b in ((L_SH, R_HIP), (R_SH, L_HIP)):
        if gt[a, 2] > 0 and gt[b, 2] > 0:
            d.append(float(np.hypot(*(gt[a, :2] - gt[b, :2]))))
    if d:
        return max(d)
    if bbox is not None:
        return 0.5 * float(np.hypot(bbox[2], bbox[3]))
    raise ValueError("no torso keypoints and no box to size the person")


def pck(pred_xy: np.ndarray, gt: np.ndarray, alpha: float = 0.2, bbox=None) -> float:
    """Fraction of labelled keypoints within ``alpha`` × torso size (pred (17, 2) pixels)."""
    labelled = gt[:, 2] > 0
    if not labelled.any():
        return float("nan")
    thr = alpha * torso_size(gt, bbox)
    err = np.hypot(*(pred_xy[labelled] - gt[labelled, :2]).T)
    return float(np.mean(err <= thr))


def match_people(pred_coco17: np.ndarray, anns: list[dict], alpha: float = 0.2,
                 min_pck: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of predicted people (P, 17, >=2 pixels) to COCO annotations.

    Pairs are taken in decreasing PCK@``alpha`` order; each prediction and each annotation is
    used at most once; a pair counts only when its PCK >= ``min_pck``. Returns
    ``(annotation index, prediction index, pck)`` triples.
    """
    pairs = []
    for ai, ann in enumerate(anns):
        gt = gt_keypoints(ann)
        for pi in range(len(pred_coco17)):
            v = pck(np.asarray(pred_coco17[pi])[:, :2], gt, alpha, bbox=ann.get("bbox"))
            if v == v and v >= min_pck:
                pairs.append((v, ai, pi))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_a, used_p, out = set(), set(), []
    for v, ai, pi in pairs:
        if ai not in used_a and pi not in used_p:
            used_a.add(ai)
            used_p.add(pi)
            out.append((ai, pi, v))
    return out


# ---- blazepose eval ----------------------------------------------------------------------------
MIN_LABELLED = 8


def eligible(anns: list[dict], min_labelled: int = MIN_LABELLED) -> list[dict]:
    """Annotations of people with at least ``min_labelled`` labelled keypoints (not crowds)."""
    return [a for a in anns if not a.get("iscrowd")
            and sum(1 for v in a["keypoints"][2::3] if v > 0) >= min_labelled]


def coco_ap(gt: str | Path | dict, image_ids: list[int], detections: list[dict]) -> dict:
    """COCO keypoint AP (OKS) with pycocotools on ``image_ids``; ``gt`` a COCO file or its checked
    document (``read_coco``, ``check_for_ap``); ``detections`` in COCO's result format. Returns AP,
    AP50, AP75, APm, APl, AR (-1 where COCO has nothing to average)."""
    import contextlib
    import io

    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        from ..errors import InputError
        raise InputError("COCO AP needs pycocotools: pip install 'blazepose[eval]' (or use --no-ap)") from exc
    names = ("AP", "AP50", "AP75", "APm", "APl", "AR")
    if not detections:
        return dict.fromkeys(names, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(None if isinstance(gt, dict) else str(gt))
        if isinstance(gt, dict):
            truth.dataset = gt
            truth.createIndex()
        dt = truth.loadRes(detections)
        ev = COCOeval(truth, dt, "keypoints")
        ev.params.imgIds = list(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(ev.stats[i]) for n, i in zip(names, (0, 1, 2, 3, 4, 5))}


def read_inputs(annotations: str | Path, images_dir: str | Path, *, with_ap: bool = True) -> dict:
    """The checked COCO document of ``blazepose eval``; ``InputError`` naming the file and the problem."""
    from ..errors import InputError

    ann_path, folder = Path(annotations), Path(images_dir)
    if not ann_path.is_file():
        raise InputError(f"{ann_path}: no such annotation file")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of images")
    try:
        doc = read_coco(ann_path)
        if with_ap:
            check_for_ap(doc)
    except (ValueError, OSError) as exc:
        raise InputError(f"{ann_path}: not a COCO person-keypoints file ({exc})") from exc
    return doc


def evaluate(landmarker, annotations: str | Path, images_dir: str | Path, *, alpha: float = 0.2,
             min_pck: float = 0.5, min_labelled: int = MIN_LABELLED, with_ap: bool = True) -> dict:
    """Metrics of ``landmarker`` on a COCO person-keypoints file and a folder of its images.

    Images of the file missing from the folder are skipped (counted in ``missing_images``).
    People: annotations with >= ``min_labelled`` labelled keypoints. ``found``: people matched one
    to one (``match_people``) with PCK@``alpha`` >= ``min_pck``; ``pck_found``: their mean
    PCK; ``pck_all``: mean over all people, 0 for those not found; ``ap``: pycocotools' keypoint
    AP over the evaluated images (every returned pose, scored by its pose score).
    """
    from ..errors import ImageReadError, InputError

    ann_path, folder = Path(annotations), Path(images_dir)
    doc = read_inputs(ann_path, folder, with_ap=with_ap)
    images, anns = _group(doc)
    found = total = poses = 0
    pcks: list[float] = []
    dets: list[dict] = []
    done: list[int] = []
    missing = 0
    unreadable: list[str] = []
    for iid, im in images.items():
        path = folder / im["file_name"]
        if not path.is_file():
            missing += 1
            continue
        try:
            res = landmarker.process_image(path)
        except ImageReadError as exc:     # reported and skipped, like a bad photo in image and batch
            unreadable.append(str(exc))
            continue
        done.append(iid)
        coco17 = res.coco17
        poses += len(res)
        people = eligible(anns.get(iid, []), min_labelled)
        total += len(people)
        matches = match_people(coco17, people, alpha, min_pck)
        found += len(matches)
        pcks += [m[2] for m in matches]
        for p in range(len(res)):
            kp = np.concatenate([coco17[p][:, :2], np.ones((17, 1))], axis=1)
            dets.append({"image_id": iid, "category_id": PERSON_CATEGORY, "keypoints": kp.reshape(-1).round(2).tolist(),
                         "score": float(res.scores[p])})
    if not done:
        raise InputError(f"{folder}: none of the {len(images)} images of {ann_path.name} is there"
                         + "".join(f"; {u}" for u in unreadable))
    out = {"images": len(done), "missing_images": missing, "unreadable_images": unreadable, "people": total, "found": found,
           "poses": poses, "alpha": alpha, "min_pck": min_pck, "min_labelled": min_labelled,
           "pck_found": float(np.mean(pcks)) if pcks else None,
           "pck_all": float(np.sum(pcks) / total) if total else None}
    if with_ap:
        out["ap"] = coco_ap(doc, done, dets)
    return out


def _num(v) -> str:
    """A metric for the text report; ``None`` (no one to average over) as ``n/a``."""
    return "n/a" if v is None else f"{v:.3f}"


def format_report(m: dict) -> str:
    lines = [f"images: {m['images']} ({m['missing_images']} of the file not in the folder)",
             f"people (>= {m['min_labelled']} labelled keypoints): {m['people']}",
             f"found (PCK@{m['alpha']} >= {m['min_pck']}, one-to-one): {m['found']}/{m['people']}"
             + (f" ({m['found'] / m['people']:.2f})" if m["people"] else ""),
             f"poses returned: {m['poses']}",
             f"PCK@{m['alpha']} of found people: {_num(m['pck_found'])}; over all people (0 if not found): "
             f"{_num(m['pck_all'])}"]
    lines += [f"unreadable, skipped: {u}" for u in m.get("unreadable_images", [])]
    if "ap" in m:
        lines.append("COCO keypoint AP (pycocotools, OKS): " + ", ".join(f"{k} {v:.3f}" for k, v in m["ap"].items()))
    return "\n".join(lines)


def cmd_eval(args, options) -> int:
    import json as _json
    import sys

    from ..api.landmarker import PoseLandmarker

    read_inputs(args.annotations, args.images, with_ap=not args.no_ap)   # a bad file: before the models load
    with PoseLandmarker(options) as pl:
        m = evaluate(pl, args.annotations, args.images, alpha=args.alpha, min_labelled=args.min_labelled,
                     with_ap=not args.no_ap)
    m.update({"model": options.model, "max_num_poses": options.max_num_poses,
              "detection_tiles": options.detection_tiles})
    print(_json.dumps(m, indent=1, allow_nan=False) if args.json else format_report(m))
    for u in m["unreadable_images"]:
        print(f"error: {u}", file=sys.stderr)
    return 1 if m["unreadable_images"] else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="accuracy against COCO keypoint ground truth (PCK, people found, AP)")
    p.add_argument("annotations", help="COCO person-keypoints JSON file")
    p.add_argument("images", help="folder holding the file's images (by file_name)")
    add_option_arguments(p)
    p.set_defaults(max_num_poses=10)   # several people by default here: ground truth has several
    for action in p._actions:          # and --help says so
        if action.dest == "max_num_poses":
            action.help = action.help.replace("(default 1)", "(default 10)")
    p.add_argument("--alpha", type=positive_fraction, default=0.2,
                   help="PCK threshold, fraction of the torso, > 0 (default 0.2)")
    p.add_argument("--min-labelled", type=int_in(1, 17), default=MIN_LABELLED,
                   help=f"people with at least this many labelled keypoints (of 17) count (default {MIN_LABELLED})")
    p.add_argument("--no-ap", action="store_true", help="skip COCO AP (no pycocotools needed)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_eval, options=True)

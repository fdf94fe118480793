"""Ghost poses: a second pose found on one body, versus real people who overlap.

Records every pair of poses that ``stages.multi.covers_same_body`` judges (the candidate and the
better / older pose) while the pipeline runs on

- the one-person squats clip (``tests/data/reference/pose_squats.mp4``) in video mode, full and
  heavy x max_num_poses 2 and 10, and each of its frames as a still image (max_num_poses=2):
  every pose beyond the first is a ghost;
- the COCO fixtures (still images, max_num_poses=10, the auto plan) and the composites of
  ``tests/composites.py`` (max_num_poses=10), each returned pose tagged y/n: matched one-to-one
  to an annotation (PCK@0.2 >= 0.5) or not;
- the two-person clip of ``tests/test_multi_video.py`` (max_num_poses=2);
- the hand-made tackle of ``tests/test_people.py`` (its other person drawn with seeds 0-19; the
  test uses seed 3) and hug.

Prints the frames of the squats clip with more than one pose, then for each pair the rule kept
(verdict None) the features: contained fraction, size ratio, OKS, partial OKS, chamfer OKS (each
visible landmark of the candidate against the *nearest* visible landmark of the other pose,
whatever its identity, on the other's scale), bone OKS (against the nearest bone segment of the
other's skeleton), median nearest-landmark distance (fraction of the other's size), the angle
between the two body axes (hips -> shoulders, degrees), visible landmarks, mean visibility and
both pose flags; then, for the rules "contained and chamfer (or bone) OKS > T", the ghost frames
each threshold leaves and the must-keep pairs it drops. ``--no-part-rule`` runs the pipeline
without ``stages.multi.is_body_part`` (as before it), ``--tile-detections`` lists the detections
the auto plan's tiles would add (by the IoU test alone) with the features that rule uses.

Findings (full suite of runs in the commit that added the rule): without it, 2 (full) and 3
(heavy) frames of the clip have a second pose in video, 2 and 5 as stills; every such pose comes
from a weak tile detection (score 0.51-0.67) lying inside the person's body region, and none with
``detection_tiles=0``. No pose-level feature separates those poses from the hand-made tackle of
tests/test_people.py (chamfer OKS 0.33-0.64 against 0.46-0.63 over its seeds, bone OKS 0.61-0.93
against 0.67-0.82); with the rule, no frame has a second pose and the other figures are unchanged.

    PYTHONPATH=src python benchmarks/ghost_poses.py [--skip-video] [--skip-images] [--no-stills] [--tiles 0] [--no-part-rule]
    PYTHONPATH=src python benchmarks/ghost_poses.py --tile-detections
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from blazepose import CONNECTIONS  # noqa: E402
from blazepose.stages import multi  # noqa: E402

SQUATS = ROOT / "tests" / "data" / "reference" / "pose_squats.mp4"
#: Every pair judged by covers_same_body: context, both poses, visibilities, verdict.
RECORD: list[dict] = []
#: Every landmark estimate made (landmarks (33, 2) bytes -> pose flag), to look up a pose's flag.
FLAGS: dict[bytes, float] = {}


def _flag(p: np.ndarray) -> float:
    return FLAGS.get(np.ascontiguousarray(p[:33, :2], dtype=np.float64).tobytes(), float("nan"))


def _recording_estimates(fn):
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        for e in out:
            FLAGS[np.ascontiguousarray(e.landmarks[:33, :2], dtype=np.float64).tobytes()] = e.score
        return out
    return wrapped


CONTEXT = {"name": ""}


def _recording(fn):
    def wrapped(cand, better, vis_cand=None, vis_better=None):
        verdict = fn(cand, better, vis_cand, vis_better)
        RECORD.append({"ctx": CONTEXT["name"], "cand": np.array(cand), "better": np.array(better),
                       "vc": None if vis_cand is None else np.array(vis_cand),
                       "vb": None if vis_better is None else np.array(vis_better), "verdict": verdict})
        return verdict
    return wrapped


def _seg_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points p (N, 2) to the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-9), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def features(cand, better, vc, vb) -> dict:
    c, b = cand[:33, :2], better[:33, :2]
    vc = np.ones(33) if vc is None else vc[:33]
    vb = np.ones(33) if vb is None else vb[:33]
    box_c, box_b = multi.visible_box(c, vc), multi.visible_box(b, vb)
    seen_c = vc >= multi.OKS_MIN_VISIBILITY
    seen_b = vb >= multi.OKS_MIN_VISIBILITY
    if seen_c.sum() < 2:
        seen_c[:] = True
    if seen_b.sum() < 2:
        seen_b[:] = True
    area = max(multi.AREA_PER_BOX * multi._area(box_b), 1.0)
    kappa = 2.0 * multi.OKS_SIGMAS
    pc, pb = c[seen_c], b[seen_b]
    d_near = np.linalg.norm(pc[:, None] - pb[None], axis=2).min(axis=1)
    chamfer = float(np.mean(np.exp(-d_near ** 2 / (2 * area * kappa[seen_c] ** 2))))
    bones = [(i, j) for i, j in CONNECTIONS if seen_b[i] and seen_b[j]]
    d_bone = np.min([_seg_dist(pc, b[i], b[j]) for i, j in bones], axis=0) if bones else d_near
    bone = float(np.mean(np.exp(-d_bone ** 2 / (2 * area * kappa[seen_c] ** 2))))
    scale = math.sqrt(multi._area(box_b))

    def axis(p):
        v = p[[11, 12]].mean(axis=0) - p[[23, 24]].mean(axis=0)
        return math.degrees(math.atan2(v[0], -v[1]))
    dang = abs((axis(c) - axis(b) + 180) % 360 - 180)
    return {
        "contained": multi.contained_fraction(box_c, box_b),
        "size": math.sqrt(multi._area(box_c)) / max(scale, 1e-9),
        "oks": multi.oks(c, b, vc, vb),
        "partial": multi.oks(c, b, vc, np.ones_like(vc), area=multi.AREA_PER_BOX * multi._area(box_b)),
        "chamfer": chamfer, "bone": bone,
        "near_med": float(np.median(d_near)) / max(scale, 1e-9),
        "dangle": dang, "nvis": int(seen_c.sum()), "meanvis": float(np.mean(vc)),
        "flag_c": _flag(cand), "flag_b": _flag(better),
    }


def show(rows: list[dict], title: str) -> None:
    print(f"\n## {title}: {len(rows)} pair(s) kept by covers_same_body"
          + (" (COCO/composites: only pairs whose both poses were returned; y/n: matched to an annotation)"
             if title.startswith("COCO") else ""))
    if not rows:
        return
    keys = ["contained", "size", "oks", "partial", "chamfer", "bone", "near_med", "dangle", "nvis", "meanvis", "flag_c", "flag_b"]
    print("  context" + " " * 33 + " ".join(f"{k:>9}" for k in keys))
    for r in rows:
        f = features(r["cand"], r["better"], r["vc"], r["vb"])
        r["f"] = f
        print(f"  {r['ctx'][:40]:40s}" + " ".join(f"{f[k]:9.2f}" for k in keys))
    inside = [r["f"] for r in rows if r["f"]["contained"] >= multi.CONTAINED_FRACTION]
    for r in rows:
        r["inside"] = r["f"]["contained"] >= multi.CONTAINED_FRACTION
    if inside:
        print(f"  contained pairs ({len(inside)}): " + ", ".join(
            f"{k} {min(f[k] for f in inside):.2f}-{max(f[k] for f in inside):.2f}"
            for k in ("size", "chamfer", "bone", "near_med", "dangle", "meanvis", "flag_c")))


def run_squats(models, places, stills, tiles="auto") -> list[dict]:
    from blazepose import PoseLandmarker

    ghosts = []
    for model in models:
        for n in places:
            CONTEXT["name"] = f"squats {model} n={n}"
            start = len(RECORD)
            with PoseLandmarker(model, max_num_poses=n, detection_tiles=tiles) as pl:
                results, frames_iter = [], pl.process_video(SQUATS)
                while True:      # the context names the frame being processed
                    CONTEXT["name"] = f"squats video {model} n={n} f{len(results)}"
                    try:
                        results.append(next(frames_iter))
                    except StopIteration:
                        break
            multi_frames = [i for i, r in enumerate(results) if len(r) > 1]
            print(f"squats video {model} max_num_poses={n} detection_tiles={tiles}: {len(multi_frames)} frame(s) with >1 pose: {multi_frames}")
            ghosts += [r for r in RECORD[start:] if r["verdict"] is None]
        if stills:   # every frame as a still image (no tracking), max_num_poses=2
            import cv2

            CONTEXT["name"] = f"squats still {model}"
            start = len(RECORD)
            cap, frames = cv2.VideoCapture(str(SQUATS)), []
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            cap.release()
            with PoseLandmarker(model, max_num_poses=2, detection_tiles=tiles) as pl:
                multi_frames = []
                for i, f in enumerate(frames):
                    CONTEXT["name"] = f"squats still {model} f{i}"
                    if len(pl.process_image(f)) > 1:
                        multi_frames.append(i)
            print(f"squats stills {model} max_num_poses=2 detection_tiles={tiles}: {len(multi_frames)} frame(s) with >1 pose: {multi_frames}")
            ghosts += [r for r in RECORD[start:] if r["verdict"] is None]
    return ghosts


def _tag(records: list[dict], res, matched: set) -> list[dict]:
    """The kept pairs of ``records`` whose both poses were returned, with ``m`` (matched to an
    annotation: y / n) added to the context for each of the two poses."""
    out = []
    for r in records:
        if r["verdict"] is not None:
            continue
        idx = [next((i for i in range(len(res)) if np.allclose(res.landmarks[i, :, :2], p[:, :2])), None)
               for p in (r["cand"], r["better"])]
        if None in idx:
            continue
        r["ctx"] += " " + "".join("y" if i in matched else "n" for i in idx)
        out.append(r)
    return out


def hand_made() -> list[dict]:
    """The tackle of tests/test_people.py (20 seeds of its other person) and the hug."""
    from test_multi_person import stick_figure
    from test_people import other_figure

    a, ones = stick_figure(100, 50, 100, 300), np.ones(33)
    rows = [{"ctx": f"tackle seed {s}", "cand": other_figure(105, 90, 90, 250, seed=s), "better": a}
            for s in range(20)]
    rows.append({"ctx": "hug seed 5", "cand": other_figure(150, 60, 100, 290, seed=5), "better": a})
    for r in rows:
        r.update(vc=ones, vb=ones, verdict=multi.covers_same_body(r["cand"], a, ones, ones))
    return [r for r in rows if r["verdict"] is None]     # seed 3 is the one the test uses


def run_images() -> list[dict]:
    from blazepose import PoseLandmarker
    from blazepose.apps.evaluate import load_coco, match_people
    from composites import as_coco_annotations, make_composites
    from conftest import COCO

    real = []
    images, anns = load_coco(COCO / "person_keypoints.json")
    found = total = 0
    with PoseLandmarker("full", max_num_poses=10) as pl:
        for iid, im in images.items():
            CONTEXT["name"] = f"coco {im['file_name']}"
            start = len(RECORD)
            res = pl.process_image(pl.load(COCO / im["file_name"]))
            people = [a for a in anns.get(iid, []) if sum(v > 0 for v in a["keypoints"][2::3]) >= 8]
            total += len(people)
            m = match_people(res.coco17, people, 0.2, 0.5)
            found += len(m)
            real += _tag(RECORD[start:], res, {p for _, p, _ in m})
        print(f"coco: found {found}/{total}")
    with PoseLandmarker("full") as single, PoseLandmarker("full", max_num_poses=10) as pl:
        comps = make_composites(single)
        found = total = 0
        for comp in comps:
            CONTEXT["name"] = f"composite {comp.name}"
            start = len(RECORD)
            res = pl.process_image(comp.rgb)
            total += len(comp.heights)
            m = match_people(res.coco17, as_coco_annotations(comp))
            found += len(m)
            real += _tag(RECORD[start:], res, {p for _, p, _ in m})
        print(f"composites: found {found}/{total}")
    return real


def run_two_people() -> list[dict]:
    from blazepose import PoseLandmarker
    from test_multi_video import two_people_clip

    CONTEXT["name"] = "two-people clip"
    start = len(RECORD)
    with PoseLandmarker("full", max_num_poses=2) as pl:
        session = pl.session()
        res = [session.process_frame(f, i * 100.0) for i, f in enumerate(two_people_clip(30))]
    print(f"two-people clip: frames with 2 poses {sum(len(r) == 2 for r in res)}/30")
    return [r for r in RECORD[start:] if r["verdict"] is None]


def tile_detections() -> None:
    """Where the auto plan's tile detections lie: for each detection a tile adds to the whole
    image's (``stages.multi.add_new_detections``), the fraction of its body region (the box
    around the circle of centre keypoint 0, radius |kp1 - kp0|, pixels) inside the nearest whole-
    image detection's, their size ratio, and its score; squats clip (video, max_num_poses=2,
    one line per detector frame with additions), COCO fixtures and composites (max_num_poses=10)."""
    from blazepose import PoseLandmarker
    from blazepose.api import core as api
    from blazepose.apps.evaluate import load_coco
    from blazepose.stages.detector import iou, weighted_nms
    from composites import make_composites
    from conftest import COCO

    add, detect, size = multi.add_new_detections, api.LandmarkerCore.detect_people, {}
    rows: dict[str, list] = {}

    def regions_of(d):
        return multi.body_regions(d, size["wh"])

    def adding(dets, found, iou_threshold=multi.NMS_IOU_THRESHOLD, **kw):
        # what the tiles would add by the IoU test alone; "part": what is_body_part drops of it
        parts = [f for f in found if len(f)]
        if parts and len(dets):
            new = weighted_nms(*multi.concat_detections(parts), iou_threshold=iou_threshold)
            coarse, regions = regions_of(dets), regions_of(new)
            for i in range(len(new)):
                if iou(new.boxes[i], dets.boxes).max() > iou_threshold:
                    continue
                j = max(range(len(coarse)), key=lambda k: multi.contained_fraction(regions[i], coarse[k]))
                part = multi.is_body_part(regions[i], float(new.scores[i]), coarse)
                rows.setdefault(CONTEXT["name"], []).append(
                    (multi.contained_fraction(regions[i], coarse[j]),
                     math.sqrt(multi._area(regions[i]) / multi._area(coarse[j])), float(new.scores[i]), part))
        return add(dets, found, iou_threshold, **kw)

    def detecting(self, rgb):
        size["wh"] = (rgb.shape[1], rgb.shape[0])
        return detect(self, rgb)

    api.multi_stage.add_new_detections, api.LandmarkerCore.detect_people = adding, detecting
    try:
        for model in ("full", "heavy"):
            with PoseLandmarker(model, max_num_poses=2) as pl:
                it, i = pl.process_video(SQUATS), 0
                while True:
                    CONTEXT["name"] = f"squats video {model} f{i}"
                    if next(it, None) is None:
                        break
                    i += 1
        images, _ = load_coco(COCO / "person_keypoints.json")
        with PoseLandmarker("full") as single, PoseLandmarker("full", max_num_poses=10) as pl:
            for im in images.values():
                CONTEXT["name"] = f"coco {im['file_name']}"
                pl.process_image(pl.load(COCO / im["file_name"]))
            for comp in make_composites(single):
                CONTEXT["name"] = f"composite {comp.name}"
                pl.process_image(comp.rgb)
    finally:
        api.multi_stage.add_new_detections, api.LandmarkerCore.detect_people = add, detect
    print("\n## detections the tiles would add by IoU: (contained in a whole-image detection's body region, "
          "size ratio, score); * marks those is_body_part drops")
    for ctx, adds in rows.items():
        print(f"  {ctx:40s} " + "  ".join(f"({c:.2f}, {z:.2f}, {sc:.2f}){'*' if p else ' '}" for c, z, sc, p in adds))


def sweep(ghosts: list[dict], keep: list[dict]) -> None:
    """For a rule "contained and FEATURE > T: same body", per T: the ghost frames it would leave
    (a frame is cleared when every contained ghost pair of it is caught) and the must-keep pairs
    (contained, kept today) it would drop."""
    frames = {}
    for r in ghosts:
        if r["inside"]:
            frames.setdefault(r["ctx"].replace(" n=10", " n=2"), []).append(r["f"])
    keep = [r for r in keep if r["inside"]]
    for feat in ("chamfer", "bone"):
        print(f"\n## rule 'contained and {feat} > T': ghost frames left of {len(frames)} / must-keep pairs "
              f"dropped of {len(keep)} ({', '.join(r['ctx'] for r in keep)})")
        for t in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
            left = [k for k, fs in frames.items() if not all(f[feat] > t for f in fs)]
            dropped = [r["ctx"] for r in keep if r["f"][feat] > t]
            print(f"  T={t:.2f}: ghost frames left {len(left)} {left}; must-keep dropped {len(dropped)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-video", action="store_true")
    ap.add_argument("--skip-images", action="store_true")
    ap.add_argument("--no-stills", action="store_true", help="skip the squats frames as still images")
    ap.add_argument("--no-part-rule", action="store_true",
                    help="turn stages.multi.is_body_part off (the pipeline as before that rule)")
    ap.add_argument("--tile-detections", action="store_true",
                    help="only list the detections the tiles add (squats, COCO, composites)")
    ap.add_argument("--models", nargs="+", default=["full", "heavy"])
    ap.add_argument("--places", nargs="+", type=int, default=[2, 10])
    ap.add_argument("--tiles", default="auto", help="detection_tiles for the squats clip (auto or an int)")
    args = ap.parse_args()
    multi.covers_same_body = _recording(multi.covers_same_body)
    from blazepose.api.landmarker import PoseLandmarker
    PoseLandmarker._estimate_crops = _recording_estimates(PoseLandmarker._estimate_crops)
    if args.no_part_rule:
        multi.is_body_part = lambda region, score, found_regions: False
    if args.tile_detections:
        tile_detections()
        return
    ghosts, keep = [], []
    if not args.skip_video:
        ghosts = run_squats(args.models, args.places, not args.no_stills,
                            args.tiles if args.tiles == "auto" else int(args.tiles))
        show(ghosts, "squats clip (one person: every kept pair is a ghost)")
    if not args.skip_images:
        real = run_images()
        show(real, "COCO fixtures and composites (kept pairs)")
        keep += [r for r in real if r["ctx"].endswith("yy") or r["ctx"].endswith("yn")]
        two = run_two_people()
        show(two, "two-people clip (kept pairs)")
        keep += two
    made = hand_made()
    show(made, "hand-made tackle and hug of tests/test_people.py (must stay two people)")
    sweep(ghosts, keep + made)


if __name__ == "__main__":
    main()

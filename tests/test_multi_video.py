"""Several people in video: detector schedule, duplicates, re-identification, and real clips.

The tracker rules (``stages.tracking``'s docstring) are checked on hand-made poses; the clip
tests build short videos from the two fixture photos (the yoga man of pose.jpg and the woman of
dance.jpg, pasted side by side on a grey canvas and moving a few pixels per frame).
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from blazepose.stages.landmarks import PoseEstimate
from blazepose.stages.roi import Roi
from blazepose.stages.tracking import REID_MAX_SCALE, REID_MAX_SHIFT, Tracker
from conftest import REFERENCE


# ---- hand-made poses -----------------------------------------------------------------------------
_SHAPE = np.random.default_rng(3).uniform(-0.5, 0.5, (33, 2))     # a body in a unit box


def body(cx: float, cy: float, size: float = 200.0, score: float = 0.9) -> PoseEstimate:
    """A pose of 39 landmarks around (cx, cy), ``size`` px tall; aux 33 = centre, 34 = the point
    size/2 above it, so its region (2·|p34 − p33|·1.25) is 1.25·size wide."""
    lm = np.zeros((39, 3))
    lm[:33, :2] = np.array([cx, cy]) + _SHAPE * size
    lm[33, :2], lm[34, :2] = (cx, cy), (cx, cy - size / 2)
    return PoseEstimate(lm, np.ones(39), np.ones(39), np.zeros((33, 3)), score, Roi(cx, cy, size, size, 0.0))


def region(cx: float, cy: float, size: float = 200.0) -> Roi:
    return Roi(cx, cy, 1.25 * size, 1.25 * size, 0.0)


def step(tr: Tracker, t: float, people, detections=()) -> dict:
    """One frame at ``t`` s: the detections (``(cx, cy[, size])``, best first) start candidate
    tracks, then each track gets the pose of the person of ``people`` (``(cx, cy[, size])``)
    nearest its ROI, or a pose flag of 0 when nobody is within 100 px. Returns {id: centre}."""
    if detections:
        tr.start_tracks([region(*d) for d in detections], t)
    ests = []
    for track in tr.tracks:
        best = min(people, key=lambda p: np.hypot(p[0] - track.roi.cx, p[1] - track.roi.cy), default=None)
        if best is None or np.hypot(best[0] - track.roi.cx, best[1] - track.roi.cy) > 100:
            ests.append(body(track.roi.cx, track.roi.cy, score=0.0))
        else:
            ests.append(body(*best))
    return {p.track_id: (p.estimate.landmarks[33, 0], p.estimate.landmarks[33, 1]) for p in tr.update(ests, t)}


# ---- the detector's schedule ---------------------------------------------------------------------
def test_single_person_default_never_detects_while_tracking():
    tr = Tracker(max_num_poses=1)
    assert tr.needs_detection(0.0)
    assert step(tr, 0.0, [(100, 200)], detections=[(100, 200)]) == {0: (100, 200)}
    assert not any(tr.needs_detection(t) for t in (0.1, 0.25, 0.5, 10.0))   # no periodic runs


def test_detector_runs_at_the_interval_while_places_are_free():
    tr = Tracker(max_num_poses=3, detection_interval_s=0.25)
    assert tr.needs_detection(0.0)
    step(tr, 0.0, [(100, 200)], detections=[(100, 200)])
    ran = []
    for t in (0.1, 0.2, 0.25, 0.3, 0.45, 0.5):
        if tr.needs_detection(t):
            ran.append(t)
            tr.start_tracks([], t)                # the detector ran and found nobody new
    assert ran == [0.25, 0.5]                     # one person tracked, two places free: every 250 ms
    step(tr, 0.5, [(100, 200), (400, 200), (700, 200)], detections=[(400, 200), (700, 200)])
    assert len(tr.tracks) == 3 and not tr.needs_detection(5.0)   # all places taken: no detector
    every = Tracker(max_num_poses=3, detection_interval_s=0.0)
    step(every, 0.0, [(100, 200)], detections=[(100, 200)])
    assert all(every.needs_detection(t) for t in (0.01, 0.02))


def test_detection_on_a_tracked_person_starts_no_track():
    tr = Tracker(max_num_poses=3)
    step(tr, 0.0, [(100, 200)], detections=[(100, 200)])
    assert tr.start_tracks([region(110, 205), region(400, 200)], 0.1)[0].roi.cx == 400  # only the newcomer
    assert len(tr.tracks) == 2


def test_new_people_get_new_ids_and_rejected_candidates_spend_none():
    tr = Tracker(max_num_poses=3)
    assert step(tr, 0.0, [(100, 200)], detections=[(100, 200), (400, 200)]) == {0: (100, 200)}  # 2nd: no pose
    out = step(tr, 0.25, [(100, 200), (400, 200)], detections=[(400, 200)])
    assert sorted(out) == [0, 1] and out[1] == (400, 200)


# ---- duplicates ----------------------------------------------------------------------------------
def test_two_tracks_on_one_body_keep_the_older_id():
    tr = Tracker(max_num_poses=2)
    step(tr, 0.0, [(100, 200), (300, 200)], detections=[(100, 200), (300, 200)])
    assert [t.id for t in tr.tracks] == [0, 1]
    # both tracks land on the body at (200, 200): one pose, the older id
    ests = [body(200, 200), body(201, 199)]
    out = tr.update(ests, 0.1)
    assert [p.track_id for p in out] == [0] and [t.id for t in tr.tracks] == [0]
    tr2 = Tracker(max_num_poses=2)
    step(tr2, 0.0, [(100, 200), (300, 200)], detections=[(100, 200), (300, 200)])
    assert [p.track_id for p in tr2.update([body(201, 199), body(200, 200)], 0.1)] == [0]   # either order


def test_a_track_that_drifts_onto_another_body_with_a_partial_pose_ends():
    """The older track (id 0, a half-hidden person) slides onto the body of person 1 and sees 20
    of its landmarks; person 1's own track sees all 33: person 1 keeps its pose and id, track 0
    ends (and may be re-identified later)."""
    tr = Tracker(max_num_poses=2)
    step(tr, 0.0, [(100, 200), (300, 200)], detections=[(100, 200), (300, 200)])
    partial = body(301, 199)
    vis = np.ones(39)
    vis[20:33] = 0.1                       # 20 visible body landmarks
    partial = PoseEstimate(partial.landmarks, vis, partial.presence, partial.world, 0.9, partial.roi)
    out = tr.update([partial, body(300, 200)], 0.1)
    assert [p.track_id for p in out] == [1] and [t.id for t in tr.tracks] == [1]
    assert int((out[0].estimate.visibility[:33] >= 0.5).sum()) == 33
    assert [e.id for e in tr.ended] == [0]   # remembered for re-identification


def test_a_detection_duplicating_a_tracked_pose_is_dropped():
    """A detection that passes the ROI-overlap test but lands on a tracked body (OKS) is dropped."""
    tr = Tracker(max_num_poses=2, overlap_threshold=1.0)      # overlap test off: OKS must do it
    step(tr, 0.0, [(100, 200)], detections=[(100, 200)])
    tr.start_tracks([region(100, 200)], 0.25)
    assert len(tr.tracks) == 2
    assert [p.track_id for p in tr.update([body(100, 200), body(101, 200)], 0.25)] == [0]
    assert tr.next_id == 1                                     # no id spent on the duplicate


# ---- re-identification ---------------------------------------------------------------------------
def _lost_at(t_lost=0.2, max_num_poses=2, **kw) -> Tracker:
    """Two people tracked 0..0.1 s; the one at (400, 200) is lost at ``t_lost``."""
    tr = Tracker(max_num_poses=max_num_poses, **kw)
    step(tr, 0.0, [(100, 200), (400, 200)], detections=[(100, 200), (400, 200)])
    step(tr, 0.1, [(100, 200), (400, 200)])
    assert step(tr, t_lost, [(100, 200)]) == {0: (100, 200)}
    return tr


@pytest.mark.parametrize("back, t, expected", [
    ((420, 210), 1.0, 1),                                  # near, within the timeout: same id
    ((400, 200), 2.1, 1),                                  # last seen at 0.1 s: 2.0 s later, still in
    ((400, 200), 2.2, 2),                                  # 2.1 s after last seen: a new id
    ((400 + REID_MAX_SHIFT * 250 + 5, 200), 1.0, 2),       # too far from where it was lost
    ((400, 200, 200 * REID_MAX_SCALE * 1.1), 1.0, 2),      # much nearer the camera: a new id
])
def test_reid_rule(back, t, expected):
    tr = _lost_at()
    assert sorted(step(tr, t, [(100, 200), back], detections=[back])) == [0, expected]


def test_reid_off_with_zero_timeout():
    tr = _lost_at(reid_timeout_s=0.0)
    assert sorted(step(tr, 0.3, [(100, 200), (400, 200)], detections=[(400, 200)])) == [0, 2]


def test_reid_ambiguous_gives_new_ids():
    """Two people lost close to each other (160 px apart, regions 250 px), one comes back
    between the two places: both ended tracks could be them, so a new id."""
    tr = Tracker(max_num_poses=3)
    step(tr, 0.0, [(100, 200), (400, 200), (560, 200)], detections=[(100, 200), (400, 200), (560, 200)])
    assert sorted(step(tr, 0.1, [(100, 200)])) == [0]
    assert sorted(step(tr, 0.5, [(100, 200), (480, 200)], detections=[(480, 200)])) == [0, 3]
    # the other, coming back near its own place only (and 120 px from the ambiguous one), gets its id
    assert sorted(step(tr, 0.75, [(100, 200), (480, 200), (600, 200)], detections=[(600, 200)])) == [0, 2, 3]


def test_reid_restarts_the_filters():
    """A re-identified person's first pose passes unfiltered (one-euro's first value)."""
    tr = _lost_at()
    tr.start_tracks([region(410, 200)], 0.5)
    out = tr.update([body(100, 200), body(410, 200)], 0.5)
    (back,) = [p for p in out if p.track_id == 1]
    np.testing.assert_array_equal(back.smoothed.landmarks, back.estimate.landmarks[:33])


def test_results_come_ordered_by_id():
    tr = _lost_at(max_num_poses=3)
    assert sorted(step(tr, 0.3, [(100, 200), (700, 200)], detections=[(700, 200)])) == [0, 2]  # newcomer
    out = step(tr, 0.6, [(100, 200), (700, 200), (400, 200)], detections=[(400, 200)])
    assert list(out) == [0, 1, 2]


# ---- real clips ----------------------------------------------------------------------------------
W, H, PERSON_H = 600, 240, 180


def _people():
    import cv2

    from blazepose.io.images import read_image

    def fit(im):
        return cv2.resize(im, (round(im.shape[1] * PERSON_H / im.shape[0]), PERSON_H), interpolation=cv2.INTER_AREA)

    man = fit(read_image(REFERENCE / "pose.jpg")[200:667, 230:780])       # the yoga man, 212 px wide
    woman = fit(read_image(REFERENCE / "dance.jpg")[40:600, 140:870])     # the seated woman, 235 px wide
    return man, woman


def two_people_clip(n: int = 30, man_absent=(), woman_absent=()) -> list[np.ndarray]:
    """RGB frames 600x240: the man on the left bobbing and drifting right 2 px/frame, the woman
    on the right drifting right 2 px/frame; a person is left out on the frames listed."""
    man, woman = _people()
    frames = []
    for i in range(n):
        c = np.full((H, W, 3), 120, np.uint8)
        if i not in man_absent:
            y, x = 30 + round(6 * np.sin(i / 3)), 10 + 2 * i
            c[y:y + PERSON_H, x:x + man.shape[1]] = man
        if i not in woman_absent:
            y, x = 40, 280 + 2 * i
            c[y:y + PERSON_H, x:x + woman.shape[1]] = woman
        frames.append(c)
    return frames


def run(pl, frames, dt_ms=100.0):
    session = pl.session()
    return [session.process_frame(f, i * dt_ms) for i, f in enumerate(frames)]


def ids_by_side(results):
    """Per frame: {"left": id, "right": id} from the body centres (x < 280: the man's side)."""
    out = []
    for r in results:
        cx = r.landmarks[:, [23, 24], 0].mean(axis=1)
        out.append({("left" if x < 280 else "right"): int(i) for x, i in zip(cx, r.ids)})
    return out


@pytest.mark.slow
def test_two_people_keep_distinct_stable_ids(landmarker_factory):
    pl = landmarker_factory("full", max_num_poses=2)
    results = run(pl, two_people_clip(30))
    sides = ids_by_side(results)
    assert all(len(r) == 2 for r in results)
    first = sides[0]
    assert sorted(first.values()) == [0, 1]
    assert all(s == first for s in sides), sides            # the same id on the same person throughout
    assert all(list(r.ids) == [0, 1] for r in results)      # ordered by id
    assert sum(r.meta["detector"] for r in results) == 1    # both found at once, then tracked


@pytest.mark.slow
def test_newcomer_is_picked_up_within_the_interval(landmarker_factory):
    """The woman walks in at frame 8 (100 ms per frame, detection interval 250 ms)."""
    pl = landmarker_factory("full", max_num_poses=3)
    results = run(pl, two_people_clip(20, woman_absent=range(8)))
    ran = [i for i, r in enumerate(results) if r.meta["detector"]]
    assert ran[:4] == [0, 3, 6, 9]                          # one person tracked, places free: every 250 ms
    assert all(b - a == 3 for a, b in zip(ran, ran[1:]))    # (3 people allowed: the search goes on)
    sides = ids_by_side(results)
    assert all(s == {"left": 0} for s in sides[:9])
    assert all(s == {"left": 0, "right": 1} for s in sides[9:]), sides   # found at the next search


@pytest.mark.slow
def test_person_leaving_and_coming_back_regains_the_id(landmarker_factory):
    """The woman is away on frames 10-15 (600 ms); she comes back 60 px further right (she kept
    walking while away): well within reid_timeout_ms and REID_MAX_SHIFT, so she gets her id
    back; the man keeps his all along. With reid_timeout_ms=0 she gets a new id."""
    frames = two_people_clip(30, woman_absent=range(10, 16))
    for reid_ms, expect_new in ((2000.0, False), (0.0, True)):
        pl = landmarker_factory("full", max_num_poses=2, reid_timeout_ms=reid_ms)
        sides = ids_by_side(run(pl, frames))
        man, woman = sides[0]["left"], sides[0]["right"]
        assert all(s["left"] == man for s in sides)
        assert all("right" not in s for s in sides[10:16])
        back = [s.get("right") for s in sides[16:]]
        assert back[0] is None or back[0] == back[1]                  # found at the next search (≤ 250 ms)
        returned = back[-1]
        assert all(b == returned for b in back[2:]), back
        if expect_new:
            assert returned == 2, sides
        else:
            assert returned == woman, sides


@pytest.mark.slow
def test_video_cli_carries_ids(tmp_path, monkeypatch):
    """JSON ids, CSV person column and per-id colours in the annotated video, through the CLI."""
    import cv2

    from _video_clips import write_avi
    from blazepose.apps import cli as cli_mod
    from blazepose.outputs import draw as video_out      # the video writer draws through DrawStyle.draw

    frames = two_people_clip(14, woman_absent=range(5, 9))
    clip = write_avi(tmp_path / "two.avi", [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames], fps=10.0)
    drawn = []
    real = video_out.draw_pose

    def spy(image, result, **kw):
        drawn.append((list(result.ids), kw.get("color_by_id")))
        return real(image, result, **kw)

    monkeypatch.setattr(video_out, "draw_pose", spy)
    js, cs, avi = tmp_path / "o.json", tmp_path / "o.csv", tmp_path / "o.avi"
    assert cli_mod.main(["video", str(clip), "--max-poses", "2", "--json", str(js), "--csv", str(cs),
                         "-o", str(avi), "--no-progress"]) == 0
    doc = json.loads(js.read_text())
    o = doc["options"]
    assert (o["max_num_poses"], o["detection_interval_ms"], o["reid_timeout_ms"]) == (2, 250.0, 2000.0)
    json_ids = [[p["id"] for p in f["people"]] for f in doc["frames"]]
    assert json_ids[:5] == [[0, 1]] * 5 and all(len(i) == 1 for i in json_ids[5:9])
    assert json_ids[-1] == [0, 1]                                    # the woman is back with her id
    with open(cs, newline="") as fh:
        rows = list(csv.DictReader(fh))
    csv_ids = {}
    for r in rows:
        csv_ids.setdefault(int(r["frame"]), set()).add(int(r["person"]))
    assert [sorted(csv_ids.get(i, ())) for i in range(14)] == json_ids
    assert [d[0] for d in drawn] == json_ids and all(d[1] is True for d in drawn)   # colour by id always
    cap = cv2.VideoCapture(str(avi))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 14


def test_video_cli_rejects_bad_intervals(capsys):
    from blazepose.apps import cli as cli_mod

    assert cli_mod.main(["video", "x.mp4", "--json", "o.json", "--detection-interval-ms", "-5"]) == 2
    err = capsys.readouterr().err
    assert err == "blazepose video: error: detection_interval_ms must be a finite number >= 0, got -5\n"


def test_landmarker_rejects_bad_intervals():
    from blazepose import PoseLandmarker

    with pytest.raises(ValueError, match="reid_timeout_ms must be a finite number"):
        PoseLandmarker("full", reid_timeout_ms=float("nan"), download=False)


def test_offline_smoothing_restarts_at_a_reidentified_return():
    """Offline (forward-backward) smoothing runs on each unbroken stretch of an id: a person
    away on frames 5-7 and back 100 px further keeps the same id, and the stretch after the
    gap is not pulled towards where they were before it."""
    from blazepose.stages.landmarks import PersonPose
    from blazepose.stages.offline import RawFrame, smooth_tracks

    def person(x):
        lm = np.zeros((33, 3))
        lm[:, 0] = x + np.arange(33)
        lm[:, 1] = 100.0 + 5 * np.arange(33)
        return PersonPose(id=0, landmarks=lm, visibility=np.ones(33), presence=np.ones(33),
                          world=np.zeros((33, 3)), score=0.9, roi=np.zeros(5))

    frames = [RawFrame(i, i * 100.0, (640, 480), [] if 5 <= i < 8 else [person(0.0 if i < 5 else 100.0)],
                       scales=[] if 5 <= i < 8 else [150.0]) for i in range(13)]
    out = smooth_tracks(frames, smooth_landmarks=True)
    assert all(o == [] for o in out[5:8])
    before = np.stack([o[0].landmarks for o in out[:5]])
    after = np.stack([o[0].landmarks for o in out[8:]])
    np.testing.assert_allclose(before[..., 0], np.tile(np.arange(33.0), (5, 1)), atol=1e-9)
    np.testing.assert_allclose(after[..., 0], np.tile(100.0 + np.arange(33.0), (5, 1)), atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("places", [2, 10])
@pytest.mark.parametrize("model", ["full", "heavy"])
def test_one_person_squats_give_one_pose_per_frame(landmarker_factory, model, places):
    """The squats clip shows one person. With two places, the auto plan's tiles zoom in on her
    and the detector also fires weakly on parts of her body; before ``stages.multi.is_body_part``
    those detections gave a second "person" lying across her legs on frames 10 and 32 (full) and
    36, 60, 61 (heavy), in video and as still images (benchmarks/ghost_poses.py)."""
    pl = landmarker_factory(model, max_num_poses=places)
    counts = [len(r) for r in pl.process_video(REFERENCE / "pose_squats.mp4")]
    assert len(counts) == 65
    assert counts == [1] * 65, [i for i, c in enumerate(counts) if c != 1]
    stills = [len(pl.process_image(f)) for f in _squats_rgb()]      # every frame, as a photo
    assert stills == [1] * 65, [i for i, c in enumerate(stills) if c != 1]


def _squats_rgb() -> list[np.ndarray]:
    import cv2

    from _video_clips import squats_frames

    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in squats_frames(size=(720, 1280))]


# ---- issue 20, item 14: two tracks on one body, on real frames ----------------------------------
def skiers_clip(n: int = 60, step_px: int = 3) -> list[np.ndarray]:
    """The ski race photo (000000197388.jpg) moved up and left by ``step_px`` more pixels each
    frame (frame i by i·step_px in x and y), the uncovered border grey (128)."""
    import cv2

    from blazepose.io.images import read_image

    img = read_image(REFERENCE.parent / "coco" / "000000197388.jpg")
    h, w = img.shape[:2]
    return [cv2.warpAffine(img, np.float32([[1, 0, -i * step_px], [0, 1, -i * step_px]]), (w, h),
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(128, 128, 128)) for i in range(n)]


def _box_iou(a, b) -> float:
    iw, ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0])), max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


@pytest.mark.slow
@pytest.mark.parametrize("places", [2, 10])
def test_the_front_skier_keeps_one_id_when_a_hidden_skiers_track_slides_onto_him(landmarker_factory, places):
    """Two or ten places (``eval``'s default), 3×3 tiles, 30 fps: the skier in black half hidden behind the front skier is
    found first; as the picture moves up he leaves at the top and his track slides down onto the
    front skier. Before, the older track won: at frame 33 its partial pose (30 visible landmarks)
    was kept and the front skier's complete one (33) dropped, so no pose matched him at frames 33
    and 34 (box IoU < 0.5) and from then on he had the black skier's id (with either number of
    places). Now his complete pose is kept under his own id in all 60 frames."""
    frames = skiers_clip()
    session = landmarker_factory("full", max_num_poses=places, detection_tiles=3).session()
    results = [session.process_frame(f, i * 1000 / 30) for i, f in enumerate(frames)]
    h, w = frames[0].shape[:2]
    front = results[0].boxes[int(np.argmax([np.prod(b[2:] - b[:2]) for b in results[0].boxes]))]
    ids, seen = [], []
    for i, r in enumerate(results):
        # the frame-0 front-skier box moved along, cut to the picture (he stays > 60 % inside)
        want = np.clip(front - 3 * i, 0, [w, h, w, h])
        overlap = [_box_iou(np.clip(b, 0, [w, h, w, h]), want) for b in r.boxes]
        k = int(np.argmax(overlap)) if overlap else None
        if k is None or overlap[k] < 0.5:
            ids.append(None)
            continue
        ids.append(int(r.ids[k]))
        seen.append(int((r.visibility[k] >= 0.5).sum()))
    assert None not in ids, [i for i, v in enumerate(ids) if v is None]
    assert len(set(ids)) == 1, ids
    assert min(seen) >= 32                                   # his complete pose, every frame

"""``--reps`` with several people: every track id gets its own count (issue 21, item 5; it used to
count person 0 only). The clip is built here: the squats fixture's frames side by side with a
still photo of another person (``pose.jpg``, scaled to the clip's height), 5 fps like the fixture."""
import json
import re

import numpy as np
import pytest

from _video_clips import write_avi
from conftest import REFERENCE
from test_cli import run


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory):
    import cv2

    photo = cv2.imread(str(REFERENCE / "pose.jpg"))
    cap = cv2.VideoCapture(str(REFERENCE / "pose_squats.mp4"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        h = f.shape[0]
        still = cv2.resize(photo, (round(photo.shape[1] * h / photo.shape[0]), h), interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(np.concatenate([f, still], axis=1)))
    cap.release()
    assert len(frames) == 65
    return write_avi(tmp_path_factory.mktemp("people") / "squats_and_still.avi", frames, fps=5.0)


def counts(stdout: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^squat, person (\d+): (.*)$", stdout, re.M)}


@pytest.mark.slow
def test_reps_are_counted_for_each_person(side_by_side, tmp_path):
    plain = run("video", str(REFERENCE / "pose_squats.mp4"), "--reps", "squat", "--no-progress")
    assert plain.returncode == 0, plain.stderr
    single = plain.stdout.strip().split(": ", 1)[1]            # "2 repetition(s) (+1 in progress)"
    p = run("video", str(side_by_side), "--reps", "squat", "--max-poses", "4", "--angles",
            str(tmp_path / "a.json"), "--no-progress")
    assert p.returncode == 0, p.stderr
    per = counts(p.stdout)
    assert len(per) == 2, p.stdout                             # the squatter and the still person
    squatter = [i for i, line in per.items() if line == single]
    assert len(squatter) == 1, (single, p.stdout)              # the same count as on the plain clip
    still = [line for i, line in per.items() if i != squatter[0]]
    assert still[0].startswith("0 repetition(s)"), p.stdout
    reps = json.loads((tmp_path / "a.json").read_text())["reps"]
    assert sorted(r["person"] for r in reps["people"]) == sorted(per)    # the JSON says whose count
    by_id = {r["person"]: r for r in reps["people"]}
    assert by_id[squatter[0]]["count"] == int(single.split()[0])

    # --person picks one: only the squatter's count, with "person" in the JSON
    q = run("video", str(side_by_side), "--reps", "squat", "--max-poses", "4", "--person", str(squatter[0]),
            "--angles", str(tmp_path / "b.json"), "--no-progress")
    assert q.returncode == 0, q.stderr
    assert q.stdout == f"squat: {single}\n"
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["reps"]["person"] == squatter[0]
    assert {p["id"] for f in doc["frames"] for p in f["people"]} == {squatter[0]}

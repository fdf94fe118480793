"""What users reach for first: ``--bvh`` / ``--plot3d`` from the CLI, batch's combined CSV,
drawing on OpenCV's BGR frames with id labels, and the MediaPipe migration guide's code."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REFERENCE, ROOT

SQUATS = REFERENCE / "pose_squats.mp4"
AXES = np.array([1.0, -1.0, -1.0])        # world (x right, y down, z away) -> BVH / 3-D view (y up)
MODEL_LOADED = "landmark model and the detector"   # PoseLandmarker's log line (-v) when it loads engines


def cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "-v", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def figure_of(path: Path) -> dict:
    from blazepose.outputs.plot3d import FIGURE_ID

    m = re.search(rf'<script type="application/json" id="{FIGURE_ID}">(.*?)</script>', path.read_text("utf-8"), re.S)
    assert m, f"{path}: no embedded figure"
    return json.loads(m.group(1))


def markers(traces: list[dict]) -> np.ndarray:
    (t,) = [t for t in traces if t["mode"] == "markers"]
    return np.column_stack([t["x"], t["y"], t["z"]]).astype(float)


def world_of(frame: dict) -> np.ndarray:
    (person,) = frame["people"]
    return np.array([[lm["world_x"], lm["world_y"], lm["world_z"]] for lm in person["landmarks"]], float)


def bvh_vs_world(text: str, worlds: np.ndarray) -> np.ndarray:
    """Distances (m) between the BVH joints (by forward kinematics, relative to the root) and the
    world landmarks they stand for (relative to the hips' centre), every frame and joint."""
    from _bvh_fk import forward_kinematics
    from blazepose.outputs.bvh import END_SITES, JOINT_LANDMARKS

    pos, _, _ = forward_kinematics(text)
    checked = [(n, i) for n, i in JOINT_LANDMARKS.items() if n not in ("Hips", "LeftShoulder", "RightShoulder")]
    checked += [(n + "/End", i) for n, i in END_SITES.items() if i is not None]
    hips = worlds[:, [23, 24]].mean(axis=1)
    return np.array([np.linalg.norm((pos[n] - pos["Hips"]) * AXES - (worlds[:, list(i)].mean(axis=1) - hips), axis=-1)
                     for n, i in checked])


# ---- blazepose video / image: --bvh and --plot3d --------------------------------------------------
@pytest.fixture(scope="module")
def squats_run(tmp_path_factory):
    pytest.importorskip("plotly", reason="--plot3d needs the 'plot3d' extra (plotly)")
    out = tmp_path_factory.mktemp("squats")
    r = cli("video", SQUATS, "--max-frames", 20, "--json", out / "s.json", "--bvh", out / "s.bvh",
            "--plot3d", out / "s.html", "--no-progress")
    assert r.returncode == 0, r.stderr
    return out, json.loads((out / "s.json").read_text())


@pytest.mark.slow
def test_video_bvh_follows_the_world_landmarks(squats_run):
    from _bvh_fk import forward_kinematics

    out, doc = squats_run
    text = (out / "s.bvh").read_text()
    _, frame_time, n = forward_kinematics(text)
    assert n == 20 == len(doc["frames"])
    assert frame_time == pytest.approx(0.2, abs=1e-3)                # the clip is 5 fps
    err = bvh_vs_world(text, np.array([world_of(f) for f in doc["frames"]]))
    # Constant bone lengths against the model's per-frame ones (as tests/test_bvh.py on the whole clip).
    assert np.median(err) < 0.02 and err.max() < 0.15, (np.median(err), err.max())


@pytest.mark.slow
def test_video_plot3d_has_every_frame_at_the_world_landmarks(squats_run):
    out, doc = squats_run
    fig = figure_of(out / "s.html")
    assert len(fig["frames"]) == 20
    for k in (0, 9, 19):
        # the JSON rounds metres to 1e-5, the figure does not
        np.testing.assert_allclose(markers(fig["frames"][k]["data"]), world_of(doc["frames"][k]) * AXES, atol=1e-5)


@pytest.mark.slow
def test_image_plot3d_and_bvh(tmp_path):
    pytest.importorskip("plotly", reason="--plot3d needs the 'plot3d' extra (plotly)")
    r = cli("image", REFERENCE / "pose.jpg", "--json", tmp_path / "p.json", "--plot3d", tmp_path / "p.html",
            "--bvh", tmp_path / "p.bvh")
    assert r.returncode == 0, r.stderr
    world = world_of(json.loads((tmp_path / "p.json").read_text())["frames"][0])
    fig = figure_of(tmp_path / "p.html")
    assert "frames" not in fig
    np.testing.assert_allclose(markers(fig["data"]), world * AXES, atol=1e-5)
    err = bvh_vs_world((tmp_path / "p.bvh").read_text(), world[None])
    assert err.shape[1] == 1 and err.max() < 1e-3        # one frame: bone lengths are that frame's own


@pytest.mark.slow
def test_image_plot3d_for_several_photos_is_a_folder(tmp_path):
    pytest.importorskip("plotly", reason="--plot3d needs the 'plot3d' extra (plotly)")
    r = cli("image", REFERENCE / "pose.jpg", REFERENCE / "dance.jpg", "--json", tmp_path / "p.json",
            "--plot3d", tmp_path / "views")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "views").iterdir()) == ["dance.3d.html", "pose.3d.html"]


@pytest.mark.slow
def test_the_model_loaded_line_shows_when_a_model_loads(tmp_path):
    r = cli("video", SQUATS, "--json", tmp_path / "v.json", "--max-frames", 1, "--no-progress")
    assert r.returncode == 0 and MODEL_LOADED in r.stderr, r.stderr


@pytest.mark.slow
def test_missing_plotly_stops_before_any_model_loads(tmp_path):
    fake = tmp_path / "site"
    (fake / "plotly").mkdir(parents=True)
    (fake / "plotly" / "__init__.py").write_text("raise ImportError('no plotly here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(ROOT / "src")])}
    for args in (["video", SQUATS, "--plot3d", tmp_path / "v.html", "--max-frames", 2],
                 ["image", REFERENCE / "pose.jpg", "--plot3d", tmp_path / "i.html", "--json", tmp_path / "i.json"]):
        r = cli(*args, env=env)
        assert r.returncode == 1, r.stderr
        assert "pip install 'blazepose[plot3d]'" in r.stderr
        assert MODEL_LOADED not in r.stderr
    assert list(tmp_path.glob("*.html")) == [] and list(tmp_path.glob("*.json")) == []


@pytest.mark.parametrize("args, message", [
    (["video", SQUATS, "--bvh", "out.txt"], "--bvh out.txt: give a file name ending in .bvh"),
    (["video", SQUATS, "--bvh", "o.bvh", "--upper-body-only"], "needs the legs"),
    (["image", REFERENCE / "pose.jpg", "--plot3d", "view.png"], "--plot3d view.png: give a file name ending in .html"),
])
@pytest.mark.slow
def test_bad_3d_output_names_are_refused_before_any_model_loads(args, message, tmp_path):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and MODEL_LOADED not in r.stderr, r.stderr


# ---- blazepose batch --csv --------------------------------------------------------------------------
@pytest.mark.slow
def test_batch_combined_csv_reads_in_one_call_and_survives_resume(tmp_path):
    pd = pytest.importorskip("pandas")
    from blazepose.outputs.export import CSV_HEADER

    src = tmp_path / "in"
    (src / "photos").mkdir(parents=True)
    for name in ("pose.jpg", "dance.jpg"):
        (src / "photos" / name).write_bytes((REFERENCE / name).read_bytes())
    (src / "clip.mp4").write_bytes(SQUATS.read_bytes())
    out, table = tmp_path / "out", tmp_path / "all.csv"
    r = cli("batch", src, "--out", out, "--csv", table, "--workers", 1)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(table)
    assert list(df.columns) == ["input", *CSV_HEADER]
    assert sorted(df["input"].unique()) == ["clip.mp4", "photos/dance.jpg", "photos/pose.jpg"]
    # every value is the one in that input's result document
    for rel in df["input"].unique():
        doc = json.loads((out / (os.path.splitext(rel)[0] + ".json")).read_text())   # NAME.json for NAME.EXT
        want = [(f["frame_index"], p["id"], lm["id"], lm["x"], lm["y"], lm["world_z"])
                for f in doc["frames"] for p in f.get("people", []) for lm in p["landmarks"]]
        got = df[df["input"] == rel]
        assert len(got) == len(want) > 0
        np.testing.assert_array_equal(got[["frame", "person", "landmark"]].to_numpy(),
                                      np.array([w[:3] for w in want]))
        np.testing.assert_allclose(got[["x", "y", "world_z"]].to_numpy(), np.array([w[3:] for w in want]), atol=1e-9)
    clip = df[df["input"] == "clip.mp4"]
    assert clip["frame"].nunique() == 65 and clip["timestamp_ms"].max() == pytest.approx(12800, abs=1)
    assert df[df["input"] != "clip.mp4"]["timestamp_ms"].isna().all()      # photos: no timestamp
    first = table.read_bytes()
    # Resumed: nothing is redone, and the CSV still covers every input (from the files on disk).
    table.unlink()
    r = cli("batch", src, "--out", out, "--csv", table, "--workers", 1)
    assert r.returncode == 0 and "0 done, 3 skipped" in r.stderr, r.stderr
    assert table.read_bytes() == first
    assert not list(tmp_path.glob("*.partial*"))


# ---- drawing on OpenCV frames, id labels ------------------------------------------------------------
@pytest.fixture(scope="module")
def one_person(landmarker_factory, pose_rgb):
    return landmarker_factory("full").process_image(pose_rgb)


def test_draw_pose_on_bgr_frames(one_person, pose_rgb):
    from blazepose.outputs.draw import draw_pose

    bgr = np.ascontiguousarray(pose_rgb[..., ::-1])
    drawn = draw_pose(bgr, one_person, bgr=True)
    assert drawn.shape == bgr.shape and drawn.dtype == np.uint8
    np.testing.assert_array_equal(drawn, draw_pose(pose_rgb, one_person)[..., ::-1])
    # The left side is orange in the picture: in BGR order that is (0, 138, 255).
    from blazepose.landmark import Landmark

    x, y = (int(round(v)) for v in one_person[0][Landmark.LEFT_KNEE].xy)
    assert tuple(int(v) for v in drawn[y, x]) == (0, 138, 255)


def two_people(result, width_factor: int = 2):
    """The photo's person and a copy of them moved right by the photo's width, on a canvas twice as wide."""
    from blazepose.api.result import PoseResult
    from blazepose.stages.landmarks import PersonPose

    dx = result.width
    people = []
    for k, shift in enumerate((0, dx)):
        lm = result.landmarks[0].copy()
        lm[:, 0] += shift
        roi = result.rois[0].copy()
        roi[0] += shift
        people.append(PersonPose(k + 3, lm, result.visibility[0], result.presence[0], result.world[0],
                                 float(result.scores[0]), roi))
    return PoseResult.from_people(people, (result.width * width_factor, result.height))


def test_id_labels_sit_above_each_head(one_person, pose_rgb):
    from blazepose.outputs.draw import ID_COLORS, draw_pose

    res = two_people(one_person)
    canvas = np.concatenate([pose_rgb, pose_rgb], axis=1)
    labelled = draw_pose(canvas, res)                       # two people: labels by default
    plain = draw_pose(canvas, res, label_ids=False)
    changed = np.any(labelled != plain, axis=-1)
    ys, xs = np.nonzero(changed)
    assert len(ys) > 0
    s = max(canvas.shape[:2]) / 640
    for k in range(2):
        head = res.landmarks[k, :11, :2]
        left, top, right = head[:, 0].min(), head[:, 1].min(), head[:, 0].max()
        mine = (xs >= left - 1) & (xs < left + 60 * s)
        assert mine.any(), f"no label near person {k}"
        # the label is a box just above the head: it ends above the head's top, within 40 px of it
        assert ys[mine].max() <= top and ys[mine].min() >= top - 40 * s
        # in the person's id colour
        color = np.array(ID_COLORS[int(res.ids[k]) % len(ID_COLORS)])
        box = labelled[ys[mine].min():ys[mine].max() + 1, int(left):int(left + 60 * s)].reshape(-1, 3)
        assert (np.abs(box.astype(int) - color).sum(axis=1) < 30).sum() >= 10
    # nothing changes anywhere else
    heads_top = res.landmarks[:, :11, 1].min()
    assert ys.max() <= heads_top
    # one person: no label unless asked
    assert np.array_equal(draw_pose(pose_rgb, one_person), draw_pose(pose_rgb, one_person, label_ids=False))
    assert not np.array_equal(draw_pose(pose_rgb, one_person), draw_pose(pose_rgb, one_person, label_ids=True))


# ---- docs/migrating.md: every Python block runs ---------------------------------------------------
MIGRATING = ROOT / "docs" / "migrating.md"
BLOCKS = re.findall(r"```python\n(.*?)```", MIGRATING.read_text(), re.S) if MIGRATING.exists() else []


def test_the_guide_has_code():
    assert len(BLOCKS) >= 4


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_migrating_python_block_runs(index, monkeypatch, tmp_path):
    """As in a fresh clone: no out/ folder exists, the fixtures are where the clone has them."""
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"docs/migrating.md python block {index}", "exec"), {"__name__": "__migrating__"})
    for name in re.findall(r'"(out/[^"]+)"', BLOCKS[index]):   # what a block says it writes is there
        assert (tmp_path / name).stat().st_size > 0, name

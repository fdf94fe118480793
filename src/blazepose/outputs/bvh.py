"""Motion capture export: a person's world landmarks as a BVH skeleton animation.

BVH (Biovision Hierarchy) is the motion-capture text format Blender, MotionBuilder, Maya and
most animation tools import. One file holds one person: a hierarchy of joints with fixed
offsets (the bone lengths), then one line of channel values per frame.

**Axes and units.** BVH axes here are **Y up, X the camera's right, Z towards the camera**
(right-handed), in **metres**. They come from MediaPipe's world landmarks (x right, y down,
z away from the camera, metres, origin between the hips) by a half turn about x:
``(x, y, z) -> (x, -y, -z)``; a person facing the camera faces +Z with their left side at +X,
the usual BVH convention (Blender's importer defaults: forward -Z, up Y). Metres, not
centimetres, because Blender's importer (scale 1.0) reads one BVH unit as one Blender unit, a
metre, so the figure comes in at its real size; for a tool that expects centimetres, scale on
import (0.01 in, or 100 here). Rotations are degrees, ``Zrotation Xrotation Yrotation`` on every
joint: the local rotation is ``Rz · Rx · Ry`` (column vectors), so a child's position is
``parent position + parent global rotation · child OFFSET``.

**Skeleton** (the rest pose is a T-pose: spine up +Y, arms along ±X, legs down -Y, feet +Z;
every joint's rest orientation is the identity). Where each joint sits:

=================  =====================  ============================================================
joint              parent                 position
=================  =====================  ============================================================
Hips (root)        –                      mid-point of the hips (23, 24)
Spine              Hips                   a quarter of the trunk (hips→shoulders mid-points) above Hips
Chest              Spine                  a quarter of the trunk below Neck
Neck               Chest                  mid-point of the shoulders (11, 12)
Head               Neck                   mid-point of the ears (7, 8); End Site: nose (0)
LeftShoulder       Chest                  the Neck point (the clavicle bone runs to LeftArm)
LeftArm            LeftShoulder           left shoulder (11)
LeftForeArm        LeftArm                left elbow (13)
LeftHand           LeftForeArm            left wrist (15); End Site: mid-point of pinky and index (17, 19)
LeftUpLeg          Hips                   left hip (23)
LeftLeg            LeftUpLeg              left knee (25)
LeftFoot           LeftLeg                left ankle (27)
LeftToe            LeftFoot               left foot index (31); End Site: a quarter foot further on
=================  =====================  ============================================================

The right side mirrors the left (12, 14, 16, 18/20, 24, 26, 28, 32). Thumbs and heels are not
used. "Left" is the subject's own left.

**Solving.** Bone lengths are the medians over the clip of the person's world-landmark distances
(BVH offsets are constant; the model's per-frame lengths vary by a few millimetres, and that is
the error left after solving). Per frame, the Hips' rotation takes the rest X axis onto the
right→left hip axis and Y onto the hips→shoulders direction; the Chest's does the same with the
shoulder axis; the Head's with the ear axis and the nose direction; the hands' with the
wrist→knuckles direction and the pinky→index axis (palm twist). Every other joint gets the
smallest rotation (no twist) from its parent's frame that points its bone at the observed child
joint. So every joint lands on its landmark up to the bone-length differences.

**Root translation.** World landmarks are hip-centred, so they carry no travel. The root's
X and Y come from the image: the hips' mid-point in pixels, converted to metres with the
person's own scale (the median over frames of the world / pixel length ratio of trunk and limb
segments), X relative to the first frame; Y is then shifted so that the lowest foot landmark is
at 0 (the floor) in the median frame. Z (depth) is 0: one camera without its intrinsics gives no
reliable distance. A camera that moves adds its motion to the root's.

**Frames.** One BVH frame per input frame (so the animation stays in step with the video);
Frame Time is the median interval of the results' timestamps (1/30 s when they have none).
Frames without the person hold the last pose (before the person first appears, the first
pose), and so do frames the video reader skipped (``BvhWriter.skip``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from ..api.result import PoseResult
from ..errors import InputError
from ..landmark import NUM_LANDMARKS
from .sink import Sink, write_all

log = logging.getLogger(__name__)

#: MediaPipe world axes (x right, y down, z away) -> BVH axes (x right, y up, z towards camera).
AXES = np.array([1.0, -1.0, -1.0])
DEFAULT_FRAME_TIME = 1.0 / 30.0
_SPINE_PART = 0.25   # Spine and Chest sit this fraction of the trunk length from its ends

_X, _Y, _Z = np.eye(3)
# name -> (parent, rest direction of the bone from the parent to this joint)
SKELETON: dict[str, tuple[str | None, np.ndarray]] = {
    "Hips": (None, np.zeros(3)), "Spine": ("Hips", _Y), "Chest": ("Spine", _Y), "Neck": ("Chest", _Y),
    "Head": ("Neck", _Y),
    "LeftShoulder": ("Chest", _Y), "LeftArm": ("LeftShoulder", _X), "LeftForeArm": ("LeftArm", _X),
    "LeftHand": ("LeftForeArm", _X),
    "RightShoulder": ("Chest", _Y), "RightArm": ("RightShoulder", -_X), "RightForeArm": ("RightArm", -_X),
    "RightHand": ("RightForeArm", -_X),
    "LeftUpLeg": ("Hips", _X), "LeftLeg": ("LeftUpLeg", -_Y), "LeftFoot": ("LeftLeg", -_Y), "LeftToe": ("LeftFoot", _Z),
    "RightUpLeg": ("Hips", -_X), "RightLeg": ("RightUpLeg", -_Y), "RightFoot": ("RightLeg", -_Y),
    "RightToe": ("RightFoot", _Z),
}
JOINT_NAMES: tuple[str, ...] = tuple(SKELETON)
#: The landmark (or mid-point of landmarks) each joint sits on; Spine and Chest are built points.
JOINT_LANDMARKS: dict[str, tuple[int, ...]] = {
    "Hips": (23, 24), "Neck": (11, 12), "Head": (7, 8),
    "LeftShoulder": (11, 12), "LeftArm": (11,), "LeftForeArm": (13,), "LeftHand": (15,),
    "RightShoulder": (11, 12), "RightArm": (12,), "RightForeArm": (14,), "RightHand": (16,),
    "LeftUpLeg": (23,), "LeftLeg": (25,), "LeftFoot": (27,), "LeftToe": (31,),
    "RightUpLeg": (24,), "RightLeg": (26,), "RightFoot": (28,), "RightToe": (32,),
}
#: End Sites: joint -> landmarks of the point the end sits on (None: a short tip, see above).
END_SITES: dict[str, tuple[int, ...] | None] = {
    "Head": (0,), "LeftHand": (17, 19), "RightHand": (18, 20), "LeftToe": None, "RightToe": None}
CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
_FEET = (27, 28, 29, 30, 31, 32)
_SCALE_SEGMENTS = ((11, 23), (12, 24), (23, 25), (24, 26), (25, 27), (26, 28), (11, 13), (12, 14), (11, 12))


# ---- rotations ----------------------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Orthonormal frames (..., 3, 3), columns: a, b made orthogonal to a, a × b."""
    e1 = _unit(a)
    b = b - (b * e1).sum(-1, keepdims=True) * e1
    weak = np.linalg.norm(b, axis=-1) < 1e-9
    if np.any(weak):   # b parallel to a: any perpendicular will do
        alt = np.where(np.abs(e1[..., :1]) < 0.9, _X, _Y)
        alt = alt - (alt * e1).sum(-1, keepdims=True) * e1
        b = np.where(weak[..., None], alt, b)
    e2 = _unit(b)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def _two_axis_rotation(a, b, rest_a, rest_b) -> np.ndarray:
    """The rotations taking ``rest_a`` onto ``a`` and ``rest_b`` towards ``b`` (its part ⊥ a)."""
    rest = _frame(np.asarray(rest_a, float), np.asarray(rest_b, float))
    return _frame(a, b) @ rest.T


def _align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotations (T, 3, 3) taking unit vectors ``a`` onto unit vectors ``b``."""
    v = np.cross(a, b)
    c = (a * b).sum(-1)
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    k[..., 1, 0], k[..., 2, 0], k[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    denom = np.where(c > -1 + 1e-9, 1.0 + c, 1.0)
    r = np.eye(3) + k + (k @ k) / denom[..., None, None]
    flip = c <= -1 + 1e-9
    if np.any(flip):   # opposite vectors: half a turn about an axis perpendicular to a
        n = _frame(a[flip], np.tile(_Y, (int(flip.sum()), 1)))[..., 1]
        r[flip] = 2 * n[..., :, None] * n[..., None, :] - np.eye(3)
    return r


def euler_zxy(r: np.ndarray) -> np.ndarray:
    """Angles (..., 3) in degrees, in channel order (z, x, y), with ``r = Rz(z) · Rx(x) · Ry(y)``."""
    x = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    gimbal = np.abs(r[..., 2, 1]) > 1 - 1e-9
    z = np.where(gimbal, np.arctan2(r[..., 1, 0], r[..., 0, 0]), np.arctan2(-r[..., 0, 1], r[..., 1, 1]))
    y = np.where(gimbal, 0.0, np.arctan2(-r[..., 2, 0], r[..., 2, 2]))
    return np.degrees(np.stack([z, x, y], axis=-1))


# ---- solving ------------------------------------------------------------------------------------
def _mid(p: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    return p[:, list(idx)].mean(axis=1)


def solve(world: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Joint positions, global rotations and bone offsets from world landmarks.

    ``world`` (T, 33, 3) is in BVH axes (``mediapipe_world * AXES``), metres. Returns
    ``(positions, rotations, offsets)``: positions (T, 3) of every joint as solved (Spine and
    Chest built, the others on their landmarks), global rotations (T, 3, 3), and the constant
    rest offsets (3,) of every joint and End Site (key ``"<joint>/End"``).
    """
    p = np.asarray(world, float)
    hip, neck = _mid(p, (23, 24)), _mid(p, (11, 12))
    trunk = neck - hip
    k = _SPINE_PART * float(np.median(np.linalg.norm(trunk, axis=-1)))
    pos = {name: _mid(p, idx) for name, idx in JOINT_LANDMARKS.items()}
    rot: dict[str, np.ndarray] = {}
    rot["Hips"] = _two_axis_rotation(p[:, 23] - p[:, 24], trunk, _X, _Y)
    rot["Chest"] = _two_axis_rotation(p[:, 11] - p[:, 12], trunk, _X, _Y)
    pos["Spine"] = hip + rot["Hips"] @ (k * _Y)
    pos["Chest"] = neck - rot["Chest"] @ (k * _Y)
    ears = _mid(p, (7, 8))
    rot["Head"] = _two_axis_rotation(p[:, 7] - p[:, 8], p[:, 0] - ears, _X, _Z)
    for side, (knuckles, index, pinky) in (("Left", ((17, 19), 19, 17)), ("Right", ((18, 20), 20, 18))):
        rest = _X if side == "Left" else -_X
        rot[side + "Hand"] = _two_axis_rotation(_mid(p, knuckles) - pos[side + "Hand"], p[:, index] - p[:, pinky],
                                                rest, _Z)
    # In hierarchy order, each bone is aimed from where the skeleton put its parent joint (not
    # from the landmark) at the child's landmark, so bone-length differences do not add up along
    # a chain: a joint is off its landmark by one length difference only.
    offsets: dict[str, np.ndarray] = {"Hips": np.zeros(3)}
    fk = {"Hips": hip}
    for name, (parent, rest_dir) in SKELETON.items():   # parents come before children
        if parent is None:
            continue
        if parent not in rot:   # a joint with one child: the smallest turn that aims its bone
            grand = SKELETON[parent][0]
            rot[parent] = _align(_unit(rot[grand] @ rest_dir), _unit(pos[name] - fk[parent])) @ rot[grand]
        offsets[name] = rest_dir * float(np.median(np.linalg.norm(pos[name] - fk[parent], axis=-1)))
        fk[name] = fk[parent] + rot[parent] @ offsets[name]
        if name not in rot and not any(SKELETON[c][0] == name for c in SKELETON):
            rot[name] = rot[parent]   # the toes: no child to aim at
    for name, idx in END_SITES.items():
        if idx is None:   # the toe tip: a quarter of the foot's length further on
            offsets[name + "/End"] = _Z * 0.25 * float(np.linalg.norm(offsets[name]))
        else:             # the median of the end point in the joint's own frame
            local = np.einsum("tji,tj->ti", rot[name], _mid(p, idx) - fk[name])
            offsets[name + "/End"] = np.median(local, axis=0)
    return pos, rot, offsets


def metres_per_pixel(world: np.ndarray, pixels: np.ndarray) -> float:
    """The person's image scale: the median over frames of the ratio of trunk and limb segment
    lengths in the world landmarks' x-y plane (metres) to the same segments in the image (pixels).
    ``world`` (T, K, 3) MediaPipe world axes, ``pixels`` (T, K, 2) image x, y; with K = 25 (upper
    body) only the trunk and arm segments count."""
    k = min(world.shape[1], pixels.shape[1])
    a, b = np.array([s for s in _SCALE_SEGMENTS if max(s) < k]).T
    w = np.linalg.norm(world[:, a, :2] - world[:, b, :2], axis=-1).sum(-1)
    px = np.linalg.norm(pixels[:, a] - pixels[:, b], axis=-1).sum(-1)
    ok = px > 1e-6
    return float(np.median(w[ok] / px[ok])) if np.any(ok) else 0.0


def root_translation(world: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(T, 3) root positions in BVH axes (metres): X, Y from the hips' image motion (see the module
    docstring), Y shifted to put the lowest foot on the floor in the median frame, Z 0."""
    s = metres_per_pixel(world, pixels)
    hips_px = pixels[:, [23, 24]].mean(axis=1)
    bvh = world * AXES
    above_feet = bvh[:, [23, 24], 1].mean(axis=1) - bvh[:, _FEET, 1].min(axis=1)
    y_img = -s * hips_px[:, 1]
    out = np.zeros((len(world), 3))
    out[:, 0] = s * (hips_px[:, 0] - hips_px[0, 0])
    out[:, 1] = y_img + float(np.median(above_feet - y_img))
    return out


def bvh_text(world: np.ndarray, pixels: np.ndarray, frame_time: float) -> str:
    """The BVH file of one person: ``world`` (T, 33, 3) MediaPipe world landmarks (metres),
    ``pixels`` (T, 33, 2) their image x, y, one row per output frame (no gaps)."""
    world = np.asarray(world, float)
    if world.ndim != 3 or world.shape[1:] != (NUM_LANDMARKS, 3) or len(world) == 0:
        raise InputError(f"BVH needs (frames, {NUM_LANDMARKS}, 3) world landmarks, got {world.shape} "
                         "(upper-body results have no legs)")
    pos, rot, offsets = solve(world * AXES)
    root = root_translation(world, np.asarray(pixels, float))
    children = {n: [c for c in SKELETON if SKELETON[c][0] == n] for n in SKELETON}
    lines, order = ["HIERARCHY"], []

    def fmt(v):
        return " ".join(f"{x:.6f}" for x in v)

    def emit(name: str, depth: int) -> None:
        pad = "  " * depth
        order.append(name)
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {fmt(offsets[name])}")
        extra = "Xposition Yposition Zposition " if depth == 0 else ""
        lines.append(f"{pad}  CHANNELS {6 if depth == 0 else 3} {extra}{' '.join(CHANNELS)}")
        for c in children[name]:
            emit(c, depth + 1)
        if name in END_SITES:
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {fmt(offsets[name + '/End'])}", pad + "  }"])
        lines.append(pad + "}")

    emit("Hips", 0)
    angles = []
    for name in order:
        parent = SKELETON[name][0]
        local = rot[name] if parent is None else np.swapaxes(rot[parent], -1, -2) @ rot[name]
        angles.append(np.degrees(np.unwrap(np.radians(euler_zxy(local)), axis=0)))
    motion = np.concatenate([root] + angles, axis=1)
    lines += ["MOTION", f"Frames: {len(world)}", f"Frame Time: {frame_time:.6f}"]
    lines += [" ".join(f"{v:.5f}" for v in row) for row in motion]
    return "\n".join(lines) + "\n"


# ---- frames, people and files -----------------------------------------------------------------
class BvhWriter(Sink):
    """A sink: buffers every frame's people (world landmarks and image x, y only) and writes the
    BVH files on ``close``. One person seen: ``path``; several: one file per track id,
    ``NAME.id<ID>.bvh`` beside ``path`` (e.g. ``out/clip.id0.bvh``). ``paths`` lists the files
    written. Nobody in any frame: nothing is written (a warning is logged)."""

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        self._frames: list[tuple[float | None, dict[int, tuple[np.ndarray, np.ndarray]]]] = []

    def write(self, result: PoseResult, frame=None) -> None:
        """Add one frame (``frame``, the picture, is not used)."""
        if result.num_landmarks != NUM_LANDMARKS and len(result):
            raise InputError(f"{self.path}: BVH needs all {NUM_LANDMARKS} landmarks; upper-body results "
                             "have no legs")
        people = {int(i): (result.world[n].copy(), result.landmarks[n, :, :2].copy())
                  for n, i in enumerate(result.ids)}
        self._frames.append((result.timestamp_ms, people))

    def skip(self, frame_index: int, timestamp_ms: float | None, error: str, file: str | None = None) -> None:
        """A frame that could not be read: every person holds their pose through it."""
        self._frames.append((timestamp_ms, {}))

    def ids(self) -> list[int]:
        """Track ids seen, most frames first (ties: smaller id first)."""
        counts: dict[int, int] = {}
        for _, people in self._frames:
            for i in people:
                counts[i] = counts.get(i, 0) + 1
        return sorted(counts, key=lambda i: (-counts[i], i))

    def frame_time(self) -> float:
        ts = np.array([t for t, _ in self._frames if t is not None], float)
        steps = np.diff(ts)
        steps = steps[steps > 0]
        return float(np.median(steps)) / 1000.0 if len(steps) else DEFAULT_FRAME_TIME

    def person_text(self, person_id: int) -> str:
        """The BVH text of one track id over every buffered frame (held where absent)."""
        first = next((people[person_id] for _, people in self._frames if person_id in people), None)
        if first is None:
            raise InputError(f"{self.path}: person {person_id} is in no frame")
        world, pixels, last = [], [], first
        for _, people in self._frames:
            last = people.get(person_id, last)
            world.append(last[0])
            pixels.append(last[1])
        return bvh_text(np.array(world), np.array(pixels), self.frame_time())

    def _finish(self, complete: bool) -> None:
        """Write one file per person (``paths``); also after an interruption (frames so far)."""
        ids = self.ids()
        if not ids:
            log.warning("%s: nobody in any frame; no BVH file written", self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for i in sorted(ids):
            out = self.path if len(ids) == 1 else person_path(self.path, i)
            _write_text(out, self.person_text(i))
            self.paths.append(out)


def person_path(path: str | os.PathLike, person_id: int) -> Path:
    """Where ``BvhWriter`` puts person ``person_id`` when there are several: ``NAME.id<ID>.bvh``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.id{int(person_id)}{p.suffix}")


def _write_text(path: Path, text: str) -> None:
    with open(path, "wb", buffering=0) as f:
        write_all(f, text.encode(), path)


def write_bvh(results: PoseResult | Iterable[PoseResult], path: str | os.PathLike, *,
              person_id: int | None = None) -> Path:
    """Write one person's motion over ``results`` (a sequence of frames, or one result) to ``path``.

    ``person_id``: the track id to export; None: the id found in the most frames. Frames without
    that person hold the last pose (the first pose before they appear). Raises ``InputError`` when
    the person is in no frame. Returns the path."""
    items = [results] if isinstance(results, PoseResult) else list(results)
    buf = BvhWriter(path)
    for r in items:
        buf.write(r)
    ids = buf.ids()
    if not ids:
        raise InputError(f"{path}: nobody in any of the {len(items)} frame(s); nothing to write")
    if person_id is None:
        person_id = ids[0]
        if len(ids) > 1:
            log.info("%s: %d people; writing id %d (most frames)", path, len(ids), person_id)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_text(path, buf.person_text(int(person_id)))
    return path

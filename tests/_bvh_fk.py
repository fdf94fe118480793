"""Forward kinematics from a BVH file read by the PyPI ``bvh`` parser (independent of the writer):
channels applied in their listed order, local rotation = product of the axis rotations in that
order, child position = parent position + parent global rotation · OFFSET."""
from __future__ import annotations

import numpy as np
from bvh import Bvh


def _axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Right-handed rotations (frames, 3, 3) about X, Y or Z, acting on column vectors."""
    a = np.radians(degrees)
    c, s, one, zero = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    rows = {"X": [[one, zero, zero], [zero, c, -s], [zero, s, c]],
            "Y": [[c, zero, s], [zero, one, zero], [-s, zero, c]],
            "Z": [[c, -s, zero], [s, c, zero], [zero, zero, one]]}[axis]
    return np.moveaxis(np.array(rows), (0, 1), (-2, -1))


def forward_kinematics(text: str) -> tuple[dict[str, np.ndarray], float, int]:
    """World positions (frames, 3) of every joint and End Site (``"<joint>/End"``), the frame time
    and the number of frames."""
    mocap = Bvh(text)
    frames = np.array(mocap.frames, dtype=float)
    joints = mocap.get_joints()
    col = 0
    pos: dict[str, np.ndarray] = {}
    glob: dict[str, np.ndarray] = {}
    parent_of = {}
    for j in joints:
        for c in j.filter("JOINT"):
            parent_of[c.name] = j.name
    n = len(frames)
    for j in joints:
        name = j.name
        offset = np.array([float(v) for v in j["OFFSET"]])
        chans = j["CHANNELS"][1:]
        values = frames[:, col:col + len(chans)]
        col += len(chans)
        local = np.tile(np.eye(3), (n, 1, 1))
        trans = np.zeros((n, 3))
        for ch, v in zip(chans, values.T):
            if ch.endswith("position"):
                trans[:, "XYZ".index(ch[0])] = v
            else:
                local = local @ _axis_rotation(ch[0], v)
        if name in parent_of:
            p = parent_of[name]
            pos[name] = pos[p] + np.einsum("tij,j->ti", glob[p], offset) + trans
            glob[name] = glob[p] @ local
        else:
            pos[name] = offset + trans
            glob[name] = local
        for end in j.filter("End"):
            off = np.array([float(v) for v in end["OFFSET"]])
            pos[name + "/End"] = pos[name] + np.einsum("tij,j->ti", glob[name], off)
    return pos, float(mocap.frame_time), int(mocap.nframes)

"""Makes docs/squats_bvh.png: the squats clip exported to BVH, read back by the ``bvhio`` parser
(its own forward kinematics, not this package's), drawn as a skeleton in five frames.

    .venv/bin/python docs/squats_bvh.py [--out docs/squats_bvh.png]

Axes are the BVH file's: X the camera's right, Y up, Z towards the camera, metres; the view is
from the front and a little to the side, so the root's travel and the bending are both visible.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "tests" / "data" / "reference" / "pose_squats.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "squats_bvh.png")
    args = ap.parse_args()

    import bvhio
    from matplotlib.figure import Figure

    from blazepose import PoseLandmarker
    from blazepose.outputs.bvh import write_bvh

    with PoseLandmarker("full") as landmarker:
        results = list(landmarker.process_video(CLIP))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_bvh(results, Path(tmp) / "squats.bvh")
        root = bvhio.readAsHierarchy(str(path))
        n = len(results)
        hips_y = []
        for f in range(n):
            root.loadPose(f)
            hips_y.append(root.PositionWorld[1])
        # Five frames over the first squat: standing, going down, the bottom, coming up, standing.
        low = int(np.argmin(hips_y[: n // 2]))
        frames = sorted({0, low // 2, low, low + (low + 1) // 2, min(2 * low, n - 1)})
        poses = []
        for f in frames:
            root.loadPose(f)
            joints = {j.Name: np.array(j.PositionWorld) for j, _, _ in root.layout()}
            bones = [(joints[j.Parent.Name], joints[j.Name], j.Name) for j, _, _ in root.layout()
                     if j.Parent is not None and j.Parent.Name in joints]
            poses.append((f, bones, joints))

    fig = Figure(figsize=(2.4 * len(poses), 3.6), dpi=100, layout="constrained")
    for k, (f, bones, joints) in enumerate(poses):
        ax = fig.add_subplot(1, len(poses), k + 1, projection="3d")
        for a, b, name in bones:
            color = "tab:orange" if name.startswith("Left") else "tab:blue" if name.startswith("Right") else "0.3"
            # matplotlib's 3-D axes have z up: plot (X, Z, Y).
            ax.plot([a[0], b[0]], [a[2], b[2]], [a[1], b[1]], color=color, lw=2.5)
        pts = np.array(list(joints.values()))
        ax.scatter(pts[:, 0], pts[:, 2], pts[:, 1], s=6, color="k", depthshade=False)
        ax.set(xlim=(-0.6, 0.6), ylim=(-0.6, 0.6), zlim=(0, 1.8), box_aspect=(1, 1, 1.5),
               title=f"frame {f} ({results[f].timestamp_ms / 1000:.1f} s)", xlabel="X (m)", ylabel="Z (m)", zlabel="Y (m)")
        ax.set_xticks([-0.5, 0, 0.5])
        ax.set_yticks([-0.5, 0, 0.5])
        ax.view_init(elev=12, azim=-70)
        ax.tick_params(labelsize=6)
    fig.suptitle("pose_squats.mp4 → BVH, read back with bvhio (left orange, right blue; Y up, metres)", fontsize=10)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out} (frames {frames})")


if __name__ == "__main__":
    main()

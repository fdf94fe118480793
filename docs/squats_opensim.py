"""Draws docs/squats_opensim_knee.png and docs/squats_opensim_coordinates.png (docs/opensim.md).

Run from the repository root with the extras installed:
``python docs/squats_opensim.py`` (runs ``blazepose video ... --opensim`` into a temporary folder).
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from blazepose.outputs.storage import read_storage  # noqa: E402

DOCS = Path(__file__).parent
CLIP = DOCS.parent / "tests" / "data" / "reference" / "pose_squats.mp4"


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="squats-opensim-"))
    subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "video", str(CLIP), "--mot", str(out / "ours.mot"),
                    "--opensim", str(out / "os"), "--no-progress"], check=True)
    cols, ik, _ = read_storage(out / "os" / "pose_squats_ik.mot")
    mcols, ours, _ = read_storage(out / "ours.mot")
    t = ik[:, 0]
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, layout="constrained")
    for ax, (ours_name, ik_name, label) in zip(axes, (("knee", "knee_angle", "knee flexion"),
                                                      ("hip", "hip_flexion", "hip flexion"))):
        for side, s, color in (("left", "l", "tab:blue"), ("right", "r", "tab:red")):
            a = ik[:, cols.index(f"{ik_name}_{s}")]
            b = 180.0 - ours[:, mcols.index(f"{side}_{ours_name}_3d")]
            r = np.corrcoef(a, b)[0, 1]
            ax.plot(t, a, color=color, label=f"{side}: OpenSim IK {ik_name}_{s}")
            ax.plot(t, b, color=color, linestyle="--",
                    label=f"{side}: 180 − our 3-D {ours_name} angle (r = {r:.3f}, offset {np.mean(a - b):+.1f}°)")
        ax.set_ylabel(f"{label} (°)")
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("pose_squats.mp4: OpenSim IK (Pose2Sim's BlazePose model) vs our 3-D angles")
    fig.savefig(DOCS / "squats_opensim_knee.png", dpi=90)

    groups = (("pelvis_tilt pelvis_list pelvis_rotation L5_S1_Flex_Ext", "pelvis and lumbar"),
              ("hip_flexion_r hip_adduction_r hip_rotation_r knee_angle_r ankle_angle_r", "right leg"),
              ("hip_flexion_l hip_adduction_l hip_rotation_l knee_angle_l ankle_angle_l", "left leg"),
              ("arm_flex_r arm_add_r elbow_flex_r pro_sup_r wrist_flex_r", "right arm"))
    fig, axes = plt.subplots(len(groups), 1, figsize=(8, 8), sharex=True, layout="constrained")
    for ax, (names, title) in zip(axes, groups):
        for n in names.split():
            ax.plot(t, ik[:, cols.index(n)], label=n)
        ax.set_ylabel(f"{title} (°)")
        ax.legend(fontsize=7, ncol=3, loc="upper right")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("pose_squats.mp4: OpenSim IK coordinates (NAME_ik.mot)")
    fig.savefig(DOCS / "squats_opensim_coordinates.png", dpi=90)
    print(out)


if __name__ == "__main__":
    main()

"""The OpenSim tools, run in their own process: ``python -m blazepose.outputs.opensim_worker
SCALING_SETUP IK_SETUP GEOMETRY_DIR``.

OpenSim can crash the Python process at exit (after a failed tool run it segfaulted at
interpreter shutdown), so ``outputs.kinematics`` never imports it in the caller's process. This
runs ``ScaleTool`` (success: the scaled model's file exists) then ``InverseKinematicsTool`` on two set-up files whose paths are relative to
their own folder, prints ``@scaled`` and ``@done`` on stdout as each finishes (OpenSim's own log,
one line per IK frame, goes to stdout too), and exits 0, or 3 (scaling failed) / 4 (IK failed).
"""
from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    scaling, ik, geometry = argv
    import opensim

    opensim.Logger.removeFileSink()      # no opensim.log in the user's folder: the caller keeps the log
    opensim.ModelVisualizer.addDirToGeometrySearchPaths(geometry)
    os.chdir(os.path.dirname(os.path.abspath(scaling)))
    tool = opensim.ScaleTool(os.path.basename(scaling))
    tool.run()       # its return value is false even when it wrote the model: the file is what counts
    if not os.path.isfile(tool.getModelScaler().getOutputModelFileName()):
        print("@failed scaling", flush=True)
        return 3
    print("@scaled", flush=True)
    if not opensim.InverseKinematicsTool(os.path.basename(ik)).run():
        print("@failed ik", flush=True)
        return 4
    print("@done", flush=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)          # skip interpreter shutdown, where OpenSim has crashed

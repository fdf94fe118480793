#!/usr/bin/env bash
# One command sets everything up: a virtual environment in .venv, the package with its test
# extras, the four official model files and the OpenSim set-up files (verified by sha256) in the
# user cache folder.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/blazepose models fetch --all
# OpenSim's set-up files (Pose2Sim's BlazePose marker set, scaling/IK set-ups, model), sha256-checked
.venv/bin/blazepose opensim fetch

"""Runs inside the MediaPipe 0.10.14 environment: the legacy solution's landmarks on still images,
in pixels, with visibility. Usage: _mp_landmarks.py MODEL_COMPLEXITY IMAGE... ; prints JSON
{path: {"landmarks": [[x, y, z]*33], "visibility": [v*33]} or null} (z in the scale of x, pixels)."""
import json
import sys

import cv2
import mediapipe as mp

complexity, paths = int(sys.argv[1]), sys.argv[2:]
out = {}
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_UNCHANGED)[..., ::-1].copy()
        h, w = img.shape[:2]
        r = pose.process(img)
        out[p] = None if r.pose_landmarks is None else {
            "landmarks": [[lm.x * w, lm.y * h, lm.z * w] for lm in r.pose_landmarks.landmark],
            "visibility": [lm.visibility for lm in r.pose_landmarks.landmark]}
print(json.dumps(out))

"""Runs inside the MediaPipe 0.10.14 environment: the legacy solution's landmarks (pixels) on
still images. Usage: _mp_coco.py MODEL_COMPLEXITY IMAGE... ; prints JSON {path: [[x, y]*33] or null}."""
import json
import sys

import cv2
import mediapipe as mp

complexity, paths = int(sys.argv[1]), sys.argv[2:]
out = {}
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
    for p in paths:
        img = cv2.imread(p)[..., ::-1].copy()
        h, w = img.shape[:2]
        r = pose.process(img)
        out[p] = None if r.pose_landmarks is None else [[lm.x * w, lm.y * h] for lm in r.pose_landmarks.landmark]
print(json.dumps(out))

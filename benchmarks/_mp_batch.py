"""Runs inside the MediaPipe 0.10.14 environment: the legacy solution looping over files, one at
a time, as a user's script would (read, convert to RGB, process). Usage: _mp_batch.py
MODEL_COMPLEXITY LISTFILE ; prints JSON {"images", "seconds", "cpu_seconds", "found"}."""
import json
import sys
import time

import cv2
import mediapipe as mp

complexity, listfile = int(sys.argv[1]), sys.argv[2]
paths = [line for line in open(listfile).read().splitlines() if line]
found = 0
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
    pose.process(cv2.imread(paths[0])[..., ::-1].copy())   # warm-up: graph start
    t, c = time.perf_counter(), time.process_time()
    for p in paths:
        res = pose.process(cv2.imread(p)[..., ::-1].copy())
        found += res.pose_landmarks is not None
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"images": len(paths), "seconds": seconds, "cpu_seconds": cpu, "found": found}))

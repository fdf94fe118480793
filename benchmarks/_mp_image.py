"""Runs inside the MediaPipe 0.10.14 environment: per-call latency of the legacy solution on
still images (wall ms per call, CPU ms per image). Usage: _mp_image.py MODEL_COMPLEXITY REPEATS IMAGE... ; prints JSON."""
import json
import sys
import time

import cv2
import mediapipe as mp

complexity, repeats, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
images = [cv2.imread(p)[..., ::-1].copy() for p in paths]
times = []
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
    pose.process(images[0])   # warm-up
    c0 = time.process_time()
    for _ in range(repeats):
        for img in images:
            t = time.perf_counter()
            pose.process(img)
            times.append((time.perf_counter() - t) * 1000)
    cpu = (time.process_time() - c0) * 1000 / len(times)   # CPU ms per image, all threads
print(json.dumps({"times_ms": times, "cpu_ms": cpu}))

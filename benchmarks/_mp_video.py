"""Runs inside the MediaPipe 0.10.14 environment: the legacy solution in video mode on a file.
Usage: _mp_video.py MODEL_COMPLEXITY VIDEO ; prints JSON (frames, seconds, CPU seconds, detections)."""
import json
import sys
import time

import cv2
import mediapipe as mp

complexity, path = int(sys.argv[1]), sys.argv[2]
with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity, smooth_landmarks=True) as pose:
    warm = cv2.imread(path) if path.endswith(".jpg") else None
    cap = cv2.VideoCapture(path)
    n, found = 0, 0
    t, c = time.perf_counter(), time.process_time()
    while True:
        ok, frame = cap.read()            # decoding counts on both sides
        if not ok:
            break
        res = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        found += res.pose_landmarks is not None
        n += 1
    secs, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"frames": n, "seconds": secs, "cpu_seconds": cpu, "with_pose": found}))

"""Runs inside the newest-MediaPipe environment: MediaPipe Tasks PoseLandmarker timings.
Usage: _mptasks_run.py BUNDLE.task MODE REPEATS PATH... ; MODE is IMAGE (PATHs are photos) or
VIDEO (one PATH, a video: every frame, decoding with OpenCV inside the clock as the other video
benchmarks do; REPEATS is ignored). Prints JSON: per-call wall ms (IMAGE) or frames and seconds
(VIDEO), CPU ms (process time, all threads) per call, and the first pose found, for a sanity check."""
import json
import sys
import time

import cv2
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python import vision

bundle, mode, repeats, paths = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
running = vision.RunningMode.IMAGE if mode == "IMAGE" else vision.RunningMode.VIDEO
opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=bundle), running_mode=running)
frames = [cv2.imread(p)[..., ::-1].copy() for p in paths] if mode == "IMAGE" else []
images = [mp.Image(image_format=mp.ImageFormat.SRGB, data=f) for f in frames]
times, first = [], None
with vision.PoseLandmarker.create_from_options(opts) as pl:
    if mode == "IMAGE":
        r = pl.detect(images[0])   # warm-up
        first = [[p.x, p.y] for p in r.pose_landmarks[0]] if r.pose_landmarks else None
        c0 = time.process_time()
        for _ in range(repeats):
            for im in images:
                t = time.perf_counter()
                pl.detect(im)
                times.append((time.perf_counter() - t) * 1000)
        cpu = (time.process_time() - c0) * 1000 / len(times)
        # printed before closing: the lite bundle's close can end the process before a later print
        print(json.dumps({"times_ms": times, "cpu_ms": cpu, "first": first, "version": mp.__version__}),
              flush=True)
    else:
        cap = cv2.VideoCapture(paths[0])
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        n = found = 0
        t, c0 = time.perf_counter(), time.process_time()
        while True:
            ok, f = cap.read()
            if not ok:
                break
            im = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
            r = pl.detect_for_video(im, int(round(n * 1000 / fps)))
            found += bool(r.pose_landmarks)
            n += 1
        seconds = time.perf_counter() - t
        cpu = (time.process_time() - c0) * 1000 / max(n, 1)
        print(json.dumps({"frames": n, "seconds": seconds, "with_pose": found, "cpu_ms": cpu,
                          "version": mp.__version__}), flush=True)

"""Runs inside the MediaPipe 0.10.14 environment: per-frame time of its drawing utility
(``mp.solutions.drawing_utils.draw_landmarks`` with the pose connections and the default pose
style) on the squats clip, with MediaPipe's own landmarks from the reference file.
Usage: _mp_draw.py CLIP REFERENCE_JSON FRAMES REPEATS ; prints JSON."""
import json
import sys
import time

import cv2
import mediapipe as mp
from mediapipe.framework.formats import landmark_pb2

clip, ref, n, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
preds = json.load(open(ref))["predictions"]
cap = cv2.VideoCapture(clip)
frames = []
while len(frames) < n:
    ok, f = cap.read()
    if not ok:
        break
    frames.append(f[..., ::-1].copy())
h, w = frames[0].shape[:2]
lists = []
for p in preds[:len(frames)]:
    lst = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in p:
        lst.landmark.add(x=x / w, y=y / h, z=z / w, visibility=1.0)
    lists.append(lst)
du, pose, styles = mp.solutions.drawing_utils, mp.solutions.pose, mp.solutions.drawing_styles
times = []
for _ in range(repeats):
    for img, lst in zip(frames, lists):
        t = time.perf_counter()
        out = img.copy()
        du.draw_landmarks(out, lst, pose.POSE_CONNECTIONS,
                          landmark_drawing_spec=styles.get_default_pose_landmarks_style())
        times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"times_ms": times}))

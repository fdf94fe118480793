"""MediaPipe's spellings and ours: hints for the names a user moving from MediaPipe types first.

``mp.solutions.pose.Pose`` and the Tasks API's ``PoseLandmarker`` use names this package
spells differently (``docs/migrating.md``). An unknown option, or an attribute MediaPipe has
and we do not, raises the usual error (``OptionsError``, ``AttributeError``) with a pointer
to the spelling here instead of a bare "unknown".
"""
from __future__ import annotations

#: Options of ``mp.solutions.pose.Pose`` and the Tasks API's ``PoseLandmarkerOptions``.
OPTIONS = {
    "static_image_mode": "there is no mode switch: static_image_mode=True is "
                         "landmarker.process_image(image); False is session = landmarker.session(), then "
                         "session.process_frame(frame, timestamp_ms) per frame",
    "running_mode": "there is no mode switch: IMAGE is landmarker.process_image(image); VIDEO and "
                    "LIVE_STREAM are session = landmarker.session(), then session.process_frame(frame, "
                    "timestamp_ms)",
    "num_poses": "the most people per image is max_num_poses",
    "min_pose_detection_confidence": "use min_detection_confidence",
    "min_pose_presence_confidence": "use min_tracking_confidence (the pose-presence threshold)",
    "output_segmentation_masks": "use enable_segmentation",
    "base_options": "the model is PoseLandmarker('lite' | 'full' | 'heavy'), or model_path= for a file",
    "model_asset_path": "pass model_path= (an official pose_landmark_*.tflite file)",
}

#: Methods of MediaPipe's ``Pose`` / ``PoseLandmarker`` objects.
LANDMARKER = {
    "process": "use process_image(image) for a photo, or session = landmarker.session() and "
               "session.process_frame(frame, timestamp_ms) for the frames of a video",
    "detect_for_video": "use session = landmarker.session(), then session.process_frame(frame, timestamp_ms)",
    "detect_async": "use session = landmarker.session(), then session.process_frame(frame, timestamp_ms) "
                    "from your camera loop",
}

#: Fields of MediaPipe's results (``pose_landmarks`` is normalised there, pixels here).
RESULT = {
    "pose_landmarks": "result.landmarks is (people, 33, 3) in pixels (result.xyn: normalised like "
                      "MediaPipe's), result[0] is the first person (result[0]['left_knee'])",
    "pose_world_landmarks": "use result.world: (people, 33, 3) in metres",
    "segmentation_mask": "use result.mask (enable_segmentation=True)",
    "segmentation_masks": "use result.mask (enable_segmentation=True)",
}

#: Fields of MediaPipe's landmark lists (``results.pose_landmarks.landmark[i]``).
PERSON = {
    "landmark": "person[i] or person['left_knee'] gives one landmark (x, y in pixels, z, visibility); "
                "iterate over the person for all of them",
}


def attribute_error(owner: object, name: str, table: dict[str, str]) -> AttributeError:
    """The ``AttributeError`` for ``owner.name``, with a hint when MediaPipe has that name."""
    cls = type(owner).__name__
    hint = table.get(name)
    if hint is None:
        return AttributeError(f"{cls!r} object has no attribute {name!r}")
    return AttributeError(f"{cls!r} object has no attribute {name!r} (a MediaPipe name): {hint}")

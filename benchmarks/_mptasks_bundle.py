"""Runs inside the newest-MediaPipe environment: builds a PoseLandmarker ``.task`` bundle from the
legacy model files. Usage: _mptasks_bundle.py DETECTOR.tflite LANDMARK.tflite OUT.task

The legacy files carry no TFLite metadata, and MediaPipe Tasks needs, for a float input, the
input normalization (``NormalizationOptions``) and the colour space of the image. This script
writes that metadata flatbuffer (schema ``mediapipe/tasks/metadata/metadata_schema.fbs``, written
with its generated Python bindings) into each model, then stores both in an uncompressed zip
under the names Tasks looks for. Nothing else in the files changes. Prints JSON.
"""
import json
import sys
import zipfile

import flatbuffers
from mediapipe.tasks.metadata import metadata_schema_py_generated as meta
from mediapipe.tasks.metadata import schema_py_generated as tfl


def with_metadata(data: bytes, name: str, mean: float, std: float) -> bytes:
    norm = meta.NormalizationOptionsT()
    norm.mean, norm.std = [mean], [std]
    unit = meta.ProcessUnitT()
    unit.optionsType = meta.ProcessUnitOptions.NormalizationOptions
    unit.options = norm
    image = meta.ImagePropertiesT()
    image.colorSpace = meta.ColorSpaceType.RGB
    content = meta.ContentT()
    content.contentPropertiesType = meta.ContentProperties.ImageProperties
    content.contentProperties = image
    tin = meta.TensorMetadataT()
    tin.name, tin.content, tin.processUnits = "image", content, [unit]
    model_meta = tfl.Model.GetRootAsModel(data, 0)
    n_out = model_meta.Subgraphs(0).OutputsLength()
    outs = []
    for i in range(n_out):
        t = meta.TensorMetadataT()
        t.name = f"output_{i}"
        outs.append(t)
    sub = meta.SubGraphMetadataT()
    sub.inputTensorMetadata, sub.outputTensorMetadata = [tin], outs
    mm = meta.ModelMetadataT()
    mm.name, mm.subgraphMetadata, mm.minParserVersion = name, [sub], "1.0.0"
    b = flatbuffers.Builder(0)
    b.Finish(mm.Pack(b), file_identifier=b"M001")
    meta_bytes = bytes(b.Output())

    model = tfl.ModelT.InitFromObj(model_meta)
    buf = tfl.BufferT()
    buf.data = list(meta_bytes)
    model.buffers.append(buf)
    md = tfl.MetadataT()
    md.name, md.buffer = "TFLITE_METADATA", len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name != b"TFLITE_METADATA"] + [md]
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def main() -> None:
    det, lm, out = sys.argv[1:4]
    parts = {
        "pose_detector.tflite": with_metadata(open(det, "rb").read(), "pose_detector", 127.5, 127.5),
        "pose_landmarks_detector.tflite": with_metadata(open(lm, "rb").read(), "pose_landmarks", 0.0, 255.0),
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name, payload in parts.items():
            z.writestr(name, payload)
    print(json.dumps({"bundle": out, "sizes": {k: len(v) for k, v in parts.items()}}))


if __name__ == "__main__":
    main()

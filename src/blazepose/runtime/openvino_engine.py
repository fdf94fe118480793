"""The optional OpenVINO engine: the same official ``.tflite`` files on Intel's OpenVINO runtime.

OpenVINO reads ``.tflite`` files directly. Its CPU plugin would pick bfloat16 arithmetic by
itself on CPUs that have it (AVX-512 BF16, AMX), which moves landmarks by up to tens of pixels,
so the precision is always forced to float32 here; then the outputs match LiteRT's within
0.01 px (``tests/test_engines.py``). Compiled models are cached in ``<cache folder>/openvino``,
which cuts the start-up of later runs. Install it with ``pip install 'blazepose[openvino]'``.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import MissingDependencyError, ModelError
from .threads import default_num_threads

log = logging.getLogger(__name__)


def _core():
    try:
        import openvino as ov
    except ImportError as exc:
        raise MissingDependencyError(
            "the openvino engine needs the openvino package: pip install 'blazepose[openvino]'") from exc
    from ..models.registry import cache_dir

    core = ov.Core()
    folder = cache_dir() / "openvino"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        core.set_property({"CACHE_DIR": str(folder)})
    except OSError as exc:   # a read-only cache folder only costs start-up time
        log.warning("%s: cannot use it as OpenVINO's model cache (%s)", folder, exc)
    return core


class OpenVINOEngine:
    """A ``.tflite`` model on OpenVINO's CPU plugin in float32, with named outputs.

    Same contract as ``LiteRTEngine``: ``names`` maps an output's shape (without the batch axis)
    to its name, ``outputs`` keeps only some of them, ``run`` takes a (B, H, W, C) float32 batch.
    The model is compiled for batch 1; a larger batch runs element by element.
    """

    def __init__(self, model_path: str | Path, names: Mapping[tuple, str],
                 num_threads: int | None = None, outputs: Sequence[str] | None = None):
        self.path = Path(model_path)
        self.num_threads = num_threads or default_num_threads()
        core = _core()
        try:
            model = core.read_model(str(self.path))
            self._compiled = core.compile_model(model, "CPU", {
                "INFERENCE_PRECISION_HINT": "f32",
                "INFERENCE_NUM_THREADS": int(self.num_threads),
                "PERFORMANCE_HINT": "LATENCY",
            })
        except RuntimeError as exc:
            raise ModelError(f"{self.path}: OpenVINO cannot load this model file: {exc}") from exc
        self.input_shape = tuple(int(d) for d in model.inputs[0].get_shape())
        wanted = set(outputs) if outputs is not None else None
        self._outputs: list[tuple[str, int]] = []
        for i, out in enumerate(self._compiled.outputs):
            shape = tuple(int(d) for d in out.get_shape()[1:])
            name = dict(names).get(shape)
            if name is None:
                raise ModelError(f"{self.path}: unexpected output {out.get_any_name()} of shape {shape}")
            if wanted is None or name in wanted:
                self._outputs.append((name, i))
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()   # one infer request: calls from several threads take turns

    def _run_one(self, x: np.ndarray) -> dict[str, np.ndarray]:
        with self._lock:
            self._request.infer({0: x}, share_inputs=True)
            return {name: self._request.get_output_tensor(i).data.copy() for name, i in self._outputs}

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.path.name}: expected input (B, {self.input_shape[1:]}), got {batch.shape}")
        if batch.shape[0] == self.input_shape[0]:
            return self._run_one(batch)
        parts = [self._run_one(batch[i:i + 1]) for i in range(batch.shape[0])]
        return {name: np.concatenate([p[name] for p in parts]) for name, _ in self._outputs}

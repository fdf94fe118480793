"""One small inference interface: load a model, run a batch, get named outputs.

The pipeline only sees ``Engine``, made by ``load_engine``. Two engines run the ``.tflite`` files:
``"litert"`` (the default, ``LiteRTEngine``: Google's maintained TFLite runtime ``ai-edge-litert``,
XNNPACK on the CPU) and ``"openvino"`` (optional, ``runtime.openvino_engine.OpenVINOEngine``:
Intel's OpenVINO in float32, faster on x86 CPUs; ``pip install 'blazepose[openvino]'``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Mapping, Protocol, Sequence

import numpy as np

from ..errors import ModelError
from . import ENGINES
from .threads import default_num_threads, usable_cores  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

#: Output names by their shape, for the two BlazePose graphs (the files name them Identity_N).
DETECTOR_OUTPUTS = {(2254, 12): "boxes", (2254, 1): "scores"}
LANDMARK_OUTPUTS = {(195,): "landmarks", (1,): "pose_flag", (256, 256, 1): "segmentation",
                    (64, 64, 39): "heatmap", (117,): "world"}


#: What the TFLite runtime prints on stderr (from native code) each time it makes its CPU
#: delegate; ``_without_delegate_notice`` keeps it out of the user's terminal.
DELEGATE_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
_STDERR_LOCK = threading.Lock()   # one redirection at a time (fd 2 is the process's)


@contextlib.contextmanager
def _without_delegate_notice():
    """Run a native call with file descriptor 2 sent to a temporary file, then pass on to the
    real stderr everything it printed except the delegate notice (warnings and errors stay)."""
    try:
        err_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):   # no real stderr (a notebook, a service)
        yield
        return
    sys.stderr.flush()
    with _STDERR_LOCK, tempfile.TemporaryFile() as tmp:
        saved = os.dup(err_fd)
        os.dup2(tmp.fileno(), err_fd)
        try:
            yield
        finally:
            os.dup2(saved, err_fd)
            os.close(saved)
            tmp.seek(0)
            rest = b"".join(line for line in tmp.read().splitlines(keepends=True)
                            if line.rstrip() != DELEGATE_NOTICE)
            if rest:
                os.write(err_fd, rest)


class Engine(Protocol):
    """What the pipeline needs from an inference engine."""

    input_shape: tuple[int, ...]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run a (B, H, W, C) float32 batch; return outputs by name, each with a leading B axis."""
        ...


class LiteRTEngine:
    """A ``.tflite`` model on ai-edge-litert's interpreter, with named outputs.

    ``names`` maps an output's shape (without the batch axis) to the name the pipeline uses.
    ``run`` takes batches (the input tensor is resized when the batch size changes). ``run`` is
    thread-safe: calls from several threads are serialised by a lock (the interpreter's tensors
    are shared state).
    """

    def __init__(self, model_path: str | Path, names: Mapping[tuple, str],
                 num_threads: int | None = None, outputs: Sequence[str] | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise ModelError("ai-edge-litert is not installed: pip install ai-edge-litert") from exc
        self.path = Path(model_path)
        self.num_threads = num_threads or default_num_threads()
        try:
            with _without_delegate_notice():
                self._interp = Interpreter(model_path=str(self.path), num_threads=self.num_threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{self.path}: cannot load this model file: {exc}") from exc
        inp = self._interp.get_input_details()[0]
        self._input_index = inp["index"]
        self.input_shape = tuple(int(d) for d in inp["shape"])
        self._batch = self.input_shape[0]
        self._names = dict(names)
        self._wanted = set(outputs) if outputs is not None else None
        self._outputs: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._map_outputs()

    def _map_outputs(self) -> None:
        self._outputs = []
        for det in self._interp.get_output_details():
            shape = tuple(int(d) for d in det["shape"][1:])
            name = self._names.get(shape)
            if name is None:
                raise ModelError(f"{self.path}: unexpected output {det['name']} of shape {shape}")
            if self._wanted is None or name in self._wanted:
                self._outputs.append((name, det["index"]))

    def _resize(self, batch: int) -> None:
        shape = list(self.input_shape)
        shape[0] = batch
        self._interp.resize_tensor_input(self._input_index, shape, strict=False)
        with _without_delegate_notice():
            self._interp.allocate_tensors()
        self._batch = batch
        self._map_outputs()

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.path.name}: expected input (B, {self.input_shape[1:]}), got {batch.shape}")
        n = batch.shape[0]
        with self._lock:
            if n != self._batch:
                self._resize(n)
            self._interp.set_tensor(self._input_index, batch)
            self._interp.invoke()
            return {name: self._interp.get_tensor(idx) for name, idx in self._outputs}




def load_engine(model_path: str | Path, names: Mapping[tuple, str], num_threads: int | None = None,
                outputs: Sequence[str] | None = None, engine: str = "litert") -> Engine:
    """Load a ``.tflite`` file on the named engine (one of ``ENGINES``); outputs named by shape."""
    if engine == "litert":
        return LiteRTEngine(model_path, names, num_threads, outputs=outputs)
    if engine == "openvino":
        from .openvino_engine import OpenVINOEngine

        return OpenVINOEngine(model_path, names, num_threads, outputs=outputs)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")

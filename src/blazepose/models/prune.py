"""Derived model files: the landmark models without their segmentation branch.

The landmark models always compute a 256×256 person mask, even when nobody asked for it. A
derived ``.tflite`` without that output, and without every operator that only feeds it, gives
bit-identical landmarks, pose flag, heatmap and world points (``tests/test_prune.py`` checks it)
in about half the time (``benchmarks/threads.py --pruned`` measures it).

The derived file is made once from the verified official file (``registry.resolve``) and kept
beside it in the cache folder as ``<stem>.noseg.tflite``, with a JSON sidecar
``<stem>.noseg.json`` recording the official file's sha256 and the derived file's own sha256.
Both are checked on every load; a derived file that does not match is made again.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from ..errors import ChecksumError, ModelError
from . import registry

log = logging.getLogger(__name__)

#: Bumped when the derivation changes, so old derived files are made again.
PRUNE_FORMAT = 1
SEGMENTATION_SHAPE = (256, 256, 1)


def _output_shape(tensor) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape[1:])


def prune_outputs(data: bytes, drop_shapes: set[tuple[int, ...]]) -> bytes:
    """A ``.tflite`` flatbuffer without the outputs whose shape (batch axis left out) is listed.

    Operators are kept only if a kept output depends on them; tensors nobody uses any more are
    removed, and the buffers only they used are emptied (buffer numbers stay the same, so the
    model's metadata keeps pointing at its own buffers). Raises ModelError if the model has
    several subgraphs or no output matches.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    if len(model.subgraphs) != 1:
        raise ModelError(f"cannot prune a model with {len(model.subgraphs)} subgraphs")
    g = model.subgraphs[0]
    outputs = [int(i) for i in g.outputs]
    keep_out = [i for i in outputs if _output_shape(g.tensors[i]) not in drop_shapes]
    if len(keep_out) == len(outputs):
        raise ModelError(f"no output of shape {sorted(drop_shapes)} to remove")

    # Walk back from the kept outputs: an operator is needed if it makes a needed tensor.
    producer = {}
    for k, op in enumerate(g.operators):
        for t in op.outputs:
            producer[int(t)] = k
    needed_t, needed_ops, stack = set(), set(), list(keep_out)
    while stack:
        t = stack.pop()
        if t < 0 or t in needed_t:
            continue
        needed_t.add(t)
        k = producer.get(t)
        if k is not None and k not in needed_ops:
            needed_ops.add(k)
            op = g.operators[k]
            stack.extend(int(x) for x in op.inputs)
            stack.extend(int(x) for x in (op.intermediates if op.intermediates is not None else []))
    ops = [op for k, op in enumerate(g.operators) if k in needed_ops]

    used = set(int(i) for i in g.inputs) | set(keep_out)
    for op in ops:
        for field in (op.inputs, op.outputs, op.intermediates):
            if field is not None:
                used.update(int(x) for x in field if x >= 0)
    order = sorted(used)
    new_index = {old: new for new, old in enumerate(order)}

    def remap(ids):
        return [new_index[int(x)] if x >= 0 else -1 for x in ids]

    for op in ops:
        op.inputs = remap(op.inputs)
        op.outputs = remap(op.outputs)
        if op.intermediates is not None:
            op.intermediates = remap(op.intermediates)
    kept_buffers = {g.tensors[t].buffer for t in order}
    dropped_buffers = {t.buffer for t in g.tensors} - kept_buffers - {0}
    g.tensors = [g.tensors[t] for t in order]
    g.inputs = remap(g.inputs)
    g.outputs = remap(keep_out)
    g.operators = ops
    for b in dropped_buffers:
        model.buffers[b].data = None
    # Operator codes stay as they are: an unused code costs nothing.

    builder = flatbuffers.Builder(len(data))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def pruned_path(name: str, source: str | Path | None = None, *, download: bool = True) -> Path:
    """The verified landmark model ``name`` without its segmentation output, made once and cached.

    ``source`` is an explicit official file (else the cache, fetched if needed); it is verified by
    sha256 first. The derived file lives beside the cached official file; when ``source`` is
    outside the cache folder it lives beside ``source`` if that folder is writable, else in the
    cache folder.
    """
    if name not in registry.LANDMARK_MODELS:
        raise ValueError(f"only landmark models have a segmentation output, not {name!r}")
    src = Path(source) if source is not None else registry.cached_path(name)
    if source is None and not src.exists():
        src = registry.resolve(name, download=download)
    try:
        src_sha = registry.verify(name, src).sha256   # the one check of the official file
    except ChecksumError:
        if source is not None:
            raise
        src = registry.resolve(name, download=download)   # a damaged cached file: fetched again
        src_sha = registry.verify(name, src).sha256
    stem = Path(registry.spec(name).file).stem
    folder = src.parent if os.access(src.parent, os.W_OK) else registry.cache_dir()
    dest = folder / f"{stem}.noseg.tflite"
    sidecar = folder / f"{stem}.noseg.json"
    try:
        rec = json.loads(sidecar.read_text())
        if (rec.get("format") == PRUNE_FORMAT and rec.get("source_sha256") == src_sha
                and dest.is_file() and registry.sha256_of(dest) == rec.get("sha256")):
            return dest
        log.warning("%s does not match %s; deriving it again", dest, sidecar)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s); deriving %s again", sidecar, exc, dest)
    return _derive(src, src_sha, dest, sidecar)


def _derive(src: Path, src_sha: str, dest: Path, sidecar: Path) -> Path:
    try:
        pruned = prune_outputs(src.read_bytes(), {SEGMENTATION_SHAPE})
    except ModelError as exc:
        raise ModelError(f"{src}: {exc}") from exc
    dest.parent.mkdir(parents=True, exist_ok=True)
    for path, payload in ((dest, pruned), (sidecar, None)):
        if payload is None:
            payload = json.dumps({"format": PRUNE_FORMAT, "source": src.name, "source_sha256": src_sha,
                                  "sha256": registry.sha256_of(dest), "removed": "segmentation"},
                                 indent=1).encode()
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    log.info("derived %s (no segmentation output) from %s", dest, src)
    return dest

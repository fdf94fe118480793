"""Derived model files: the landmark models without their segmentation branch.

The landmark models always compute a 256×256 person mask, even when nobody asked for it. A
derived ``.tflite`` without that output, and without every operator that only feeds it, gives
bit-identical landmarks, pose flag, heatmap and world points (``tests/test_prune.py`` checks it)
in about half the time (``benchmarks/threads.py --pruned`` measures it).

The derived file is made once from the verified official file (``registry.resolve``) and kept
beside it in the cache folder as ``<stem>.noseg.tflite``, with a JSON sidecar
``<stem>.noseg.json`` recording the official file's sha256 and the derived file's own sha256.
Both are checked on every load; a derived file that does not match is made again. A read-only
model folder sends the derived file to the user's cache folder; with nowhere to write, the
official file is used as it is (``pruned_path``).
"""
from __future__ import annotations

import hashlib
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
    sha256 first. The derived file is looked for, then made, in the first of these folders that
    can hold it: beside the official file, the cache folder (``registry.cache_dir``), the user's
    default cache folder (``registry.default_cache_dir``, for a read-only ``$BLAZEPOSE_CACHE_DIR``).
    When none of them can be written (models baked into a read-only image), the verified official
    file itself is returned: the landmarks are the same bit for bit, only slower.
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
    folders = list(dict.fromkeys([src.parent, registry.cache_dir(), registry.default_cache_dir()]))
    pruned = None
    for folder in folders:   # the first folder that holds a derived file, or can take one, wins
        dest, sidecar = folder / f"{stem}.noseg.tflite", folder / f"{stem}.noseg.json"
        if _recorded(dest, sidecar, src_sha):
            return dest
        if folder.exists() and not os.access(folder, os.W_OK):
            continue
        if pruned is None:
            try:
                pruned = prune_outputs(src.read_bytes(), {SEGMENTATION_SHAPE})
            except ModelError as exc:
                raise ModelError(f"{src}: {exc}") from exc
        try:
            return _derive(src, src_sha, pruned, dest, sidecar)
        except OSError as exc:   # read-only despite os.access (root), full, or gone: try the next
            log.warning("cannot write %s (%s)", dest, exc)
    log.warning("no writable folder for the derived %s (tried %s); using the official %s, which gives "
                "the same landmarks more slowly", f"{stem}.noseg.tflite", ", ".join(map(str, folders)), src)
    return src


def _recorded(dest: Path, sidecar: Path, src_sha: str) -> bool:
    """Whether ``dest`` is the derived file its sidecar records, made from the official ``src_sha``."""
    try:
        rec = json.loads(sidecar.read_text())
        if (rec.get("format") == PRUNE_FORMAT and rec.get("source_sha256") == src_sha
                and dest.is_file() and registry.sha256_of(dest) == rec.get("sha256")):
            return True
        log.warning("%s does not match %s; deriving it again", dest, sidecar)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("%s: unreadable (%s); deriving %s again", sidecar, exc, dest)
    return False


def _write_replace(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a temp file beside ``path``, check it on disk, then rename it."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        if Path(tmp).read_bytes() != payload:
            raise OSError(f"{tmp}: the bytes read back differ from the bytes written")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _derive(src: Path, src_sha: str, pruned: bytes, dest: Path, sidecar: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    _write_replace(dest, pruned)
    record = {"format": PRUNE_FORMAT, "source": src.name, "source_sha256": src_sha,
              "sha256": hashlib.sha256(pruned).hexdigest(), "removed": "segmentation"}
    _write_replace(sidecar, json.dumps(record, indent=1).encode())
    log.info("derived %s (no segmentation output) from %s", dest, src)
    return dest

"""The package's public face: flat names, one exception root, no import circle, the stateless
landmarker (threads), result selection and boxes, ``detect_people`` and its deprecated alias."""
import ast
import importlib
import inspect
import pkgutil
import threading
from pathlib import Path

import numpy as np
import pytest

import blazepose
from blazepose import BlazePoseError

from conftest import REFERENCE

SRC = Path(blazepose.__file__).parent
OPTIONAL = ("fastapi", "starlette", "uvicorn", "ray", "plotly", "matplotlib", "openvino", "multipart")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str) -> set[str]:
    """The ``blazepose`` modules a file imports anywhere (module level, in functions, under
    ``TYPE_CHECKING``): ``from . import x`` counts as the module ``x`` where it is one."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("blazepose")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("blazepose"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                found.add(sub if (SRC.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          or (SRC.parent / sub.replace(".", "/") / "__init__.py").exists() else mod)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(SRC.rglob("*.py")):
        name = _module_name(path)
        graph[name] = _imports(path, name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first == last), or None; a package's own ``__init__`` importing
    its submodules is not an edge back from them (a submodule always loads its package first)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for dep in sorted(graph.get(m, ())):
            if m.startswith(dep + "."):       # a module importing its own package's __init__
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep in graph and not state.get(dep):
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if not state.get(m):
            found = visit(m)
            if found:
                return found
    return None


def test_the_import_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "a.x": {"a"}}) is None
    assert cycles({"a": {"b"}, "b": {"a", "c"}, "c": set(), "p": {"p.x"}, "p.x": {"p"}}) == {frozenset("ab")}


#: Import circles allowed: none (every import, module-level or inside a function, points one way).
KNOWN_CYCLES: set[frozenset[str]] = set()


def _edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without a module's edge to its own package (a submodule loads its package first)."""
    return {m: {d for d in deps if d in graph and not m.startswith(d + ".")} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The groups of modules that import each other (strongly connected, more than one module)."""
    edges = _edges(graph)
    reach: dict[str, set[str]] = {}
    for m in edges:
        seen, todo = set(), [m]
        while todo:
            for d in edges[todo.pop()]:
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        reach[m] = seen
    return {frozenset({m} | {d for d in reach[m] if m in reach[d]}) for m in edges if m in reach[m]}


def test_no_import_cycle_among_blazepose_modules():
    graph = import_graph()
    assert "blazepose.api.core" in graph["blazepose.api.session"]       # the graph sees real imports
    assert "blazepose.api.session" in graph["blazepose.api.landmarker"]
    assert "blazepose.api.session" not in graph["blazepose.api.core"]
    found = cycles(graph)
    assert found - KNOWN_CYCLES == set(), [sorted(c) for c in found - KNOWN_CYCLES]
    known = set().union(*KNOWN_CYCLES)
    outside = {m: deps - known for m, deps in graph.items() if m not in known}
    assert find_cycle(outside) is None, " -> ".join(find_cycle(outside) or [])


def test_every_public_name_imports_from_blazepose():
    need = {"PoseLandmarker", "PoseOptions", "VideoSession", "PoseResult", "Landmark", "CONNECTIONS",
            "draw_pose", "export", "read_image", "VideoReader", "OptionsError", "BlazePoseError"}
    assert need <= set(blazepose.__all__)
    for name in blazepose.__all__:
        assert getattr(blazepose, name) is not None, name
    ns: dict = {}
    exec("from blazepose import *", ns)
    assert need <= set(ns)
    from blazepose.outputs.draw import draw_pose

    assert blazepose.draw_pose is draw_pose
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        blazepose.nope


def _all_modules():
    for info in pkgutil.walk_packages(blazepose.__path__, "blazepose."):
        try:
            yield importlib.import_module(info.name)
        except ImportError as exc:     # an optional extra that is not installed here
            if not any(o in str(exc) for o in OPTIONAL):
                raise


def test_every_exception_the_package_defines_is_a_blazepose_error():
    defined = {}
    for mod in _all_modules():
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__.startswith("blazepose"):
                defined[f"{obj.__module__}.{obj.__qualname__}"] = obj
    assert len(defined) >= 15
    outside = sorted(n for n, c in defined.items() if not issubclass(c, BlazePoseError)
                     and not issubclass(c, KeyboardInterrupt))   # BatchInterrupted is Ctrl-C, on purpose
    assert outside == [], outside
    exported = {n for n in blazepose.__all__ if inspect.isclass(getattr(blazepose, n))
                and issubclass(getattr(blazepose, n), BaseException)}
    assert {c.__name__ for c in defined.values() if issubclass(c, BlazePoseError)} <= exported
    assert issubclass(blazepose.OptionsError, ValueError) and issubclass(blazepose.BudgetTimeout, TimeoutError)
    assert issubclass(blazepose.OutputWriteError, OSError) and issubclass(blazepose.MissingDependencyError, ImportError)


def test_py_typed_ships():
    assert (SRC / "py.typed").exists()
    assert '"blazepose" = ["py.typed"]' in (SRC.parents[1] / "pyproject.toml").read_text()


def test_constructor_keywords_and_properties_are_explicit(landmarker_factory):
    from blazepose import PoseLandmarker, PoseOptions

    params = inspect.signature(PoseLandmarker.__init__).parameters
    from dataclasses import fields

    assert {f.name for f in fields(PoseOptions)} - {"model"} <= set(params)
    pl = landmarker_factory("lite", max_num_poses=2)
    for f in fields(PoseOptions):
        if f.name != "num_threads":
            assert isinstance(inspect.getattr_static(PoseLandmarker, f.name), property), f.name
            assert getattr(pl, f.name) == getattr(pl.options, f.name)
    with pytest.raises(blazepose.OptionsError, match="unknown option.*static_image_mode"):
        PoseLandmarker("lite", static_image_mode=True)
    # options= is a base the keywords change; the model argument left out keeps its model
    o = PoseOptions(model="lite", max_num_poses=3)
    assert PoseLandmarker(options=o, min_detection_confidence=0.7).options == o.replace(min_detection_confidence=0.7)


def test_detect_people_and_the_deprecated_alias(landmarker_factory, pose_rgb):
    pl = landmarker_factory("full")
    dets = pl.detect_people(pose_rgb)
    assert len(dets) == 1 and 0.5 < float(dets.scores[0]) <= 1.0
    with pytest.warns(DeprecationWarning, match="detect_people"):
        old = pl.detect(pose_rgb)
    np.testing.assert_array_equal(old.keypoints, dets.keypoints)


def test_result_selection_and_boxes(landmarker_factory):
    from blazepose import PoseResult
    from blazepose.api.result import Person

    pl = landmarker_factory("full", max_num_poses=4)
    res = pl.process_image(REFERENCE.parent / "coco" / "000000197388.jpg")
    n = len(res)
    assert n >= 3
    assert isinstance(res[0], Person) and isinstance(res[-1], Person)
    tail = res[1:]
    assert isinstance(tail, PoseResult) and len(tail) == n - 1
    np.testing.assert_array_equal(tail.landmarks, res.landmarks[1:])
    np.testing.assert_array_equal(tail.ids, res.ids[1:])
    mask = res.scores >= np.median(res.scores)
    picked = res[mask]
    assert len(picked) == int(mask.sum()) and picked.image_size == res.image_size
    np.testing.assert_array_equal(picked.scores, res.scores[mask])
    two = res[[0, n - 1]]
    np.testing.assert_array_equal(two.world, res.world[[0, n - 1]])
    assert len(res[[]]) == 0 and len(res[np.zeros(n, bool)]) == 0
    with pytest.raises(IndexError):
        res[np.ones(n + 1, bool)]
    with pytest.raises(IndexError):
        res[[0, n]]
    # boxes: around the visible landmarks, in pixels, inside the image give or take the body's extent
    boxes = res.boxes
    assert boxes.shape == (n, 4)
    for i in range(n):
        seen = res.landmarks[i, res.visibility[i] >= 0.5, :2]
        np.testing.assert_allclose(boxes[i], [*seen.min(axis=0), *seen.max(axis=0)], atol=1e-9)
        np.testing.assert_array_equal(res[i].box, boxes[i])
        assert boxes[i, 2] - boxes[i, 0] > 10 and boxes[i, 3] - boxes[i, 1] > 10
    np.testing.assert_array_equal(res[1:].boxes, boxes[1:])


def test_boxes_on_a_hand_made_result():
    from blazepose import PoseResult

    lm = np.zeros((1, 33, 3))
    lm[0, :, 0], lm[0, :, 1] = np.arange(33), 100 + 2 * np.arange(33)
    vis = np.zeros((1, 33))
    vis[0, [3, 10, 20]] = 0.9
    r = PoseResult(lm, vis, vis, np.zeros((1, 33, 3)), [0.9], np.zeros((1, 5)), [0], (640, 480))
    np.testing.assert_array_equal(r.boxes, [[3, 106, 20, 140]])          # the visible ones
    r2 = PoseResult(lm, np.zeros((1, 33)), vis, np.zeros((1, 33, 3)), [0.9], np.zeros((1, 5)), [0], (640, 480))
    np.testing.assert_array_equal(r2.boxes, [[0, 100, 32, 164]])          # none visible: all of them
    assert PoseResult.empty((640, 480)).boxes.shape == (0, 4)


def test_two_threads_process_video_on_one_landmarker(landmarker_factory, tmp_path):
    """No hidden shared session: both threads finish with the same results as one alone."""
    from _video_clips import squats_frames, write_avi

    clip = write_avi(tmp_path / "six.avi", squats_frames(6))
    pl = landmarker_factory("full")
    alone = list(pl.process_video(clip))
    out: dict[int, list] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(k: int) -> None:
        try:
            start.wait()
            out[k] = list(pl.process_video(clip))
        except BaseException as exc:      # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(alone) == 6 and all(len(r) == 1 for r in alone)
    for k in (0, 1):
        assert [r.frame_index for r in out[k]] == list(range(6))
        for a, b in zip(alone, out[k]):
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            np.testing.assert_array_equal(a.world, b.world)


def test_the_landmarker_keeps_no_video_state(landmarker_factory):
    from blazepose import PoseLandmarker, VideoSession

    pl = landmarker_factory("full")
    for name in ("process_frame", "reset", "video_stats", "_session", "_own_session"):
        assert not hasattr(pl, name), name
    s1, s2 = pl.session(), VideoSession(pl)
    assert s1 is not s2 and s1.landmarker is s2.landmarker is pl
    assert not inspect.isgeneratorfunction(PoseLandmarker.process_video)   # checks run at the call

"""An interactive 3-D view of the world landmarks: one HTML file that works offline.

Needs plotly, the optional extra ``plot3d`` (``pip install 'blazepose[plot3d]'``); it is imported
only when a view is made, and a ``MissingDependencyError`` says so when it is missing. The page
embeds plotly's own ``plotly.min.js`` (from the installed package, about 4.8 MB) and the figure as
JSON (``<script type="application/json" id="blazepose-figure">``), so it opens with no network.

Axes, metres: **x** = world x (the camera's right), **y** = -world y (up), **z** = -world z
(towards the camera); the same right-handed turn of MediaPipe's world axes (x right, y down,
z away, origin between the hips) as the BVH export, so the view is not mirrored. The camera
starts on the viewer's side, slightly above, y up on screen; dragging orbits the scene (plotly's
default turntable would swing z up on the first drag). The y title is a level annotation above
the y axis (plotly mirrors a y-up axis's own title). One photo: one scene. A video (a
list of results): animation frames with a time slider and play/pause; frames without anybody
show an empty scene. Several people: one colour per track id for the bones; as the world
landmarks of each person are centred on their own hips, each person is moved to their hips'
place in the picture (pixels times the frame's median metres-per-pixel, from the picture's
centre; depth 0). With one person nothing is moved. Joints: the subject's left orange, right
blue, the centre grey; hovering shows the landmark's name and visibility.
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from ..api.result import PoseResult
from ..errors import InputError, MissingDependencyError
from ..landmark import CONNECTIONS, LANDMARK_NAMES, side_of
from .bvh import AXES, metres_per_pixel
from .draw import ID_COLORS, LEFT_COLOR, RIGHT_COLOR
from .sink import Sink, write_all

_SIDE = {"left": "rgb(%d,%d,%d)" % LEFT_COLOR, "right": "rgb(%d,%d,%d)" % RIGHT_COLOR, "center": "rgb(110,110,110)"}
FIGURE_ID = "blazepose-figure"


def require_plotly() -> None:
    """Raise ``MissingDependencyError`` now (before a long run) when plotly is missing."""
    try:
        import plotly  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "the 3-D view needs plotly: pip install 'blazepose[plot3d]' (or pip install plotly)") from exc


def view_coordinates(world: np.ndarray) -> np.ndarray:
    """World landmarks (..., 3) (x right, y down, z away) -> the view's axes (x right, y up, z towards)."""
    return np.asarray(world, float) * AXES


def _offsets(result: PoseResult, place: bool) -> np.ndarray:
    """(N, 3) view-axis offsets placing each person at their hips' place in the picture."""
    out = np.zeros((len(result), 3))
    if not place or len(result) == 0 or result.num_landmarks <= 24:
        return out
    scale = np.median([metres_per_pixel(result.world[i:i + 1], result.landmarks[i:i + 1, :, :2])
                       for i in range(len(result))])
    hips = result.landmarks[:, [23, 24], :2].mean(axis=1) - np.array([result.width, result.height]) / 2
    out[:, 0], out[:, 1] = scale * hips[:, 0], -scale * hips[:, 1]
    return out


def _traces(result: PoseResult, ids: list[int], place: bool) -> list[dict]:
    """Two traces per id in ``ids`` (bones, joints); empty ones for ids not in this frame."""
    k = result.num_landmarks
    edges = [(a, b) for a, b in CONNECTIONS if a < k and b < k]
    offsets = _offsets(result, place)
    where = {int(i): n for n, i in enumerate(result.ids)}
    traces = []
    for pid in ids:
        color = "rgb(%d,%d,%d)" % ID_COLORS[pid % len(ID_COLORS)] if place else "rgb(60,60,60)"
        lx: list = []
        ly: list = []
        lz: list = []
        px = py = pz = []
        text: list[str] = []
        if pid in where:
            n = where[pid]
            pts = view_coordinates(result.world[n]) + offsets[n]
            for a, b in edges:
                for arr, c in ((lx, 0), (ly, 1), (lz, 2)):
                    arr += [float(pts[a, c]), float(pts[b, c]), None] if np.isfinite(pts[[a, b]]).all() else []
            px, py, pz = ([v if np.isfinite(v) else None for v in pts[:, c].tolist()] for c in range(3))
            text = [f"{LANDMARK_NAMES[j]} (visibility {result.visibility[n, j]:.2f})" for j in range(k)]
        traces.append({"type": "scatter3d", "mode": "lines", "name": f"person {pid}", "legendgroup": str(pid),
                       "x": lx, "y": ly, "z": lz, "line": {"color": color, "width": 6}, "hoverinfo": "skip"})
        traces.append({"type": "scatter3d", "mode": "markers", "name": f"person {pid} joints",
                       "legendgroup": str(pid), "showlegend": False, "x": px, "y": py, "z": pz, "text": text,
                       "hovertemplate": "%{text}<br>x %{x:.3f} m, y %{y:.3f} m, z %{z:.3f} m<extra></extra>",
                       "marker": {"size": 4, "color": [_SIDE[side_of(j)] for j in range(len(px))]}})
    return traces


#: The starting camera: on the viewer's side, slightly above and to the right, y up; far enough
#: (|eye| about 2.5) that the x axis's tick labels and title stay inside the page.
CAMERA = {"up": {"x": 0, "y": 1, "z": 0}, "eye": {"x": 0.6, "y": 0.4, "z": 2.4}}
Y_TITLE = "y (m), up"


def _y_title(centre: np.ndarray, half: float) -> dict:
    """The y axis's title as a scene annotation above the top of the front left edge (where the
    y tick labels are), written level. Plotly draws a 3-D axis title along its axis and, with y
    up rather than z, draws the y title mirrored (upside down); an annotation is always level and
    moves with the scene. It sits just inside the box: plotly hides annotations on its faces."""
    inset = 0.02 * half
    return {"x": float(centre[0] - half + inset), "y": float(centre[1] + half - inset),
            "z": float(centre[2] + half - inset), "text": Y_TITLE, "showarrow": False,
            "xanchor": "center", "yanchor": "bottom", "font": {"size": 14}}


def figure_dict(results: PoseResult | Iterable[PoseResult], *, title: str | None = None) -> dict:
    """The plotly figure (a JSON-ready dict: ``data``, ``layout``, and ``frames`` for a video)."""
    items = [results] if isinstance(results, PoseResult) else list(results)
    if not items:
        raise InputError("plot3d: no results to show")
    ids = sorted({int(i) for r in items for i in r.ids}) or [0]
    place = len(ids) > 1
    frames = [_traces(r, ids, place) for r in items]
    allp = np.array([[x, y, z] for f in frames for t in f if t["mode"] == "markers"
                     for x, y, z in zip(t["x"], t["y"], t["z"])], dtype=float).reshape(-1, 3)
    allp = allp[np.isfinite(allp).all(axis=1)]
    lo, hi = (allp.min(0), allp.max(0)) if len(allp) else (np.full(3, -1.0), np.full(3, 1.0))
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 + 0.1, 0.5)
    axis = lambda c, label: {"title": {"text": label}, "range": [centre[c] - half, centre[c] + half],  # noqa: E731
                             "zeroline": False}
    layout = {"title": {"text": title or ("world landmarks, metres" if len(items) == 1 else
                                          f"world landmarks, metres ({len(items)} frames)")},
              "scene": {"xaxis": axis(0, "x (m), right"), "yaxis": axis(1, ""),
                        "zaxis": axis(2, "z (m), towards the camera"), "aspectmode": "cube",
                        "annotations": [_y_title(centre, half)], "dragmode": "orbit", "camera": CAMERA},
              "margin": {"l": 0, "r": 0, "t": 40, "b": 0}, "showlegend": place, "uirevision": "keep"}
    fig = {"data": frames[0], "layout": layout}
    if len(items) > 1:
        labels = [f"{r.timestamp_ms / 1000:.2f} s" if r.timestamp_ms is not None else
                  str(r.frame_index if r.frame_index is not None else n) for n, r in enumerate(items)]
        fig["frames"] = [{"name": str(n), "data": f} for n, f in enumerate(frames)]
        step = lambda n: {"method": "animate", "label": labels[n],  # noqa: E731
                          "args": [[str(n)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                              "transition": {"duration": 0}}]}
        times = [r.timestamp_ms for r in items if r.timestamp_ms is not None]
        ms = float(np.median(np.diff(times))) if len(times) > 1 else 100.0
        layout["sliders"] = [{"active": 0, "steps": [step(n) for n in range(len(items))],
                              "currentvalue": {"prefix": "time "}, "x": 0.12, "len": 0.88, "pad": {"t": 30}}]
        layout["updatemenus"] = [{"type": "buttons", "showactive": False, "x": 0.0, "y": 0.0, "xanchor": "left",
                                  "yanchor": "top", "direction": "left", "pad": {"t": 45},
                                  "buttons": [{"label": "▶", "method": "animate",
                                               "args": [None, {"frame": {"duration": ms, "redraw": True},
                                                               "fromcurrent": True, "transition": {"duration": 0}}]},
                                              {"label": "❚❚", "method": "animate",
                                               "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]}]}]
    return fig


_HTML_UNSAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def json_in_html(obj) -> str:
    """``obj`` as JSON that can sit inside a ``<script>`` element: ``<``, ``>`` and ``&`` written as
    ``\\u003c``, ``\\u003e``, ``\\u0026`` (the same string to ``JSON.parse``). Escaping only ``</``
    is not enough: a file name holding ``<!--<script>`` puts the HTML tokenizer in its
    double-escaped state, which swallows the page's own script that follows."""
    return json.dumps(obj, allow_nan=False).translate(_HTML_UNSAFE)


def html_page(fig: dict, *, title: str = "blazepose 3-D view") -> str:
    """A self-contained page: plotly.min.js and the figure's JSON inline, no network."""
    require_plotly()
    from plotly.offline import get_plotlyjs

    data = json_in_html(fig)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>\n<style>html,body{{margin:0;height:100%}}"
            "#view{width:100%;height:100vh}</style></head><body>\n<div id=\"view\"></div>\n"
            f"<script>{get_plotlyjs()}</script>\n"
            f"<script type=\"application/json\" id=\"{FIGURE_ID}\">{data}</script>\n"
            "<script>const fig = JSON.parse(document.getElementById('" + FIGURE_ID + "').textContent);\n"
            "Plotly.newPlot('view', fig.data, fig.layout, {responsive: true, displaylogo: false})"
            ".then(gd => { if (fig.frames) Plotly.addFrames(gd, fig.frames); "
            "document.body.dataset.ready = '1'; });</script>\n</body></html>\n")


def plot3d(results: PoseResult | Iterable[PoseResult], path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write the 3-D view of one result (a photo) or a list of results (a video) to an HTML file
    that works offline. Returns the path."""
    require_plotly()
    fig = figure_dict(results, title=title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb", buffering=0) as f:
        write_all(f, html_page(fig, title=title or path.stem).encode("utf-8"), path)
    return path


class Plot3dWriter(Sink):
    """A sink: buffers the frames' people (without masks) and writes ``plot3d`` on ``close``.
    Skipped frames are left out of the view. Nothing is written when no frame was given."""

    def __init__(self, path: str | os.PathLike, *, title: str | None = None):
        super().__init__()
        require_plotly()
        self.path, self.title = Path(path), title
        self._frames: list[PoseResult] = []

    def write(self, result: PoseResult, frame=None) -> None:
        if result.mask is not None:
            from dataclasses import replace

            result = replace(result, mask=None)
        self._frames.append(result)

    def _finish(self, complete: bool) -> None:
        if self._frames:
            self.paths.append(plot3d(self._frames if len(self._frames) > 1 else self._frames[0], self.path,
                                     title=self.title))

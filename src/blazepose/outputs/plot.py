"""Pictures of joint angles: angles over time for a video, angle values on a photo.

Needs matplotlib, the optional extra ``plot`` (``pip install blazepose[plot]``); it is imported
only when a plot is made, and a clear ``MissingDependencyError`` says so when it is missing.
Only matplotlib's object API is used (no pyplot, no global state, no display needed).

Images are RGB uint8; joints are placed at the image landmarks' pixel x, y.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..api.result import PoseResult
from ..errors import MissingDependencyError
from .angles import JOINT_NAMES, JOINT_PAIRS, JOINTS, AngleSeries, JointAngles, joint_angles
from ..landmark import CONNECTIONS
from .draw import ID_COLORS, LEFT_COLOR, RIGHT_COLOR, draw_pose

#: Line colours, matching the drawing's left/right colours.
_SIDE_COLORS = {"left": tuple(c / 255 for c in LEFT_COLOR), "right": tuple(c / 255 for c in RIGHT_COLOR)}


def require_matplotlib() -> None:
    """Raise ``MissingDependencyError`` now (before a long run) when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "plots need matplotlib: pip install 'blazepose[plot]' (or pip install matplotlib)") from exc


def _figure(**kw):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(**kw)


def plot_angles(frames: AngleSeries | Iterable[PoseResult | JointAngles], path: str | os.PathLike, *,
                kind: str = "3d", min_visibility: float = 0.5, pairs: Sequence[str] = JOINT_PAIRS,
                reps: Sequence | None = None, title: str | None = None, dpi: int = 100) -> Path:
    """Joint angles over time to a PNG: one panel per joint pair, left and right together.

    The x axis is time in seconds when the frames carry timestamps, else the frame index. Frames
    without a pose are shaded grey; angles less visible than ``min_visibility`` are left out
    (gaps in the lines). ``reps`` (``Rep`` objects of ``outputs.reps``) are marked at their
    deepest frame. Returns the path.
    """
    series = frames if isinstance(frames, AngleSeries) else AngleSeries.from_frames(frames)
    for p in pairs:
        if p not in JOINT_PAIRS:
            raise ValueError(f"unknown joint pair {p!r}; pairs are {', '.join(JOINT_PAIRS)}")
    use_time = len(series) > 0 and bool(np.isfinite(series.time_s).all())
    x = series.time_s if use_time else series.frame_index.astype(np.float64)
    step = float(np.median(np.diff(x))) if len(x) > 1 else 1.0
    fig = _figure(figsize=(8, 1.7 * len(pairs) + 0.8), dpi=dpi, layout="constrained")
    axes = fig.subplots(len(pairs), 1, sharex=True, squeeze=False)[:, 0]
    missing = np.flatnonzero(~series.present)
    for ax, pair in zip(axes, pairs):
        for side in ("left", "right"):
            a = series.joint(f"{side}_{pair}", kind, min_visibility)
            ax.plot(x, a, marker=".", markersize=4, linewidth=1.5, color=_SIDE_COLORS[side], label=side)
        for i in missing:
            ax.axvspan(x[i] - step / 2, x[i] + step / 2, color="0.8", linewidth=0)
        for r in reps or ():
            xi = np.flatnonzero(series.frame_index == r.peak_frame)
            if xi.size:
                ax.axvline(x[xi[0]], color="0.4", linestyle=":", linewidth=1)
        ax.set_ylabel(f"{pair} (°)")
        ax.set_ylim(0, 185)
        ax.set_yticks([0, 45, 90, 135, 180])
        ax.grid(True, linewidth=0.4, alpha=0.5)
    axes[0].legend(loc="lower left", ncols=2, fontsize="small", framealpha=0.8)
    axes[-1].set_xlabel("time (s)" if use_time else "frame")
    label = "3-D (world landmarks)" if kind == "3d" else "2-D (image)"
    head = title or f"Joint angles, {label}"
    extra = []
    if missing.size:
        extra.append(f"grey: {missing.size} frame(s) without a pose")
    if reps is not None:
        extra.append(f"{len(reps)} rep(s), dotted at the deepest frame")
    fig.suptitle(head + ("\n" + "; ".join(extra) if extra else ""), fontsize="medium")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def _skeleton_points(pts: np.ndarray, ok: np.ndarray, spacing: float) -> np.ndarray:
    """Points sampled along the drawn skeleton (pixels), to keep labels off the limbs."""
    out = [pts[ok]]
    k = len(pts)
    for a, b in CONNECTIONS:
        if a < k and b < k and ok[a] and ok[b]:
            n = max(2, int(np.linalg.norm(pts[b] - pts[a]) / spacing) + 1)
            out.append(pts[a] + np.linspace(0, 1, n)[:, None] * (pts[b] - pts[a]))
    return np.concatenate(out) if out else np.zeros((0, 2))


def _place_label(vertex: np.ndarray, skeleton: np.ndarray, labels: list, dist: float, width: float,
                 half: np.ndarray, taken: list, image_size: tuple[int, int]) -> np.ndarray | None:
    """The label centre: ``dist`` or 1.5 ``dist`` from the joint, in the one of 16 directions
    farthest from the skeleton points and from the labels already placed (``width`` apart), among
    the places where the label's box (``half`` its width and height) stays inside the image and
    overlaps none of the ``taken`` boxes (x0, y0, x1, y1); None when there is no such place."""
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    unit = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    cand = np.concatenate([vertex + dist * unit, vertex + 1.5 * dist * unit])
    score = np.full(len(cand), np.inf)
    if len(skeleton):
        score = np.linalg.norm(cand[:, None] - skeleton[None], axis=2).min(axis=1)
    if labels:
        # labels are wide: scale the horizontal distance so two labels side by side count as close
        d = (cand[:, None] - np.asarray(labels)[None]) / np.array([width / dist, 1.0])
        score = np.minimum(score, np.linalg.norm(d, axis=2).min(axis=1))
    score[len(unit):] -= 0.25 * dist          # prefer the nearer ring when it is as good
    lo, hi = cand - half, cand + half
    w, h = image_size
    free = (lo[:, 0] >= -0.5) & (lo[:, 1] >= -0.5) & (hi[:, 0] <= w - 0.5) & (hi[:, 1] <= h - 0.5)
    if taken:
        t = np.asarray(taken, float)
        hit = ((lo[:, None, 0] < t[None, :, 2]) & (t[None, :, 0] < hi[:, None, 0]) &
               (lo[:, None, 1] < t[None, :, 3]) & (t[None, :, 1] < hi[:, None, 1]))
        free &= ~hit.any(axis=1)
    if not free.any():
        return None
    score[~free] = -np.inf
    return cand[int(np.argmax(score))]


def _label_size(result: PoseResult, p: int, visible: np.ndarray, base: float, dpi: int) -> float:
    """Person ``p``'s label font size (points): ``base`` for someone at least 45 % of the image's
    longer side tall (their visible landmarks' height), smaller for smaller people, 6 at least."""
    pts = result.landmarks[p, visible, :2] if visible.sum() >= 2 else result.landmarks[p, :, :2]
    tall = float(np.ptp(pts[:, 1])) if len(pts) else 0.0
    return max(6.0, base * min(1.0, tall / (0.45 * max(result.width, result.height))))


def image_angles_figure(image: np.ndarray, result: PoseResult, *, kind: str = "2d", min_visibility: float = 0.5,
                        joints: Sequence[str] = JOINT_NAMES, dpi: int = 100):
    """The matplotlib ``Figure`` of ``plot_image_angles`` (arguments as there), not yet saved.

    People are labelled largest first (the area of their visible landmarks' box), each with a font
    scaled to their height; a label goes to the best free place around its joint (away from the
    skeleton and the other labels) where its box overlaps no label already written and no "id N"
    label, or is left out when there is none: two labels never overlap.
    """
    from matplotlib import patheffects

    from .draw import id_label_box

    drawn = draw_pose(image, result, min_visibility=min_visibility)
    ja = joint_angles(result)
    h, w = drawn.shape[:2]
    fig = _figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(drawn, interpolation="nearest")
    ax.set_axis_off()
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()     # to measure each label before placing it
    base = max(7.0, 0.018 * max(w, h) * 72 / dpi)
    dist = 0.04 * max(w, h)
    visible = result.visibility >= min_visibility
    taken = [id_label_box(result, p, visible[p], (w, h))[:4] for p in range(len(result))] if len(result) > 1 else []
    labels: list = []
    for p in sorted(range(len(result)), key=lambda q: -_box_area(result.landmarks[q, visible[q], :2])):
        pts = result.landmarks[p, :, :2]
        size = _label_size(result, p, visible[p], base, dpi)
        stroke = [patheffects.withStroke(linewidth=size / 3, foreground="black")]
        skeleton = _skeleton_points(pts, visible[p], dist / 4)
        for name in joints:
            j = JOINT_NAMES.index(name)
            val = ja.angles(kind)[p, j]
            if not np.isfinite(val) or not ja.visibility[p, j] >= min_visibility:
                continue
            color = (_SIDE_COLORS["left" if name.startswith("left") else "right"] if len(result) == 1 else
                     tuple(c / 255 for c in ID_COLORS[int(result.ids[p]) % len(ID_COLORS)]))
            text = ax.text(0, 0, f"{val:.0f}°", color=color, fontsize=size, fontweight="bold",
                           ha="center", va="center", path_effects=stroke)
            ext = text.get_window_extent(renderer)
            # the box with the outline's half width around it, in pixels (data units here)
            half = np.array([ext.width, ext.height]) / 2 + size / 6 * dpi / 72
            vertex = pts[JOINTS[name][1]]
            at = _place_label(vertex, skeleton, labels, dist, 2.2 * size * dpi / 72, half, taken, (w, h))
            if at is None:
                text.remove()
                continue
            text.set_position(at)
            labels.append(tuple(at))
            taken.append((*(at - half), *(at + half)))
            tick = np.stack([vertex, vertex + 0.5 * (at - vertex)])      # from the joint towards it
            ax.plot(tick[:, 0], tick[:, 1], color=color, linewidth=max(1.0, size / 8), solid_capstyle="round")
    return fig


def _box_area(pts: np.ndarray) -> float:
    return float(np.prod(np.ptp(pts, axis=0))) if len(pts) >= 2 else 0.0


def plot_image_angles(image: np.ndarray, result: PoseResult, path: str | os.PathLike, *, kind: str = "2d",
                      min_visibility: float = 0.5, joints: Sequence[str] = JOINT_NAMES,
                      dpi: int = 100, format: str | None = None) -> Path | None:
    """The annotated image with each joint's angle written next to it, to a PNG at the image's size.

    ``kind="2d"`` (default) writes the angle as seen in the picture; ``"3d"`` the world-landmark
    angle. Joints less visible than ``min_visibility`` get no value. Values are coloured like the
    skeleton: left/right for one person, the person's id colour when there are several. With
    several people the labels are sized to each person and never overlap (a label with no free
    place near its joint is left out, the largest people labelled first). ``path`` may also be a
    binary file object (then ``format`` names the picture format, default png, and None is
    returned). Returns the path.
    """
    fig = image_angles_figure(image, result, kind=kind, min_visibility=min_visibility, joints=joints, dpi=dpi)
    if hasattr(path, "write"):
        fig.savefig(path, dpi=dpi, format=format or "png")
        return None
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format=format)
    return out

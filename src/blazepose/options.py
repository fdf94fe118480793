"""``PoseOptions``: every option of the pipeline, declared and validated in this one place.

The Python API, the command line (``apps.options_cli``, which builds its flags from the fields'
metadata), batch and the web form (``from_mapping``) all build a ``PoseOptions``; a bad value
raises ``OptionsError`` with the same one-line message whichever way it came in (the CLI prints it
and exits 2, the web server answers 422 with it). Names are MediaPipe's where it has one;
``model_complexity`` 0/1/2 is accepted as an alias of ``model`` lite/full/heavy. Each field's
metadata says how the command line shows it: ``help``, ``metavar``, ``flag`` (default: the name
in kebab-case, e.g. ``--max-poses`` for ``max_num_poses``) and ``cli`` (which commands have it:
``"all"``, ``"video"``, ``"segmentation"`` or ``None``, not a flag of its own).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

from .errors import OptionsError
from .models.registry import LANDMARK_MODELS as MODELS
from .runtime import ENGINES

#: ``model_complexity`` (MediaPipe's legacy option) → model name.
MODEL_COMPLEXITY = {0: "lite", 1: "full", 2: "heavy"}
#: The most people per image.
MAX_NUM_POSES = 100
#: The largest ``detection_tiles``: the detector runs ``1 + Σ k²`` (k = 2..N) times per image,
#: 55 calls for 5 (about 0.5 s on 2 cores); more finds nothing the 5×5 grid misses at 224 px.
MAX_DETECTION_TILES = 5
#: The most engine threads (beyond this the runtime only loses time switching).
MAX_NUM_THREADS = 256


__all__ = ["PoseOptions", "OptionsError", "FIELD_NAMES", "MODELS", "ENGINES", "MODEL_COMPLEXITY",
           "MAX_NUM_POSES", "MAX_DETECTION_TILES", "MAX_NUM_THREADS"]


def _opt(default: Any, help: str, *, cli: str | None = "all", flag: str | None = None,
         metavar: str | None = None) -> Any:
    """A field with its command-line description (read by ``apps.options_cli``)."""
    return field(default=default, metadata={"help": help, "cli": cli, "flag": flag, "metavar": metavar})


@dataclass(frozen=True)
class PoseOptions:
    """The options of a ``PoseLandmarker``, validated when made (``OptionsError`` otherwise).

    - ``model``: ``"lite"``, ``"full"`` or ``"heavy"`` (or ``model_complexity`` 0, 1, 2);
    - ``min_detection_confidence``: the detector's score threshold, in [0, 1];
    - ``min_tracking_confidence``: the landmark model's pose-presence threshold, in [0, 1]
      (below it: no pose; in video, the person is lost);
    - ``enable_segmentation``: also compute a person mask; ``upper_body_only``: landmarks 0–24;
    - ``max_num_poses``: the most people per image (1..100), best detection first;
    - ``detection_tiles``: ``"auto"`` (default: with ``max_num_poses`` > 1, tiles chosen from the
      image size, see ``stages.multi``; none for one person), 0 (off) or N in 2..5, also detect on
      the overlapping tiles of the 2×2..N×N grids (``1 + Σ k²`` detector calls per image);
    - ``smooth_landmarks`` / ``smooth_segmentation``: video mode's filters;
    - ``detection_interval_ms``: with several people in video, how often to look for newcomers;
    - ``reid_timeout_ms``: how long a lost person may come back with the same id (0: never);
    - ``num_threads``: inference threads per engine (None: every usable core);
    - ``engine``: ``"litert"`` (default) or ``"openvino"`` (the ``openvino`` extra).

    Raises:
        OptionsError: a value the pipeline cannot use (the message names the option and value).
    """

    model: str = _opt("full", "landmark model: lite, full or heavy (or 0, 1, 2 as model_complexity; default full)",
                      metavar="MODEL")
    min_detection_confidence: float = _opt(0.5, "detector score threshold in [0, 1] (default 0.5)", metavar="P")
    min_tracking_confidence: float = _opt(0.5, "pose-presence threshold in [0, 1] (default 0.5)", metavar="P")
    enable_segmentation: bool = _opt(False, "also compute the person mask", cli="segmentation")
    upper_body_only: bool = _opt(False, "output landmarks 0-24 only")
    max_num_poses: int = _opt(1, f"people per image, 1..{MAX_NUM_POSES} (default 1)", flag="--max-poses",
                              metavar="N")
    detection_tiles: int | str = _opt(
        "auto", "with --max-poses > 1, also detect on tiles for small/far people: auto (default: chosen from "
        f"the image size), 0 (off) or N <= {MAX_DETECTION_TILES} (the 2x2..NxN grids: 1+sum(k^2, k=2..N) "
        "detector calls per image)", metavar="N")
    smooth_landmarks: bool = _opt(True, "raw landmarks, no smoothing (tracking stays on)", cli="video",
                                  flag="--no-smooth-landmarks")
    smooth_segmentation: bool = _opt(True, "smooth the mask from frame to frame (off with --no-smooth-landmarks)",
                                     cli=None)
    detection_interval_ms: float = _opt(
        250.0, "with --max-poses > 1: while places are free, look for newcomers at most this often "
        "(default 250; 0: every frame)", cli="video", metavar="MS")
    reid_timeout_ms: float = _opt(
        2000.0, "a person lost and found again near the same place within this time gets the same id back "
        "(default 2000; 0: never)", cli="video", metavar="MS")
    num_threads: int | None = _opt(None, "inference threads (default: all cores, or $BLAZEPOSE_NUM_THREADS)",
                                   metavar="N")
    engine: str = _opt("litert", "inference engine: litert (default) or openvino (needs the 'openvino' extra)",
                       metavar="ENGINE")

    def __post_init__(self):
        s = object.__setattr__
        s(self, "model", _model(self.model))
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            s(self, name, _number(name, getattr(self, name), 0.0, 1.0))
        for name in ("enable_segmentation", "upper_body_only", "smooth_landmarks", "smooth_segmentation"):
            s(self, name, _bool(name, getattr(self, name)))
        s(self, "max_num_poses", _integer("max_num_poses", self.max_num_poses, 1, MAX_NUM_POSES))
        if isinstance(self.detection_tiles, str) and self.detection_tiles.strip().lower() == "auto":
            s(self, "detection_tiles", "auto")
        else:
            tiles = _integer("detection_tiles", self.detection_tiles, 0, MAX_DETECTION_TILES)
            s(self, "detection_tiles", 0 if tiles == 1 else tiles)
        for name in ("detection_interval_ms", "reid_timeout_ms"):
            s(self, name, _number(name, getattr(self, name), 0.0, math.inf))
        if self.num_threads is not None:
            s(self, "num_threads", _integer("num_threads", self.num_threads, 1, MAX_NUM_THREADS))
        if self.engine not in ENGINES:
            raise OptionsError(f"engine must be one of {', '.join(ENGINES)}, got {_show(self.engine)}")

    # ---- building -----------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, base: "PoseOptions | None" = None) -> "PoseOptions":
        """Options from a mapping of field names (a web form, a config file, ``**kwargs``).

        ``model_complexity`` is taken as an alias of ``model``; an unknown name is an error.
        Fields not given keep ``base``'s values (default: the defaults).

        Args:
            values: field names (and ``model_complexity``) to values, text or Python values.
            base: the options the values change.

        Returns:
            The validated options.

        Raises:
            OptionsError: an unknown name or a value the pipeline cannot use.
        """
        values = dict(values)
        if "model_complexity" in values:
            mc = values.pop("model_complexity")
            if "model" in values and values["model"] is not None and _model(values["model"]) != _model(mc):
                raise OptionsError(f"model {values['model']!r} and model_complexity {mc!r} disagree")
            values["model"] = mc
        unknown = sorted(set(values) - set(FIELD_NAMES))
        if unknown:
            from .mediapipe_names import OPTIONS as MEDIAPIPE_OPTIONS

            hints = "".join(f"; {u} is MediaPipe's: {MEDIAPIPE_OPTIONS[u]}" for u in unknown if u in MEDIAPIPE_OPTIONS)
            raise OptionsError(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}{hints}; "
                               f"options are {', '.join(FIELD_NAMES)} (and model_complexity)")
        return replace(base or cls(), **values)

    def replace(self, **changes: Any) -> "PoseOptions":
        """A copy with some fields changed (validated again)."""
        return self.from_mapping(changes, base=self)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what exports record as ``"options"``)."""
        return asdict(self)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PoseOptions))


# ---- checks (one message per problem, whatever the entry point) --------------------------------
def _show(v: Any) -> str:
    """A value as the user typed it (CLI and web forms give text; Python gives objects)."""
    return v if isinstance(v, str) and v.strip() else repr(v)   # an empty text as ''


def _model(v: Any) -> str:
    if isinstance(v, str) and v.strip().lower() in MODELS:
        return v.strip().lower()
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())
    if isinstance(v, int) and not isinstance(v, bool) and v in MODEL_COMPLEXITY:
        return MODEL_COMPLEXITY[v]
    raise OptionsError(f"model must be one of {', '.join(MODELS)} (or model_complexity 0, 1, 2), got {_show(v)}")


def _number(name: str, v: Any, low: float, high: float) -> float:
    try:
        x = float(v) if not isinstance(v, bool) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and low <= x <= high):
        rng = f"in [{low:g}, {high:g}]" if math.isfinite(high) else f"a finite number >= {low:g}"
        raise OptionsError(f"{name} must be {rng}, got {_show(v)}")
    return x


def _integer(name: str, v: Any, low: int, high: int) -> int:
    x: int | None = None
    if isinstance(v, int) and not isinstance(v, bool):
        x = v
    elif isinstance(v, float) and v.is_integer():
        x = int(v)
    elif isinstance(v, str) and v.strip().lstrip("+-").isdigit():
        x = int(v.strip())
    if x is None or not low <= x <= high:
        raise OptionsError(f"{name} must be an integer in {low}..{high}, got {_show(v)}")
    return x


def _bool(name: str, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return v.strip().lower() in ("1", "true", "yes", "on")
    raise OptionsError(f"{name} must be true or false, got {_show(v)}")

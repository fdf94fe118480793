"""Browser scripts from installed Python packages, served by the app itself (never from the
internet): ``GET /vendor/plotly.min.js`` is the ``plotly.min.js`` that the plotly package ships
(the optional extras ``web`` and ``plot3d`` install it); the page's 3-D view loads it on demand.
Without plotly the route answers 404 with the reason, and the page says so in place of the view."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse


def plotly_js() -> Path | None:
    """The installed plotly package's ``plotly.min.js``, or None."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def add_vendor_routes(app: FastAPI) -> None:
    from .service import UploadError

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_script():
        path = plotly_js()
        if path is None:
            raise UploadError(404, "plotly.min.js: the 3-D view needs plotly on the server "
                                   "(pip install 'blazepose[web]')")
        return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

"""Inference engines behind one small interface (``engine.load_engine``).

``ENGINES`` is declared here, in the package's light first module, so that the options can check
an engine's name without loading numpy or a runtime.
"""

#: The engines ``engine.load_engine`` knows, the default first.
ENGINES = ("litert", "openvino")

"""Finding formats: the registry of specs and adapters, detection, exporter options.

Imports engine.model, io, codecs and ops; adapters in `formats/` are found by name at first use.
"""

from engine.registry.catalog import (
    all_formats,
    detect,
    formats,
    get_format,
    register_format,
    register_spec,
    register_specs,
    reload_user_specs,
)
from engine.registry.format import Detection, Format
from engine.registry.spec_format import CODECS, SpecFormat

__all__ = [
    "CODECS",
    "Detection",
    "Format",
    "SpecFormat",
    "all_formats",
    "detect",
    "formats",
    "get_format",
    "register_format",
    "register_spec",
    "register_specs",
    "reload_user_specs",
]

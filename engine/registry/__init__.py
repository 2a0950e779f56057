"""Finding formats by name: the registry of specs and adapters, and detection.

Above `formats/`, whose adapters it names in `ADAPTERS` and imports on first use.
"""

from engine.registry.catalog import (
    ADAPTERS,
    all_formats,
    detections,
    formats,
    get_format,
    register_format,
    register_spec,
    register_specs,
    reload_user_specs,
)

__all__ = [
    "ADAPTERS",
    "all_formats",
    "detections",
    "formats",
    "get_format",
    "register_format",
    "register_spec",
    "register_specs",
    "reload_user_specs",
]

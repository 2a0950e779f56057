"""What a format is: the `Format` protocol, its typed options models, the `Adapter` base of
hand-written formats and `SpecFormat`, a format declared by a spec. Below `formats/` (which
implements them) and the registry (which finds them by name).
"""

from engine.format.adapter import Adapter
from engine.format.options import (
    FolderLoadOptions,
    LoadOptions,
    NoOptions,
    OptionInfo,
    Options,
    SaveOptions,
)
from engine.format.protocol import Detection, Format
from engine.format.spec_format import CODECS, SpecFormat

__all__ = [
    "CODECS",
    "Adapter",
    "Detection",
    "FolderLoadOptions",
    "Format",
    "LoadOptions",
    "NoOptions",
    "OptionInfo",
    "Options",
    "SaveOptions",
    "SpecFormat",
]

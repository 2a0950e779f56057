"""mnist-engine: a schema-driven engine for MNIST-family datasets.

`engine.load('mnist', path)` reads a dataset, `engine.save(ds, 'mnist_csv', out)` writes one; the
Datumaro-shaped names (`Dataset.from_iterable`, `DatasetItem`, `Label`, `Dataset.import_from`,
`dataset.export`, `HLOps`, `AnnotationType`, `LabelCategories`; verbs that change the dataset in
place, as Datumaro 1.x's do) let `import engine as dm` replace `import datumaro as dm`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.errors import (
    CacheWarning,
    CardWarning,
    DownloadError,
    EmptyFilterWarning,
    EngineError,
    FileUnverified,
    FilterError,
    FormatError,
    FormatWarning,
    IdsRenumberedWarning,
    ItemReplacedWarning,
    LabelsDisagreeWarning,
    LabelsNotStoredWarning,
    LocalStepWarning,
    MissingExtraError,
    NoImagePathWarning,
    NotOfferedError,
    NotSupportedError,
    OptionError,
    OptionNotUsedWarning,
    OutputError,
    OutputExistsError,
    ProjectError,
    SpecError,
    SpecWarning,
    UnknownFormatError,
    UsageError,
    ValidationError,
)

# Everything else is imported on first use (PEP 562), so `import engine` stays cheap: pydantic
# models, construct structs, lxml and the format adapters load only when a verb needs them.
_LAZY = {
    "Dataset": "engine.api",
    "Subset": "engine.api",
    "compare": "engine.api",
    "detect": "engine.api",
    "detect_one": "engine.api",
    "fetch": "engine.fetching",
    "validate": "engine.inspection",
    "report": "engine.inspection",
    "QualityReport": "engine.ops.quality",
    "find_duplicates": "engine.ops.duplicates",
    "DuplicatePair": "engine.ops.duplicates",
    "DuplicateReport": "engine.ops.duplicates",
    "from_hf": "engine.api",
    "merge": "engine.api",
    "load": "engine.api",
    "save": "engine.api",
    "sample_path": "engine.api",
    "HLOps": "engine.hl_ops",
    "AnnotationType": "engine.model.categories",
    "LabelCategories": "engine.model.categories",
    "LabelCategory": "engine.model.categories",
    "verify": "engine.api",
    "read_idx": "engine.codecs.idx.container",
    "write_idx": "engine.codecs.idx.container",
    "NO_LABEL": "engine.model",
    "DatasetItem": "engine.model",
    "Image": "engine.model",
    "ItemView": "engine.model",
    "Label": "engine.model",
    "FileCheck": "engine.ops.verify",
    "Comparison": "engine.ops.compare",
    "Adapter": "engine.format",
    "Detection": "engine.format",
    "Format": "engine.format",
    "LoadOptions": "engine.format",
    "FolderLoadOptions": "engine.format",
    "Options": "engine.format",
    "SaveOptions": "engine.format",
    "Project": "engine.project",
    "formats": "engine.registry",
    "get_format": "engine.registry",
    "register_format": "engine.registry",
    "register_spec": "engine.registry",
    "register_specs": "engine.registry",
    "subset_from_dask": "engine.compute.dask_spill",
}

if TYPE_CHECKING:
    from engine.api import (
        Dataset,
        Subset,
        compare,
        detect,
        detect_one,
        from_hf,
        load,
        merge,
        sample_path,
        save,
        verify,
    )
    from engine.codecs.idx.container import read_idx, write_idx
    from engine.compute.dask_spill import subset_from_dask
    from engine.format import (
        Adapter,
        Detection,
        FolderLoadOptions,
        Format,
        LoadOptions,
        Options,
        SaveOptions,
    )
    from engine.hl_ops import HLOps
    from engine.inspection import report, validate
    from engine.model import NO_LABEL, DatasetItem, Image, ItemView, Label
    from engine.model.categories import AnnotationType, LabelCategories, LabelCategory
    from engine.ops.compare import Comparison
    from engine.ops.duplicates import DuplicatePair, DuplicateReport, find_duplicates
    from engine.ops.quality import QualityReport
    from engine.ops.verify import FileCheck
    from engine.project import Project
    from engine.registry import formats, get_format, register_format, register_spec, register_specs


#: the layer packages, reachable as attributes (`engine.registry.get_format`) as if imported
_SUBMODULES = frozenset(
    {
        "api",
        "cli",
        "codecs",
        "compute",
        "errors",
        "format",
        "hl_ops",
        "interop",
        "io",
        "model",
        "ops",
        "project",
        "registry",
    }
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name in _SUBMODULES:
            return importlib.import_module(f"engine.{name}")
        from engine.model.datumaro_names import NOT_OFFERED

        if name in NOT_OFFERED:
            raise NotOfferedError(
                f"engine.{name}: Datumaro's {name} is not supported by this engine; "
                f"{NOT_OFFERED[name]}"
            )
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "NO_LABEL",
    "Adapter",
    "AnnotationType",
    "CacheWarning",
    "CardWarning",
    "Comparison",
    "Dataset",
    "DatasetItem",
    "Detection",
    "DownloadError",
    "DuplicatePair",
    "DuplicateReport",
    "EmptyFilterWarning",
    "EngineError",
    "FileCheck",
    "FileUnverified",
    "FilterError",
    "FolderLoadOptions",
    "Format",
    "FormatError",
    "FormatWarning",
    "HLOps",
    "IdsRenumberedWarning",
    "Image",
    "ItemReplacedWarning",
    "ItemView",
    "Label",
    "LabelCategories",
    "LabelCategory",
    "LabelsDisagreeWarning",
    "LabelsNotStoredWarning",
    "LoadOptions",
    "LocalStepWarning",
    "MissingExtraError",
    "NoImagePathWarning",
    "NotOfferedError",
    "NotSupportedError",
    "OptionError",
    "OptionNotUsedWarning",
    "Options",
    "OutputError",
    "OutputExistsError",
    "Project",
    "ProjectError",
    "QualityReport",
    "SaveOptions",
    "SpecError",
    "SpecWarning",
    "Subset",
    "UnknownFormatError",
    "UsageError",
    "ValidationError",
    "compare",
    "detect",
    "detect_one",
    "fetch",
    "find_duplicates",
    "formats",
    "from_hf",
    "get_format",
    "load",
    "merge",
    "read_idx",
    "register_format",
    "register_spec",
    "register_specs",
    "report",
    "sample_path",
    "save",
    "subset_from_dask",
    "validate",
    "verify",
    "write_idx",
]
__version__ = "0.1.0"

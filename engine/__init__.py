"""mnist-engine: a schema-driven engine for MNIST-family datasets.

`engine.load('mnist', path)` reads a dataset, `engine.save(ds, 'mnist_csv', out)` writes one; the
Datumaro-shaped names (`Dataset.from_iterable`, `DatasetItem`, `Label`, `Dataset.import_from`,
`dataset.export`) let `import engine as dm` replace `import datumaro as dm`.
"""

from engine.api import Dataset, compare, detect, from_hf, load, merge, save, verify
from engine.codecs.idx.container import read_idx, write_idx
from engine.errors import (
    EngineError,
    FormatError,
    FormatWarning,
    OutputExistsError,
    UnknownFormatError,
    ValidationError,
)
from engine.io.dask_spill import subset_from_dask
from engine.model import NO_LABEL, DatasetItem, Image, ItemView, Label, Subset
from engine.ops.compare import Comparison
from engine.ops.merge import IdsRenumberedWarning
from engine.ops.verify import FileCheck
from engine.registry import formats, get_format, register_format, register_spec, register_specs
from engine.registry.spec_sources import SpecError

__all__ = [
    "NO_LABEL",
    "Comparison",
    "Dataset",
    "DatasetItem",
    "EngineError",
    "FileCheck",
    "FormatError",
    "FormatWarning",
    "IdsRenumberedWarning",
    "Image",
    "ItemView",
    "Label",
    "OutputExistsError",
    "SpecError",
    "Subset",
    "UnknownFormatError",
    "ValidationError",
    "compare",
    "detect",
    "formats",
    "from_hf",
    "get_format",
    "load",
    "merge",
    "read_idx",
    "register_format",
    "register_spec",
    "register_specs",
    "save",
    "subset_from_dask",
    "verify",
    "write_idx",
]
__version__ = "0.1.0"

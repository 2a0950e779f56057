"""A restricted unpickler for data files: only numpy's array-rebuilding globals are admitted.

A pickle naming any other global (os.system, builtins.eval, subprocess...) is a FormatError raised
before that object is even looked up, so nothing in the file runs. Everything else a pickle can
build (dicts, lists, str, bytes, numbers) holds no code.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from engine.errors import FormatError

# numpy >= 2 keeps its internals in numpy._core; older pickles name numpy.core. Imported by name:
# these private modules and their members are not in numpy's type stubs.
try:
    _multiarray: ModuleType = importlib.import_module("numpy._core.multiarray")
    _numeric: ModuleType = importlib.import_module("numpy._core.numeric")
except ImportError:  # pragma: no cover - numpy 1.x
    _multiarray = importlib.import_module("numpy.core.multiarray")
    _numeric = importlib.import_module("numpy.core.numeric")

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # protocol-2 pickles spell bytes this way
}
for _module in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_module}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(f"{_module}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED[(f"{_module}.numeric", "_frombuffer")] = _numeric._frombuffer


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _ForbiddenGlobal(module, name) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not admitted")


class _ForbiddenGlobal(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualified = f"{module}.{name}"


def load_restricted(path: Path, *, max_bytes: int = 1 << 34) -> Any:
    """The object pickled in `path`, built with numpy arrays and plain Python values only.

    Python 2 pickles (as many published dataset batches are) are read with latin-1 strings, the
    encoding numpy needs to rebuild their arrays.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise FormatError(path, f"{size} bytes is more than the {max_bytes} allowed for a pickle")
    data = path.read_bytes()
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except _ForbiddenGlobal as error:
        raise FormatError(
            path,
            f"the pickle names the global {error.qualified}, which is not admitted: only numpy "
            "array reconstruction is; nothing from the file was run",
            field="global",
            expected="numpy array reconstruction",
            actual=error.qualified,
        ) from None
    except MemoryError:
        raise FormatError(path, "the pickle asks for more memory than is available") from None
    # A damaged pickle surfaces as any of these, from the unpickler or numpy's __setstate__.
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError) as error:
        raise FormatError(
            path, f"not a readable pickle ({type(error).__name__}: {error})"
        ) from None
    except (AttributeError, ImportError, RecursionError, OverflowError) as error:
        raise FormatError(path, f"not a readable pickle ({type(error).__name__})") from None
    return obj

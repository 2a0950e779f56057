"""A restricted unpickler for data files: only numpy's array-rebuilding globals are admitted.

A pickle naming any other global (os.system, builtins.eval, subprocess...) is a FormatError raised
before that object is even looked up, so nothing in the file runs. Everything else a pickle can
build (dicts, lists, str, bytes, numbers) holds no code.

numpy itself is handed only plain numeric data: every dtype, array state, buffer and scalar a
pickle gives it is checked first (kinds ``b i u f c``, no fields, no references, sizes that
match), because numpy trusts a state's dtype: an ``object`` dtype over raw bytes makes it read
those bytes as pointers (a crash, or worse, from a data file).
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
import struct
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, NoReturn

import numpy as np

from engine.errors import FormatError
from engine.io.regular import read_regular

# numpy >= 2 keeps its internals in numpy._core; older pickles name numpy.core. Imported by name:
# these private modules and their members are not in numpy's type stubs.
try:
    _multiarray: ModuleType = importlib.import_module("numpy._core.multiarray")
    _numeric: ModuleType = importlib.import_module("numpy._core.numeric")
except ImportError:  # pragma: no cover - numpy 1.x
    _multiarray = importlib.import_module("numpy.core.multiarray")
    _numeric = importlib.import_module("numpy.core.numeric")

#: the dtype kinds a data pickle may hold: bool, signed and unsigned integers, floats, complex
PLAIN_KINDS = frozenset("biufc")
_BYTE_ORDERS = frozenset("<>|=")


class UnsafeArrayState(pickle.UnpicklingError):
    """What a pickle hands numpy is not plain numeric data (refused before numpy sees it)."""


def plain_dtype(value: Any) -> np.dtype:
    """A fresh canonical dtype equal to `value`, which must be plain numeric: no object, no
    fields, no sub-arrays, no references (``dtype.hasobject``), its usual item size."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        try:
            value = np.dtype(value)
        except (TypeError, ValueError) as error:
            raise UnsafeArrayState(f"dtype {value!r} is not a numpy type ({error})") from None
    if not isinstance(value, np.dtype):
        raise UnsafeArrayState(f"a dtype was expected, found {type(value).__name__}")
    if value.kind not in PLAIN_KINDS or value.hasobject or value.fields is not None:
        raise UnsafeArrayState(
            f"dtype {value!r} is not a plain numeric type (only bool, int, float)"
        )
    if value.subdtype is not None or value.metadata:
        raise UnsafeArrayState(f"dtype {value!r} is not a plain numeric type")
    canonical = np.dtype(value.str)
    if canonical.itemsize != value.itemsize or canonical.kind != value.kind:
        raise UnsafeArrayState(f"dtype {value!r} claims {value.itemsize} bytes per item")
    return canonical


def _checked_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or len(shape) > 32:
        raise UnsafeArrayState(f"an array shape was expected, found {type(shape).__name__}")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise UnsafeArrayState(f"array shape {shape!r} holds a value that is not a size")
    return shape


def _checked_buffer(data: Any, dtype: np.dtype, shape: tuple[int, ...]) -> Any:
    if not isinstance(data, bytes | bytearray | str):
        raise UnsafeArrayState(f"array data must be bytes, found {type(data).__name__}")
    expected = dtype.itemsize * int(np.prod(shape, dtype=object))
    if len(data) != expected:
        raise UnsafeArrayState(f"array data holds {len(data)} bytes, its shape needs {expected}")
    return data


def _dtype(spec: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype`` as a pickle calls it: plain numeric types (or a bare ``object``, whose
    arrays are then admitted only with their items as a list), always a private copy (a BUILD
    then sets its byte order, never numpy's shared descriptor's)."""
    if spec in ("O8", "O4", b"O8", b"O4"):
        return np.dtype(object, copy=True)
    return np.dtype(plain_dtype(spec), copy=True)


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """``_codecs.encode(text, "latin1")``, the one use protocol-2 pickles make of it (no other
    codec is looked up from a data file)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafeArrayState(f"_codecs.encode is admitted for latin1 text only, not {encoding!r}")
    return codecs.encode(text, "latin1")


class _NdarrayName:
    """What the name ``numpy.ndarray`` stands for in a data pickle: the type ``_reconstruct``
    is asked for, never a constructor (``ndarray(shape, object, buffer)`` reads the buffer's
    bytes as pointers)."""

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnsafeArrayState("numpy.ndarray is not called from a data pickle")


_NDARRAY = _NdarrayName()


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """An empty ndarray for a BUILD to fill (what the pickle asks to allocate is ignored)."""
    if subtype is not _NDARRAY:
        raise UnsafeArrayState("only numpy.ndarray is rebuilt, not a subclass")
    plain_dtype(dtype)
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    checked = plain_dtype(dtype)
    size = _checked_shape(shape)
    if order not in ("C", "F"):
        raise UnsafeArrayState(f"array order {order!r} is neither 'C' nor 'F'")
    return _numeric._frombuffer(_checked_buffer(buffer, checked, size), checked, size, order)


def _scalar(dtype: Any, data: Any = None) -> Any:
    checked = plain_dtype(dtype)
    return _multiarray.scalar(checked, _checked_buffer(data, checked, ()))


def _array_state(state: Any) -> tuple[Any, ...]:
    """An ndarray's pickled state with its dtype replaced by a checked canonical one."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise UnsafeArrayState("an ndarray state is (version, shape, dtype, fortran, data)")
    version = state[0] if len(state) == 5 else 1
    shape, dtype, fortran, data = state[-4:]
    if type(version) is not int or not isinstance(fortran, bool | int):
        raise UnsafeArrayState("an ndarray state is (version, shape, dtype, fortran, data)")
    size = _checked_shape(shape)
    if isinstance(data, list) and isinstance(dtype, np.dtype) and dtype == np.dtype(object):
        # an object array pickles its items as a list (Datumaro's rows of differing sizes): numpy
        # stores references to objects the unpickler built, never reads bytes as pointers
        if len(data) != int(np.prod(size, dtype=object)):
            raise UnsafeArrayState(f"an object array of shape {size} holds {len(data)} items")
        return (version, size, np.dtype(object), bool(fortran), data)
    checked = plain_dtype(dtype)
    return (version, size, checked, bool(fortran), _checked_buffer(data, checked, size))


def _dtype_state(state: Any) -> tuple[Any, ...]:
    """A dtype's pickled state reduced to its byte order (fields, sizes and flags dropped)."""
    if not isinstance(state, tuple) or len(state) < 2 or state[1] not in _BYTE_ORDERS:
        raise UnsafeArrayState("a dtype state must start with (version, byte order)")
    if any(part is not None for part in state[2:5]):
        raise UnsafeArrayState("a dtype state with sub-arrays or fields is not plain numeric")
    return (3, state[1], None, None, None, -1, -1, 0)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_bytes,  # protocol-2 pickles spell bytes this way
}
for _module in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_module}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(f"{_module}.multiarray", "scalar")] = _scalar
    _ALLOWED[(f"{_module}.numeric", "_frombuffer")] = _frombuffer


#: Python's pure-Python unpickler: its opcode table can be extended, the C one's cannot
_PyUnpickler: Any = pickle._Unpickler


class _RestrictedUnpickler(_PyUnpickler):
    """Python's own unpickler (the pure-Python one, so BUILD can be checked) with globals
    restricted and every state numpy would receive checked first."""

    dispatch: ClassVar[dict[int, Any]] = dict(_PyUnpickler.dispatch)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _ForbiddenGlobal(module, name) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not admitted")

    def load_build(self) -> None:
        inst, state = self.stack[-2], self.stack[-1]
        if type(inst) is np.ndarray:
            self.stack[-1] = _array_state(state)
        elif isinstance(inst, np.dtype):
            self.stack[-1] = _dtype_state(state)
            _PyUnpickler.load_build(self)
            if inst != np.dtype(object):
                plain_dtype(inst)
            return
        else:
            raise UnsafeArrayState(f"state for a {type(inst).__name__} is not admitted")
        _PyUnpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build


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
    data = read_regular(path, max_bytes)
    size = len(data)
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
    except UnsafeArrayState as error:
        raise FormatError(
            path,
            f"the pickle hands numpy data that is not plain numeric: {error}; refused before "
            "numpy read it",
            field="array state",
            expected="plain numeric dtypes (bool, int, float, complex) and sizes that match",
            actual=str(error),
        ) from None
    except MemoryError:
        raise FormatError(path, "the pickle asks for more memory than is available") from None
    # A damaged pickle surfaces as any of these, from the unpickler or numpy's __setstate__.
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        struct.error,
    ) as error:
        raise FormatError(
            path, f"not a readable pickle ({type(error).__name__}: {error})"
        ) from None
    except (AttributeError, ImportError, RecursionError, OverflowError) as error:
        raise FormatError(path, f"not a readable pickle ({type(error).__name__})") from None
    check_expansion(path, obj, expansion_budget(size))
    return obj


#: bytes a pickle's objects may add up to, counting every reference: this many times the file
EXPANSION_RATIO = 16
MIN_EXPANSION = 64 << 20
#: what one container or string counts for, beside its own bytes; a number counts SCALAR_BYTES
NODE_BYTES = 64
SCALAR_BYTES = 8


def expansion_budget(file_size: int) -> int:
    """How many bytes the objects of a pickle of `file_size` bytes may add up to."""
    return max(MIN_EXPANSION, EXPANSION_RATIO * file_size)


def check_expansion(path: Path, obj: Any, budget: int) -> None:
    """Walks `obj` as a reader would, counting every reference anew (a pickle can reference one
    object many times: 200k memo references to a row, lists nested 40 times two-fold); past
    `budget` bytes it is a FormatError, found after at most budget / NODE_BYTES steps."""
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            total += NODE_BYTES + item.nbytes
            if item.dtype == object:
                stack.extend(item.ravel().tolist())
        elif isinstance(item, dict):
            total += NODE_BYTES
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += NODE_BYTES + 8 * len(item)
            stack.extend(item)
        elif isinstance(item, str | bytes | bytearray):
            total += NODE_BYTES + len(item)
        else:
            total += SCALAR_BYTES
        if total > budget:
            raise FormatError(
                path,
                f"the pickle's objects, counted with every reference, pass {budget} bytes "
                "(a pickle bomb: one object referenced over and over)",
                field="expanded size",
                expected=f"<= {budget}",
                actual=f"> {budget}",
            )

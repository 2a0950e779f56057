"""The IDX container (LeCun's format behind MNIST and its family), declared as a construct struct.

Only the header is declared field by field; the payload is a dense big-endian array whose dtype and
shape the header gives, read by the engine with one numpy call (construct would take ~300 ns/byte).
"""

from __future__ import annotations

from construct import Array, Const, Enum, Int8ub, Int32ub, Struct, Validator, this

#: IDX type code -> numpy dtype as stored on disk (multi-byte types are big-endian).
TYPE_CODES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

#: IDX type code -> the dtype name specs use (native byte order, as arrays are handed to users).
DTYPE_NAMES: dict[int, str] = {
    0x08: "uint8",
    0x09: "int8",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}

#: dtype name -> IDX type code, for writing.
TYPE_CODE_OF: dict[str, int] = {name: code for code, name in DTYPE_NAMES.items()}


class Among(Validator):
    """Checks a parsed value is one of `valids` (construct's Enum alone lets any value in)."""

    def __init__(self, subcon, valids) -> None:
        super().__init__(subcon)
        self.valids = tuple(valids)

    def _validate(self, obj, context, path) -> bool:
        return int(obj) in self.valids


TypeCode = Enum(Int8ub, **{name: code for code, name in DTYPE_NAMES.items()})

#: The IDX header: two zero bytes, the type code, the number of dims, then the dims (uint32 BE).
IDX_HEADER = Struct(
    "zeros" / Const(b"\x00\x00") * "IDX magic (two zero bytes)",
    "type_code" / Among(TypeCode, TYPE_CODES) * "IDX type code",
    "ndim" / Int8ub * "IDX number of dimensions",
    "dims" / Array(this.ndim, Int32ub) * "IDX dimension sizes",
)

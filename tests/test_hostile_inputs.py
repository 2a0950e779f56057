"""Hostile and damaged inputs found by the fuzz campaign: each is an EngineError naming the file
(and the offset or line), never a foreign exception, a hang or a memory blow-up."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import FormatError


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name) if name == "" else name, data)
    return buffer.getvalue()


def _set_encrypted(data: bytes) -> bytes:
    raw = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = raw.find(signature)
        raw[start + flag_at] |= 0x1
    return bytes(raw)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


ZIPS = {
    "encrypted": lambda: _set_encrypted(_zip({"a.png": _png()})),
    "utf8-flag-not-utf8": lambda: _zip({"caf\u00e9.png": _png()}).replace(
        "caf\u00e9".encode(), b"caf\xff\xfe"
    ),
    "empty-name": lambda: _zip({"": b"xx"}),
    "corrupt-deflate": lambda: _corrupt_deflate(),
}


def _corrupt_deflate() -> bytes:
    data = bytearray(_zip({"a.png": bytes(range(256)) * 64}, zipfile.ZIP_DEFLATED))
    start = data.find(b"a.png") + len(b"a.png")
    data[start : start + 40] = bytes(40)  # the deflate stream's first bytes, zeroed
    return bytes(data)


@pytest.mark.parametrize("kind", sorted(ZIPS))
def test_damaged_zip_members_are_format_errors_naming_the_archive(tmp_path, kind):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(ZIPS[kind]())
    with pytest.raises(FormatError, match="bad.zip"):
        engine.load("image_zip", archive)


def test_zip_bomb_is_stopped_by_the_bytes_inflated_not_the_declared_size(tmp_path):
    data = bytearray(_zip({"a.png": bytes(200 << 20)}, zipfile.ZIP_DEFLATED))
    declared = (368).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = declared  # uncompressed size in the local header
    data[central + 24 : central + 28] = declared  # ... and in the central directory
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="bomb.zip: byte 0: member 'a.png'"):
        engine.load("image_zip", archive)  # inflating stops at the declared size: CRC fails


def test_many_members_together_are_bounded(tmp_path):
    members = {f"{index}.png": bytes(30 << 20) for index in range(4)}
    archive = tmp_path / "many.zip"
    archive.write_bytes(_zip(members, zipfile.ZIP_DEFLATED))
    with pytest.raises(FormatError, match="zip bomb"):
        engine.load("image_zip", archive)

"""Pictures inside a page: a Pillow image as a ``data:image/png;base64,...`` URI, so an HTML
report needs no file or server beside it."""

from __future__ import annotations

import base64
import io
from typing import Any


def png_data_uri(picture: Any) -> str:
    """The Pillow image ``picture`` encoded as PNG, as a data URI."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

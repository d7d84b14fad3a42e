"""Helpers the processors share: reading a row's media, and a realtime request as a batch row.

Mixpeek puts a URL in the `data` column of media rows (never the bytes) and forbids `open()` in plugin code:
media is read through `shared.plugins.open_asset`, which gives a local path for the duration of a block.
"""

import math
import mimetypes
from pathlib import Path
from typing import Any, Dict, List, Optional

import pandas as pd
from shared.plugins import open_asset

#: Where a realtime request may carry its content when it has no "data" key.
REQUEST_KEYS = ("data", "text", "url", "image_url", "video_url", "audio_url", "document_url")


def read_bytes(url: str, suffix: Optional[str] = None) -> bytes:
    """The bytes of the asset a row's data column names (a URL or a path)."""
    with open_asset(url, suffix) as path:
        return Path(path).read_bytes()


def add_columns(batch: pd.DataFrame, rows: List[Dict[str, Any]]) -> pd.DataFrame:
    """The batch with new columns from one dict per row, in the batch's order (every other column kept)."""
    found = pd.DataFrame(rows, index=batch.index)
    return batch.assign(**{column: found[column] for column in found.columns})


def guess_mime_type(value: str) -> str:
    """text/plain for text, else the type of the URL's or path's extension."""
    if "://" not in value and "/" not in value and "." not in value[-6:]:
        return "text/plain"
    return mimetypes.guess_type(value.split("?")[0])[0] or "text/plain"


def request_row(inputs: Dict[str, Any]) -> Dict[str, Any]:
    """A realtime request ({"text": ...} or {"data": url, "mime_type": ...}) as one batch row."""
    row = dict(inputs)
    for key in REQUEST_KEYS:
        if row.get(key) is not None:
            row["data"] = row[key]
            break
    else:
        raise ValueError("the request has none of the keys %s" % ", ".join(REQUEST_KEYS))
    if not row.get("mime_type"):
        row["mime_type"] = guess_mime_type(str(row["data"]))
    return row


def plain(value: Any) -> Any:
    """A DataFrame cell as a JSON value: numpy numbers and arrays as Python ones, NaN as None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value

"""Sample records → the batch rows Mixpeek gives a plugin's steps.

One record is one row. The record's own fields stay (as the collection's input mappings and passthrough
fields put them on the platform), and the platform's columns are filled in where the record leaves them out:

    data                the text itself for text rows; for media, a file:// URL (never bytes). A record's `data`
                        may be text, or a path / file:// URL relative to the sample file, or an http(s) URL
    mime_type           given, else from the file extension, else text/plain
    blob_type           from the MIME type: text, image, video, audio, pdf or document
    document_id, object_id, blob_id, blob_property, collection_id, feature_extractor_id, size_bytes

Ids are derived from the record's position and content, so the same sample gives the same rows.
"""

import hashlib
import mimetypes
import os
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["ROW_COLUMNS", "RecordError", "blob_type_of", "mime_type_of", "record_to_row", "records_to_rows"]

ROW_COLUMNS = (
    "data",
    "mime_type",
    "blob_type",
    "document_id",
    "object_id",
    "blob_id",
    "blob_property",
    "collection_id",
    "feature_extractor_id",
    "size_bytes",
)

# Types mimetypes does not know everywhere (it reads the OS tables, which differ between machines).
_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".svg": "image/svg+xml",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/opus",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

#: Extensions that make a `data` string a file reference even when no such file exists (so a typo in a
#: path is reported instead of being processed as text).
_MEDIA_EXTENSIONS = frozenset(ext for ext in _EXTRA_TYPES if ext not in (".txt", ".md", ".markdown", ".csv"))


class RecordError(ValueError):
    """A record that cannot become a row (the message names the field)."""


def mime_type_of(path: str) -> Optional[str]:
    extension = os.path.splitext(urllib.parse.urlparse(path).path if "://" in path else path)[1].lower()
    return _EXTRA_TYPES.get(extension) or mimetypes.guess_type("x" + extension)[0]


def blob_type_of(mime_type: Optional[str]) -> str:
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime.startswith("text/") or mime in ("application/json", "application/x-ndjson"):
        return "text"
    for kind in ("image", "video", "audio"):
        if mime.startswith(kind + "/"):
            return kind
    if mime == "application/pdf":
        return "pdf"
    return "document"


def _file_reference(value: str, base_dir: str) -> Optional[str]:
    """The absolute path a `data` string names, or None when it is text."""
    if value.startswith("file://"):
        parsed = urllib.parse.urlparse(value)
        path = urllib.request.url2pathname(urllib.parse.unquote(parsed.path))
        return path if os.path.isabs(path) else os.path.join(base_dir, path)
    if "\n" in value or len(value) > 1024:
        return None
    candidate = value if os.path.isabs(value) else os.path.join(base_dir, value)
    if os.path.isfile(candidate):
        return os.path.abspath(candidate)
    if os.path.splitext(value)[1].lower() in _MEDIA_EXTENSIONS and " " not in value.strip():
        raise RecordError("data %r looks like a file, but there is no such file (paths are relative to the "
                          "sample file's folder, %s)" % (value, base_dir))
    return None


def _path_to_url(path: str) -> str:
    return "file://" + urllib.request.pathname2url(os.path.abspath(path))


def _id(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha256("\0".join(str(p) for p in (prefix,) + parts).encode("utf-8")).hexdigest()[:12]
    return "%s_%s" % (prefix, digest)


def record_to_row(
    record: Dict[str, Any],
    index: int,
    base_dir: str,
    feature_extractor_id: str = "local_extractor",
    collection_id: str = "col_local",
) -> Dict[str, Any]:
    """The batch row for one sample record (see the module doc); raises RecordError for a bad record."""
    if not isinstance(record, dict):
        raise RecordError("a record must be an object, not %s" % type(record).__name__)
    row = dict(record)
    data = row.get("data")
    mime = row.get("mime_type")
    if mime is not None and not isinstance(mime, str):
        raise RecordError("mime_type must be a string, not %s" % type(mime).__name__)
    size = None
    path = None
    if isinstance(data, str):
        is_text = isinstance(mime, str) and mime.lower().startswith("text/") and not data.startswith("file://")
        path = None if is_text else _file_reference(data, base_dir)
        if path is not None:
            if not os.path.isfile(path):
                raise RecordError("data %r: no such file: %s" % (data, path))
            row["data"] = _path_to_url(path)
            size = os.path.getsize(path)
            if mime is None:
                mime = mime_type_of(path) or "application/octet-stream"
        elif data.startswith(("http://", "https://")):
            if mime is None:
                mime = mime_type_of(data) or "application/octet-stream"
        else:
            size = len(data.encode("utf-8"))
            if mime is None:
                mime = "text/plain"
    elif data is None:
        if mime is None:
            mime = "text/plain"  # a structured record: its fields are the content
    elif isinstance(data, (bytes, bytearray)):
        raise RecordError("data must be text, a path or a URL; the platform never puts bytes in a row")
    else:
        raise RecordError("data must be text, a path or a URL, not %s" % type(data).__name__)
    row.setdefault("data", None)
    row["mime_type"] = mime
    row.setdefault("blob_type", blob_type_of(mime))
    content = row["data"] if row["data"] is not None else repr(sorted(record.items(), key=lambda kv: kv[0]))
    row.setdefault("document_id", _id("doc", index, content))
    row.setdefault("object_id", _id("obj", index, content))
    row.setdefault("blob_id", _id("blob", index, content))
    row.setdefault("blob_property", "content")
    row.setdefault("collection_id", collection_id)
    row.setdefault("feature_extractor_id", feature_extractor_id)
    row.setdefault("size_bytes", size)
    ordered = {column: row[column] for column in ROW_COLUMNS}
    ordered.update((k, v) for k, v in row.items() if k not in ordered)
    return ordered


def records_to_rows(
    records: List[Dict[str, Any]], base_dir: str, feature_extractor_id: str = "local_extractor"
) -> Tuple[List[Dict[str, Any]], List[Tuple[int, str]]]:
    """(rows of the good records, [(index, message)] for the bad ones)."""
    rows, problems = [], []
    for index, record in enumerate(records):
        try:
            rows.append(record_to_row(record, index, base_dir, feature_extractor_id))
        except RecordError as exc:
            problems.append((index, str(exc)))
    return rows, problems

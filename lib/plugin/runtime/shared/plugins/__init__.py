"""shared.plugins: reading media from a plugin (local platform runtime).

On Mixpeek a batch row's `data` column holds a URL for media (never the bytes), and plugin code may not call
`open()`: it reads media through these helpers. Locally they accept what the platform gives and what sample
data uses: a local path, a `file://` URL, or an `http(s)://` URL (downloaded to a temporary file).

    with open_asset(row["data"], suffix=".png") as path:   # a local path while the block runs
        image = Image.open(path)

`download_asset(url, suffix)` returns a local path instead: for a downloaded file it is a temporary file the
caller may delete; for a local file it is the file itself.
"""

import contextlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from typing import Iterator, Optional, Tuple

__all__ = ["download_asset", "open_asset", "DOWNLOAD_TIMEOUT_S"]

#: Seconds before a download gives up (connect and each read).
DOWNLOAD_TIMEOUT_S = 60


def _local_path(url: str) -> Optional[str]:
    """The path a local reference names, or None for a remote URL."""
    if url.startswith("file://"):
        parsed = urllib.parse.urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise ValueError("open_asset: %s names a file on another host (%s)" % (url, parsed.netloc))
        return urllib.request.url2pathname(urllib.parse.unquote(parsed.path))
    scheme = urllib.parse.urlparse(url).scheme
    if scheme in ("http", "https"):
        return None
    if len(scheme) > 1:  # s3://, gs://, data:, … (a one-letter scheme is a Windows drive)
        raise ValueError(
            "open_asset: %s:// URLs are resolved by the platform before your plugin sees them; locally pass a "
            "path, a file:// URL or an http(s):// URL" % scheme
        )
    return url


def _fetch(url, suffix: Optional[str]) -> Tuple[str, bool]:
    """(local path, whether it is a temporary download)."""
    if isinstance(url, (bytes, bytearray, memoryview)):
        raise TypeError("open_asset takes a URL or a path; on Mixpeek a row's data column never holds bytes")
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url:
        raise TypeError("open_asset takes a URL or a path (a non-empty string), got %r" % (url,))
    path = _local_path(url)
    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError("open_asset: no such file: %s" % path)
        return path, False
    if suffix is None:
        suffix = os.path.splitext(urllib.parse.urlparse(url).path)[1] or None
    handle, target = tempfile.mkstemp(prefix="mixpeek-asset-", suffix=suffix or "")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "mixpeek-local-runtime"})
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            shutil.copyfileobj(response, out, 1 << 20)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(target)
        raise
    return target, True


@contextlib.contextmanager
def open_asset(url, suffix: Optional[str] = None) -> Iterator[str]:
    """A local path to the asset `url` while the block runs (a download is removed afterwards)."""
    path, temporary = _fetch(url, suffix)
    try:
        yield path
    finally:
        if temporary:
            with contextlib.suppress(OSError):
                os.unlink(path)


def download_asset(url, suffix: Optional[str] = None) -> str:
    """A local path to the asset `url`: the file itself when it is local, else a temporary download."""
    return _fetch(url, suffix)[0]

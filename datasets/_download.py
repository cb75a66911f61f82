"""Downloading with checksum verification: urllib only, a temporary file, then an atomic rename.

The file is streamed into a temporary file next to its destination while its sha256 is computed; only a
file whose digest matches the pinned one is renamed into place (``os.replace``, atomic on one file
system), so an interrupted or corrupted download never leaves a file under the final name.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ChecksumError",
    "UnverifiedDownloadError",
    "DownloadError",
    "sha256_file",
    "download_file",
]

_CHUNK = 1 << 20


class ChecksumError(OSError):
    """A file's sha256 differs from the pinned one.

    Attributes
    ----------
    source : str
        The URL or path that was checked.
    expected, received : str or None
        Pinned and computed hex digests.
    """

    def __init__(
        self, message: str, *, source: str = "", expected: str | None = None, received: str | None = None
    ):
        super().__init__(message)
        self.source = source
        self.expected = expected
        self.received = received


class UnverifiedDownloadError(ChecksumError):
    """Refusal to download a file for which no checksum is pinned (pass ``verify=False`` to allow it)."""


class DownloadError(OSError):
    """No URL of a dataset could be fetched; the message lists each URL with its error."""


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 digest of a file, read in 1 MiB chunks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from xlstm_ts.datasets import sha256_file
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp, "x.txt")
    ...     _ = p.write_bytes(b"abc")
    ...     sha256_file(p)
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Progress:
    """A plain ``\\r``-updated percentage (or MiB count when the size is unknown) on stderr."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total = label, total
        self.done = 0
        self.last: int | None = None

    def update(self, n: int) -> None:
        self.done += n
        if self.total:
            shown = min(100, 100 * self.done // self.total)
            text = f"\rDownloading {self.label}: {shown:3d}%"
        else:
            shown = self.done // _CHUNK
            text = f"\rDownloading {self.label}: {shown} MiB"
        if shown != self.last:
            self.last = shown
            sys.stderr.write(text)
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write(f"\rDownloading {self.label}: done ({self.done / _CHUNK:.1f} MiB)\n")
        sys.stderr.flush()


def _fetch(url: str, target: Path, sha256: str | None, label: str, timeout: float) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            progress = _Progress(label, int(length) if length and length.isdigit() else None)
            progress.update(0)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                progress.update(len(chunk))
            progress.close()
        received = digest.hexdigest()
        if sha256 is not None and received != sha256.lower():
            raise ChecksumError(
                f"Checksum mismatch for {label} downloaded from {url}: expected sha256 {sha256.lower()}, "
                f"received {received}. The download was deleted; the file may have changed upstream or "
                "been corrupted in transit.",
                source=url,
                expected=sha256.lower(),
                received=received,
            )
        os.chmod(tmp, 0o644)  # mkstemp creates the file 0600
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def download_file(
    urls: Sequence[str],
    target: str | os.PathLike[str],
    *,
    sha256: str | None,
    label: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the first reachable URL to ``target``, verifying its sha256 when one is given.

    The data goes to a temporary file in ``target``'s folder and is renamed to ``target`` only after the
    checksum matched. A URL that cannot be fetched is skipped for the next one; a checksum mismatch stops
    at once (a mirror serving different bytes is an error, not an outage).

    Parameters
    ----------
    urls : sequence of str
        Candidate URLs (``https://``, ``http://`` or ``file://``), tried in order.
    target : path-like
        Destination file; its folder is created.
    sha256 : str or None
        Expected hex digest; ``None`` skips the check (the caller decides whether that is acceptable).
    label : str, optional
        Name shown in the progress line and messages (default: the file name).
    timeout : float
        Socket timeout in seconds per URL.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    ChecksumError
        The downloaded bytes do not match ``sha256`` (nothing is left on disk).
    DownloadError
        No URL could be fetched.
    """
    target = Path(target)
    label = label or target.name
    if not urls:
        raise DownloadError(f"No download URL is known for {label}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch(url, target, sha256, label, timeout)
            return target
        except ChecksumError:
            raise
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, malformed URLs
            failures.append(f"  {url}: {exc}")
    raise DownloadError(f"Could not download {label} from any URL:\n" + "\n".join(failures))

"""Bytes off the wire -> feed bytes, under a cap: bounded gzip/deflate decoding and local files.

httpx's own decoder has no output limit, so the fetcher reads raw bytes and decodes them here;
a gzip bomb stops at the cap as FeedError(kind="too-large") instead of filling memory.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newswatch import FeedError

FEED_SUFFIXES: tuple[str, ...] = (".xml", ".rss", ".atom")


@dataclass(frozen=True)
class FeedDocument:
    """One feed document: where it came from and its (decoded) bytes."""

    source: str
    body: bytes


def too_large(url: str, limit: int, what: str) -> FeedError:
    """The error for a body past the cap, naming the setting that raises it."""
    return FeedError(
        f"{url}: {what} exceeds the {limit}-byte limit; raise NEWSWATCH_FETCH__MAX_BODY_BYTES "
        "if this feed is really that big",
        kind="too-large",
    )


class BoundedDecoder:
    """Stream-decompresses gzip/deflate with an output cap, so a gzip bomb stops at `limit` bytes."""

    def __init__(self, encoding: str, limit: int, url: str) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FeedError(
                f"{url}: unsupported Content-Encoding {encoding!r}", kind="bad-encoding"
            )
        self._mode = encoding if encoding in ("gzip", "x-gzip", "deflate") else ""
        self._limit = limit
        self._url = url
        self._out = bytearray()
        self._z = self._new()

    def _new(self) -> zlib._Decompress | None:
        if self._mode in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._mode == "deflate":
            return zlib.decompressobj(
                zlib.MAX_WBITS + 32
            )  # zlib-wrapped; raw deflate retried below
        return None

    def _append(self, data: bytes) -> None:
        self._out += data
        if len(self._out) > self._limit:
            raise too_large(self._url, self._limit, "decompressed body")

    def feed(self, chunk: bytes) -> None:
        """Add raw bytes; raises FeedError("too-large") past the cap, ("bad-encoding") on corrupt data."""
        if self._z is None:
            self._append(chunk)
            return
        data = chunk
        try:
            while data:
                room = self._limit - len(self._out) + 1
                self._append(self._z.decompress(data, room))
                data = self._z.unconsumed_tail
                if self._z.eof and self._z.unused_data:  # concatenated gzip members
                    data = self._z.unused_data + data
                    self._z = self._new()
        except zlib.error as exc:
            if self._mode == "deflate" and not self._out:
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # servers that send raw deflate
                self._mode = "raw-deflate"
                self.feed(chunk)
                return
            raise FeedError(
                f"{self._url}: corrupt {self._mode} body ({exc})", kind="bad-encoding"
            ) from exc

    def result(self) -> bytes:
        """The decoded body so far."""
        return bytes(self._out)


def local_path(url: str) -> Path | None:
    """The filesystem path for a `file:` URL or plain path; None for network URLs."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:
        return None
    return Path(url).expanduser()


def read_local(path: Path, limit: int) -> tuple[FeedDocument, ...]:
    """A file, or every *.xml/*.rss/*.atom file of a directory (sorted), each one feed document."""
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FEED_SUFFIXES
        )
        if not files:
            raise FeedError(
                f"directory {path} holds no {'/'.join(FEED_SUFFIXES)} files", kind="not-found"
            )
    elif path.is_file():
        files = [path]
    else:
        raise FeedError(
            f"{path} does not exist; fix the feed's url in the feed list", kind="not-found"
        )
    docs = []
    for file in files:
        if file.stat().st_size > limit:
            raise too_large(str(file), limit, "file")
        docs.append(FeedDocument(source=file.as_uri(), body=file.read_bytes()))
    return tuple(docs)

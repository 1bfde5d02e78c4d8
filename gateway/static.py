"""The board's files (`gateway/board/`), served at `/board/` by the gateway.

The board is static: HTML pages and small JavaScript modules that call the node's own `/v1`
routes from the browser, so it shows nothing the API does not, and refuses whatever the API
refuses. The files are read into memory once, at start-up; only those names are served, so no
request path ever reaches the file system.

Caching: a vendored file carries its version in its name and never changes, so browsers keep it
for a year; every other file is revalidated on each load (`no-cache` with an ETag), so a new
release shows at once and an unchanged file costs a 304. Text files are sent gzipped to
browsers that take it, compressed once, on first demand.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

#: Where the board's files are, and where it is served.
BOARD_DIR = Path(__file__).resolve().parent / "board"
PREFIX = "/board/"

#: The types of the files served; any other file in BOARD_DIR (READMEs, licences) is not.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: The board's pages load scripts, styles and data from this node only, and no page may frame
#: them. ECharts sets element styles from script, hence the inline styles.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass
class _File:
    body: bytes
    content_type: str
    etag: str
    cache_control: str
    _gzipped: bytes | None = field(default=None, repr=False)

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


class Board:
    """The board's files by request path, and the handler that serves them."""

    def __init__(self, directory: Path = BOARD_DIR) -> None:
        self._files: dict[str, _File] = {}
        for path in sorted(directory.rglob("*")):
            content_type = CONTENT_TYPES.get(path.suffix)
            if content_type is None or not path.is_file():
                continue
            name = path.relative_to(directory).as_posix()
            body = path.read_bytes()
            self._files[PREFIX + name] = _File(
                body,
                content_type,
                f'"{hashlib.sha256(body).hexdigest()[:20]}"',
                IMMUTABLE if name.startswith("vendor/") else REVALIDATE,
            )
        self._files[PREFIX] = self._files[PREFIX + "index.html"]

    @property
    def paths(self) -> list[str]:
        return sorted(self._files)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(PREFIX.rstrip("/"), self._to_index)
        app.router.add_get(PREFIX + "{name:.*}", self.handle)

    async def _to_index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(PREFIX)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        file = self._files.get(request.path)
        if file is None:
            return web.Response(status=404, text=f"no board page {request.path}\n")
        headers = {
            "ETag": file.etag,
            "Cache-Control": file.cache_control,
            "Vary": "Accept-Encoding",
        }
        if file.content_type.startswith("text/html"):
            headers.update(SECURITY_HEADERS)
        else:
            headers["X-Content-Type-Options"] = "nosniff"
        if file.etag in _etags(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers=headers)
        body = file.body
        if file.content_type.startswith("text/") and "gzip" in request.headers.get(
            "Accept-Encoding", ""
        ):
            body = file.gzipped()
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = file.content_type
        return web.Response(body=body, headers=headers)


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header; weak ones compare as strong (RFC 9110 13.1.2)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}

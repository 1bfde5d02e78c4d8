"""The board's files: served at /board/ with their types, caching and security headers, and
nothing else of the disk."""

from __future__ import annotations

import gzip
import http.client
import re

import pytest

from gateway.static import BOARD_DIR, Board
from tests.gateway.conftest import Client, RunningGateway

PAGES = ["index.html", "job.html", "component.html", "node.html"]


def test_the_board_is_at_board(client: Client) -> None:
    redirect = client.get("/board", allow_redirects=False)
    assert (redirect.status, redirect.headers["Location"]) == (308, "/board/")
    index = client.get("/board/")
    assert index.status == 200
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert index.body == (BOARD_DIR / "index.html").read_bytes()


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_html_that_only_loads_this_nodes_files(client: Client, page: str) -> None:
    reply = client.get(f"/board/{page}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = reply.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # no inline script
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    html = reply.body.decode()
    assert "<script>" not in html
    for reference in re.findall(r'(?:src|href)="([^"]+)"', html):
        if reference in ("./",) or reference.endswith(".html"):
            continue
        assert "//" not in reference, f"{page} loads {reference} from elsewhere"
        assert client.get(f"/board/{reference}").status == 200, reference


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("jobs.js", "text/javascript; charset=utf-8"),
        ("board.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
        ("vendor/echarts-6.1.0.common.min.js", "text/javascript; charset=utf-8"),
    ],
)
def test_files_carry_their_type(client: Client, name: str, content_type: str) -> None:
    reply = client.get(f"/board/{name}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_board_files_are_revalidated_and_vendored_ones_kept(client: Client) -> None:
    first = client.get("/board/job.js")
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    again = client.get("/board/job.js", headers={"If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")
    weak = client.get("/board/job.js", headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status == 304
    changed = client.get("/board/job.js", headers={"If-None-Match": '"other"'})
    assert changed.status == 200 and changed.body == first.body
    vendored = client.get("/board/vendor/echarts-6.1.0.common.min.js")
    assert vendored.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_text_is_gzipped_for_browsers_that_take_it(client: Client) -> None:
    name = "vendor/echarts-6.1.0.common.min.js"
    plain = (BOARD_DIR / name).read_bytes()
    reply = client.get(f"/board/{name}", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert reply.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(reply.body) == plain
    assert len(reply.body) < len(plain) / 2
    identity = client.get(f"/board/{name}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in identity.headers and identity.body == plain


@pytest.mark.parametrize(
    "path",
    [
        "/board/missing.html",
        "/board/vendor/README.md",  # kept beside the files, not served
        "/board/vendor/echarts-LICENSE",
        "/board/../gateway/app.py",
        "/board/%2e%2e/app.py",
        "/board/..%2fapp.py",
        "/board//etc/passwd",
        "/board/vendor/../../static.py",
    ],
)
def test_nothing_else_is_served(running_gateway: RunningGateway, path: str) -> None:
    # http.client sends the path as written: no client-side clean-up of the dot segments.
    connection = http.client.HTTPConnection("127.0.0.1", running_gateway.port, timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        body = reply.read()
    finally:
        connection.close()
    assert reply.status == 404, path
    assert b"import" not in body and b"root:" not in body


def test_the_board_takes_no_writes_and_leaves_v1_alone(client: Client) -> None:
    """POST under /board/ is no board route: the gateway's catch-all answers its envelope."""
    reply = client.post("/board/index.html")
    assert reply.status == 404
    assert reply.json()["retcode"] == 100
    assert client.post("/v1/job/list/job", json={}).json()["retcode"] == 0


def test_only_known_types_are_served() -> None:
    """READMEs and licences stay beside the files; every page and script is served."""
    paths = Board().paths
    served = {path.removeprefix("/board/") for path in paths}
    on_disk = {p.relative_to(BOARD_DIR).as_posix() for p in BOARD_DIR.rglob("*") if p.is_file()}
    assert served - {""} == {
        name for name in on_disk if name.rsplit(".", 1)[-1] in ("html", "js", "css", "svg")
    }
    assert {"index.html", "job.html", "component.html", "node.html", "api.js"} <= served

"""`docsearch serve` as a real process on a real socket, asked with the standard library."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")
pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")

PATIENCE = 120.0  # seconds a server may take to start before the test gives up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`docsearch serve` in a subprocess; `call` sends one request, returns (status, JSON)."""

    def __init__(self, index: Path, *extra: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "docsearch", "serve", "--index", str(index),
             "--port", str(self.port), *extra],
            stderr=subprocess.PIPE,
            env={**os.environ, "DOCSEARCH_DEVICE": "cpu"},
        )  # fmt: skip
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None  # type: ignore[union-attr]
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def read_only(built_index: Path) -> Iterator[Server]:
    server = Server(built_index)
    yield server
    server.stop()


@pytest.fixture
def writable(built_index: Path, tmp_path: Path) -> Iterator[Server]:
    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    server = Server(index, "--writable", "--token", "s3cret", "--max-mb", "1")
    yield server
    server.stop()


AUTH = {"Authorization": "Bearer s3cret"}


def test_search_batch_status_documents_and_openapi(read_only: Server) -> None:
    status, found = read_only.call(
        "GET", "/search?" + urllib.parse.urlencode({"q": "tides", "k": 3})
    )
    assert status == 200 and len(found["hits"]) == 3
    assert {"path", "page", "line", "score", "text", "sentence_id"} <= found["hits"][0].keys()
    status, batch = read_only.call(
        "POST", "/batchsearch", {"queries": ["tides", "printing"], "k": 2}
    )
    assert status == 200 and [len(r) for r in batch["results"]] == [2, 2]
    status, info = read_only.call("GET", "/status")
    assert status == 200 and info["documents"] > 5
    status, listing = read_only.call("GET", "/documents?glob=*.md")
    assert status == 200 and listing["documents"]
    assert all(d["path"].endswith(".md") for d in listing["documents"])
    status, schema = read_only.call("GET", "/openapi.json")
    assert status == 200 and "/search" in schema["paths"]


def test_embeddings_in_openai_shape(read_only: Server) -> None:
    status, out = read_only.call("POST", "/v1/embeddings", {"input": ["tides", "the moon"]})
    assert status == 200 and out["object"] == "list"
    vectors = np.array([item["embedding"] for item in out["data"]])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert [item["index"] for item in out["data"]] == [0, 1]
    assert out["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "said"),
    [
        ("GET", "/search?q=%3F%21", None, 400, "query"),
        ("GET", "/search?q=tides&mode=fuzzy", None, 400, "unknown mode"),
        ("GET", "/search?q=tides&k=0", None, 400, "bad request"),
        ("POST", "/batchsearch", {"queries": "not a list"}, 400, "bad request"),
        ("POST", "/v1/embeddings", {"input": []}, 400, "input must hold"),
        ("POST", "/add", {"name": "x.txt", "text": "x"}, 403, "read-only"),
        ("POST", "/remove", {"paths": ["x"]}, 403, "read-only"),
    ],
)
def test_bad_requests_are_json_errors(
    read_only: Server, method: str, path: str, body: Any, status: int, said: str
) -> None:
    code, answer = read_only.call(method, path, body)
    assert code == status and said in answer["error"]
    assert "Traceback" not in answer["error"]


def test_writes_need_the_token_then_add_and_remove(writable: Server) -> None:
    note = {
        "name": "notes/albatross.txt",
        "text": "The albatross glides for hours.",
        "metadata": {"by": "ada"},
    }
    assert writable.call("POST", "/add", note)[0] == 401
    status, added = writable.call("POST", "/add", note, headers=AUTH)
    assert status == 200 and added["sentences"] == 1
    markdown = b"# Kelp\n\nKelp forests shelter sea otters.\n"
    status, added = writable.call(
        "POST", "/add?name=kelp.md", raw=markdown, headers={**AUTH, "Content-Type": "text/markdown"}
    )
    assert status == 200 and added["sentences"] >= 1
    _, found = writable.call("GET", "/search?q=albatross+glides&mode=lexical&k=1")
    assert found["hits"][0]["path"] == "notes/albatross.txt"
    assert found["hits"][0]["metadata"] == {"by": "ada"}
    _, found = writable.call("GET", "/search?q=kelp+otters&mode=lexical&k=1")
    assert found["hits"][0]["path"] == "kelp.md"
    status, removed = writable.call("POST", "/remove", {"paths": ["kelp.md"]}, headers=AUTH)
    assert status == 200 and removed["removed"]["kelp.md"] == ["kelp.md"]
    assert writable.call("POST", "/remove", {"paths": ["kelp.md"]}, headers=AUTH)[0] == 404
    # A body over this server's --max-mb 1 is refused from its declared length, before it is
    # sent (sending it all would race the server's early answer).
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", writable.port, timeout=60)
    conn.putrequest("POST", "/add?name=big.txt")
    conn.putheader("Authorization", AUTH["Authorization"])
    conn.putheader("Content-Length", str(1536 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and "over" in json.loads(response.read())["error"]
    conn.close()


def test_eight_clients_search_while_one_uploads(writable: Server) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def searcher() -> None:
        for _ in range(10):
            code, _ = writable.call("GET", "/search?q=how+do+tides+work&k=3")
            with lock:
                statuses.append(code)

    def uploader() -> None:
        for i in range(5):
            text = f"Upload number {i} is about harbour cranes lifting containers."
            code, _ = writable.call(
                "POST", "/add", {"name": f"up{i}.txt", "text": text}, headers=AUTH
            )
            with lock:
                statuses.append(code)

    threads = [threading.Thread(target=searcher) for _ in range(8)]
    threads.append(threading.Thread(target=uploader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 85 and set(statuses) == {200}
    _, info = writable.call("GET", "/documents?glob=up*")
    assert len(info["documents"]) == 5


def test_a_write_while_another_writer_holds_the_index_is_409(
    built_index: Path, tmp_path: Path
) -> None:
    import uvicorn

    from docsearch import DocSearch
    from docsearch.http_server import build_app
    from indexer.layout import WriteLock

    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    ds = DocSearch(index, device="cpu", wait_seconds=0)
    port = free_port()
    config = uvicorn.Config(build_app(ds, writable=True), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        client = Server.__new__(Server)  # reuse `call` against this in-process server
        client.port = port
        with WriteLock(index / "write.lock") as lock:
            lock.acquire()  # another writer, as far as the server can tell
            status, answer = client.call("POST", "/add", {"name": "n.txt", "text": "Gulls."})
        assert status == 409 and "being written" in answer["error"]
        status, _ = client.call("POST", "/add", {"name": "n.txt", "text": "Gulls cry."})
        assert status == 200, "once the other writer is done, writes go through"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        ds.close()

"""`docsearch serve` under load: 8 clients searching (and one uploading) against the library.

    python benchmarks/http_serve.py [--clients 8] [--queries 400]

The SciFact index that `quality.py` leaves in the bench cache (5,183 abstracts, ~50k
sentences) is copied; a server (`docsearch serve --writable`, a real uvicorn process) answers
hybrid searches for SciFact's test claims from `--clients` threads over real sockets
(keep-alive, one connection per client), first alone, then while one more client uploads
abstracts as text (`POST /add`). The library's own numbers come from the same claims on the
same index in this process (`DocSearch.search` from the same number of threads). Reported:
requests/s over the run, and p50/p99 latency per request.
Writes benchmarks/results/http_serve.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from machine import CACHE, percentile_ms, write_result

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import quality  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(index: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "docsearch", "serve", "--index", str(index), "--port", str(port),
         "--writable", "--token", "bench"],
        env={**os.environ, "DOCSEARCH_DEVICE": "cpu"},
    )  # fmt: skip
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def load(clients: int, work, queries: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Run `work(client, query)` for every query, spread over `clients` threads."""
    latencies: list[float] = []
    lock = threading.Lock()

    def run(client: int) -> None:
        state: dict[str, object] = {}
        mine = []
        for query in queries[client::clients]:
            started = time.perf_counter()
            work(state, query)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
    }


def http_search(port: int):  # type: ignore[no-untyped-def]
    def work(state: dict[str, object], query: str) -> None:
        if "conn" not in state:
            state["conn"] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn = state["conn"]
        conn.request("GET", "/search?" + urllib.parse.urlencode({"q": query, "k": 10}))  # type: ignore[attr-defined]
        response = conn.getresponse()  # type: ignore[attr-defined]
        assert response.status == 200, response.read()
        response.read()

    return work


def uploader(port: int, texts: list[str], stop: threading.Event, done: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for i, text in enumerate(texts):
        if stop.is_set():
            break
        body = json.dumps({"name": f"upload/{i}.txt", "text": text})
        headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
        conn.request("POST", "/add", body, headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        done.append(i)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    source = CACHE / "scifact_index"
    if not (source / "manifest.json").exists():
        sys.exit(f"no SciFact index at {source}: run benchmarks/quality.py first")
    corpus, claims, _ = quality.load_scifact()
    queries = (list(claims.values()) * 4)[: args.queries]
    index = CACHE / "http_serve_index"
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(source, index)
    from docsearch import DocSearch

    result: dict[str, object] = {"clients": args.clients, "queries": len(queries)}
    with DocSearch(index, device="cpu") as ds:
        ds.search(queries[0])  # warm: model, vectors, postings
        result["library"] = load(args.clients, lambda state, q: ds.search(q, 10), queries)
    print("library", result["library"], flush=True)
    port = free_port()
    server = start_server(index, port)
    try:
        load(args.clients, http_search(port), queries[:16])  # warm the server
        result["http"] = load(args.clients, http_search(port), queries)
        print("http", result["http"], flush=True)
        stop, done = threading.Event(), []
        texts = [f"{title}\n\n{text}" for title, text in list(corpus.values())[:400]]
        thread = threading.Thread(target=uploader, args=(port, texts, stop, done))
        thread.start()
        result["http_during_uploads"] = load(args.clients, http_search(port), queries)
        stop.set()
        thread.join()
        result["http_during_uploads"]["uploads_done"] = len(done)  # type: ignore[index]
        print("http during uploads", result["http_during_uploads"], flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(index, ignore_errors=True)
    write_result("http_serve", result)


if __name__ == "__main__":
    main()

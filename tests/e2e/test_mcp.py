"""`docsearch mcp` over stdio, driven by the official MCP SDK's own client, on sample_docs/."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from tests.conftest import SAMPLE_DOCS  # noqa: E402


def server(index: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "docsearch", "mcp", "--index", str(index), *extra],
        env={**os.environ, "DOCSEARCH_DEVICE": "cpu"},
    )


async def session(index: Path, calls: list[tuple[str, dict[str, Any]]], *extra: str) -> Any:
    """List the tools, then make each call in turn; returns (tool names, results)."""
    async with Client(server(index, *extra)) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        results = [await client.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def test_an_assistant_lists_the_tools_searches_and_gets_cited_hits(built_index: Path) -> None:
    tools, (found, status, bad) = anyio.run(
        session,
        built_index,
        [
            ("search", {"query": "how do tides work?", "k": 3}),
            ("status", {}),
            ("search", {"query": "tides", "mode": "fuzzy"}),
        ],
    )
    assert tools == {"search", "get_passage", "status"}, "no writing tools unless --writable"
    assert not found.is_error
    hits = found.structured_content["result"]
    assert len(hits) == 3
    assert "tide" in hits[0]["text"].lower()
    for hit in hits:
        assert {"path", "page", "line", "score", "text", "sentence_id"} <= hit.keys()
        assert Path(hit["path"]).is_relative_to(SAMPLE_DOCS.resolve())
    assert not status.is_error and status.structured_content["documents"] > 5
    assert bad.is_error and "unknown mode 'fuzzy'" in bad.content[0].text


def test_get_passage_gives_context_around_a_hit_and_a_whole_page(built_index: Path) -> None:
    async def run() -> tuple[Any, Any, Any, Any]:
        async with Client(server(built_index)) as client:
            found = await client.call_tool("search", {"query": "printing press", "k": 1})
            hit = found.structured_content["result"][0]
            around = await client.call_tool(
                "get_passage", {"sentence_id": hit["sentence_id"], "context": 2}
            )
            page = await client.call_tool("get_passage", {"path": hit["path"], "page": hit["page"]})
            missing = await client.call_tool("get_passage", {"sentence_id": 10**9})
        return hit, around, page, missing

    hit, around, page, missing = anyio.run(run)
    passage = around.structured_content
    assert hit["text"] in passage["text"] and len(passage["text"]) > len(hit["text"])
    assert passage["path"] == hit["path"] and passage["line"] == hit["line"]
    assert hit["text"] in page.structured_content["text"]
    assert missing.is_error and "no sentence" in missing.content[0].text


def test_writable_server_ingests_and_removes(built_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    note = tmp_path / "note.txt"
    note.write_text("The albatross glides for hours without flapping its wings.\n")
    tools, (added, found, removed, gone) = anyio.run(
        session,
        index,
        [
            ("ingest", {"paths": [str(note)]}),
            ("search", {"query": "albatross gliding", "k": 1, "mode": "lexical"}),
            ("remove", {"paths": [str(note)]}),
            ("search", {"query": "albatross", "k": 1, "mode": "lexical"}),
        ],
        "--writable",
    )
    assert {"ingest", "remove"} <= tools
    assert added.structured_content["added"] == 1
    assert Path(found.structured_content["result"][0]["path"]).name == "note.txt"
    assert removed.structured_content[str(note)] == [str(note)]
    assert all(Path(h["path"]).name != "note.txt" for h in gone.structured_content["result"])


def test_the_same_tools_over_streamable_http(built_index: Path) -> None:
    import socket
    import subprocess
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "docsearch",
            "mcp",
            "--index",
            str(built_index),
            "--http",
            str(port),
        ],
        env={**os.environ, "DOCSEARCH_DEVICE": "cpu"},
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "no server"
                time.sleep(0.1)

        async def run() -> tuple[set[str], Any]:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                tools = {tool.name for tool in (await client.list_tools()).tools}
                return tools, await client.call_tool("search", {"query": "tides", "k": 2})

        tools, found = anyio.run(run)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert tools == {"search", "get_passage", "status"}
    assert len(found.structured_content["result"]) == 2

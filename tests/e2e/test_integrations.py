"""The LangChain and LlamaIndex retrievers inside the real frameworks, on sample_docs/."""

from __future__ import annotations

from pathlib import Path

import pytest

from docsearch import DocSearch


def test_langchain_retriever_returns_docsearch_hits(built_index: Path) -> None:
    pytest.importorskip("langchain_core", reason="the [langchain] extra is not installed")
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    from docsearch.integrations.langchain import DocSearchRetriever

    with DocSearch(built_index, device="cpu") as ds:
        retriever = DocSearchRetriever(search=ds, k=3)
        assert isinstance(retriever, BaseRetriever)
        docs = retriever.invoke("how do tides work?")
        hits = ds.search("how do tides work?", 3)
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert [d.metadata["path"] for d in docs] == [h.path for h in hits]
    assert hits[0].text in docs[0].page_content
    assert {"page", "line", "score", "type"} <= docs[0].metadata.keys()


def test_llamaindex_retriever_returns_scored_nodes(built_index: Path) -> None:
    pytest.importorskip("llama_index.core", reason="the [llamaindex] extra is not installed")
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore

    from docsearch.integrations.llamaindex import DocSearchRetriever

    with DocSearch(built_index, device="cpu") as ds:
        retriever = DocSearchRetriever(ds, k=3, mode="lexical")
        assert isinstance(retriever, BaseRetriever)
        nodes = retriever.retrieve("printing press")
        hits = ds.search("printing press", 3, "lexical")
    assert len(nodes) == 3 and all(isinstance(n, NodeWithScore) for n in nodes)
    assert [n.node.metadata["path"] for n in nodes] == [h.path for h in hits]
    assert [n.score for n in nodes] == [h.score for h in hits]
    assert hits[0].text in nodes[0].node.get_content()


def test_the_integrations_package_imports_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, docsearch.integrations; "
        "print([m for m in ('langchain_core', 'llama_index') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

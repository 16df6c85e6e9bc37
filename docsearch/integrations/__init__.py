"""Retrievers that let a RAG pipeline use docsearch in place of its vector store.

- `docsearch.integrations.langchain.DocSearchRetriever`: a LangChain `BaseRetriever`
  (`pip install -c constraints.txt -e ".[langchain]"`);
- `docsearch.integrations.llamaindex.DocSearchRetriever`: a LlamaIndex `BaseRetriever`
  (`pip install -c constraints.txt -e ".[llamaindex]"`).

Neither framework is imported until its module is; each hit becomes the framework's document
with the hit's text (and context) as content and path, page, line, score, type, title and the
document's metadata as metadata.
"""

from __future__ import annotations

from typing import Any


def hit_metadata(hit: Any) -> dict[str, Any]:
    """What a framework document carries besides the text: where the hit is, and its score."""
    return {
        "path": hit.path,
        "page": hit.page,
        "line": hit.line,
        "score": hit.score,
        "type": hit.type,
        "title": hit.title,
        "sentence_id": hit.sentence_id,
        **dict(hit.metadata or {}),
    }


def hit_text(hit: Any) -> str:
    """The hit's sentence with the context sentences around it, as one passage."""
    return " ".join([*hit.before, hit.text, *hit.after])

"""docsearch as a LlamaIndex retriever.

from docsearch import DocSearch
from docsearch.integrations.llamaindex import DocSearchRetriever

retriever = DocSearchRetriever(DocSearch("~/index"), k=5)
nodes = retriever.retrieve("how do tides work?")   # list[NodeWithScore]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from docsearch.integrations import hit_metadata, hit_text

if TYPE_CHECKING:
    from docsearch.api import DocSearch


class DocSearchRetriever(BaseRetriever):
    """Nodes for a query from a `DocSearch` index, scored by docsearch (rank order kept).

    Args:
        search: the `DocSearch` to ask.
        k, mode, per_document, context, path_glob, types: as `DocSearch.search` takes them.
    """

    def __init__(
        self,
        search: DocSearch,
        k: int = 5,
        mode: str = "hybrid",
        *,
        per_document: int = 3,
        context: int = 1,
        path_glob: str | None = None,
        types: list[str] | None = None,
    ) -> None:
        super().__init__()
        self._search, self._k, self._mode = search, k, mode
        self._per_document, self._context = per_document, context
        self._path_glob, self._types = path_glob, types

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._search.search(
            query_bundle.query_str,
            self._k,
            self._mode,
            path_glob=self._path_glob,
            types=self._types,
            context=self._context,
            per_document=self._per_document,
        )
        return [
            NodeWithScore(
                node=TextNode(
                    text=hit_text(hit),
                    metadata=hit_metadata(hit),
                    id_=f"docsearch-{hit.sentence_id}",
                ),
                score=hit.score,
            )
            for hit in hits
        ]

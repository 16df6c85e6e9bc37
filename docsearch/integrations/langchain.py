"""docsearch as a LangChain retriever.

from docsearch import DocSearch
from docsearch.integrations.langchain import DocSearchRetriever

retriever = DocSearchRetriever(search=DocSearch("~/index"), k=5)
docs = retriever.invoke("how do tides work?")   # list[langchain_core.documents.Document]
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from docsearch.integrations import hit_metadata, hit_text


class DocSearchRetriever(BaseRetriever):
    """Documents for a query from a `DocSearch` index (hits in rank order).

    Attributes:
        search: the `DocSearch` to ask.
        k, mode, per_document, context, path_glob, types: as `DocSearch.search` takes them.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: Any
    k: int = 5
    mode: str = "hybrid"
    per_document: int = 3
    context: int = 1
    path_glob: str | None = None
    types: list[str] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.search.search(
            query,
            self.k,
            self.mode,
            path_glob=self.path_glob,
            types=self.types,
            context=self.context,
            per_document=self.per_document,
        )
        return [Document(page_content=hit_text(hit), metadata=hit_metadata(hit)) for hit in hits]

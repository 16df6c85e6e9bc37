"""`docsearch mcp`: the index as a Model Context Protocol server, for assistants.

Built on the official `mcp` SDK (2.x, `MCPServer`), over stdio by default or streamable HTTP.
Tools:
- `search`: query, k, mode, path glob, type, per-document limit -> hits with path, page, line,
  score, text and a `sentence_id`, so the assistant can cite them and ask for more;
- `get_passage`: a hit's sentence with N sentences of context (by `sentence_id`), or one page
  of a document (by path and page; the whole document when it has no pages);
- `status`: documents, sentences, model, size;
- `ingest` and `remove`, only when the server was started with `--writable`.
Errors (an empty query, a bad mode, nothing indexed) come back as tool errors with the
message docsearch would print, never a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from docsearch.config import MODES
from docsearch.errors import DocsearchError
from indexer.errors import IndexerError

if TYPE_CHECKING:
    from docsearch.api import DocSearch

INSTRUCTIONS = (
    "Searches the user's own documents by meaning and by words. Call `search` with a "
    "question or keywords; cite hits by path, page and line. Use `get_passage` with a hit's "
    "sentence_id for more context around it."
)


def build_server(search: DocSearch, *, writable: bool = False) -> MCPServer:
    """An MCP server over `search`'s index (tools as in the module docstring)."""
    server = MCPServer(name="docsearch", instructions=INSTRUCTIONS)

    @server.tool(name="search")
    def search_documents(
        query: str,
        k: int = 5,
        mode: str = "hybrid",
        path: str | None = None,
        type: str | None = None,  # noqa: A002 - the name the user sees
        per_document: int = 3,
    ) -> list[dict[str, Any]]:
        """Find the passages that best answer `query` in the indexed documents.

        mode: hybrid (default), dense (by meaning) or lexical (by words). path: a glob over
        document paths, e.g. '*/notes/*'. type: a document type such as pdf or markdown.
        per_document: the most hits from one document. Each hit has path, page (for paged
        documents), line, score, text, context before/after and sentence_id.
        """
        if mode not in MODES:
            raise ToolError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if not 1 <= k <= 100:
            raise ToolError("k must be between 1 and 100")
        hits = _call(
            lambda: search.search(
                query,
                k,
                mode,
                path_glob=path,
                types=[type] if type else None,
                per_document=max(1, per_document),
            )
        )
        return [hit.to_dict() for hit in hits]

    @server.tool()
    def get_passage(
        sentence_id: int | None = None,
        context: int = 3,
        path: str | None = None,
        page: int | None = None,
    ) -> dict[str, Any]:
        """More text around a hit: give its sentence_id (and how many sentences of context on
        each side), or a document's path and page for the whole page (the whole document when
        it has no pages)."""
        if sentence_id is not None:
            passage = _call(lambda: search.passage(sentence_id, max(0, min(context, 20))))
            if passage is None:
                raise ToolError(f"no sentence {sentence_id} in the index (removed since?)")
            return dict(passage)
        if path is None:
            raise ToolError("give a sentence_id, or a path (and page)")
        text = _call(lambda: search.page(path, page))
        if text is None:
            raise ToolError(f"{path} (page {page}) is not in the index")
        return {"path": path, "page": page, "text": text}

    @server.tool()
    def status() -> dict[str, Any]:
        """What the index holds: documents, sentences, model, size on disk."""
        return dict(_call(lambda: search.status().to_dict()))

    if writable:

        @server.tool()
        def ingest(paths: list[str]) -> dict[str, Any]:
            """Add or update the files and folders at `paths` (on the server's machine)."""
            return dict(_call(lambda: search.ingest(paths, prune=False).to_dict()))

        @server.tool()
        def remove(paths: list[str]) -> dict[str, list[str]]:
            """Remove documents: paths, folders or globs, as `docsearch remove` takes them."""
            return dict(_call(lambda: search.remove_matching(*paths)))

    return server


def _call(work: Any) -> Any:
    """Run `work`; a docsearch error becomes the SDK's ToolError (an `is_error` result the
    assistant reads) with the message docsearch would print."""
    try:
        return work()
    except (DocsearchError, IndexerError) as exc:  # nothing indexed yet, locked, bad query...
        raise ToolError(str(exc)) from None

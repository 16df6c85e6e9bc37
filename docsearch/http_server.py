"""`docsearch serve`: the index over HTTP (FastAPI on uvicorn), for backends in any language.

Endpoints (an OpenAPI page at /docs, the schema at /openapi.json):
- `GET /search?q=...&k=5&mode=hybrid&path=GLOB&type=pdf&per_doc=3&min_score=` -> hits;
- `POST /batchsearch` `{"queries": [...], "k": 5, ...}` -> one list of hits per query;
- `POST /add`: JSON `{"name", "text", "metadata"}`, or the file's bytes as the body with
  `?name=report.pdf` (and `&metadata={json}`) -> sentences indexed;
- `POST /remove` `{"paths": [...]}` (paths, folders or globs) -> what was removed;
- `GET /status`, `GET /documents?glob=`;
- `POST /v1/embeddings` in OpenAI's request and response shape, with docsearch's encoder.

Writes (`/add`, `/remove`) need `--writable`, and a bearer token when one is set (it must be,
off localhost). Errors are JSON `{"error": message}` with a status code: 400 bad input, 401/403
writes not allowed, 404 nothing indexed or no such document, 409 the index is locked by
another writer, 413 request too large; never a stack trace. Searches run in the server's
thread pool side by side; writes take the index's write lock one at a time.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from docsearch.config import MODES
from docsearch.errors import DocsearchError, ModelNotFound
from indexer.errors import IndexerError, IndexLocked, IndexNotFound

if TYPE_CHECKING:
    from docsearch.api import DocSearch

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024
MAX_QUERIES = 256
MAX_EMBED_INPUTS = 2048


class HttpError(Exception):
    """An error answered with `status` and `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BatchSearch(BaseModel):
    queries: list[str] = Field(max_length=MAX_QUERIES)
    k: int = Field(5, ge=1, le=100)
    mode: str = "hybrid"
    path: str | None = None
    type: list[str] | None = None
    per_doc: int = Field(3, ge=1, le=100)
    min_score: float | None = None


class AddText(BaseModel):
    name: str = Field(min_length=1)
    text: str
    metadata: dict[str, Any] | None = None


class Remove(BaseModel):
    paths: list[str] = Field(min_length=1)


class Embeddings(BaseModel):
    input: str | list[str]
    model: str | None = None
    encoding_format: str = "float"


def build_app(
    search: DocSearch,
    *,
    writable: bool = False,
    token: str | None = None,
    max_bytes: int = MAX_BYTES,
) -> FastAPI:
    """The HTTP API over `search`'s index (see the module docstring)."""
    app = FastAPI(title="docsearch", summary="Semantic search over your own documents")
    _errors(app, max_bytes)

    def check_write(request: Request) -> None:
        if not writable:
            raise HttpError(403, "this server is read-only; start it with --writable")
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise HttpError(401, "writes need the server's bearer token")

    def hits(queries: list[str], k: int, mode: str, path: str | None, types: Any, per_doc: int,
             min_score: float | None) -> list[list[dict[str, Any]]]:  # fmt: skip
        if mode not in MODES:
            raise HttpError(400, f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        found = search.search_many(
            queries, k, mode, path_glob=path, types=types or None, per_document=per_doc,
            min_score=min_score,
        )  # fmt: skip
        return [[hit.to_dict() for hit in row] for row in found]

    @app.get("/search")
    def get_search(
        q: str,
        k: Annotated[int, Query(ge=1, le=100)] = 5,
        mode: str = "hybrid",
        path: str | None = None,
        type: Annotated[list[str] | None, Query()] = None,  # noqa: A002 - its public name
        per_doc: Annotated[int, Query(ge=1, le=100)] = 3,
        min_score: float | None = None,
    ) -> dict[str, Any]:
        """The best hits for one query."""
        return {"hits": hits([q], k, mode, path, type, per_doc, min_score)[0]}

    @app.post("/batchsearch")
    def post_batchsearch(body: BatchSearch) -> dict[str, Any]:
        """The best hits for each of several queries (encoded together)."""
        found = hits(
            body.queries, body.k, body.mode, body.path, body.type, body.per_doc, body.min_score
        )
        return {"results": found}

    @app.post("/add")
    async def post_add(
        request: Request, name: str | None = None, metadata: str | None = None
    ) -> dict[str, Any]:
        """Add or replace a document: JSON {name, text, metadata}, or raw file bytes with
        ?name= (the format comes from the name's extension)."""
        check_write(request)
        body = await _body(request, max_bytes)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                item = AddText.model_validate_json(body)
            except ValueError as exc:
                raise HttpError(400, f"expected {{name, text, metadata}}: {exc}") from None
            sentences = await _in_thread(
                lambda: search.add_text(item.name, item.text, metadata=item.metadata)
            )
            return {"name": item.name, "sentences": sentences}
        if not name:
            raise HttpError(400, "give the document's name: POST /add?name=report.pdf")
        extra = _metadata(metadata)
        sentences = await _in_thread(lambda: search.add_bytes(name, body, metadata=extra))
        return {"name": name, "sentences": sentences}

    @app.post("/remove")
    def post_remove(request: Request, body: Remove) -> dict[str, Any]:
        """Remove documents by path, folder or glob."""
        check_write(request)
        removed = search.remove_matching(*body.paths)
        if not any(removed.values()):
            raise HttpError(404, f"no indexed document matches {', '.join(body.paths)}")
        return {"removed": removed}

    @app.get("/status")
    def get_status() -> dict[str, Any]:
        """What the index holds: documents, sentences, model, size."""
        return search.status().to_dict()

    @app.get("/documents")
    def get_documents(glob: str | None = None) -> dict[str, Any]:
        """The indexed documents (optionally those a glob, folder or path selects)."""
        return {"documents": [d.to_dict() for d in search.documents(glob)]}

    @app.post("/v1/embeddings")
    def post_embeddings(body: Embeddings) -> dict[str, Any]:
        """OpenAI-compatible embeddings from docsearch's own encoder (384 numbers each)."""
        texts = [body.input] if isinstance(body.input, str) else body.input
        if not texts or len(texts) > MAX_EMBED_INPUTS:
            raise HttpError(400, f"input must hold 1 to {MAX_EMBED_INPUTS} texts")
        if body.encoding_format != "float":
            raise HttpError(400, "only encoding_format 'float' is supported")
        encoder = search.encoder
        vectors = encoder.encode(texts)
        tokens = sum(len(ids) for ids in encoder.tokenizer.encode(texts))
        return {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": vector.tolist()}
                for i, vector in enumerate(vectors)
            ],
            "model": encoder.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    return app


def _errors(app: FastAPI, max_bytes: int) -> None:
    """JSON errors with the right status; a crash is logged here and answered 500."""

    def answer(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.middleware("http")
    async def limit_size(request: Request, call_next: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return answer(413, f"request body over {max_bytes} bytes")
        try:
            return await call_next(request)
        except Exception:  # noqa: BLE001 - the last line of defence: no trace to clients
            log.exception("error answering %s %s", request.method, request.url.path)
            return answer(500, "internal error (logged by the server)")

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> JSONResponse:
        return answer(exc.status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return answer(400, f"bad request: {problems}")

    @app.exception_handler(DocsearchError)
    async def docsearch_error(request: Request, exc: DocsearchError) -> JSONResponse:
        return answer(500 if isinstance(exc, ModelNotFound) else 400, str(exc))

    @app.exception_handler(IndexerError)
    async def indexer_error(request: Request, exc: IndexerError) -> JSONResponse:
        if isinstance(exc, IndexNotFound):
            return answer(404, str(exc))
        if isinstance(exc, IndexLocked):
            return answer(409, str(exc))
        return answer(500, str(exc))


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused past `max_bytes` even without a Content-Length."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HttpError(413, f"request body over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise HttpError(400, "metadata must be a JSON object") from None
    if not isinstance(value, dict):
        raise HttpError(400, "metadata must be a JSON object")
    return value


async def _in_thread(work: Any) -> Any:
    """Run blocking work (encoding, writing) off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)

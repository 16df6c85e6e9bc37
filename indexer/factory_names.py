"""The FAISS factory strings an index may be created with, and what they mean (no faiss here:
`docsearch.config` checks a user's `DOCSEARCH_FAISS` against these on the query path)."""

from __future__ import annotations

import re

AUTO_FACTORY = "auto"
_IVF_FACTORY = re.compile(r"IVF([1-9][0-9]*),(.+)")


def parse_factory(factory: str) -> int | None:
    """Return the number of IVF lists of a supported factory string, or None for "Flat".

    Supported: "Flat" (exact) and "IVF{nlist},{codec}" such as "IVF1024,Flat"; both support
    removal by id, unlike HNSW.

    Raises:
        ValueError: any other factory string.
    """
    if factory == "Flat":
        return None
    match = _IVF_FACTORY.fullmatch(factory)
    if match is None:
        raise ValueError(
            f"unsupported FAISS factory {factory!r}; use 'Flat' or 'IVF<nlist>,Flat' "
            "(e.g. 'IVF1024,Flat')"
        )
    return int(match.group(1))


def is_factory(factory: str) -> bool:
    """True for the strings `Index.create` accepts: "auto", "Flat" and "IVF<nlist>,<codec>"."""
    return factory == AUTO_FACTORY or factory == "Flat" or bool(_IVF_FACTORY.fullmatch(factory))

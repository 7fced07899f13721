"""``djframe mcp``: a pipeline served to agents over the Model Context Protocol.

An agent (Claude Desktop, VS Code, any MCP client) starts ``djframe mcp PIPELINE`` and talks
to it over stdio: it reads the pipeline's description and the concept pages, runs queries
written in the algebra's own notation, reads provenance and staleness, and, only when the
server was started with ``--allow-write``, inserts, populates and deletes. Read-only is the
default and the database enforces it too. See ``docs/agents.md``.

The server needs the optional ``mcp`` package (``pip install 'djframe[mcp]'``); the query
language (:mod:`djframe.mcp.grammar`, :mod:`djframe.mcp.evaluate`) does not.

Examples
--------
>>> from djframe.mcp import serve
>>> serve("pipeline.py", allow_write=False)  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["serve"]


def serve(pipeline: str, *, allow_write: bool = False, max_rows: int = 10_000) -> None:
    """Serve the pipeline module ``pipeline`` over stdio until the client disconnects."""
    try:
        from djframe.mcp.server import serve as run
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "mcp":
            raise
        raise SystemExit(
            "djframe mcp needs the Model Context Protocol SDK: pip install 'djframe[mcp]'."
        ) from None
    run(pipeline, allow_write=allow_write, max_rows=max_rows)

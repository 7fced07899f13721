"""The MCP server: the pipeline's tools and resources on the official ``mcp`` SDK, over stdio.

:func:`build_server` registers the look, query and provenance tools, and the act tools only
when writing is allowed; each goes through :func:`djframe.mcp.safety.guarded` (one call at a
time, errors as messages, passwords redacted). Resources: ``djframe://pipeline`` (the
description, as the ``describe`` tool gives it) and ``djframe://docs/...`` (the concept pages
and the page on agents). :func:`serve` loads the pipeline and serves until stdin closes.

Examples
--------
>>> serve("pipeline.py", allow_write=False)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import FileResource
from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    TextContent,
    ToolAnnotations,
)

import djframe as dj
from djframe.mcp.act import Act
from djframe.mcp.docs import doc_pages
from djframe.mcp.look import Look
from djframe.mcp.pipeline import Pipeline, open_pipeline
from djframe.mcp.provenance import Provenance
from djframe.mcp.query import Attachment, Query
from djframe.mcp.safety import guarded, redact

__all__ = ["build_server", "serve"]

DESTRUCTIVE = {"delete", "clear_errors"}


def serve(name: str, *, allow_write: bool = False, max_rows: int = 10_000) -> None:
    """Load the pipeline module ``name`` and serve it over stdio."""
    try:
        pipeline = open_pipeline(name, allow_write=allow_write, max_rows=max_rows)
    except dj.DjframeError as exc:
        hint = (
            ""
            if allow_write
            else " A read-only server needs the pipeline's tables to exist: run the pipeline "
            "once first (or serve it with --allow-write)."
        )
        message = f"djframe mcp: cannot open the pipeline {name}: {exc}{hint}"
        raise SystemExit(redact(message)) from None
    build_server(pipeline).run("stdio")


def build_server(pipeline: Pipeline) -> MCPServer:
    """An MCP server for ``pipeline``: tools, resources and instructions."""
    server: MCPServer = MCPServer(
        name="djframe",
        title=f"djframe pipeline {pipeline.name}",
        instructions=instructions(pipeline),
        version=dj.__version__,
        log_level="WARNING",
        middleware=[ReadOnlyRefusal()] if pipeline.read_only else [],
    )
    groups: list[Any] = [Look(pipeline), Query(pipeline), Provenance(pipeline)]
    if not pipeline.read_only:
        groups.append(Act(pipeline))
    for group in groups:
        for name in group.TOOLS:
            add_tool(server, getattr(group, name), name, writes=isinstance(group, Act))
    add_resources(server, groups[0])
    return server


class ReadOnlyRefusal:
    """Answers a call of an act tool on a read-only server with a refusal that says why."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        name = ctx.params.get("name") if ctx.params else None
        if ctx.method == "tools/call" and name in Act.TOOLS:
            message = (
                f"{name} is refused: this server is read-only, and so are its database "
                "connections. To change data, the user restarts it with "
                "`djframe mcp PIPELINE --allow-write`."
            )
            return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
        return await call_next(ctx)


def add_tool(server: MCPServer, method: Callable[..., Any], name: str, *, writes: bool) -> None:
    hints = ToolAnnotations(
        read_only_hint=not writes,
        destructive_hint=name in DESTRUCTIVE if writes else None,
        open_world_hint=False,
    )
    server.add_tool(
        guarded(method, ToolError, convert=contents),
        name=name,
        description=inspect.getdoc(method),
        annotations=hints,
        structured_output=False,
    )


def contents(result: Any) -> Any:
    """A tool's result as MCP content: text as it is, attachments as embedded blobs."""
    if not isinstance(result, list):
        return result
    return [block(item) for item in result]


def block(item: Any) -> Any:
    if isinstance(item, Attachment):
        blob = BlobResourceContents(uri=item.uri, mime_type=item.mime_type, blob=item.base64)
        return EmbeddedResource(type="resource", resource=blob)
    return TextContent(type="text", text=item) if isinstance(item, str) else item


def add_resources(server: MCPServer, look: Look) -> None:
    describe = guarded(look.describe, ToolError)
    server.resource(
        "djframe://pipeline",
        name="pipeline",
        description="The pipeline: tables, tiers, attributes, lineage, foreign keys, counts.",
        mime_type="application/json",
    )(describe)
    for page in doc_pages().values():
        resource = FileResource(
            uri=page.uri,
            name=page.name,
            title=page.title,
            description=f"djframe documentation: {page.title}",
            mime_type="text/markdown",
            path=page.path,
        )
        server.add_resource(resource)


def instructions(pipeline: Pipeline) -> str:
    """What the agent is told when it connects."""
    mode = (
        "This server is read-only (the database refuses writes too); insert, populate, "
        "clear_errors and delete need `djframe mcp --allow-write`."
        if pipeline.read_only
        else "Writing is allowed: insert (Manual tables), populate, clear_errors and delete "
        "(two calls: counts first, then confirm them)."
    )
    return (
        f"A djframe pipeline ({pipeline.name}) with the tables {', '.join(pipeline.names())}. "
        "Foreign keys are dependencies; Computed tables are filled by populate. Start with "
        "`describe`, look at a table with `table`, run queries with `query`: expressions of "
        "the DataJoint algebra written as in Python (`Session * Subject & \"sex = 'F'\"`, "
        "`dj.U('sex').aggr(Subject, n='count(*)')`, `.proj(...)`, `-`, `dj.Top(...)`). "
        "Joins and restrictions match on namesake attributes of the same lineage; a "
        "LineageError says how to rename with .proj. The resource djframe://docs/agents "
        f"describes the tools and the query language. {mode}"
    )

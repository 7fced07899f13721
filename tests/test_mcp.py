"""``djframe mcp`` served in a real subprocess and driven by the ``mcp`` package's own stdio client,
on DuckDB and PostgreSQL: describe, queries (a lineage error, a row limit, Arrow, a malformed
expression), a refused write, populate, a two-step delete, provenance, resources, and no secret
in any output. The demo pipeline is served too."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import sys
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

import djframe as dj

TESTS = Path(__file__).parent
SOURCE = Path(dj.__file__).resolve().parents[1]  # the djframe under test, for the subprocess
SECRET = "hunter2-Secret-Pw"
ACT_TOOLS = {"insert", "populate", "clear_errors", "delete"}


# -- a served pipeline -----------------------------------------------------------------------
@dataclass
class Agent:
    """A connected client; it keeps every text the server sent, to look for secrets in."""

    session: ClientSession
    instructions: str
    seen: list[str] = field(default_factory=list)

    async def result(self, tool: str, arguments: dict[str, Any]) -> tuple[bool, str, list[Any]]:
        result = await self.session.call_tool(tool, arguments)
        texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
        self.seen += texts
        return bool(result.is_error), "\n".join(texts), list(result.content)

    async def call(self, tool: str, **arguments: Any) -> Any:
        """The tool's JSON answer; the test fails with the server's message on an error."""
        failed, text, _ = await self.result(tool, arguments)
        assert not failed, text
        return json.loads(text) if text[:1] in "[{" else text

    async def refused(self, tool: str, **arguments: Any) -> str:
        """The error message of a call that must fail."""
        failed, text, _ = await self.result(tool, arguments)
        assert failed, f"{tool} should have failed: {text[:300]}"
        return text


@asynccontextmanager
async def connected(args: list[str], env: dict[str, str], errlog: Path) -> AsyncIterator[Agent]:
    command = [str(a) for a in ["-m", "djframe.cli", "mcp", *args]]
    params = StdioServerParameters(command=sys.executable, args=command, env=env, cwd=str(TESTS))
    with errlog.open("w") as log:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            yield Agent(session, init.instructions or "")


def serve(
    setup: SimpleNamespace, scenario: Callable[[Agent], Awaitable[None]], *flags: str
) -> Agent:
    """Serve ``setup``'s pipeline with ``flags``, run ``scenario`` against it, check secrets."""

    failures: list[Exception] = []

    async def main() -> Agent:
        async with connected([setup.pipeline, *flags], setup.env, setup.errlog) as agent:
            try:
                await scenario(agent)
            except Exception as exc:  # raised below, outside the client's task groups
                failures.append(exc)
            return agent

    try:
        agent = asyncio.run(main())
    except Exception as exc:
        raise AssertionError(f"the server failed; its stderr:\n{setup.errlog.read_text()}") from exc
    if failures:
        raise failures[0]
    everything = "\n".join([agent.instructions, *agent.seen, setup.errlog.read_text()])
    assert SECRET not in everything
    return agent


def subprocess_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(SOURCE)]), **extra}


def with_secret_password(url: str) -> str:
    """The same PostgreSQL URL with a password no output may show (the test server trusts all)."""
    parts = urllib.parse.urlsplit(url)
    netloc = f"{parts.username}:{SECRET}@{parts.hostname}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


@pytest.fixture
def agents(counting: ModuleType, backend: str, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The counting pipeline with 30 items (item 2 negative: its Square fails) and the Squares
    of items 0 and 1, served from a subprocess; on DuckDB this process lets go of the file."""
    values = [float(i) if i != 2 else -2.0 for i in range(30)]
    counting.Item.insert(pl.DataFrame({"item": range(30), "value": values}))
    counting.Square.populate(max_calls=2)
    url = os.environ["DJFRAME_TEST_WORKER_URL"]
    env = subprocess_env(
        DJFRAME_TEST_WORKER_URL=with_secret_password(url) if backend == "postgres" else url
    )
    if backend == "duckdb":
        counting.schema.connection.close()
    setup = SimpleNamespace(pipeline="pipelines.counting", env=env, errlog=tmp_path / "err.log")
    setup.module = lambda: reopened(counting, backend)
    yield setup
    reopened(counting, backend)


def reopened(module: ModuleType, backend: str) -> ModuleType:
    """The pipeline module, connected again on DuckDB (the server has let go of the file)."""
    if backend == "duckdb":
        importlib.reload(module)
    return module


# -- look ------------------------------------------------------------------------------------
def test_describe_the_pipeline_and_its_resources(agents: SimpleNamespace, backend: str) -> None:
    async def scenario(agent: Agent) -> None:
        state = await agent.call("describe")
        assert state["mode"] == "read-only"
        assert state["tables"][0] == "Item"
        assert set(state["tables"]) == {"Item", "Square", "Square.Digit", "Doubled", "Total"}
        (schema,) = state["schemas"]
        assert schema["backend"] == backend
        tables = {t["query_name"]: t for t in schema["tables"]}
        assert tables["Item"]["rows"] == 30 and tables["Item"]["tier"] == "manual"
        assert tables["Square"]["remaining"] == 28 and tables["Square"]["jobs"]["error"] == 0
        assert tables["Square.Digit"]["tier"] == "part"
        item = {a["name"]: a for a in tables["Square"]["attributes"]}["item"]
        assert item["in_key"] and item["type"] == "int32" and item["lineage"].endswith(".item.item")
        assert tables["Square"]["foreign_keys"][0]["parent"].endswith(".item")
        table = await agent.call("table", name="Square.Digit", rows=3)
        assert table["tier"] == "part" and table["row_count"] == 2
        assert table["rows"] == [{"item": 0, "digit": 0}, {"item": 1, "digit": 1}]
        assert "-> master" in table["definition"] and table["parents"] == ["Square"]
        item = await agent.call("table", name="Item", rows=3)
        assert item["rows"] == [
            {"item": 0, "value": 0.0},
            {"item": 1, "value": 1.0},
            {"item": 2, "value": -2.0},
        ]
        assert item["children"] == ["Doubled", "Square"] and item["row_count"] == 30
        diagram = await agent.call("diagram")
        assert diagram.startswith("flowchart") and '"Square"' in diagram
        work = await agent.call("progress", table="Square", keys=2)
        assert work["tables"][0]["remaining_keys"] == [{"item": 2}, {"item": 3}]
        made = await agent.call("provenance", table="Square", key={"item": 1})
        assert [r["item"] for r in made["rows"]] == [1] and made["rows"][0]["_job_id"]
        assert (await agent.call("stale", table="Square"))["rows"] == []  # read-only queries
        assert "Itme" in await agent.refused("table", name="Itme")
        listed = {str(r.uri) for r in (await agent.session.list_resources()).resources}
        assert {"djframe://pipeline", "djframe://docs/agents"} <= listed
        assert "djframe://docs/concepts/semantic-matching" in listed
        pipeline = (await agent.session.read_resource("djframe://pipeline")).contents[0]
        agent.seen.append(pipeline.text)  # type: ignore[union-attr]
        assert json.loads(pipeline.text)["tables"][0] == "Item"  # type: ignore[union-attr]
        page = await agent.session.read_resource("djframe://docs/concepts/semantic-matching")
        assert "lineage" in page.contents[0].text  # type: ignore[union-attr]

    agent = serve(agents, scenario)
    assert "read-only" in agent.instructions and "describe" in agent.instructions


# -- query -----------------------------------------------------------------------------------
def test_query_errors_say_what_is_wrong_and_where(agents: SimpleNamespace) -> None:
    async def scenario(agent: Agent) -> None:
        message = await agent.refused("query", expression="Item * Doubled.proj(value='doubled')")
        assert "LineageError" in message and "'value'" in message
        assert ".proj(" in message  # the fix: rename one side
        assert "Item * Doubled.proj(value='doubled')" in message  # where it arose
        fixed = await agent.call(
            "query", expression="Item * Doubled.proj(value_2='doubled')", limit=1
        )
        assert fixed["attributes"][2]["name"] == "value_2" and fixed["row_count"] == 0
        message = await agent.refused("query", expression="Item & 'valeu > 3'")
        assert "valeu" in message and "value" in message
        message = await agent.refused("query", expression="Item & ")
        assert "Malformed expression at column 8" in message
        assert "expected an operand after '&'" in message and "^" in message
        message = await agent.refused("query", expression="Itme * Square")
        assert "'Itme' is not a table" in message and "Did you mean 'Item'?" in message
        message = await agent.refused("query", expression="Item.delete()")
        assert "neither a part table nor an allowed method" in message
        message = await agent.refused("query", expression="__import__('os').system('true')")
        assert "is not a table of this pipeline" in message

    serve(agents, scenario)


def test_query_over_the_row_limit(agents: SimpleNamespace) -> None:
    async def scenario(agent: Agent) -> None:
        page = await agent.call("query", expression="Item & 'value >= 0'", limit=5)
        assert page["truncated"] and page["row_count"] == 5 and page["total_rows"] == 29
        assert [r["item"] for r in page["rows"]] == [0, 1, 3, 4, 5]
        assert "29 rows match" in page["note"]
        more = await agent.call("query", expression="Item", limit=5, offset=28)
        assert [r["item"] for r in more["rows"]] == [28, 29] and not more["truncated"]
        assert "maximum of 20" in await agent.refused("query", expression="Item", limit=21)
        top = await agent.call("query", expression="Item & dj.Top(3, 'value DESC')")
        assert [r["item"] for r in top["rows"]] == [29, 28, 27]
        counted = await agent.call(
            "query", expression="dj.U().aggr(Item & 'value < 10', n='count(*)')", sql=True
        )
        assert counted["rows"] == [{"n": 10}] and "count" in counted["sql"].lower()
        _, text, content = await agent.result(
            "query", {"expression": "Item", "limit": 4, "format": "arrow"}
        )
        meta, blob = json.loads(text), content[1].resource
        assert meta["truncated"] and blob.mime_type == "application/vnd.apache.arrow.stream"
        table = pa.ipc.open_stream(base64.b64decode(blob.blob)).read_all()
        assert table.column_names == ["item", "value"] and table.num_rows == 4

    serve(agents, scenario, "--max-rows", "20")


# -- act -------------------------------------------------------------------------------------
def test_writes_are_refused_without_allow_write(agents: SimpleNamespace) -> None:
    async def scenario(agent: Agent) -> None:
        tools = {t.name for t in (await agent.session.list_tools()).tools}
        assert {"describe", "query", "provenance"} <= tools and not tools & ACT_TOOLS
        message = await agent.refused("insert", table="Item", rows=[{"item": 99, "value": 1.0}])
        assert "read-only" in message and "--allow-write" in message
        assert "read-only" in await agent.refused("populate")
        assert "read-only" in await agent.refused("delete", expression="Item")

    serve(agents, scenario)
    module = agents.module()
    assert len(module.Item) == 30 and len(module.Square) == 2


def test_populate_insert_and_clear_errors_with_allow_write(agents: SimpleNamespace) -> None:
    async def scenario(agent: Agent) -> None:
        state = await agent.call("describe")
        assert state["mode"] == "read-write"
        some = await agent.call("populate", table="Square", max_calls=3)
        assert some["populated"]["Square"]["success_count"] == 2  # items 3, 4; 2 fails
        (error,) = some["populated"]["Square"]["errors"]
        assert error["key"] == {"item": 2} and "negative value for item 2" in error["message"]
        everything = await agent.call("populate")
        assert everything["populated"]["Square"]["success_count"] == 25
        assert everything["populated"]["Total"]["success_count"] == 29
        work = await agent.call("progress", table="Square")
        (square,) = work["tables"]
        assert square["remaining"] == 1 and square["jobs"]["error"] == 1
        assert square["errors"][0]["key"] == {"item": 2}
        assert "negative value" in square["errors"][0]["message"]
        cleared = await agent.call("clear_errors", table="Square")
        assert cleared == {"cleared": {"Square": 1}}
        inserted = await agent.call(
            "insert", table="Item", rows=[{"item": 30, "value": 3.0}, {"item": 31, "value": 4.0}]
        )
        assert inserted == {"table": "Item", "inserted": 2, "given": 2}
        message = await agent.refused(
            "insert", table="Item", rows=[{"item": 32, "value": 1.0}, {"item": 30, "value": 1.0}]
        )
        assert "Duplicate" in message or "duplicate" in message
        assert "Manual tables only" in await agent.refused(
            "insert", table="Square", rows=[{"item": 40, "square": 1.0, "pid": 1}]
        )
        one = await agent.call("populate", table="Square", restriction={"item": 30})
        assert one["populated"]["Square"]["success_count"] == 1
        provenance = await agent.call("provenance", table="Square", key={"item": 30})
        (row,) = provenance["rows"]
        assert row["item"] == 30 and row["_job_id"] and row["_upstream_digest"]
        assert (await agent.call("stale", table="Square"))["rows"] == []
        assert "only Imported and Computed" in await agent.refused("stale", table="Item")

    serve(agents, scenario, "--allow-write")
    module = agents.module()
    assert len(module.Item) == 32  # the failed insert wrote nothing
    assert (module.Square & {"item": 30}).fetch1("square") == 9.0
    assert len(module.Square.jobs.errors) == 0


def test_delete_needs_its_confirmation(agents: SimpleNamespace) -> None:
    expression = "Item & {'item': 1}"

    async def scenario(agent: Agent) -> None:
        await agent.call("populate", table="Square", restriction={"item": 1})
        first = await agent.call("delete", expression=expression)
        assert first["deleted"] is False and "confirm" in first["next"]
        counts = first["counts"]
        assert counts == {"Item": 1, "Square": 1, "Square.Digit": 1, "Doubled": 0, "Total": 0}
        still = await agent.call("query", expression=expression)
        assert still["row_count"] == 1  # nothing was deleted yet
        wrong = {**counts, "Square": 2}
        assert "Nothing was deleted" in await agent.refused(
            "delete", expression=expression, confirm=wrong
        )
        done = await agent.call("delete", expression=expression, confirm=counts)
        assert done == {"deleted": True, "counts": counts}
        assert (await agent.call("query", expression=expression))["row_count"] == 0
        assert "restrict" in (await agent.refused("delete", expression="Item * Square")).lower()

    serve(agents, scenario, "--allow-write")
    module = agents.module()
    assert len(module.Item) == 29 and len(module.Square) == 1


# -- the demo pipeline -----------------------------------------------------------------------
@pytest.mark.duckdb
def test_the_demo_pipeline_served(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from djframe.demo import run_demo

    run_demo(tmp_path / "demo")
    capsys.readouterr()
    setup = SimpleNamespace(
        pipeline=str(tmp_path / "demo" / "pipeline.py"),
        env=subprocess_env(),
        errlog=tmp_path / "err.log",
    )

    async def scenario(agent: Agent) -> None:
        state = await agent.call("describe")
        assert "Features.Band" in state["tables"]
        by_sex = await agent.call("query", expression="dj.U('sex').aggr(Subject, n='count(*)')")
        assert sum(r["n"] for r in by_sex["rows"]) == 4
        features = await agent.call("query", expression="Features", limit=2, objects="summary")
        assert features["rows"][0]["spectrum"].startswith("float32[")
        plain = await agent.call("query", expression="Features", limit=2)
        assert plain["omitted_objects"] == ["spectrum"] and "spectrum" not in plain["rows"][0]
        alpha = await agent.call(
            "query",
            expression="Subject.proj('sex') * (Features & 'peak_frequency >= 8 AND "
            "peak_frequency < 13').proj('peak_frequency')",
        )
        assert alpha["primary_key"] == ["subject_id", "session", "channel"]
        work = await agent.call("progress", table="Features")
        assert "flat trace" in work["tables"][0]["errors"][0]["message"]
        key = {"subject_id": 1, "session": 1, "channel": 0}
        made = await agent.call("provenance", table="Features", key=key)
        assert made["row_count"] == 1 and made["rows"][0]["_version"].startswith("src:")
        assert (await agent.call("stale", table="Features"))["rows"] == []
        versions = await agent.call("history", table="Features", limit=3)
        # populate writes one Delta commit per group of makes: a few versions, newest first
        assert 1 <= versions["row_count"] <= 3 and versions["rows"][0]["action"] == "insert"
        past = await agent.call("as_of", table="Features", version=0, limit=5)
        assert past["rows"] and past["rows"][0]["spectrum"].startswith("float32[")

    serve(setup, scenario)


# -- the pieces every answer goes through ----------------------------------------------------
def test_guarded_tools_redact_answers_and_errors() -> None:
    from djframe.mcp.safety import ToolFailure, guarded

    url = f"PostgreSQL://ann:{SECRET}@db:5432/lab"

    def answer(text: str) -> list[Any]:
        return [text, f"at {url}", b"bytes pass"]

    def fail() -> None:
        raise dj.ConnectionError(f"Cannot reach {url}.")

    assert guarded(answer)("ok") == ["ok", "at PostgreSQL://ann:***@db:5432/lab", b"bytes pass"]
    with pytest.raises(ToolFailure) as info:
        guarded(fail)()
    assert str(info.value) == "ConnectionError: Cannot reach PostgreSQL://ann:***@db:5432/lab."
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_stored_objects_are_omitted_described_or_included() -> None:
    import numpy as np

    from djframe.mcp.payload import plain_objects, rows_json

    frame = pl.DataFrame(
        {
            "key": [1, 2],
            "trace": pl.Series([np.zeros(3, np.float32), None], dtype=pl.Object),
            "raw": [b"\x00\x01", b"ok"],
        }
    )
    assert plain_objects(frame, "omit").columns == ["key", "raw"]
    assert plain_objects(frame, "summary")["trace"].to_list() == ["float32[3]", None]
    assert plain_objects(frame, "include")["trace"].to_list() == [[0.0, 0.0, 0.0], None]
    rows = json.loads(rows_json(plain_objects(frame, "omit")))
    assert rows == [{"key": 1, "raw": "AAE="}, {"key": 2, "raw": "b2s="}]

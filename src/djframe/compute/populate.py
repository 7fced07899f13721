"""populate: compute the missing rows of an Imported or Computed table, or of a whole pipeline.

The keys to compute are ``(key_source & restrictions) - table``, less the keys whose job is in
``error`` or ``ignore``. A :class:`~djframe.compute.populator.Populator` computes them, fed by
:func:`~djframe.compute.drive.drive`; with ``reserve_jobs=True`` keys are claimed from the job
queue first (:mod:`djframe.compute.jobs`), so any number of processes, here or on other
machines, share the work; ``processes=N`` starts N worker processes
(:mod:`djframe.compute.workers`). :func:`populate_pipeline` brings every auto-populated table
of schemas or tables up to date, parents first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import networkx as nx

from djframe.algebra.expression import as_expression
from djframe.compute.drive import (
    check_can_populate,
    drive,
    plan_keys,
    progress_bar,
    queue,
    terminating_on_sigterm,
)
from djframe.compute.jobs import JobTable
from djframe.compute.populator import PopulateOptions, PopulateResult, Populator
from djframe.compute.workers import populate_in_processes, populate_together
from djframe.errors import JobError
from djframe.registry import table_class
from djframe.schema import Schema
from djframe.settings import config

if TYPE_CHECKING:
    from djframe.table import Table

__all__ = ["auto_tables", "populate", "populate_options", "populate_pipeline"]


def populate(table: Table, *restrictions: Any, **options: Any) -> PopulateResult:
    """See :meth:`djframe.compute.autopopulate.AutoPopulate.populate` for the options."""
    settings = populate_options(options)
    check_can_populate(table, settings.processes)
    if settings.processes > 1:
        return populate_in_processes(table, restrictions, settings)
    populator = Populator(table, settings)
    with one_thread(table):
        keys, stale = plan_keys(table, restrictions, populator.version, settings)
        with (
            progress_bar(table, len(keys), settings.display_progress) as advance,
            terminating_on_sigterm(),
        ):
            if settings.reserve_jobs and settings.queues_new_keys:
                queue(populator.jobs, keys, stale, settings.priority)
            drive(populator, keys, advance)
        if populator.success_count and not settings.reserve_jobs and any_pending(populator.jobs):
            populator.jobs.complete_made()  # keys queued by an earlier run, made here
    return populator.result()


def one_thread(table: Table) -> AbstractContextManager[None]:
    """The database on one thread meanwhile, if ``populate.one_thread`` is on (see
    :mod:`djframe.backends.serial`)."""
    return table.connection.backend.serial() if config["populate.one_thread"] else nullcontext()


def any_pending(jobs: JobTable) -> bool:
    """Whether any job is pending: one probe of the status index, where finding the pending
    jobs whose rows exist joins the table (a transaction and 2 ms for 5,000 rows on DuckDB)
    to find, usually, none."""
    sql = f"SELECT 1 FROM {jobs.info.sql_name} WHERE _status = 'pending' LIMIT 1"
    return jobs.connection.fetch_scalar(sql, action="reading the job queue") is not None


def populate_options(options: dict[str, Any]) -> PopulateOptions:
    """The options of a populate call, or a JobError naming an unknown one; ``processes=None``
    is one process per CPU, as in DataJoint."""
    if "processes" in options and options["processes"] is None:
        options = {**options, "processes": os.cpu_count() or 1}
    known = PopulateOptions.__dataclass_fields__
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise JobError(f"populate has no option(s) {unknown}; the options are {', '.join(known)}.")
    return PopulateOptions(**options)


def populate_pipeline(*targets: Any, **options: Any) -> dict[str, PopulateResult]:
    """Populate every Imported and Computed table of ``targets`` (schemas or tables), parents
    first, so that each table sees the rows its parents just got.

    Errors are recorded in each table's job queue and reported, not raised, unless
    ``suppress_errors=False`` is passed. Other options go to each table's ``populate``.
    With ``processes=N``, tables that do not depend on each other are populated at the same
    time, sharing N worker processes; a table starts once every table it depends on is done.

    Examples
    --------
    >>> dj.populate(schema)  # doctest: +SKIP
    {'Features': {'success_count': 12, 'error_list': []}, 'Summary': {...}}
    """
    tables = auto_tables(targets)
    options.setdefault("suppress_errors", True)
    settings = populate_options(options)
    results: dict[str, PopulateResult] = {}
    if settings.processes > 1 and 1 < len(tables) <= settings.processes:
        ordered = [table for wave in generations(tables) for table in wave]
        return populate_together(ordered, settings)
    for generation in generations(tables):
        if settings.processes > 1 and len(generation) > 1:
            results |= populate_together(generation, settings)
        else:
            for table in generation:
                results[type(table).__name__] = populate(table, **options)
    return results


def generations(tables: list[Table]) -> list[list[Table]]:
    """``tables`` in waves: each wave depends only on tables of earlier waves."""
    if not tables:
        return []
    conn = tables[0].connection
    conn.load_all_schemas()
    by_name = {t.full_name: t for t in tables}
    order = nx.DiGraph()
    order.add_nodes_from(by_name)
    for name in by_name:
        order.add_edges_from((a, name) for a in nx.ancestors(conn.graph, name) if a in by_name)
    return [[by_name[n] for n in sorted(wave)] for wave in nx.topological_generations(order)]


def auto_tables(targets: Sequence[Any]) -> list[Table]:
    """The Imported and Computed tables named by ``targets``: schemas, classes or instances."""
    found: list[Table] = []
    for target in targets:
        if isinstance(target, Schema):
            infos = [i for i in target.user_tables() if i.tier in {"imported", "computed"}]
            found += [table_class(target.connection, i.full_name)() for i in infos]
        else:
            table = as_expression(target)
            if getattr(table, "tier", None) not in {"imported", "computed"}:
                raise JobError(f"{target!r} is not an Imported or Computed table or a schema.")
            found.append(table)
    return list({t.full_name: t for t in found}.values())

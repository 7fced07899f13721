"""The auto-populated tiers: :class:`Imported` and :class:`Computed`, DataJoint's mixin shape.

:class:`AutoPopulate` is what they share: ``populate``, ``key_source``, ``progress``, the job
queue (``jobs``), ``provenance`` and ``stale``. Their rows come from ``make`` (or
``make_batch``, or the tripartite ``make_fetch``/``make_compute``/``make_insert``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from djframe._typing import Tier
from djframe.algebra.condition import AndList
from djframe.compute.jobs import JobTable, jobs_of
from djframe.compute.keys import key_source, source_of
from djframe.compute.populate import populate
from djframe.compute.provenance import known_code_version, provenance_of, stale_keys
from djframe.compute.upstream import Upstream, upstream_of
from djframe.settings import Role, config, role_to_prefix
from djframe.table import Table

if TYPE_CHECKING:
    import polars as pl

    from djframe.algebra.expression import QueryExpression
    from djframe.compute.populator import PopulateResult

__all__ = ["AutoPopulate", "Computed", "Imported"]


class AutoPopulate(Table):
    """What Imported and Computed tables share: populate, the job queue, provenance."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """DataJoint's legacy ``_make_tuples(self, key)`` is the class's ``make``."""
        super().__init_subclass__(**kwargs)
        legacy = vars(cls).get("_make_tuples")
        if callable(legacy) and "make" not in vars(cls):
            cls.make = legacy  # type: ignore[attr-defined]

    def populate(self, *restrictions: Any, **options: Any) -> PopulateResult:
        """Compute the missing rows: ``(key_source & restrictions) - self``.

        Options: ``reserve_jobs`` (claim keys from the job queue, so several workers can
        share the work), ``processes`` (worker processes; they stay, idle, for the next call:
        :func:`djframe.shutdown_workers`), ``display_progress`` (a progress
        bar; None shows one when the terminal is interactive), ``suppress_errors`` (record
        errors and go on), ``max_calls`` (at most this many keys), ``batch_size`` (keys per
        make_batch call; by default ``populate.batch_size``, growing while batches are quick),
        ``recompute_stale`` (also recompute the rows :meth:`stale` lists), ``make_kwargs``,
        ``priority`` and ``refresh`` (with ``reserve_jobs``: queue the missing keys first, by
        default ``jobs.auto_refresh``; ``False`` takes only the jobs already pending).

        Returns ``{"success_count": n, "error_list": [(key, message), ...]}``.

        Examples
        --------
        >>> Features.populate(display_progress=True)  # doctest: +SKIP
        {'success_count': 12, 'error_list': []}
        """
        return populate(self, *restrictions, **options)

    @property
    def key_source(self) -> QueryExpression:
        """The keys make is called with: the join of the primary parents (overridable)."""
        return key_source(self)

    def progress(self, *restrictions: Any, display: bool = False) -> tuple[int, int]:
        """``(remaining, total)`` keys of ``key_source & restrictions``."""
        source = source_of(self)
        if restrictions:
            source = source & AndList(restrictions)
        total = len(source.proj())
        remaining = len(source.proj() - self)
        if display:
            done = total - remaining
            share = 100 * done / total if total else 100.0
            print(f"{type(self).__name__}: {done}/{total} ({share:.1f}%) done, {remaining} to go")
        return remaining, total

    @property
    def upstream(self) -> Upstream:
        """Inside ``make(self, key)``: ``self.upstream[Ancestor]`` is the ancestor restricted
        to the rows the key derives from (DataJoint 2.3.5); an error elsewhere."""
        return upstream_of(self)

    @property
    def jobs(self) -> JobTable:
        """This table's job queue (``~~table``), declared on first use."""
        return jobs_of(type(self))

    def provenance(self, key: Any = None) -> pl.DataFrame:
        """How the rows (matching ``key``, if given) were computed: job, code version, times,
        user, host and the digest of their upstream rows."""
        table = provenance_of(type(self))
        assert table is not None
        rows = table if key is None else table & key
        return rows.to_polars(order_by="KEY")

    def stale(self) -> pl.DataFrame:
        """Keys whose upstream rows or code version changed since they were computed, with
        the ``_cause`` (``upstream``, ``code`` or both): one query, whatever the table size.

        Where no make is loaded (a class of :func:`~djframe.virtual_schema`) and the code
        version comes from the code, the code is unknown: a warning says so, and only the
        upstream rows are compared.
        """
        version = known_code_version(type(self), config["populate.code_version"])
        if version is None:
            warnings.warn(
                f"{type(self).__name__} has no make here (a class built from the catalog, as "
                "virtual_schema builds them), so its code version is unknown: stale() compares "
                "the upstream rows only. Import the module that defines make to compare code.",
                stacklevel=2,
            )
        return stale_keys(self, version)


class Imported(AutoPopulate):
    """Rows brought in by ``make`` from outside data."""

    tier: ClassVar[Tier] = "imported"
    prefix = role_to_prefix[Role.imported]


class Computed(AutoPopulate):
    """Rows computed by ``make`` from other tables."""

    tier: ClassVar[Tier] = "computed"
    prefix = role_to_prefix[Role.computed]

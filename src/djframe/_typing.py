"""Literal aliases for djframe's string options, gathered so signatures can share them."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ArrayColumns",
    "BackendName",
    "DescribeFormat",
    "JobStatus",
    "OnConflict",
    "PartIntegrity",
    "Tier",
]

BackendName = Literal["duckdb", "postgres"]
"""The SQL engines djframe runs on."""

OnConflict = Literal["error", "skip", "replace"]
"""What an insert does with a row whose primary key already exists."""

Tier = Literal["manual", "lookup", "imported", "computed", "part", "jobs", "provenance"]
"""The role of a table in a pipeline."""

PartIntegrity = Literal["enforce", "ignore", "cascade"]
"""How a delete treats master-part groups (as in DataJoint 2.x)."""

JobStatus = Literal["pending", "reserved", "success", "error", "ignore"]
"""The status of a key in a job queue (as in DataJoint 2.x)."""

ArrayColumns = Literal["typed", "object"]
"""How ``to_polars`` gives decoded arrays: ``pl.Array`` / ``pl.List`` columns where they hold
the values, or one Python object per row (a ``pl.Object`` column)."""

DescribeFormat = Literal["text", "json"]
"""What ``Schema.describe`` gives: the definitions, or the pipeline as a JSON document."""

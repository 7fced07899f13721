"""Literal aliases for djframe's string options, gathered so signatures can share them."""

from __future__ import annotations

from typing import Literal

__all__ = ["BackendName", "OnConflict", "PartIntegrity", "Tier"]

BackendName = Literal["duckdb", "postgres"]
"""The SQL engines djframe runs on."""

OnConflict = Literal["error", "skip", "replace"]
"""What an insert does with a row whose primary key already exists."""

Tier = Literal["manual", "lookup", "imported", "computed", "part", "jobs", "provenance"]
"""The role of a table in a pipeline."""

PartIntegrity = Literal["enforce", "ignore", "cascade"]
"""How a delete treats master-part groups (as in DataJoint 2.x)."""

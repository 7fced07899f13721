"""The definition language: text -> specs (:mod:`.parser`) -> table info (:mod:`.resolve`) -> DDL
(:mod:`.ddl`), with the portable types in :mod:`djframe.types` and DataJoint's categories of
them in :mod:`.categories` (``match_type``)."""

from djframe.declare.categories import (
    CORE_TYPE_SQL,
    CORE_TYPES,
    NATIVE_TYPES,
    SPECIAL_TYPES,
    match_type,
)

__all__ = ["CORE_TYPES", "CORE_TYPE_SQL", "NATIVE_TYPES", "SPECIAL_TYPES", "match_type"]

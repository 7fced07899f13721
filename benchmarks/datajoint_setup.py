"""DataJoint 2.3.5, configured for a PostgreSQL URL: the baseline most benchmarks compare with.

Kept apart from :mod:`benchmarks.baselines` so that a process that runs only DataJoint (the
worker-pool baseline, :mod:`benchmarks.dj_workers`) imports neither djframe nor Polars before
DataJoint forks its workers.

Examples
--------
>>> datajoint_settings("postgresql://me:pw@127.0.0.1:5433/db")["database.port"]
5433
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlparse

__all__ = ["datajoint_settings", "load_datajoint"]


def datajoint_settings(pg_url: str) -> dict[str, Any]:
    """DataJoint's configuration entries for the PostgreSQL at ``pg_url``."""
    url = urlparse(pg_url)
    return {
        "database.backend": "postgresql",
        "database.host": url.hostname,
        "database.port": url.port or 5432,
        "database.user": url.username,
        "database.password": url.password,
        "database.name": url.path.lstrip("/"),
        "database.use_tls": False,
        "safemode": False,
        "loglevel": "WARNING",
    }


def load_datajoint(pg_url: str | None) -> Any:
    """The ``datajoint`` module configured for the PostgreSQL at ``pg_url``, or None."""
    if pg_url is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No datajoint.json found"
            import datajoint
    except ImportError:
        return None
    for key, value in datajoint_settings(pg_url).items():
        datajoint.config[key] = value
    return datajoint

"""The public surface is curated: ``djframe.__all__`` lists exactly the public names, sorted,
and importing djframe leaves the heavy optional stacks unloaded."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import djframe as dj


def test_all_is_sorted_and_complete() -> None:
    # Submodules appear as attributes once imported (some lazily): they are not public names.
    public = sorted(
        name
        for name, value in vars(dj).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    assert dj.__all__ == sorted(dj.__all__)
    assert sorted(dj.__all__) == public


def test_every_error_is_a_djframe_error() -> None:
    errors = [getattr(dj, name) for name in dj.__all__ if name.endswith("Error")]
    assert errors and all(issubclass(e, dj.DjframeError) for e in errors)
    assert issubclass(dj.DuplicateError, KeyError)
    assert issubclass(dj.MissingAttributeError, KeyError)


def test_import_does_not_load_pandas_deltalake_or_adbc() -> None:
    code = "import sys, djframe; print(sorted(m for m in ('pandas', 'deltalake', 'adbc_driver_postgresql') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"

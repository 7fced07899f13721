"""Pipelines named on a command line: a module's dotted name or a path to a Python file.

The ``djframe`` command and the MCP server both open a pipeline this way; its schemas are the
``dj.Schema`` objects the module defines.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from djframe.schema import Schema

__all__ = ["load_pipeline", "schemas_of"]


def load_pipeline(name: str) -> ModuleType:
    """Import ``name``: a dotted module (from the working directory too) or a ``.py`` file."""
    if name.endswith(".py") or Path(name).is_file():
        path = Path(name).resolve()
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise SystemExit(f"djframe: cannot load the pipeline file {name}.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise SystemExit(f"djframe: cannot import the pipeline module {name!r}: {exc}") from None


def schemas_of(module: ModuleType) -> list[Any]:
    found = [value for value in vars(module).values() if isinstance(value, Schema)]
    if not found:
        raise SystemExit(f"djframe: {module.__name__} defines no dj.Schema.")
    return list({s.name: s for s in found}.values())

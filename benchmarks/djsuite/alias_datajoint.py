"""The thin alias: ``import datajoint`` gives the ``djframe`` package itself.

The runner copies this file to ``<scratch>/alias/datajoint/__init__.py`` and puts that folder
first on the suite's ``PYTHONPATH``. ``datajoint`` is then the very module object ``djframe``
and ``datajoint.X`` the module ``djframe.X`` where djframe has one, as if djframe were
installed under DataJoint's name: no class, function or setting is added or wrapped, so a
name djframe lacks fails as it would for a user (``ImportError``, ``AttributeError``).

One exception, listed in :data:`BRIDGES` and printed by the runner: the suite's own
``conftest.py`` imports ``DataJointError`` at its top, so without that one name every test
fails at one import and nothing else can be measured. The bridge re-exports an existing
djframe class under DataJoint's name (a pure rename, issue 13 item 10), only where djframe
does not provide the name itself, and not at all when ``DJSUITE_STRICT_ALIAS`` is set.

Examples
--------
>>> sorted(BRIDGES)
['DataJointError']
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType

ALIAS = "datajoint"
TARGET = "djframe"
# DataJoint name -> (djframe module, djframe name it re-exports), set on both modules.
BRIDGES = {"DataJointError": ("djframe.errors", "DjframeError")}


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``datajoint.X`` to the already importable module ``djframe.X``."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(ALIAS + "."):
            return None
        try:
            found = importlib.util.find_spec(TARGET + fullname[len(ALIAS) :])
        except ModuleNotFoundError:
            return None
        return importlib.util.spec_from_loader(fullname, self) if found else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # The import system keeps the returned module's own __name__ and __spec__.
        return importlib.import_module(TARGET + spec.name[len(ALIAS) :])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the djframe module is imported already."""


def install() -> ModuleType:
    """Make ``datajoint`` (and ``datajoint.X``) name djframe's modules; returns djframe."""
    target = importlib.import_module(TARGET)
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
    if not os.environ.get("DJSUITE_STRICT_ALIAS"):
        _bridge(target)
    sys.modules[ALIAS] = target
    return target


def _bridge(target: ModuleType) -> None:
    for name, (module_name, existing) in BRIDGES.items():
        module = importlib.import_module(module_name)
        value = getattr(module, existing)
        for owner in (module, target):
            if not hasattr(owner, name):
                setattr(owner, name, value)


if __name__ == ALIAS:  # imported as the alias package, not as a part of benchmarks
    install()

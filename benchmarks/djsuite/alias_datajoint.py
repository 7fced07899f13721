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

Deferred names (the coordinator's decision for the measure, issue 13): a test module whose
top reads ``from datajoint.settings import CONFIG_FILENAME`` (a DataJoint-private name) would
stop all of its tests at that import, including those that never touch the name. In a
``from ... import`` statement of the suite's own files, a name djframe lacks (or a module,
``datajoint.objectref``) is given as a :class:`Placeholder`, which raises ``ImportError``
(:data:`PLACEHOLDER_MARK` in its message) as soon as a test uses it: the test fails then,
and the runner counts those failures. Attribute access (``dj.X``, ``hasattr``) is untouched,
so a missing public name still fails as it would for a user (one side effect: a stand-in
module imported as ``datajoint.X`` becomes the attribute ``X`` of the package, as the import
system sets it, in the suite's process only). ``DJSUITE_STRICT_ALIAS`` turns this off too.

Examples
--------
>>> sorted(BRIDGES)
['DataJointError']
>>> Placeholder("datajoint.settings.CONFIG_FILENAME")()
Traceback (most recent call last):
...
ImportError: cannot use datajoint.settings.CONFIG_FILENAME: djframe has no such name [djsuite placeholder]
"""

from __future__ import annotations

import dis
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any, NoReturn

ALIAS = "datajoint"
TARGET = "djframe"
# DataJoint name -> (djframe module, djframe name it re-exports), set on both modules.
BRIDGES = {"DataJointError": ("djframe.errors", "DjframeError")}
PLACEHOLDER_MARK = "[djsuite placeholder]"
_IMPORTING = {dis.opmap["IMPORT_FROM"], dis.opmap["IMPORT_NAME"]}
_SUITE_ROOT = os.path.join(os.getcwd(), "tests") + os.sep


class Placeholder:
    """Stands for a name djframe lacks; any use raises ``ImportError``."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_djsuite_name", name)

    def _fail(self, *args: object, **kwargs: object) -> NoReturn:
        name = object.__getattribute__(self, "_djsuite_name")
        raise ImportError(f"cannot use {name}: djframe has no such name {PLACEHOLDER_MARK}")

    def __getattribute__(self, attr: str) -> Any:
        if (attr.startswith("__") and attr.endswith("__")) or attr in {"_fail", "_djsuite_name"}:
            return object.__getattribute__(self, attr)
        object.__getattribute__(self, "_fail")()

    def __repr__(self) -> str:
        return f"<placeholder {object.__getattribute__(self, '_djsuite_name')}>"

    __call__ = __getitem__ = __setitem__ = __iter__ = __len__ = __contains__ = _fail
    __bool__ = __mro_entries__ = __setattr__ = __enter__ = __lt__ = __gt__ = _fail


def _suite_importing(frame: FrameType | None) -> bool:
    """True when ``frame`` (or, past importlib's own frames, its caller) is a file of the
    suite running an import statement (``IMPORT_NAME``, or ``IMPORT_FROM`` for the names
    after ``from ... import``)."""
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen") or frame.f_code.co_filename == __file__
    ):
        frame = frame.f_back
    if frame is None or not frame.f_code.co_filename.startswith(_SUITE_ROOT):
        return False
    return frame.f_code.co_code[frame.f_lasti] in _IMPORTING


def _deferring(module: ModuleType) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving placeholders to the suite's ``from`` imports only."""
    previous = module.__dict__.get("__getattr__")
    name = module.__name__
    alias = name if name.split(".")[0] == ALIAS else ALIAS + name[len(TARGET) :]

    def __getattr__(attr: str) -> Any:
        if previous is not None:
            try:
                return previous(attr)
            except AttributeError:
                pass
        if not attr.startswith("__") and _suite_importing(sys._getframe(1)):
            return Placeholder(f"{alias}.{attr}")
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    __getattr__.djsuite = True  # type: ignore[attr-defined]
    return __getattr__


def _defer(module: ModuleType) -> ModuleType:
    if not os.environ.get("DJSUITE_STRICT_ALIAS") and not getattr(
        module.__dict__.get("__getattr__"), "djsuite", False
    ):
        module.__getattr__ = _deferring(module)  # type: ignore[method-assign]
    return module


def _placeholder_module(name: str) -> ModuleType:
    """A stand-in for ``datajoint.X`` where djframe has no module X."""
    module = ModuleType(name)
    module.__path__ = []  # a package: its own submodules resolve to placeholders too
    return _defer(module)


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``datajoint.X`` to the already importable module ``djframe.X``."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(ALIAS + "."):
            return None
        if _djframe_has(fullname):
            return importlib.util.spec_from_loader(fullname, self)
        if _suite_importing(sys._getframe(1)):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # The import system keeps the returned module's own __name__ and __spec__.
        if not _djframe_has(spec.name):
            return _placeholder_module(spec.name)
        return _defer(importlib.import_module(TARGET + spec.name[len(ALIAS) :]))

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the djframe module is imported already."""


def _djframe_has(fullname: str) -> bool:
    try:
        return importlib.util.find_spec(TARGET + fullname[len(ALIAS) :]) is not None
    except ModuleNotFoundError:
        return False


def install() -> ModuleType:
    """Make ``datajoint`` (and ``datajoint.X``) name djframe's modules; returns djframe."""
    target = importlib.import_module(TARGET)
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
    if not os.environ.get("DJSUITE_STRICT_ALIAS"):
        _bridge(target)
    sys.modules[ALIAS] = _defer(target)
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

"""DataJoint's sdist in a cache folder: downloaded once with pip, unpacked once.

The cache (``.djsuite-cache/`` at the repository root unless told otherwise) is ignored by git:
DataJoint's code and tests are read from it at run time and never copied into the repository.

Examples
--------
>>> sdist_name("2.3.5")
'datajoint-2.3.5'
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

__all__ = ["DEFAULT_CACHE", "VERSION", "fetch_sdist", "sdist_name"]

VERSION = "2.3.5"
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / ".djsuite-cache"


def sdist_name(version: str) -> str:
    return f"datajoint-{version}"


def fetch_sdist(cache: Path = DEFAULT_CACHE, version: str = VERSION) -> Path:
    """The unpacked sdist of DataJoint ``version`` (its root folder), downloading it if needed."""
    root = cache / sdist_name(version)
    if (root / "tests" / "conftest.py").is_file():
        return root
    archive = cache / f"{sdist_name(version)}.tar.gz"
    if not archive.is_file():
        _download(cache, version)
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    if not (root / "tests" / "conftest.py").is_file():
        raise RuntimeError(f"{archive} has no tests/conftest.py: not DataJoint's sdist?")
    return root


def _download(cache: Path, version: str) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"datajoint=={version}",
        "--dest",
        str(cache),
    ]
    print("downloading DataJoint's sdist:", " ".join(command[3:]), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

"""Nox sessions for djframe: tests, lint, the demo, the benchmarks and the docs.

`nox` runs lint and tests; `nox -s tests` is what CI runs (see .ci/run); `nox -s djsuite`
measures djframe with DataJoint 2.3.5's own test suite. Each session gets its own reusable
virtualenv under .nox/. This file does not set up PostgreSQL: the test suite starts its own
throwaway server (tests/_postgres.py).

Sessions use Python 3.11, the CI's version, when the machine has it, and otherwise
the Python running nox; pick another with e.g. `nox -s tests --force-python 3.12`.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

# None means "the Python running nox", so a machine without 3.11 still runs every session.
PYTHON = "3.11" if shutil.which("python3.11") else None
LINT_PATHS = ("src", "tests", "benchmarks")
# Named explicitly so that the tests' behaviour does not depend on nox's env handling.
PASSTHROUGH_ENV = ("CI", "DJFRAME_TEST_PG_URL")
# The baselines of `nox -s bench`: DataJoint 2.3.5 reaches PostgreSQL through psycopg2.
BENCH_DEPS = ("datajoint[postgres]==2.3.5", "psycopg2-binary", "matplotlib")
# What DataJoint 2.3.5's own test suite imports (its "test" extra, less testcontainers: the
# runner brings its own database and a moto S3 server). DataJoint itself is installed only to
# collect its suite; the runs import djframe under its name (benchmarks/djsuite).
DJSUITE_DEPS = ("datajoint[postgres]==2.3.5", "faker", "matplotlib", "ipython", "requests",
                "s3fs>=2023.1.0", "polars", "pyarrow")  # fmt: skip
# The documentation site: MkDocs with the Material theme and API pages from docstrings.
# ruff formats the signatures on the API pages.
DOCS_DEPS = ("mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings[python]>=0.26", "ruff")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite; arguments after `--` go to pytest."""
    session.install("-e", ".[test]")
    env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
    session.run("pytest", *session.posargs, env=env)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff and types with mypy."""
    session.install("-e", ".[lint]")  # the package itself too, so mypy sees its deps
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)
    session.run("mypy")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Install djframe as a user would (not editable) and run its demo."""
    session.install(".")
    session.run("djframe", "demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks against DataJoint 2.3.5 and the raw engines.

    Arguments after `--` go to the runner: `nox -s bench -- --quick` for small sizes,
    `-- --only fetch insert` for some benchmarks. The baselines (DataJoint with its
    PostgreSQL driver) and matplotlib for the plot are installed here only.
    """
    session.install("-e", ".", *BENCH_DEPS)
    env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
    session.run("python", "-m", "benchmarks.run", *session.posargs, env=env)


@nox.session(python=PYTHON)
def djsuite(session: nox.Session) -> None:
    """Run DataJoint 2.3.5's test suite against djframe on DuckDB and PostgreSQL (issue 13).

    Prints passed/applicable per backend and test module and the top root causes of the
    failures; writes benchmarks/results/djsuite.json. Arguments after `--` go to the runner:
    `nox -s djsuite -- --backends duckdb`, `-- --markdown report.md`, `-- -- -k fetch`.
    """
    session.install("-e", ".[test]", *DJSUITE_DEPS)
    env = {name: os.environ[name] for name in PASSTHROUGH_ENV if name in os.environ}
    session.run("python", "-m", "benchmarks.djsuite", *session.posargs, env=env)


# Runs docs/tutorial.ipynb in a temporary folder and stores its outputs, without timings.
EXECUTE_NOTEBOOK = """
import sys, tempfile, nbclient, nbformat
path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
for cell in notebook.cells:
    cell.metadata.pop("execution", None)
with tempfile.TemporaryDirectory() as folder:
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": folder}}).execute()
nbformat.write(notebook, path)
"""


@nox.session(python=PYTHON)
def tutorial(session: nox.Session) -> None:
    """Execute docs/tutorial.ipynb and store its outputs, which the docs site and GitHub show.

    Run it after changing the notebook or what it shows; tests/test_tutorial.py checks that
    the stored outputs are those of one run from top to bottom.
    """
    session.install("-e", ".[test]")
    session.run("python", "-c", EXECUTE_NOTEBOOK, "docs/tutorial.ipynb")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with warnings as errors.

    `nox -s docs -- serve` serves it with live reload instead (http://127.0.0.1:8000).
    """
    session.install("-e", ".", *DOCS_DEPS)
    env = {"NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner, not a build warning
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs, env=env)

"""DataJoint 2.3.5's own test suite, run against djframe through a thin alias (issue 13).

``python -m benchmarks.djsuite`` (or ``nox -s djsuite``) downloads DataJoint's sdist into a
cache folder, copies its ``tests/`` into a scratch directory, and runs them with pytest once
per backend: a DuckDB file and PostgreSQL (the test suite's throwaway server,
tests/_postgres.py). ``import datajoint`` gives ``djframe`` itself (:mod:`.alias_datajoint`);
only the suite's connection and store fixtures are replaced (:mod:`.suite_conftest`); MySQL-only
tests and tests of DataJoint's internals are set aside by the commented list in :mod:`.scope`.
The run prints passed/applicable per backend and per test module, groups each failing test's
first error into root causes (:mod:`.causes`) and writes a JSON summary.

Nothing of DataJoint is kept in this repository: its tests are read from the sdist at run time.

Examples
--------
>>> from benchmarks.djsuite import scope
>>> scope.set_aside("tests/integration/test_tls.py::test_explicit_ssl_connection") is not None
True
"""

"""Which of DataJoint's tests apply to djframe: the explicit list of those set aside.

A test applies unless a pattern below matches its pytest node id. Two kinds are set aside:

- ``mysql``: tests of MySQL itself (its SQL dialect, accounts, TLS, MariaDB), and the MySQL
  half of the suite's ``backend``-parametrized tests (their ``[postgresql]`` half runs on
  each of our backends: that parameter only names DataJoint's non-MySQL branch).
- ``internal``: tests of DataJoint's own machinery that djframe does not have and its users
  never call: database adapters, the storage plugin system and URL helpers, the store
  garbage collector and hash registry, migrations and deployment helpers, thread-safe
  instances, lazy imports, the logging hook, the Spark protocol, the ``dj`` CLI and the
  package's own metadata.

Everything else applies, including unit tests that reach public behaviour through a private
module (type spellings, primary-key rules, ``dj.config``): a failing import there is a
finding, not a reason to look away.

Examples
--------
>>> set_aside("tests/integration/test_fetch.py::test_getattribute") is None
True
>>> set_aside("tests/integration/test_alter.py::test_alter_explicit_context[mysql]").kind
'mysql'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SET_ASIDE", "Rule", "set_aside"]


@dataclass(frozen=True)
class Rule:
    kind: str  # "mysql" or "internal"
    pattern: str  # a regular expression searched in the node id
    reason: str


SET_ASIDE: tuple[Rule, ...] = (
    # -- MySQL only ----------------------------------------------------------------------
    Rule("mysql", r"\[mysql[\]-]", "the MySQL half of a backend-parametrized test"),
    Rule("mysql", r"^tests/integration/test_tls\.py::", "TLS of MySQL connections (pymysql)"),
    Rule("mysql", r"^tests/integration/test_privileges\.py::", "MySQL accounts and GRANTs"),
    Rule("mysql", r"^tests/integration/test_json\.py::", "MySQL JSON path SQL in restrictions"),
    Rule("mysql", r"^tests/unit/test_connection_warning\.py::", "MariaDB server warning"),
    Rule("mysql", r"^tests/integration/test_alter\.py::TestAlter::", "reads SHOW CREATE TABLE"),
    Rule(
        "mysql",
        r"^tests/integration/test_blob_matlab\.py::test_(complex_matlab|iter)",
        "inserts a mysqldump of MATLAB blobs (0x... literals)",
    ),
    Rule(
        "mysql",
        r"^tests/integration/test_blob\.py::test_insert_longblob_32bit",
        "inserts a MySQL X'...' literal",
    ),
    Rule(
        "mysql", r"^tests/integration/test_reconnection\.py::test_reconnect", "runs SHOW DATABASES"
    ),
    Rule(
        "mysql",
        r"^tests/integration/test_entry_provenance\.py::test_(job_tables_do_not|"
        r"capture_off_declares)",
        "runs SHOW TABLES or backtick-quoted SQL",
    ),
    # -- DataJoint internals -------------------------------------------------------------
    Rule("internal", r"^tests/unit/test_adapters\.py::", "DataJoint's database adapters"),
    Rule("internal", r"^tests/unit/test_storage_adapter\.py::", "storage plugin registry"),
    Rule("internal", r"^tests/unit/test_storage_urls\.py::", "datajoint.storage URL helpers"),
    Rule("internal", r"^tests/(unit|integration)/test_gc\.py::", "the store garbage collector"),
    Rule("internal", r"^tests/integration/test_hash_storage\.py::", "the hash registry"),
    Rule("internal", r"^tests/integration/test_migrate_job_metadata\.py::", "dj.migrate"),
    Rule("internal", r"^tests/unit/test_deploy\.py::", "PostgreSQL replica identity helper"),
    Rule("internal", r"^tests/unit/test_thread_safe\.py::", "dj.Instance thread-safe mode"),
    Rule("internal", r"^tests/unit/test_lazy_imports\.py::", "DataJoint's import laziness"),
    Rule("internal", r"^tests/unit/test_logging\.py::", "DataJoint's logging hook"),
    Rule("internal", r"^tests/unit/test_spark\.py::", "the SparkAdapter protocol"),
    Rule("internal", r"^tests/unit/test_ddl_substitution\.py::", "a DDL string helper"),
    Rule("internal", r"^tests/unit/test_provenance\.py::", "provenance payload assembly"),
    Rule("internal", r"^tests/integration/test_utils\.py::", "datajoint.utils name helpers"),
    Rule("internal", r"^tests/integration/test_cli\.py::", "the dj command line"),
    Rule("internal", r"^tests/test_package\.py::", "the installed package's metadata"),
)

_COMPILED = [(rule, re.compile(rule.pattern)) for rule in SET_ASIDE]


def set_aside(nodeid: str) -> Rule | None:
    """The rule that sets the test ``nodeid`` aside, or None if it applies to djframe."""
    for rule, pattern in _COMPILED:
        if pattern.search(nodeid):
            return rule
    return None

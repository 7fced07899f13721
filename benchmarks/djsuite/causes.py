"""Root causes: a failing test's first error, normalized, and the issue-13 group it belongs to.

A root cause is the exception type plus its message with the particulars taken out (table
and schema names, numbers, paths, suggestions), so that the 60 tests stopped by "Unknown
type 'int'" in 60 different tables count as one cause. Each cause is put in one of issue
13's ten groups by the first matching rule of :data:`GROUP_RULES` (a regular expression
over ``Type: message``), else by the test's module (:data:`MODULE_GROUPS`), else in a bucket
outside the ten. A test module that cannot even be imported, because it imports a name of
DataJoint's that djframe lacks, stops all of its tests at that import: those go to the
bucket of DataJoint-private names unless the name is one of issue 13's (:data:`PUBLIC_NAMES`).

Examples
--------
>>> cause("UnknownTypeError", "In the definition of Student, attribute 'id': Unknown type "
...       "'int'. Did you mean int32? The portable core types are: int8 ...")
"UnknownTypeError: In the definition of <T>, attribute <a>: Unknown type 'int'"
>>> group_of("UnknownTypeError: Unknown type 'int'", "tests/integration/test_fetch.py::t")
'2 native types'
"""

from __future__ import annotations

import re

__all__ = [
    "GROUPS",
    "GROUP_RULES",
    "INTERNALS",
    "MODULE_GROUPS",
    "cause",
    "group_of",
    "module_topic",
]

GROUPS = (
    "1 diamonds",
    "2 native types",
    "3 computed PK fields",
    "4 positional rows",
    "5 fetch",
    "6 schemas/activate",
    "7 connection",
    "8 dj.config",
    "9 codecs",
    "10 tables",
)
# Outside the ten groups, so that what they do not cover is seen too.
JOBS, INTERNALS, QUERIES, OTHER = (
    "outside: jobs",
    "outside: DataJoint-private names",
    "outside: queries/semantics",
    "outside: other",
)

_NORMALIZE: tuple[tuple[str, str], ...] = (
    (r"In the definition of [\w.]+, attribute '[^']*'", "In the definition of <T>, attribute <a>"),
    (r"In the definition of [\w.]+", "In the definition of <T>"),
    (r"\.? (Did you mean|The portable core types are)\b.*$", ""),
    (r" \((/|[A-Za-z]:\\)[^)]*\)", ""),  # file paths of ImportError
    (r"<[^<>]* at 0x[0-9a-f]+>", "<object>"),
    (r"(\"[^\"]+\"\.)+\"[^\"]+\"", "<table>"),  # "schema"."table"
    (r"\bdjtest\w*", "<schema>"),
    (r"'~?\w+__\w+'", "'<part>'"),
    (r"\b\d+(\.\d+)?\b", "N"),
    (r"\s+", " "),
)
_NORMALIZE_RE = [(re.compile(pattern), to) for pattern, to in _NORMALIZE]
_LIMIT = 170


def cause(kind: str, message: str) -> str:
    """``Type: message`` with the particulars of one table or test taken out."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    for pattern, to in _NORMALIZE_RE:
        text = pattern.sub(to, text)
    text = _table_class_names(kind, text.strip())
    return f"{kind}: {text}"[:_LIMIT]


# Class names that say what failed; any other CamelCase name in "'X' object has no
# attribute" is a table class of the test's own and becomes <Table>.
_KEPT_NAMES = {
    "Schema",
    "Connection",
    "Config",
    "Heading",
    "Attribute",
    "QueryExpression",
    "Diagram",
    "Table",
    "Codec",
    "Store",
    "Transaction",
    "U",
    "Top",
    "FreeTable",
    "Frame",
    "DataFrame",
    "NoneType",
    "Result",
}
_OBJECT_NAME = re.compile(r"^(type object |)'([A-Z]\w*)'( object)?")


def _table_class_names(kind: str, text: str) -> str:
    if kind != "AttributeError":
        return text
    match = _OBJECT_NAME.match(text)
    if match and match.group(2) not in _KEPT_NAMES:
        return f"{match.group(1)}'<Table>'{match.group(3) or ''}{text[match.end() :]}"
    return text


# (group, regular expression searched in "Type: message"), first match wins.
GROUP_RULES: tuple[tuple[str, str], ...] = (
    ("1 diamonds", r"declared twice|arrives? through (several|two)|same lineage"),
    ("3 computed PK fields", r"allow_new_pk_fields|(Computed|Imported)\b.*\bprimary key"),
    ("2 native types", r"UnknownTypeError|Unknown type|auto_increment|unsigned"),
    ("8 dj.config", r"'Config' object|ConfigError|Unknown setting"),
    (JOBS, r"attribute '(jobs|reserve_jobs|_job\w*|jobs_table)'"),
    (
        "6 schemas/activate",
        r"Schema\.__init__|'Schema' object has no attribute|\bactivate\b|VirtualModule|"
        r"virtual_module|spawn_missing_classes",
    ),
    ("4 positional rows", r"no len\(\)|Cannot insert an? (list|tuple|generator|zip|map|range)"),
    ("5 fetch", r"attribute '(fetch1?|to_arrays|fetch_\w+|KEY|key)'|\bfetch1?\(\)"),
    (
        "7 connection",
        r"'Connection' object has no attribute|attribute '(conn|Connection)'|"
        r"Connection\.__init__|(start|commit|cancel)_transaction",
    ),
    (
        "9 codecs",
        r"[Cc]odec|<(blob|attach|filepath|hash|object|npy)\b|ObjectRef|NpyRef|'blob'",
    ),
    (
        "10 tables",
        r"attribute '(alter|drop_quick|delete_quick|staged_insert1|is_declared|"
        r"upstream|_upstream\w*|head|tail|describe|definition|DataJointError|Entry|Ingest|"
        r"Compute)'|DataJointError|Diagram",
    ),
    (
        INTERNALS,
        r"No module named 'datajoint\.|cannot import name|djsuite placeholder|has no attribute '_|"
        r"'dict' object has no attribute 'in_key'",
    ),
)
_GROUP_RE = [(group, re.compile(pattern)) for group, pattern in GROUP_RULES]

# DataJoint's public names that issue 13 lists: a test module that stops at importing one
# of these belongs to that name's group, not among DataJoint's private names.
PUBLIC_NAMES = {
    "DataJointError": "10 tables",
    "ObjectRef": "9 codecs",
    "NpyRef": "9 codecs",
    "list_codecs": "9 codecs",
    "get_codec": "9 codecs",
    "VirtualModule": "6 schemas/activate",
    "create_virtual_module": "6 schemas/activate",
    "conn": "7 connection",
    "key": "5 fetch",
}
_IMPORTED_NAME = re.compile(r"cannot import name '(\w+)' from 'djframe'")

# The topic of a test module: the group of a test that no rule places (an assertion, say),
# and what the tests stopped by a DataJoint-private name would be about.
MODULE_GROUPS: dict[str, str] = {
    "test_fetch": "5 fetch",
    "test_fetch_same": "5 fetch",
    "test_fetch_compat": "5 fetch",
    "test_schema": "6 schemas/activate",
    "test_virtual_module": "6 schemas/activate",
    "test_university": "6 schemas/activate",
    "test_connection": "7 connection",
    "test_reconnection": "7 connection",
    "test_settings": "8 dj.config",
    "test_codecs": "9 codecs",
    "test_codec_chaining": "9 codecs",
    "test_codec_context": "9 codecs",
    "test_blob": "9 codecs",
    "test_blob_matlab": "9 codecs",
    "test_attach": "9 codecs",
    "test_npy_codec": "9 codecs",
    "test_object": "9 codecs",
    "test_type_patterns": "2 native types",
    "test_type_aliases": "2 native types",
    "test_alter": "10 tables",
    "test_alter_rename": "10 tables",
    "test_declare": "10 tables",
    "test_declare_hidden_attribute": "10 tables",
    "test_tier_aliases": "10 tables",
    "test_insert": "4 positional rows",
    "test_jobs": JOBS,
    "test_jobs_refresh": JOBS,
    "test_hidden_job_metadata": JOBS,
    "test_autopopulate": JOBS,
    "test_relational_operand": QUERIES,
    "test_relation_u": QUERIES,
    "test_semantic_matching": QUERIES,
    "test_aggr_regressions": QUERIES,
    "test_pk_rules": QUERIES,
    "test_condition": QUERIES,
}


def module_topic(nodeid: str) -> str:
    """The group a test module is about, from its name (``test_fetch`` is about fetch)."""
    module = nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
    return MODULE_GROUPS.get(module, OTHER)


def group_of(root_cause: str, nodeid: str, *, at_import: bool = False) -> str:
    """The issue-13 group (or outside bucket) of a test stopped by ``root_cause``.

    A test module that fails to import is stopped by a name DataJoint has and djframe
    lacks: one of issue 13's public names goes to its group, any other is private.
    """
    if at_import:
        found = _IMPORTED_NAME.search(root_cause)
        return PUBLIC_NAMES.get(found.group(1), INTERNALS) if found else INTERNALS
    for group, pattern in _GROUP_RE:
        if pattern.search(root_cause):
            return group
    return module_topic(nodeid)

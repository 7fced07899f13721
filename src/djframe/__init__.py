"""djframe: DataJoint's relational workflow model for the dataframe world.

A pipeline is a set of tables; foreign keys are its dependencies; queries are relational
expressions checked for attribute lineage, compiled through Ibis to DuckDB (embedded, the
default) or PostgreSQL, and returned as Polars frames over Arrow.

Examples
--------
>>> import djframe as dj
>>> conn = dj.connect("duckdb://")
>>> schema = dj.Schema("quickstart", connection=conn)
"""

from djframe.algebra.condition import AndList, Not
from djframe.algebra.expression import QueryExpression
from djframe.algebra.top import Top
from djframe.algebra.universal import U
from djframe.builtin_codecs.npy import NpyRef
from djframe.builtin_codecs.schema import SchemaCodec
from djframe.codecs import Codec, get_codec, list_codecs
from djframe.codecs.djblob import MatCell, MatStruct
from djframe.compute.autopopulate import Computed, Imported
from djframe.compute.autopopulate import Computed as Compute
from djframe.compute.autopopulate import Imported as Ingest
from djframe.compute.populate import populate_pipeline as populate
from djframe.compute.residents import shutdown_workers
from djframe.connection import Connection, conn, connect
from djframe.diagram import Diagram
from djframe.errors import (
    AccessError,
    BucketInaccessible,
    ConfigError,
    ConflictError,
    ConnectionError,
    DataError,
    DataJointError,
    DefinitionError,
    DjframeError,
    DuplicateError,
    IntegrityError,
    JobError,
    LineageError,
    LostConnectionError,
    MissingAttributeError,
    MissingDefinitionError,
    MissingExternalFile,
    MissingKeyError,
    MissingParentError,
    MissingTableError,
    QueryArgumentError,
    QueryError,
    QuerySyntaxError,
    StoreError,
    UnknownAttributeError,
    UnknownTypeError,
)
from djframe.fetch import key
from djframe.heading import Attribute, Heading
from djframe.objectref import ObjectRef
from djframe.schema import (
    Schema,
    VirtualModule,
    create_virtual_module,
    list_schemas,
    virtual_schema,
)
from djframe.settings import config
from djframe.store import Store
from djframe.table import FreeTable, Lookup, Manual, Part, Table
from djframe.table import Manual as Entry
from djframe.validation import ValidationResult

__version__ = "0.1.0.dev0"

__all__ = [
    "AccessError",
    "AndList",
    "Attribute",
    "BucketInaccessible",
    "Codec",
    "Compute",
    "Computed",
    "ConfigError",
    "ConflictError",
    "Connection",
    "ConnectionError",
    "DataError",
    "DataJointError",
    "DefinitionError",
    "Diagram",
    "DjframeError",
    "DuplicateError",
    "Entry",
    "FreeTable",
    "Heading",
    "Imported",
    "Ingest",
    "IntegrityError",
    "JobError",
    "LineageError",
    "Lookup",
    "LostConnectionError",
    "Manual",
    "MatCell",
    "MatStruct",
    "MissingAttributeError",
    "MissingDefinitionError",
    "MissingExternalFile",
    "MissingKeyError",
    "MissingParentError",
    "MissingTableError",
    "Not",
    "NpyRef",
    "ObjectRef",
    "Part",
    "QueryArgumentError",
    "QueryError",
    "QueryExpression",
    "QuerySyntaxError",
    "Schema",
    "SchemaCodec",
    "Store",
    "StoreError",
    "Table",
    "Top",
    "U",
    "UnknownAttributeError",
    "UnknownTypeError",
    "ValidationResult",
    "VirtualModule",
    "config",
    "conn",
    "connect",
    "create_virtual_module",
    "get_codec",
    "key",
    "list_codecs",
    "list_schemas",
    "populate",
    "shutdown_workers",
    "virtual_schema",
]

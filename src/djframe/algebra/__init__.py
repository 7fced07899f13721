"""The query algebra: restriction, join, projection, aggregation, union, ``dj.U`` and ``dj.Top``.

Each operator is a :class:`~djframe.algebra.expression.QueryExpression` whose heading (names,
primary key, lineage) is derived when it is built; expressions lower to Ibis and run only when
results are asked for. The public names are re-exported by :mod:`djframe`.
"""

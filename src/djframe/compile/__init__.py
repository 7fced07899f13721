"""The compiler: query expressions -> Ibis -> SQL text for a backend's dialect.

``lower`` holds what lowering needs (the context that collects local frames, the
:class:`~djframe.compile.lower.Relation` protocol nodes implement); ``fragments`` turns the
portable SQL of restrictions and computed attributes into Ibis values; ``sql`` compiles the
final relation of a query (order, limit, export casts) to text; ``cache`` reuses the text of
queries whose shape was compiled before.
"""

"""djframe's benchmark harness: ``python -m benchmarks.run`` (``nox -s bench``).

One module per benchmark, each with a ``run(ctx)`` function, listed in
:data:`benchmarks.harness.REGISTRY`.
"""

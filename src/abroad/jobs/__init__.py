"""The jobs the CLI (and the server) call: demo, plan, evaluate, compare.

Each job chains the pure steps (``abroad.network``, the numeric core) and returns a typed
result from ``abroad.results``; jobs that write files do it through ``abroad.io`` and
``abroad.report``. Nothing below this package imports it.
"""

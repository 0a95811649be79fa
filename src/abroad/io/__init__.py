"""Reading and writing scenarios, station specs and plans. The only layer that touches files."""

from abroad.io.errors import InputError, Problem, ProblemCollector

__all__ = ["InputError", "Problem", "ProblemCollector"]

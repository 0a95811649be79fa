"""abroad: plan and run in-person voting and consular services for citizens abroad."""

__version__ = "0.1.0"

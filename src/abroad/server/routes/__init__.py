"""Routes grouped by who uses them; each declares its access with ``access.allow``."""

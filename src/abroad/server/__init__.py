"""The abroad server: a FastAPI edge over the same jobs the CLI calls.

Storage is SQLAlchemy 2 (SQLite by default, PostgreSQL in production) with Alembic
migrations; every change to stored data appends to a hash-chained audit log.
"""

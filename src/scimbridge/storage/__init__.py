"""SQLAlchemy storage: tables, repositories and Alembic migrations."""

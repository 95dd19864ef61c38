"""SQLite storage: the database handle with its migrations, and the repositories built on it."""

from connector.storage.db import ConnectorDB, open_db

__all__ = ["ConnectorDB", "open_db"]

"""The progress store: `db` opens, migrates, locks and writes the SQLite file; `queries`
holds the read-only aggregate queries behind `tutor stats`."""

from tutor.store.db import (
    APPLICATION_ID,
    BUSY_TIMEOUT_S,
    DB_NAME,
    LOCK_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    CardRow,
    Review,
    Store,
    db_path,
    error_kind,
    open_store,
    reset,
    sqlite_errors,
    storable,
    store_error,
)

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_S", "DB_NAME", "LOCK_NAME", "MIGRATIONS",
           "SCHEMA_VERSION", "CardRow", "Review", "Store", "db_path", "error_kind",
           "open_store", "reset", "sqlite_errors", "storable", "store_error"]

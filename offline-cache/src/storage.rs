//! The SQLite file: opening it safely, pragmas and versioned migrations.
//!
//! Only this module knows the schema's history. A database written by a newer
//! release, a file that is not ours and a corrupt file are refused with a clear
//! error before anything is written to them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// `PRAGMA application_id` of our files ("KOSK"), so a foreign SQLite file is never migrated.
const APPLICATION_ID: i32 = 0x4B4F_534B;

/// Migrations in order; `PRAGMA user_version` is the number applied so far.
const MIGRATIONS: &[&str] = &[
    // 1: outbox, receipt index, counters, sync status, catalogue cache.
    r"
    CREATE TABLE receipts (
        reference        TEXT PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'discarded')),
        server_reference TEXT,
        updated_at_ms    INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE submissions (
        id                 TEXT PRIMARY KEY,
        -- Unique through receipts' primary key (one receipt per submission).
        reference          TEXT NOT NULL REFERENCES receipts (reference),
        service_id         TEXT NOT NULL,
        service_version    INTEGER NOT NULL,
        created_at_ms      INTEGER NOT NULL,
        size               INTEGER NOT NULL,
        state              TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'failed')),
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        last_error         TEXT,
        jwe                TEXT NOT NULL
    ) STRICT;
    CREATE INDEX submissions_due ON submissions (state, next_attempt_at_ms);
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sync_status (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE catalogue_cache (
        slot          INTEGER PRIMARY KEY CHECK (slot = 1),
        etag          TEXT,
        bundle        BLOB NOT NULL,
        fetched_at_ms INTEGER NOT NULL
    ) STRICT;
    ",
    // 2: multi-step delivery (FIT-Connect). Extra sealed parts per record (encrypted
    // metadata, attachments), the transport's resumable progress, cached recipient keys,
    // and the time a record was handed over and waits for the office's acceptance.
    r"
    ALTER TABLE submissions ADD COLUMN awaiting_since_ms INTEGER;
    CREATE TABLE submission_parts (
        submission_id TEXT NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
        name          TEXT NOT NULL,
        jwe           TEXT NOT NULL,
        PRIMARY KEY (submission_id, name)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE delivery_progress (
        submission_id TEXT PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
        progress      TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE recipient_keys (
        scope         TEXT PRIMARY KEY,
        kid           TEXT NOT NULL,
        jwk           TEXT NOT NULL,
        fetched_at_ms INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    ",
];

/// The schema version this release writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How to open the database file.
#[derive(Debug, Clone)]
pub(crate) struct StorageOptions {
    pub busy_timeout: Duration,
    pub max_page_count: Option<u32>,
}

/// The database cannot be opened; the file was left untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Written by a newer release of the kiosk software.
    #[error(
        "{path}: written by a newer kiosk release (schema {found}, this release knows up to \
         {supported}); install that release again, the file was not changed"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: u32,
        /// The newest this release understands.
        supported: u32,
    },
    /// Not a database of this software.
    #[error(
        "{path}: this is an SQLite file of another program; point the outbox at its own file, \
         the file was not changed"
    )]
    ForeignDatabase {
        /// The database file.
        path: PathBuf,
    },
    /// Corrupt or not an SQLite file at all.
    #[error(
        "{path}: the outbox database is damaged ({detail}); keep the file for recovery and \
         call support, it was not changed"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// Any other failure (permissions, locked by another process, disk).
    #[error("{path}: cannot open the outbox database: {detail}")]
    Storage {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

pub(crate) fn open(path: &Path, options: &StorageOptions) -> Result<Connection, OpenError> {
    let storage = |e: rusqlite::Error| classify_open_error(path, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(storage)?;
    conn.busy_timeout(options.busy_timeout).map_err(storage)?;

    // Read-only checks first: nothing is written before we know the file is ours.
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(storage)?;
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(storage)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(storage)?;
    if app_id != APPLICATION_ID && (app_id != 0 || objects > 0) {
        return Err(OpenError::ForeignDatabase {
            path: path.to_owned(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let check: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(storage)?;
    if check != "ok" {
        return Err(OpenError::Corrupt {
            path: path.to_owned(),
            detail: check,
        });
    }

    // WAL with synchronous=FULL: a committed transaction survives power loss.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(storage)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::Storage {
            path: path.to_owned(),
            detail: format!("the file system does not allow write-ahead logging (got '{mode}')"),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(storage)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(storage)?;
    if let Some(pages) = options.max_page_count {
        conn.pragma_update(None, "max_page_count", pages)
            .map_err(storage)?;
    }

    migrate(&conn, version).map_err(storage)?;
    Ok(conn)
}

fn migrate(conn: &Connection, from: u32) -> rusqlite::Result<()> {
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    for sql in &MIGRATIONS[from as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()
}

fn classify_open_error(path: &Path, e: rusqlite::Error) -> OpenError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => OpenError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        _ => OpenError::Storage {
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// A storage failure after the database was opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The disk (or the configured size limit) is full; nothing was changed.
    #[error(
        "the kiosk's storage is full; nothing was saved and earlier submissions are intact. \
         Free disk space or raise the size limit, then try again"
    )]
    Full,
    /// Another process holds the database longer than the busy timeout.
    #[error("the outbox database is busy (held by another process); try again")]
    Busy,
    /// Any other SQLite failure.
    #[error("the outbox database failed: {0}")]
    Sqlite(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::Full,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy,
            _ => Self::Sqlite(e.to_string()),
        }
    }
}

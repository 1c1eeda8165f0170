//! The SQLite file: opening it safely, pragmas, versioned migrations and
//! checkpoints.
//!
//! Only this module knows the schema's history. A database written by a newer
//! release, a file that is not ours and a corrupt file are refused with a clear
//! error before anything is written to them.
//!
//! What one enqueue writes (WAL, 4 KiB pages, one frame per changed page, one
//! `fsync` per commit): the `counters` row, the submission row (the JWE of a
//! form of up to about 2.9 KiB of answers fits in its page, no overflow pages;
//! the JWE is the last column, so the metadata columns never share a page
//! with an overflow chain) and its two index entries (`id`, and `state,
//! next_attempt_at_ms` for the claim), plus page 1 when the file grows: about
//! five frames. Schema 3 took two b-trees off that path: the receipt row is
//! written when the submission leaves the outbox, and the receipt's unique
//! index on a random UUID is gone (7.1 frames per enqueue before).
//!
//! Checkpoints (copying the WAL back into the database file, with an `fsync`
//! of the file) run on a [`Checkpointer`] thread with its own connection when
//! the outbox is quiet, not inside a citizen's commit; the writer keeps
//! SQLite's own automatic checkpoint only as a bound on the WAL's size.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    // 3: two b-trees fewer per enqueue, the citizen's commit.
    // - A receipt row is written when its submission leaves the outbox
    //   (delivered or discarded), in that transaction, no longer at enqueue:
    //   while the submission is queued, its row (which carries the reference)
    //   is the receipt. So `submissions.reference` no longer points at
    //   `receipts`; it stays unique by construction (`counters`, one number
    //   per enqueue, never reused), and pending receipts are dropped.
    // - `receipts.id` was UNIQUE: an index on a random UUID (a random leaf
    //   written, and split every few dozen). Receipts are found by reference,
    //   their key; the id stays as data.
    // Both tables are rebuilt the way SQLite documents for constraint changes
    // (foreign keys off while migrating, checked before the commit).
    r"
    CREATE TABLE receipts_v3 (
        reference        TEXT PRIMARY KEY,
        id               TEXT NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'discarded')),
        server_reference TEXT,
        updated_at_ms    INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    INSERT INTO receipts_v3 (reference, id, state, server_reference, updated_at_ms)
        SELECT reference, id, state, server_reference, updated_at_ms FROM receipts
        WHERE state != 'pending' OR reference NOT IN (SELECT reference FROM submissions);
    DROP TABLE receipts;
    ALTER TABLE receipts_v3 RENAME TO receipts;

    CREATE TABLE submissions_v3 (
        id                 TEXT PRIMARY KEY,
        -- Unique by construction (the 'reference' counter); the receipt row is
        -- written when the submission leaves.
        reference          TEXT NOT NULL,
        service_id         TEXT NOT NULL,
        service_version    INTEGER NOT NULL,
        created_at_ms      INTEGER NOT NULL,
        size               INTEGER NOT NULL,
        state              TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'failed')),
        attempts           INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        last_error         TEXT,
        awaiting_since_ms  INTEGER,
        -- Last, so the metadata columns never share a page with an overflow chain.
        jwe                TEXT NOT NULL
    ) STRICT;
    INSERT INTO submissions_v3 (id, reference, service_id, service_version, created_at_ms,
                                size, state, attempts, next_attempt_at_ms, last_error,
                                awaiting_since_ms, jwe)
        SELECT id, reference, service_id, service_version, created_at_ms, size, state,
               attempts, next_attempt_at_ms, last_error, awaiting_since_ms, jwe
        FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_v3 RENAME TO submissions;
    CREATE INDEX submissions_due ON submissions (state, next_attempt_at_ms);
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
    if let Some(pages) = options.max_page_count {
        conn.pragma_update(None, "max_page_count", pages)
            .map_err(storage)?;
    }

    // Foreign keys are off while migrating (the bundled SQLite turns them on by
    // default): a migration that rebuilds a table needs them off, and `PRAGMA
    // foreign_keys` is ignored inside the migration's transaction. `migrate`
    // checks every reference before it commits.
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(storage)?;
    migrate(&conn, version).map_err(storage)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(storage)?;
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
    // Every reference must be intact after the migration (foreign keys were
    // off); if not, the file was damaged before: roll back, leave it as it was
    // and report it as damaged rather than open a broken outbox.
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!("{broken} rows point at records that do not exist")),
        ));
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

/// WAL frames (pages) after which the writer checkpoints inside its own
/// commit (SQLite's automatic checkpoint, default 1,000). With the
/// [`Checkpointer`] running this is only the bound on the WAL (8 MiB) under a
/// load that never leaves a quiet moment, such as a long drain.
const INLINE_CHECKPOINT_FRAMES: u32 = 2_000;
/// SQLite's default automatic checkpoint, used when there is no [`Checkpointer`].
const DEFAULT_CHECKPOINT_FRAMES: u32 = 1_000;
/// Commits after which the [`Checkpointer`] copies the WAL back (an enqueue
/// writes about six frames, so well below [`INLINE_CHECKPOINT_FRAMES`]). Not
/// fewer: the commit after a complete checkpoint starts the WAL afresh, which
/// costs it one more `fsync` (of the WAL header), so this is how often a
/// commit pays that.
const CHECKPOINT_AFTER_COMMITS: u64 = 200;
/// How long no commit must have come before the background checkpoint starts:
/// it only runs when nobody waits for a commit (between citizens), never
/// competing with one for the disk. Without such a moment the writer's own
/// checkpoint at [`INLINE_CHECKPOINT_FRAMES`] takes over.
const QUIET: Duration = Duration::from_millis(50);

struct CheckpointState {
    /// Commits since the last checkpoint started.
    commits: u64,
    last_commit: Instant,
    stop: bool,
    /// Checkpoints run so far (tests wait for them).
    done: u64,
}

struct CheckpointShared {
    state: Mutex<CheckpointState>,
    wake: Condvar,
}

impl CheckpointShared {
    fn lock(&self) -> MutexGuard<'_, CheckpointState> {
        // Plain counters: consistent across a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checkpoints the outbox's WAL on a background thread with its own
/// connection, at a quiet moment after [`CHECKPOINT_AFTER_COMMITS`] commits,
/// so no enqueue pays for copying pages into the database file and its
/// `fsync`. A passive checkpoint never blocks the writer and changes nothing
/// about durability: a commit is durable once its WAL frames are synced.
/// Dropping it stops and joins the thread (it finishes the checkpoint it is
/// running: at most [`INLINE_CHECKPOINT_FRAMES`] pages to copy).
pub(crate) struct Checkpointer {
    shared: Arc<CheckpointShared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl Checkpointer {
    /// Starts the thread for the database at `path`, already opened (and
    /// migrated) as `writer`, and moves the writer's automatic checkpoint up
    /// to [`INLINE_CHECKPOINT_FRAMES`]. If the second connection or the thread
    /// cannot be had, the writer keeps SQLite's default and checkpoints inline.
    pub(crate) fn start(path: &Path, writer: &Connection) -> Self {
        let shared = Arc::new(CheckpointShared {
            state: Mutex::new(CheckpointState {
                commits: 0,
                last_commit: Instant::now(),
                stop: false,
                done: 0,
            }),
            wake: Condvar::new(),
        });
        let thread = open_checkpoint_connection(path)
            .map_err(|e| e.to_string())
            .and_then(|conn| {
                let for_thread = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name("outbox-checkpoint".into())
                    .spawn(move || checkpoint_loop(&conn, &for_thread))
                    .map_err(|e| e.to_string())
            });
        let frames = match &thread {
            Ok(_) => INLINE_CHECKPOINT_FRAMES,
            Err(e) => {
                tracing::warn!(error = %e, "no background checkpoints; the outbox checkpoints inside commits");
                DEFAULT_CHECKPOINT_FRAMES
            }
        };
        if let Err(e) = writer.pragma_update(None, "wal_autocheckpoint", frames) {
            tracing::warn!(error = %e, "cannot set the automatic checkpoint");
        }
        Self {
            shared,
            thread: thread.ok(),
        }
    }

    /// Tells the thread that a transaction was committed.
    pub(crate) fn committed(&self) {
        let mut state = self.shared.lock();
        state.commits += 1;
        state.last_commit = Instant::now();
        if state.commits == CHECKPOINT_AFTER_COMMITS {
            drop(state);
            // All: tests may wait on the same condition variable.
            self.shared.wake.notify_all();
        }
    }

    /// Checkpoints run by the thread so far.
    #[cfg(test)]
    pub(crate) fn checkpoints(&self) -> u64 {
        self.shared.lock().done
    }

    /// Waits until the thread has run `count` checkpoints, at most `limit`.
    #[cfg(test)]
    pub(crate) fn wait_for_checkpoints(&self, count: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = self.shared.lock();
        while state.done < count {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            state = self
                .shared
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::warn!("the checkpoint thread had panicked");
        }
    }
}

fn open_checkpoint_connection(path: &Path) -> rusqlite::Result<Connection> {
    // The file exists and is ours: the writer opened and migrated it.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // FULL: the WAL is synced before pages are copied and the database file
    // after, as for the writer's own checkpoints.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Never the writer's automatic checkpoint on this connection: it writes
    // nothing but the no-op that restarts the WAL (`restart_wal`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

fn checkpoint_loop(conn: &Connection, shared: &CheckpointShared) {
    let mut state = shared.lock();
    loop {
        // Wait for enough commits.
        while !state.stop && state.commits < CHECKPOINT_AFTER_COMMITS {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        // Then for a quiet moment; each wait ends by itself.
        loop {
            if state.stop {
                return;
            }
            let quiet_at = state.last_commit + QUIET;
            let now = Instant::now();
            if now >= quiet_at {
                break;
            }
            state = shared
                .wake
                .wait_timeout(state, quiet_at - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.commits = 0;
        drop(state);
        // PASSIVE: copies what no reader still needs, never waits for the writer.
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match result {
            Ok((wal_frames, copied)) => {
                tracing::debug!(wal_frames, copied, "WAL checkpointed in the background");
                if wal_frames > 0 && wal_frames == copied && !restart_wal(conn) {
                    tracing::error!(
                        "the background checkpoint connection is stuck in a transaction; \
                         closing it, the outbox checkpoints inside commits from now on"
                    );
                    let mut state = shared.lock();
                    state.done += 1;
                    shared.wake.notify_all();
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "background checkpoint failed; the writer's own one still bounds the WAL")
            }
        }
        state = shared.lock();
        state.done += 1;
        shared.wake.notify_all();
    }
}

/// Starts the WAL over now, in the quiet moment after a complete checkpoint.
///
/// The first commit after a complete checkpoint writes the WAL from its
/// beginning again, and before its frames it rewrites the WAL header and syncs
/// it (SQLite's guard against out-of-order writes after a restart): two syncs
/// instead of one. A write here takes that on; it changes nothing (the schema
/// version is written with the value it has), so the next citizen's commit
/// appends behind it with one sync. If the writer is busy, the commit after it
/// restarts the WAL as before.
///
/// Returns `false` when the connection is left inside a transaction it cannot end
/// (the rollback failed too): it would hold the write lock and block every save, so
/// the thread must close it.
fn restart_wal(conn: &Connection) -> bool {
    let result = conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ));
    if let Err(e) = result {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        tracing::debug!(error = %e, "WAL not restarted in the background; the next commit does it");
    }
    conn.is_autocommit()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> StorageOptions {
        StorageOptions {
            busy_timeout: Duration::from_secs(5),
            max_page_count: None,
        }
    }

    /// Generous: the test machine is shared.
    const LIMIT: Duration = Duration::from_secs(60);

    /// A file as a release with schema 2 left it, with `rows` inserted.
    fn schema_2_file(path: &Path, rows: &str) {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.execute_batch(rows).unwrap();
    }

    fn strings(conn: &Connection, sql: &str) -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_schema_2_file_keeps_its_records_and_final_receipts_through_migration_3() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        schema_2_file(
            &path,
            "INSERT INTO receipts VALUES ('GE-K27-22222-A', 'id-1', 'pending', NULL, 1);
             INSERT INTO receipts VALUES ('GE-K27-33333-B', 'id-2', 'delivered', 'S-9', 2);
             INSERT INTO submissions (id, reference, service_id, service_version, created_at_ms,
                                      size, state, next_attempt_at_ms, jwe, awaiting_since_ms)
                 VALUES ('id-1', 'GE-K27-22222-A', 'dog-tax', 1, 1, 10, 'queued', 1, 'a.b.c.d.e', 7);
             INSERT INTO submission_parts VALUES ('id-1', 'metadata', 'f.g.h.i.j');",
        );
        let conn = open(&path, &options()).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);

        // The pending receipt is gone (the queued submission is its receipt
        // now); the final one stays.
        let receipts: Vec<(String, String, String, Option<String>)> = conn
            .prepare("SELECT reference, id, state, server_reference FROM receipts")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            receipts,
            [(
                "GE-K27-33333-B".into(),
                "id-2".into(),
                "delivered".into(),
                Some("S-9".into())
            )]
        );
        let submission: (String, String, Option<i64>, String) = conn
            .query_row(
                "SELECT id, reference, awaiting_since_ms, jwe FROM submissions",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            submission,
            (
                "id-1".into(),
                "GE-K27-22222-A".into(),
                Some(7),
                "a.b.c.d.e".into()
            )
        );
        // No index left on the receipt's id, the claim index is back, no
        // table of the rebuild is left over.
        let unique = unique_indexes_on_receipts(&conn);
        assert_eq!(unique, 0);
        assert_eq!(
            strings(
                &conn,
                "SELECT name FROM sqlite_schema
                 WHERE name LIKE 'receipts%' OR name LIKE 'submissions%' ORDER BY name"
            ),
            ["receipts", "submissions", "submissions_due"]
        );
        // The sealed part still belongs to its submission, and foreign keys hold.
        assert_eq!(
            strings(&conn, "SELECT submission_id FROM submission_parts"),
            ["id-1"]
        );
        let orphan = conn.execute(
            "INSERT INTO submission_parts VALUES ('id-9', 'metadata', 'f.g.h.i.j')",
            [],
        );
        assert!(orphan.is_err(), "a part without submission was accepted");
    }

    #[test]
    fn a_file_with_broken_references_is_not_migrated_and_stays_schema_2() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        // Damaged: a sealed part whose submission is gone.
        schema_2_file(
            &path,
            "INSERT INTO submission_parts VALUES ('id-1', 'metadata', 'f.g.h.i.j');",
        );
        let err = open(&path, &options()).unwrap_err();
        assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("do not exist"), "{err}");
        // Rolled back: still schema 2 with its tables as they were.
        let conn = Connection::open(&path).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2, "the migration was not rolled back");
        let unique = unique_indexes_on_receipts(&conn);
        assert_eq!(unique, 1);
        assert_eq!(
            strings(&conn, "SELECT submission_id FROM submission_parts"),
            ["id-1"]
        );
        assert!(
            strings(
                &conn,
                "SELECT name FROM sqlite_schema WHERE name LIKE '%_v3'"
            )
            .is_empty()
        );
    }

    #[test]
    fn the_background_thread_checkpoints_after_enough_commits_and_stops_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let writer = open(&path, &options()).unwrap();
        let checkpointer = Checkpointer::start(&path, &writer);
        assert!(checkpointer.thread.is_some(), "the thread did not start");
        let frames: u32 = writer
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(frames, INLINE_CHECKPOINT_FRAMES);
        for n in 0..CHECKPOINT_AFTER_COMMITS {
            commit_row(&writer, &checkpointer, n);
        }
        assert!(
            checkpointer.wait_for_checkpoints(1, LIMIT),
            "no background checkpoint"
        );
        assert_eq!(checkpointer.checkpoints(), 1);
        // Everything in the WAL is in the database file now: a checkpoint by
        // the writer finds nothing left to copy.
        let (log, copied): (i64, i64) = writer
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert!(log > 0);
        assert_eq!(log, copied);

        let shared = Arc::downgrade(&checkpointer.shared);
        drop(checkpointer);
        assert!(
            shared.upgrade().is_none(),
            "the thread still holds its state"
        );
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM sync_status", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, CHECKPOINT_AFTER_COMMITS as i64);
    }

    /// How many UNIQUE indexes (not primary keys) the receipts table has.
    fn unique_indexes_on_receipts(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT count(*) FROM pragma_index_list('receipts') WHERE origin = 'u'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// One committed row, told to the checkpoint thread as the outbox does.
    fn commit_row(writer: &Connection, checkpointer: &Checkpointer, n: u64) {
        writer
            .execute(
                "INSERT INTO sync_status (key, value) VALUES (?1, ?2)",
                rusqlite::params![format!("k{n}"), n as i64],
            )
            .unwrap();
        checkpointer.committed();
    }

    /// The WAL header's checkpoint sequence number (big-endian at byte 12):
    /// SQLite counts it up each time the WAL starts over.
    fn wal_restarts(path: &Path) -> u32 {
        let wal = std::fs::read(path.with_extension("sqlite-wal")).unwrap();
        u32::from_be_bytes(wal[12..16].try_into().unwrap())
    }

    #[test]
    fn the_background_thread_starts_the_wal_over_so_no_commit_pays_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let writer = open(&path, &options()).unwrap();
        let checkpointer = Checkpointer::start(&path, &writer);
        for n in 0..CHECKPOINT_AFTER_COMMITS {
            commit_row(&writer, &checkpointer, n);
        }
        let before = wal_restarts(&path);
        assert!(checkpointer.wait_for_checkpoints(1, LIMIT));
        assert_eq!(
            wal_restarts(&path),
            before + 1,
            "the WAL was started over by the thread, before the next commit"
        );
        // The next commit appends behind the restart: no second one.
        commit_row(&writer, &checkpointer, CHECKPOINT_AFTER_COMMITS);
        assert_eq!(wal_restarts(&path), before + 1);
        let version: u32 = writer
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION, "the restart changed nothing");
        let rows: i64 = writer
            .query_row("SELECT count(*) FROM sync_status", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, CHECKPOINT_AFTER_COMMITS as i64 + 1);
    }

    #[test]
    fn without_a_second_connection_the_writer_checkpoints_inline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.sqlite");
        let writer = open(&path, &options()).unwrap();
        let checkpointer = Checkpointer::start(&dir.path().join("missing.sqlite"), &writer);
        assert!(checkpointer.thread.is_none());
        let frames: u32 = writer
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(frames, DEFAULT_CHECKPOINT_FRAMES);
    }
}

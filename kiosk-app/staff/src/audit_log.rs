//! The audit log file: JSON lines, appended and fsynced one entry at a time.
//!
//! This is the only module of the crate that does I/O. The state machine
//! produces [`AuditEntry`] values as effects; the app writes them here (on a
//! blocking thread: every append waits for the disk).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit::AuditEntry;

/// The audit log could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditLogError {
    /// Opening or creating the file failed.
    #[error(
        "could not open the staff audit log {path}: {source}; check that the data directory exists and belongs to the kiosk's user"
    )]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Appending or syncing failed (full disk, I/O error).
    #[error("could not append to the staff audit log {path}: {source}; check free disk space")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// An append-only JSON-lines file of [`AuditEntry`]s.
///
/// Every [`AuditLog::append`] writes one whole line with a single `write`
/// to a file opened in append mode, then `fdatasync`s it: an entry that was
/// appended survives a power cut, and a crash never leaves half an entry in
/// the middle of the file (at most a torn last line).
#[derive(Debug)]
pub struct AuditLog {
    file: File,
    path: PathBuf,
}

impl AuditLog {
    /// Opens `path` for appending, creating it (readable by the kiosk's user
    /// only) if needed. The parent directory must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditLogError> {
        let path = path.as_ref().to_owned();
        let open_error = |source| AuditLogError::Open {
            path: path.clone(),
            source,
        };
        let existed = path.exists();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(open_error)?;
        if !existed {
            // The new file's directory entry must survive a power cut too.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(open_error)?;
            }
        }
        Ok(Self { file, path })
    }

    /// Appends `entry` as one line and waits until it is on disk.
    pub fn append(&mut self, entry: &AuditEntry) -> Result<(), AuditLogError> {
        let mut line = entry.to_json_line();
        line.push('\n');
        let write_error = |source| AuditLogError::Write {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(write_error)?;
        self.file.sync_data().map_err(write_error)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

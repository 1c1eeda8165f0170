//! Secrets (the portal's client secret) come from a file only the kiosk's
//! user can read, or from a systemd credential; never from `kiosk.toml`.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file with mode 0600 or 0400 (no group or other access).
    File(PathBuf),
    /// A systemd credential (`LoadCredential=NAME:PATH` in the unit), read
    /// from `$CREDENTIALS_DIRECTORY/NAME`.
    SystemdCredential(String),
}

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The file is missing or unreadable.
    #[error("cannot read the secret file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// Others may read the file.
    #[error(
        "the secret file {path} may be read by group or others (mode {mode:03o}); run `chmod 600 {path}` and make the kiosk user its owner"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is empty.
    #[error("the secret file {path} is empty; write the client secret into it (one line)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// No systemd credentials are available to this process.
    #[error(
        "systemd credential '{name}' asked for, but CREDENTIALS_DIRECTORY is not set; add LoadCredential={name}:/etc/kiosk/credentials/{name} to the service, or use portal.client_secret_file"
    )]
    NoCredentialsDirectory {
        /// The credential's name.
        name: String,
    },
}

impl SecretSource {
    /// Reads the secret; `credentials_directory` is `$CREDENTIALS_DIRECTORY`.
    pub fn read(&self, credentials_directory: Option<&Path>) -> Result<SecretString, SecretError> {
        match self {
            Self::File(path) => read_secret_file(path),
            // systemd makes the credential readable only by the service; its
            // directory is private, so the mode check is not needed there.
            Self::SystemdCredential(name) => {
                let directory = credentials_directory
                    .ok_or_else(|| SecretError::NoCredentialsDirectory { name: name.clone() })?;
                read_trimmed(&directory.join(name))
            }
        }
    }

    /// Reads the secret with `$CREDENTIALS_DIRECTORY` from the environment.
    pub fn read_from_environment(&self) -> Result<SecretString, SecretError> {
        let directory = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        self.read(directory.as_deref())
    }
}

/// Reads a secret file, refusing one that group or others may read.
pub fn read_secret_file(path: &Path) -> Result<SecretString, SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(|error| SecretError::Unreadable {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    read_trimmed(path)
}

fn read_trimmed(path: &Path) -> Result<SecretString, SecretError> {
    use secrecy::ExposeSecret;
    let text = zeroizing_read(path)?;
    let secret = text.expose_secret().trim();
    if secret.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(SecretString::from(secret.to_owned()))
}

/// Reads the file into a string that is overwritten when dropped.
fn zeroizing_read(path: &Path) -> Result<secrecy::SecretString, SecretError> {
    std::fs::read_to_string(path)
        .map(SecretString::from)
        .map_err(|error| SecretError::Unreadable {
            path: path.to_owned(),
            reason: error.to_string(),
        })
}

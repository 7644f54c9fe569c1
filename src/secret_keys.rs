//! The server keys that hash low-entropy one-time secrets (codes, activation
//! keys, provisional passwords; `domain::secret::SecretKeys`), read from
//! files kept out of the database: a copy of the database alone then
//! reveals none of them. Every replica must read the same files.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::secret::{SecretKeys, random_key_hex};

/// `[secret_hashing]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretHashingSettings {
    /// The file holding the current key (64 hex characters or more). With
    /// SQLite, created with a random key when missing; with PostgreSQL it
    /// must exist (replicas must share it).
    pub key_file: PathBuf,
    /// Files of former keys, still accepted (rotation: move the current
    /// file here, write a new one, drop the old once what it hashed has
    /// expired).
    #[serde(default)]
    pub previous_key_files: Vec<PathBuf>,
}

/// Why the keys cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyFileError {
    #[error("secret_hashing: {path}: {message}")]
    File { path: String, message: String },
}

fn file_error(path: &Path, message: impl ToString) -> SecretKeyFileError {
    SecretKeyFileError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Reads the keys; creates the current key file when `create_missing` (a
/// single-process SQLite deployment) and it does not exist yet.
pub fn load(
    settings: &SecretHashingSettings,
    create_missing: bool,
) -> Result<SecretKeys, SecretKeyFileError> {
    let current = &settings.key_file;
    if create_missing && !current.exists() {
        create(current)?;
    }
    let keys = std::iter::once(current)
        .chain(&settings.previous_key_files)
        .map(|path| read(path))
        .collect::<Result<Vec<_>, _>>()?;
    SecretKeys::new(keys).map_err(|e| file_error(current, e))
}

fn read(path: &Path) -> Result<Vec<u8>, SecretKeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        file_error(
            path,
            format!("{e} (create it with 32 random bytes in hex, shared by every replica)"),
        )
    })?;
    hex::decode(text.trim()).map_err(|e| file_error(path, format!("not hex: {e}")))
}

fn create(path: &Path) -> Result<(), SecretKeyFileError> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| file_error(folder, e))?;
    }
    let key = random_key_hex(&mut rand::rngs::SysRng).map_err(|e| file_error(path, e))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| file_error(path, e))?;
    file.write_all(key.as_bytes())
        .map_err(|e| file_error(path, e))?;
    tracing::warn!(path = %path.display(), "created a new secret hashing key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_created_once_and_read_back_the_same() {
        let dir = tempfile::tempdir().expect("temp");
        let settings = SecretHashingSettings {
            key_file: dir.path().join("keys/current.key"),
            previous_key_files: Vec::new(),
        };
        let refused = load(&settings, false).unwrap_err();
        assert!(refused.to_string().contains("current.key"), "{refused}");
        let first = load(&settings, true).expect("created");
        let again = load(&settings, true).expect("read");
        assert_eq!(first.current_id(), again.current_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&settings.key_file)
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&settings.key_file, "abcd").expect("write");
        assert!(load(&settings, false).is_err(), "too short");
    }
}

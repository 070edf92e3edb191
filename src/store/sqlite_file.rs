//! The SQLite database file: created readable and writable by its owner only, before SQLite
//! opens it. SQLite gives the files it makes beside it (the write-ahead log `-wal`, the
//! shared-memory index `-shm`, a rollback `-journal`) the permissions of the database file, so
//! they are private too. A file that exists is left as it is, with a warning when others may
//! read it.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::SqliteConnectOptions;

/// Whether a SQLite URL names a database in memory, which has no file.
pub(super) fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Creates the database file of `url` with mode 0600 if it does not exist yet.
pub(super) fn create_private(url: &str) -> anyhow::Result<()> {
    if in_memory(url) {
        return Ok(());
    }
    let options = SqliteConnectOptions::from_str(url)?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    create(path).with_context(|| format!("creating the database file {}", path.display()))
}

#[cfg(unix)]
fn create(path: &Path) -> std::io::Result<()> {
    use std::io::ErrorKind;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{:o}", mode & 0o777),
                    "the database file may be read by other users: chmod 600 it"
                );
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

//! `kwanje backup FILE`: a consistent copy of a SQLite store, safe while the server is serving.
//!
//! SQLite's `VACUUM INTO` writes the database as one read transaction sees it: writers carry on
//! (WAL), the copy is consistent and compacted, and no `unsafe` call into the C backup API is
//! needed (the crate forbids unsafe code). The copy is written beside the target (mode 0600: it
//! holds the signing key and the password hashes), synced, and linked to its name only once
//! complete, so a failed backup never leaves a half file under its name and never replaces one.

use std::path::{Path, PathBuf};

use diesel::RunQueryDsl;
use thiserror::Error;

use super::conn::DbConnection;
use super::{Backend, DbUrl, Store, StoreError};

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("backup copies a SQLite store; for PostgreSQL use pg_dump (or the server's own replication)")]
    NotSqlite,
    #[error("there is no SQLite store at {0} (check DATABASE_URL)")]
    NoStore(PathBuf),
    #[error("{0} exists already: choose a new file (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error("{0}: the path is not valid UTF-8")]
    BadPath(PathBuf),
    #[error("writing the backup: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies the store at `url` (`sqlite://FILE`, which must exist) to `target`, which must not.
/// Answers the bytes written.
pub fn backup_url(url: &str, target: &Path) -> Result<u64, BackupError> {
    match url.parse::<DbUrl>()? {
        DbUrl::Postgres(_) => Err(BackupError::NotSqlite),
        DbUrl::Sqlite(path) if !path.starts_with("file:") && !Path::new(&path).exists() => {
            Err(BackupError::NoStore(PathBuf::from(path)))
        }
        DbUrl::Sqlite(_) => backup(&Store::open(url)?, target),
    }
}

/// Copies `store` (SQLite) to `target`, which must not exist. Answers the bytes written.
pub fn backup(store: &Store, target: &Path) -> Result<u64, BackupError> {
    if store.backend() != Backend::Sqlite {
        return Err(BackupError::NotSqlite);
    }
    if target.exists() {
        return Err(BackupError::Exists(target.to_owned()));
    }
    let partial = partial_name(target);
    if partial.exists() {
        log::warn!("backup removes a stale partial copy file={}", partial.display());
        std::fs::remove_file(&partial)?;
    }
    // Made empty first, readable by its owner only: the copy holds the signing key and the
    // password hashes. `VACUUM INTO` fills an empty file.
    private_empty_file(&partial)?;
    let text = partial.to_str().ok_or_else(|| BackupError::BadPath(partial.clone()))?;
    let sql = format!("VACUUM INTO '{}'", text.replace('\'', "''"));
    store.read_blocking(|c| match c {
        DbConnection::Sqlite(c) => diesel::sql_query(&sql).execute(c).map(|_| ()),
        DbConnection::Pg(_) => Ok(()),
    })?;
    // On disk before it takes the name, and never over a file made meanwhile: a hard link fails
    // when the name exists, where a rename would replace it.
    std::fs::File::open(&partial)?.sync_all()?;
    match std::fs::hard_link(&partial, target) {
        Ok(()) => std::fs::remove_file(&partial)?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&partial)?;
            return Err(BackupError::Exists(target.to_owned()));
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(std::fs::metadata(target)?.len())
}

fn private_empty_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(|_| ())
}

/// `FILE.partial`, beside the target.
fn partial_name(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_written_beside_the_target() {
        assert_eq!(partial_name(Path::new("/b/k.db")), PathBuf::from("/b/k.db.partial"));
    }

    #[test]
    fn a_backup_is_a_consistent_copy_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        let store = Store::open(&url).unwrap();
        store.migrate().unwrap();
        let target = dir.path().join("it's a backup.db");
        let bytes = backup(&store, &target).unwrap();
        assert!(bytes > 0);
        let copy = Store::open(&format!("sqlite://{}", target.display())).unwrap();
        assert!(copy.migrate().unwrap().is_empty(), "the copy holds every migration");
        assert!(matches!(backup(&store, &target), Err(BackupError::Exists(_))));
        assert!(!partial_name(&target).exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the copy holds secrets: owner only");
        let missing = dir.path().join("nope.db");
        let err = backup_url(&format!("sqlite://{}", missing.display()), &dir.path().join("b.db"));
        assert!(matches!(err, Err(BackupError::NoStore(_))), "{err:?}");
        assert!(!missing.exists(), "a typo does not create a store");
        let pg = backup_url("postgres://x@127.0.0.1/none", &dir.path().join("c.db"));
        assert!(matches!(pg, Err(BackupError::NotSqlite)), "{pg:?}");
    }
}

//! The embedded store's data directory, owned by one daemon: it holds `state.db` (see
//! `journal.rs`) and, from releases before the SQLite store, a `state.json` snapshot that
//! the first start migrates and then keeps as `state.json.migrated`.
//!
//! Two daemons must never share a data directory (each would decide on its own copy of the
//! state), so the directory is claimed with an exclusive lock on `mcp-coord.lock`, released
//! by the OS when the process ends — even after a crash.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::StoreError;

/// File names inside the data directory.
const LOCK_FILE: &str = "mcp-coord.lock";
const SNAPSHOT_FILE: &str = "state.json";
const MIGRATED_SNAPSHOT_FILE: &str = "state.json.migrated";

/// An exclusively claimed data directory.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    /// Held open until [`DataDir::release`] or the end of the process: the lock lives as long
    /// as this handle.
    lock: parking_lot::Mutex<Option<File>>,
}

impl DataDir {
    /// Creates the directory if needed and claims it, or says who holds it.
    pub fn claim(path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| {
            StoreError::Internal(format!(
                "cannot create the data directory {}: {e}; set MCP_COORD_DATA_DIR to a writable directory",
                path.display()
            ))
        })?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Internal(format!("cannot open {}: {e}", lock_path.display()))
            })?;
        if lock.try_lock().is_err() {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
            return Err(StoreError::Internal(format!(
                "another mcp-coord daemon{} already uses the embedded data directory {}; two daemons \
                 must never share one: stop the other, give this one its own directory \
                 (MCP_COORD_DATA_DIR), or point both at Redis (REDIS_URL)",
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                },
                path.display()
            )));
        }
        lock.set_len(0).ok();
        let _ = write!(lock, "{}", std::process::id());
        Ok(Self {
            path: path.to_path_buf(),
            lock: parking_lot::Mutex::new(Some(lock)),
        })
    }

    /// Lets the directory go once the journal is closed (the store's shutdown): a daemon
    /// started again in the same process (tests, an embedding program) can claim it while
    /// tasks of the old one still hold the store and finish.
    pub fn release(&self) {
        drop(self.lock.lock().take());
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn snapshot_path(&self) -> PathBuf {
        self.path.join(SNAPSHOT_FILE)
    }

    /// Reads the last snapshot, if any. A snapshot that cannot be parsed stops the start
    /// rather than being silently replaced (that would lose the user's state).
    pub fn load(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(self.snapshot_path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Internal(format!(
                "cannot read {}: {e}",
                self.snapshot_path().display()
            ))),
        }
    }

    /// Renames the migrated snapshot out of the way (kept as a backup) and returns its new
    /// path; the next start then reads only `state.db`.
    pub fn retire_snapshot(&self) -> Result<PathBuf, StoreError> {
        let kept = self.path.join(MIGRATED_SNAPSHOT_FILE);
        std::fs::rename(self.snapshot_path(), &kept).map_err(|e| {
            StoreError::Internal(format!(
                "cannot rename {} after migrating it: {e}",
                self.snapshot_path().display()
            ))
        })?;
        if let Ok(dir) = File::open(&self.path) {
            let _ = dir.sync_all();
        }
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_with_the_holder_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::claim(dir.path()).unwrap();
        let err = DataDir::claim(dir.path()).unwrap_err().to_string();
        assert!(err.contains("already uses"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("MCP_COORD_DATA_DIR"), "{err}");
        drop(first);
        DataDir::claim(dir.path()).expect("free again once the holder is gone");
    }

    #[test]
    fn a_released_claim_frees_the_directory_while_its_holder_still_exists() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::claim(dir.path()).unwrap();
        first.release();
        let second = DataDir::claim(dir.path()).expect("released");
        assert!(
            DataDir::claim(dir.path()).is_err(),
            "the second holds it now"
        );
        drop(first);
        assert!(
            DataDir::claim(dir.path()).is_err(),
            "dropping the released first claim must not free the second's"
        );
        drop(second);
    }
}

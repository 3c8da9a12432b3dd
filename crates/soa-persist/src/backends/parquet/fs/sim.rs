//! `SimFs`: an in-memory `Fs` that can lose power at any sync point and come back with only
//! what was made durable (or some of the rest), for crash tests of the storage above it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::tree::{Node, State, invalid, not_found};
use super::{FileInfo, Fs};

/// An in-memory file system for power-loss tests.
///
/// Every file keeps its written content apart from its content as of its last fsync, every
/// directory its current entries apart from those as of its last fsync. Each `sync_file` and
/// `sync_dir` is a sync point; `power_loss_at(k)` makes the machine die right after the k-th
/// sync point from now took effect (that sync call already returns an error), and from then on
/// every operation fails. `recovered()` is the file system as it comes back: a directory entry
/// survives only if it was synced in its parent and the parent survives; a file's content is
/// its last synced content (empty if it was never synced). Paths are absolute; the root exists.
#[derive(Debug)]
pub struct SimFs {
    state: Mutex<State>,
}

impl Default for SimFs {
    fn default() -> Self {
        Self::new()
    }
}

impl SimFs {
    /// An empty file system (just the root directory).
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere never leaves the state half-updated: each operation is one step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the machine lose power right after the `k`-th sync point from now (0: never).
    pub fn power_loss_at(&self, k: u64) {
        let mut s = self.lock();
        s.crash_at = if k == 0 { 0 } else { s.syncs + k };
    }

    /// Sync points (file and directory fsyncs) so far.
    pub fn sync_count(&self) -> u64 {
        self.lock().syncs
    }

    /// Whether power was lost.
    pub fn is_down(&self) -> bool {
        self.lock().dead
    }

    /// The file system after a power loss (or a clean shutdown): only what was durable.
    pub fn recovered(&self) -> SimFs {
        Self {
            state: Mutex::new(self.lock().survivors(&mut || false)),
        }
    }

    /// The file system after a power loss on a disk that happened to write back some of what
    /// was not synced yet: each unsynced directory change (creation, rename, link, removal)
    /// and each unsynced file content independently made it or not, as `seed` decides. What
    /// was synced always survives. (Unsynced content survives whole or not at all: the files
    /// this backend links into place are always synced first.)
    pub fn recovered_partly(&self, seed: u64) -> SimFs {
        // xorshift64*: deterministic, so a failing seed can be replayed.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut coin = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63 == 1
        };
        Self {
            state: Mutex::new(self.lock().survivors(&mut coin)),
        }
    }

    /// A copy of the whole current state, unsynced changes included, with a fresh sync count
    /// and no power loss planned: one base state can be forked for many crash trials.
    pub fn fork(&self) -> SimFs {
        let mut state = self.lock().clone();
        state.syncs = 0;
        state.crash_at = 0;
        state.dead = false;
        Self {
            state: Mutex::new(state),
        }
    }
}

impl Fs for SimFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let now = SystemTime::now();
        s.insert_new(
            path,
            Node::Dir {
                entries: BTreeMap::new(),
                synced: BTreeMap::new(),
                modified: now,
            },
        )
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        s.insert_new(
            path,
            Node::File {
                data: bytes.to_vec(),
                synced: Vec::new(),
                modified: SystemTime::now(),
            },
        )
    }

    fn sync_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let ino = s.lookup(path)?;
        match s.nodes.get_mut(&ino) {
            Some(Node::File { data, synced, .. }) => *synced = data.clone(),
            _ => return Err(invalid(path, "not a file")),
        }
        s.sync_point()
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let ino = s.lookup(path)?;
        match s.nodes.get_mut(&ino) {
            Some(Node::Dir {
                entries, synced, ..
            }) => *synced = entries.clone(),
            _ => return Err(invalid(path, "not a directory")),
        }
        s.sync_point()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let (from_dir, from_name) = s.parent(from)?;
        let ino = s
            .entry(from_dir, from_name)
            .ok_or_else(|| not_found(from))?;
        let (to_dir, to_name) = s.parent(to)?;
        let existing = s.entry(to_dir, to_name).and_then(|i| s.nodes.get(&i));
        if matches!(existing, Some(Node::Dir { .. })) {
            return Err(invalid(to, "a directory is in the way"));
        }
        s.entries_mut(from_dir)?.remove(from_name);
        s.entries_mut(to_dir)?.insert(to_name.to_owned(), ino);
        Ok(())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let ino = s.lookup(from)?;
        if !matches!(s.nodes.get(&ino), Some(Node::File { .. })) {
            return Err(invalid(from, "not a file"));
        }
        let (to_dir, to_name) = s.parent(to)?;
        if s.entry(to_dir, to_name).is_some() {
            return Err(io::Error::new(
                ErrorKind::AlreadyExists,
                format!("{}: exists", to.display()),
            ));
        }
        s.entries_mut(to_dir)?.insert(to_name.to_owned(), ino);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let (dir, name) = s.parent(path)?;
        let ino = s.entry(dir, name).ok_or_else(|| not_found(path))?;
        if !matches!(s.nodes.get(&ino), Some(Node::File { .. })) {
            return Err(invalid(path, "not a file"));
        }
        s.entries_mut(dir)?.remove(name);
        Ok(())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = self.lock();
        s.alive()?;
        match s.nodes.get(&s.lookup(path)?) {
            Some(Node::File { data, .. }) => Ok(data.clone()),
            _ => Err(invalid(path, "not a file")),
        }
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<FileInfo>> {
        let s = self.lock();
        s.alive()?;
        match s.nodes.get(&s.lookup(path)?) {
            Some(Node::Dir { entries, .. }) => Ok(entries
                .iter()
                .map(|(name, ino)| s.info(*ino, name.clone()))
                .collect()),
            _ => Err(invalid(path, "not a directory")),
        }
    }

    fn metadata(&self, path: &Path) -> io::Result<FileInfo> {
        self.symlink_metadata(path)
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileInfo> {
        let s = self.lock();
        s.alive()?;
        let ino = s.lookup(path)?;
        Ok(s.info(ino, OsString::new()))
    }
}

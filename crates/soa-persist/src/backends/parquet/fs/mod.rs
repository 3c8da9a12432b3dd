//! The blocking file operations `LocalStorage` is built on, behind a trait so that tests can
//! swap the disk for `SimFs`: an in-memory file system that keeps written-but-unsynced data and
//! directory entries apart from durable ones and can "lose power" at any sync point, after which
//! `recovered()` yields only what an fsync made durable, and `recovered_partly(seed)` that plus
//! a random part of the rest (the idea of SQLite's crash-test VFS).
//! `RealFs` is std::fs, what `LocalStorage` uses by default.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt::Debug;
use std::io::{self, ErrorKind, Write};
use std::path::{Component, Path};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// What a directory entry is, without following symlinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// A socket, device, fifo...
    Other,
}

/// One entry of a directory listing, or the metadata of one path (symlinks not followed).
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// The entry's name in its directory (empty for `symlink_metadata`).
    pub name: OsString,
    pub kind: FileKind,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// Blocking file-system operations; every path is as given (no root is implied).
pub trait Fs: Send + Sync + Debug + 'static {
    /// Creates one directory; `AlreadyExists` if something is there, `NotFound` if the parent
    /// is missing. The new entry is durable only once its parent is synced.
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates a new file holding `bytes` (`AlreadyExists` if something is there), not synced.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// fsyncs a file's content.
    fn sync_file(&self, path: &Path) -> io::Result<()>;
    /// `write_new` then `sync_file`.
    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.write_new(path, bytes)?;
        self.sync_file(path)
    }
    /// fsyncs a directory, making the creations, renames, links and removals in it durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Renames `from` to `to`, replacing a file at `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Links `to` to the file at `from`; `AlreadyExists` if something is at `to`.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file (not a directory).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The entries of a directory, symlinks reported as such (not followed).
    fn read_dir(&self, path: &Path) -> io::Result<Vec<FileInfo>>;
    /// What is at `path`, following symlinks.
    fn metadata(&self, path: &Path) -> io::Result<FileInfo>;
    /// What is at `path`, a symlink reported as such.
    fn symlink_metadata(&self, path: &Path) -> io::Result<FileInfo>;
}

/// The real file system (std::fs).
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

fn info(name: OsString, meta: &std::fs::Metadata) -> FileInfo {
    let t = meta.file_type();
    let kind = if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Dir
    } else if t.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileInfo {
        name,
        kind,
        size: meta.len(),
        modified: meta.modified().ok(),
    }
}

impl Fs for RealFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        std::fs::File::create_new(path)?.write_all(bytes)
    }

    fn sync_file(&self, path: &Path) -> io::Result<()> {
        // fsync through any descriptor flushes the file's data on POSIX systems.
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .sync_all()
    }

    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = std::fs::File::create_new(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<FileInfo>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            // `DirEntry::metadata` does not follow symlinks.
            match entry.metadata() {
                Ok(meta) => out.push(info(entry.file_name(), &meta)),
                // Removed or renamed by a concurrent writer since the listing was read.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn metadata(&self, path: &Path) -> io::Result<FileInfo> {
        std::fs::metadata(path).map(|m| info(OsString::new(), &m))
    }

    fn symlink_metadata(&self, path: &Path) -> io::Result<FileInfo> {
        std::fs::symlink_metadata(path).map(|m| info(OsString::new(), &m))
    }
}

type Ino = u64;

#[derive(Clone, Debug)]
enum Node {
    File {
        data: Vec<u8>,
        /// Content as of the last fsync (empty if never synced).
        synced: Vec<u8>,
        modified: SystemTime,
    },
    Dir {
        entries: BTreeMap<OsString, Ino>,
        /// Entries as of the last fsync of this directory.
        synced: BTreeMap<OsString, Ino>,
        modified: SystemTime,
    },
}

#[derive(Clone, Debug)]
struct State {
    nodes: HashMap<Ino, Node>,
    next_ino: Ino,
    /// Sync points (file and directory fsyncs) so far.
    syncs: u64,
    /// Power is lost right after this sync point (0: never).
    crash_at: u64,
    dead: bool,
}

const ROOT: Ino = 0;

fn dead() -> io::Error {
    io::Error::other("simulated power loss: the machine is down")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        ErrorKind::NotFound,
        format!("{}: no such entry", path.display()),
    )
}

fn invalid(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        ErrorKind::InvalidInput,
        format!("{}: {what}", path.display()),
    )
}

/// The names of `path`'s components below the file-system root; `.` skipped, `..` refused.
fn components(path: &Path) -> io::Result<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => return Err(invalid(path, "`..` is not supported")),
        }
    }
    Ok(out)
}

impl State {
    fn new() -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node::Dir {
                entries: BTreeMap::new(),
                synced: BTreeMap::new(),
                modified: SystemTime::now(),
            },
        );
        Self {
            nodes,
            next_ino: ROOT + 1,
            syncs: 0,
            crash_at: 0,
            dead: false,
        }
    }

    fn alive(&self) -> io::Result<()> {
        if self.dead { Err(dead()) } else { Ok(()) }
    }

    fn lookup(&self, path: &Path) -> io::Result<Ino> {
        let mut ino = ROOT;
        for name in components(path)? {
            match self.nodes.get(&ino) {
                Some(Node::Dir { entries, .. }) => {
                    ino = *entries.get(name).ok_or_else(|| not_found(path))?;
                }
                _ => return Err(not_found(path)),
            }
        }
        Ok(ino)
    }

    /// The parent directory's inode and the last component's name.
    fn parent<'p>(&self, path: &'p Path) -> io::Result<(Ino, &'p OsStr)> {
        let mut parts = components(path)?;
        let name = parts
            .pop()
            .ok_or_else(|| invalid(path, "the root has no parent"))?;
        let parent: std::path::PathBuf = parts.iter().collect();
        let ino = self.lookup(&parent)?;
        match self.nodes.get(&ino) {
            Some(Node::Dir { .. }) => Ok((ino, name)),
            _ => Err(not_found(path)),
        }
    }

    fn entries_mut(&mut self, dir: Ino) -> io::Result<&mut BTreeMap<OsString, Ino>> {
        match self.nodes.get_mut(&dir) {
            Some(Node::Dir {
                entries, modified, ..
            }) => {
                *modified = SystemTime::now();
                Ok(entries)
            }
            _ => Err(io::Error::other(format!("inode {dir} is not a directory"))),
        }
    }

    fn entry(&self, dir: Ino, name: &OsStr) -> Option<Ino> {
        match self.nodes.get(&dir) {
            Some(Node::Dir { entries, .. }) => entries.get(name).copied(),
            _ => None,
        }
    }

    fn insert_new(&mut self, path: &Path, node: Node) -> io::Result<()> {
        let (dir, name) = self.parent(path)?;
        if self.entry(dir, name).is_some() {
            return Err(io::Error::new(
                ErrorKind::AlreadyExists,
                format!("{}: exists", path.display()),
            ));
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, node);
        self.entries_mut(dir)?.insert(name.to_owned(), ino);
        Ok(())
    }

    /// Counts a sync point; power goes out right after the one asked for.
    fn sync_point(&mut self) -> io::Result<()> {
        self.syncs += 1;
        if self.syncs == self.crash_at {
            self.dead = true;
            return Err(dead());
        }
        Ok(())
    }

    fn info(&self, ino: Ino, name: OsString) -> FileInfo {
        match self.nodes.get(&ino) {
            Some(Node::File { data, modified, .. }) => FileInfo {
                name,
                kind: FileKind::File,
                size: data.len() as u64,
                modified: Some(*modified),
            },
            Some(Node::Dir {
                entries, modified, ..
            }) => FileInfo {
                name,
                kind: FileKind::Dir,
                size: entries.len() as u64,
                modified: Some(*modified),
            },
            None => FileInfo {
                name,
                kind: FileKind::Other,
                size: 0,
                modified: None,
            },
        }
    }

    /// What survives power loss: from the root down, the entries of each surviving directory
    /// and the content of each surviving file. Where the synced and the current version differ,
    /// `keep_unsynced()` decides which one made it to the disk (`false`: the synced one).
    fn survivors(&self, keep_unsynced: &mut dyn FnMut() -> bool) -> State {
        let mut out = State::new();
        out.nodes.clear();
        let mut stack = vec![ROOT];
        while let Some(ino) = stack.pop() {
            if out.nodes.contains_key(&ino) {
                continue; // a file with several links
            }
            let node = match self.nodes.get(&ino) {
                Some(Node::File {
                    data,
                    synced,
                    modified,
                }) => {
                    let kept = if data != synced && keep_unsynced() {
                        data
                    } else {
                        synced
                    };
                    Node::File {
                        data: kept.clone(),
                        synced: kept.clone(),
                        modified: *modified,
                    }
                }
                Some(Node::Dir {
                    entries,
                    synced,
                    modified,
                }) => {
                    let mut kept = BTreeMap::new();
                    let names: std::collections::BTreeSet<&OsString> =
                        entries.keys().chain(synced.keys()).collect();
                    for name in names {
                        let (now, then) = (entries.get(name), synced.get(name));
                        let survivor = if now != then && keep_unsynced() {
                            now
                        } else {
                            then
                        };
                        if let Some(child) = survivor {
                            kept.insert(name.clone(), *child);
                        }
                    }
                    stack.extend(kept.values().copied());
                    Node::Dir {
                        entries: kept.clone(),
                        synced: kept,
                        modified: *modified,
                    }
                }
                None => continue,
            };
            out.nodes.insert(ino, node);
        }
        out.next_ino = self.next_ino;
        out
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    /// A file `/d/f` with `bytes`, everything synced.
    fn durable_file(fs: &SimFs, bytes: &[u8]) {
        fs.create_dir(&p("/d")).unwrap();
        fs.sync_dir(&p("/")).unwrap();
        fs.write_new_synced(&p("/d/f"), bytes).unwrap();
        fs.sync_dir(&p("/d")).unwrap();
    }

    #[test]
    fn synced_file_and_entries_survive() {
        let fs = SimFs::new();
        durable_file(&fs, b"abc");
        assert_eq!(fs.sync_count(), 3);
        let back = fs.recovered();
        assert_eq!(back.read(&p("/d/f")).unwrap(), b"abc");
    }

    #[test]
    fn a_file_written_but_not_fsynced_is_empty_after_recovery() {
        let fs = SimFs::new();
        fs.create_dir(&p("/d")).unwrap();
        fs.sync_dir(&p("/")).unwrap();
        fs.write_new(&p("/d/f"), b"abc").unwrap();
        fs.sync_dir(&p("/d")).unwrap();
        assert_eq!(fs.read(&p("/d/f")).unwrap(), b"abc");
        let back = fs.recovered();
        assert_eq!(back.read(&p("/d/f")).unwrap(), b"");
        assert_eq!(back.symlink_metadata(&p("/d/f")).unwrap().size, 0);
    }

    #[test]
    fn a_new_file_without_a_directory_fsync_is_gone() {
        let fs = SimFs::new();
        durable_file(&fs, b"abc");
        fs.write_new_synced(&p("/d/g"), b"xyz").unwrap();
        let back = fs.recovered();
        assert_eq!(
            back.read(&p("/d/g")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(back.read(&p("/d/f")).unwrap(), b"abc");
    }

    #[test]
    fn a_rename_not_followed_by_a_directory_fsync_is_lost() {
        let fs = SimFs::new();
        durable_file(&fs, b"old");
        fs.write_new_synced(&p("/d/.tmp"), b"new").unwrap();
        fs.sync_dir(&p("/d")).unwrap();
        fs.rename(&p("/d/.tmp"), &p("/d/f")).unwrap();
        assert_eq!(fs.read(&p("/d/f")).unwrap(), b"new");
        let back = fs.recovered();
        assert_eq!(back.read(&p("/d/f")).unwrap(), b"old");
        assert_eq!(back.read(&p("/d/.tmp")).unwrap(), b"new");
        // Synced, the rename survives.
        fs.sync_dir(&p("/d")).unwrap();
        let back = fs.recovered();
        assert_eq!(back.read(&p("/d/f")).unwrap(), b"new");
        assert!(back.read(&p("/d/.tmp")).is_err());
    }

    #[test]
    fn removals_and_links_need_a_directory_fsync_too() {
        let fs = SimFs::new();
        durable_file(&fs, b"abc");
        fs.hard_link(&p("/d/f"), &p("/d/g")).unwrap();
        fs.remove_file(&p("/d/f")).unwrap();
        let back = fs.recovered();
        assert_eq!(back.read(&p("/d/f")).unwrap(), b"abc");
        assert!(back.read(&p("/d/g")).is_err());
        fs.sync_dir(&p("/d")).unwrap();
        let back = fs.recovered();
        assert!(back.read(&p("/d/f")).is_err());
        assert_eq!(back.read(&p("/d/g")).unwrap(), b"abc");
        assert_eq!(
            fs.hard_link(&p("/d/g"), &p("/d/g")).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn an_entry_survives_only_if_its_parent_does() {
        let fs = SimFs::new();
        fs.create_dir(&p("/a")).unwrap();
        fs.create_dir(&p("/a/b")).unwrap();
        fs.write_new_synced(&p("/a/b/f"), b"x").unwrap();
        fs.sync_dir(&p("/a/b")).unwrap();
        fs.sync_dir(&p("/a")).unwrap();
        // `/a` itself was never synced into `/`: all of it is gone.
        let back = fs.recovered();
        assert!(back.read_dir(&p("/")).unwrap().is_empty());
        fs.sync_dir(&p("/")).unwrap();
        assert_eq!(fs.recovered().read(&p("/a/b/f")).unwrap(), b"x");
    }

    #[test]
    fn power_loss_happens_right_after_the_chosen_sync_point() {
        let fs = SimFs::new();
        fs.power_loss_at(2);
        fs.create_dir(&p("/d")).unwrap();
        fs.sync_dir(&p("/")).unwrap();
        fs.write_new(&p("/d/f"), b"abc").unwrap();
        // The 2nd sync takes effect, then the machine is down.
        assert!(fs.sync_file(&p("/d/f")).is_err());
        assert!(fs.is_down());
        assert!(fs.read(&p("/d/f")).is_err());
        assert!(fs.sync_dir(&p("/d")).is_err());
        assert!(fs.write_new(&p("/d/g"), b"").is_err());
        assert_eq!(fs.sync_count(), 2);
        let back = fs.recovered();
        assert!(!back.is_down());
        // `/d` was synced into `/`; the file's content was synced, its entry was not.
        assert!(back.read_dir(&p("/d")).unwrap().is_empty());
        back.write_new(&p("/d/g"), b"ok").unwrap();
    }

    #[test]
    fn a_partial_recovery_keeps_what_was_synced_and_some_of_the_rest() {
        let fs = SimFs::new();
        durable_file(&fs, b"old");
        for i in 0..8 {
            fs.write_new_synced(&p(&format!("/d/n{i}")), b"n").unwrap();
        }
        fs.remove_file(&p("/d/f")).unwrap();
        let mut outcomes = std::collections::BTreeSet::new();
        for seed in 0..32 {
            let back = fs.recovered_partly(seed);
            let mut names: Vec<_> = back
                .read_dir(&p("/d"))
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect();
            names.sort();
            for name in &names {
                // Every surviving file is whole: its content was synced.
                let want: &[u8] = if name == "f" { b"old" } else { b"n" };
                assert_eq!(back.read(&p("/d").join(name)).unwrap(), want);
            }
            outcomes.insert(names);
            // The same seed, the same disk.
            assert_eq!(
                back.read_dir(&p("/d")).unwrap().len(),
                fs.recovered_partly(seed).read_dir(&p("/d")).unwrap().len()
            );
        }
        assert!(outcomes.len() > 8, "{} outcomes", outcomes.len());
        // Unsynced content may survive too, but nothing that was synced is lost.
        fs.sync_dir(&p("/d")).unwrap();
        fs.write_new(&p("/d/u"), b"unsynced").unwrap();
        fs.sync_dir(&p("/d")).unwrap();
        let contents: std::collections::BTreeSet<Vec<u8>> = (0..32)
            .map(|seed| fs.recovered_partly(seed).read(&p("/d/u")).unwrap())
            .collect();
        assert_eq!(contents.len(), 2);
        assert!(
            (0..32).all(|seed| fs.recovered_partly(seed).read_dir(&p("/d")).unwrap().len() == 9)
        );
    }

    #[test]
    fn fork_copies_unsynced_state_and_resets_the_counter() {
        let fs = SimFs::new();
        durable_file(&fs, b"abc");
        fs.write_new(&p("/d/u"), b"unsynced").unwrap();
        let copy = fs.fork();
        assert_eq!(copy.sync_count(), 0);
        assert_eq!(copy.read(&p("/d/u")).unwrap(), b"unsynced");
        copy.remove_file(&p("/d/f")).unwrap();
        assert_eq!(fs.read(&p("/d/f")).unwrap(), b"abc");
    }

    #[test]
    fn errors_match_the_real_file_system() {
        let fs = SimFs::new();
        assert_eq!(
            fs.create_dir(&p("/x/y")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        fs.create_dir(&p("/x")).unwrap();
        assert_eq!(
            fs.create_dir(&p("/x")).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        fs.write_new(&p("/x/f"), b"1").unwrap();
        assert_eq!(
            fs.write_new(&p("/x/f"), b"2").unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            fs.read(&p("/x/nope")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert!(fs.remove_file(&p("/x")).is_err());
        let listed = fs.read_dir(&p("/x")).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].kind, FileKind::File);
        assert_eq!(listed[0].size, 1);
        assert_eq!(fs.metadata(&p("/x")).unwrap().kind, FileKind::Dir);
    }

    #[test]
    fn real_fs_reports_symlinks_without_following_them() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs;
        fs.create_dir(&dir.path().join("d")).unwrap();
        fs.write_new_synced(&dir.path().join("d/f"), b"abc")
            .unwrap();
        fs.sync_dir(&dir.path().join("d")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("d"), dir.path().join("link")).unwrap();
        let mut kinds: Vec<_> = fs
            .read_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        kinds.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(kinds[0], (OsString::from("d"), FileKind::Dir));
        #[cfg(unix)]
        assert_eq!(kinds[1], (OsString::from("link"), FileKind::Symlink));
        assert_eq!(fs.read(&dir.path().join("d/f")).unwrap(), b"abc");
    }
}

//! The state behind `SimFs`: a tree of inodes in which every file keeps its content as of its
//! last fsync apart from its current one, and every directory its entries likewise, so that
//! what survives a power loss can be worked out (`survivors`).

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::io::{self, ErrorKind};
use std::path::{Component, Path};
use std::time::SystemTime;

use super::{FileInfo, FileKind};

pub(super) type Ino = u64;

#[derive(Clone, Debug)]
pub(super) enum Node {
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
pub(super) struct State {
    pub(super) nodes: HashMap<Ino, Node>,
    pub(super) next_ino: Ino,
    /// Sync points (file and directory fsyncs) so far.
    pub(super) syncs: u64,
    /// Power is lost right after this sync point (0: never).
    pub(super) crash_at: u64,
    pub(super) dead: bool,
}

const ROOT: Ino = 0;

fn dead() -> io::Error {
    io::Error::other("simulated power loss: the machine is down")
}

pub(super) fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        ErrorKind::NotFound,
        format!("{}: no such entry", path.display()),
    )
}

pub(super) fn invalid(path: &Path, what: &str) -> io::Error {
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
    pub(super) fn new() -> Self {
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

    pub(super) fn alive(&self) -> io::Result<()> {
        if self.dead { Err(dead()) } else { Ok(()) }
    }

    pub(super) fn lookup(&self, path: &Path) -> io::Result<Ino> {
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
    pub(super) fn parent<'p>(&self, path: &'p Path) -> io::Result<(Ino, &'p OsStr)> {
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

    pub(super) fn entries_mut(&mut self, dir: Ino) -> io::Result<&mut BTreeMap<OsString, Ino>> {
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

    pub(super) fn entry(&self, dir: Ino, name: &OsStr) -> Option<Ino> {
        match self.nodes.get(&dir) {
            Some(Node::Dir { entries, .. }) => entries.get(name).copied(),
            _ => None,
        }
    }

    pub(super) fn insert_new(&mut self, path: &Path, node: Node) -> io::Result<()> {
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
    pub(super) fn sync_point(&mut self) -> io::Result<()> {
        self.syncs += 1;
        if self.syncs == self.crash_at {
            self.dead = true;
            return Err(dead());
        }
        Ok(())
    }

    pub(super) fn info(&self, ino: Ino, name: OsString) -> FileInfo {
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
    pub(super) fn survivors(&self, keep_unsynced: &mut dyn FnMut() -> bool) -> State {
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

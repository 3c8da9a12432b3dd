//! The power-loss model of `SimFs` against what a real disk does, and `RealFs`'s listing.

use super::*;
use std::io::ErrorKind;
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
    assert!((0..32).all(|seed| fs.recovered_partly(seed).read_dir(&p("/d")).unwrap().len() == 9));
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

//! Log names, record paths, and states rebuilt from delta and first-format records.

use super::record::{LogFile, parse_record};
use super::*;

#[test]
fn log_names_are_strict() {
    assert_eq!(
        parse_log_name("_soa_log/00000000000000000005.json"),
        Some(LogFile::Record(5))
    );
    assert_eq!(
        parse_log_name("_soa_log/00000000000000000100.checkpoint.json"),
        Some(LogFile::Checkpoint(100))
    );
    for bad in [
        "_soa_log/5.json",
        "_soa_log/+0000000000000000005.json",
        "_soa_log/0000000000000000000x.json",
        "_soa_log/.00000000000000000005.json.tmp",
        "_soa_log/_last_checkpoint",
    ] {
        assert_eq!(parse_log_name(bad), None, "{bad}");
    }
}

#[test]
fn record_paths_stay_inside_the_dataset() {
    assert!(check_path("a=1/part-x.parquet").is_ok());
    for bad in [
        "/etc/passwd.parquet",
        "../other/x.parquet",
        "a/../../x.parquet",
        "a//x.parquet",
        "./x.parquet",
        "a\\x.parquet",
        "_soa_log/00000000000000000001.json",
        "x.txt",
        "",
    ] {
        assert!(check_path(bad).is_err(), "{bad}");
    }
}

#[test]
fn delta_records_rebuild_the_state() {
    let file = |p: &str, rows| FileEntry {
        path: p.into(),
        rows,
        bytes: 1,
        row_groups: 1,
        partition: Vec::new(),
        columns: Vec::new(),
    };
    let mut s = Snapshot::default();
    let add = |v, add: Vec<FileEntry>, remove: Vec<&str>, replace| Record {
        version: v,
        add,
        remove: remove.into_iter().map(String::from).collect(),
        replace,
        ..Record::default()
    };
    s.apply(add(
        1,
        vec![file("a.parquet", 2), file("b.parquet", 3)],
        vec![],
        false,
    ))
    .unwrap();
    s.apply(add(2, vec![file("c.parquet", 4)], vec!["a.parquet"], false))
        .unwrap();
    assert_eq!(s.rows().unwrap(), 7);
    s.apply(add(3, vec![file("d.parquet", 1)], vec![], true))
        .unwrap();
    assert_eq!(s.files.len(), 1);
    assert!(
        s.clone()
            .apply(add(4, vec![file("e.parquet", u64::MAX)], vec![], false))
            .is_err(),
        "more rows than Parquet can count"
    );
    let mut big = s.clone();
    let huge = i64::MAX as u64;
    let files = vec![
        file("e.parquet", huge),
        file("f.parquet", huge),
        file("g.parquet", huge),
    ];
    big.apply(add(4, files, vec![], false)).unwrap();
    assert!(matches!(big.rows(), Err(PersistError::Corrupt { .. })));
    let err = s
        .apply(add(4, vec![file("../x.parquet", 1)], vec![], false))
        .unwrap_err();
    assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
}

#[test]
fn first_format_records_read_as_full_snapshots() {
    let json = br#"{"version":3,"fingerprint":"f","files":[{"path":"x.parquet","rows":5,"bytes":1,"row_groups":1,"partition":[]}],"placeholder":false}"#;
    let mut s = Snapshot::default();
    s.files.push(FileEntry {
        path: "old.parquet".into(),
        rows: 1,
        bytes: 1,
        row_groups: 1,
        partition: Vec::new(),
        columns: Vec::new(),
    });
    s.apply(parse_record("r", 3, json).unwrap()).unwrap();
    assert_eq!(s.files.len(), 1);
    assert_eq!(s.rows().unwrap(), 5);
    assert!(parse_record("r", 4, json).is_err());
}

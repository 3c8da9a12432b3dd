//! Compile tests. Every misuse of the derives is an error on the user's span that says what is
//! supported (`tests/ui/*.stderr` hold the exact messages); `tests/ui/pass_*.rs` must compile
//! and run (they assert what the accepted code does).
#![allow(missing_docs, unreachable_pub)] // test code: fixtures, not an API

// trybuild compiles the cases in a target folder of its own, against `soa-persist` with the
// features this crate asks for: the defaults.
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    let mut cases: Vec<std::path::PathBuf> = std::fs::read_dir("tests/ui")
        .expect("tests/ui")
        .map(|e| e.expect("tests/ui entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    for case in cases {
        let pass = case
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pass_"));
        if pass {
            t.pass(case);
        } else {
            t.compile_fail(case);
        }
    }
}

//! Compile-fail tests: every misuse of the derives is an error on the user's span that says
//! what is supported (`tests/ui/*.stderr` hold the exact messages).

// trybuild compiles the crate again, with the features of this build, in a target folder of
// its own: with `duckdb` on that would be a second DuckDB build. The test command runs this
// test in a separate, default-features invocation instead.
#[test]
#[cfg_attr(feature = "duckdb", ignore = "run without the duckdb feature")]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

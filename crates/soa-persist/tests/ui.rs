//! Compile-fail tests: every misuse of the derives is an error on the user's span that says
//! what is supported (`tests/ui/*.stderr` hold the exact messages).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

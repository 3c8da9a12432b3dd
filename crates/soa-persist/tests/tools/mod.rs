//! Where the tests find the tools `scripts/setup.sh` installs (the project's Python virtualenv
//! and what it holds), and the one rule for a missing tool: under the test command
//! (`SOA_REQUIRE_TOOLS=1`, or `CI`) it is a failure; elsewhere the test says it skipped.

use std::path::PathBuf;

/// The project's virtualenv: `SOA_VENV`, or `~/.cache/soa-persist/venv`.
pub fn venv() -> PathBuf {
    std::env::var("SOA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/soa-persist/venv")
        })
}

/// Whether missing tools must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("SOA_REQUIRE_TOOLS").is_ok_and(|v| !v.is_empty() && v != "0")
        || std::env::var("CI").is_ok()
}

/// `bin/<name>` of the virtualenv, or `None` (having said so) when it is missing and not
/// required; panics when it is required.
pub fn venv_bin(name: &str, what: &str) -> Option<PathBuf> {
    let path = venv().join("bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !required(),
        "no {} (for {what}): run scripts/setup.sh",
        path.display()
    );
    eprintln!(
        "SKIPPED {what}: no {} (run scripts/setup.sh)",
        path.display()
    );
    None
}

/// Waits until `answers` says a server started as `child` is up, at most two minutes (so a
/// server that never answers fails the test instead of hanging); an exit or the timeout is an
/// error carrying `log_text()`.
#[allow(dead_code)] // only the test files that start a server use it
pub fn wait_until_up(
    child: &mut std::process::Child,
    answers: impl Fn() -> bool,
    log_text: impl Fn() -> String,
) -> Result<(), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited with {status}: {}", log_text()));
        }
        if answers() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("no answer: {}", log_text()));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

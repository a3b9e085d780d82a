//! The command line: bad flags and unusable directories get a one-line error that says what to
//! fix, and a non-zero exit.

use std::process::Command;

fn everynode(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_everynode"))
        .args(args)
        .output()
        .expect("run everynode");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_say_what_to_fix() {
    let (ok, stderr) = everynode(&["up", "--nodes", "many"]);
    assert!(!ok);
    assert!(
        stderr.contains("invalid value 'many' for '--nodes <N>'"),
        "{stderr}"
    );
    let (ok, stderr) = everynode(&["up", "--pod-startup", "5"]);
    assert!(!ok);
    assert!(
        stderr.contains("use a number with a unit, e.g. 500ms"),
        "{stderr}"
    );
}

#[test]
fn an_unusable_data_directory_is_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").expect("write");
    let (ok, stderr) = everynode(&[
        "up",
        "--port",
        "0",
        "--data-dir",
        &file.display().to_string(),
    ]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("it must be a directory you can write"),
        "{stderr}"
    );
}

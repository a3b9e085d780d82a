//! The command line: bad flags and unusable directories get a one-line error that says what to
//! fix, and a non-zero exit; `up` tells where its kubeconfig is and stops cleanly on Ctrl-C.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::support::{Kubectl, Server, wait_for};

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

#[test]
fn up_prints_the_export_line_copies_the_kubeconfig_and_stops_on_sigint() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let copy = elsewhere.path().join("nested-free.kubeconfig");
    let copy_arg = copy.display().to_string();
    let mut server = Server::start(&["up", "--nodes", "1", "--kubeconfig", &copy_arg]);

    // The line to paste names the copy, and the copy is the same kubeconfig, owner-only.
    let line = wait_for("the export line", Duration::from_secs(10), || {
        server.stdout().lines().next().map(str::to_owned)
    });
    assert_eq!(line, format!("export KUBECONFIG={copy_arg}"));
    assert_eq!(server.stdout().lines().count(), 1, "{}", server.stdout());
    let main = std::fs::read_to_string(server.kubeconfig()).expect("DIR/kubeconfig");
    assert_eq!(std::fs::read_to_string(&copy).expect("the copy"), main);
    let mode = std::fs::metadata(&copy).expect("copy").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let uid = |k: &Kubectl| k.jsonpath(&["get", "nodes"], "{.items[*].metadata.uid}");
    let before = uid(&Kubectl::new(&copy));
    assert_eq!(before.split_whitespace().count(), 1, "{before}");

    // Ctrl-C: a clean exit, and the directory resumes the same cluster.
    let status = server.interrupt();
    assert!(status.success(), "SIGINT exit: {status}");
    server.restart_with(&["up", "--nodes", "1"]);
    let line = wait_for("the export line", Duration::from_secs(10), || {
        server.stdout().lines().next().map(str::to_owned)
    });
    assert_eq!(
        line,
        format!("export KUBECONFIG={}", server.kubeconfig().display())
    );
    assert_eq!(uid(&Kubectl::new(&server.kubeconfig())), before);
}

//! Running the real kubectl (the version dispatcher on PATH, or a pinned `kubectl.1.NN`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// kubectl bound to one server, with its own HOME so discovery caches never leak between tests.
pub struct Kubectl {
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
    binary: PathBuf,
}

/// What one kubectl run printed.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test with kubectl's output unless it succeeded; returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(
            self.success,
            "kubectl failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }

    /// Fails the test unless kubectl failed; returns stderr.
    #[track_caller]
    pub fn err(self) -> String {
        assert!(
            !self.success,
            "kubectl unexpectedly succeeded:\n{}",
            self.stdout
        );
        self.stderr
    }
}

impl Kubectl {
    /// The kubectl on PATH (a dispatcher that picks the client version from the server's).
    pub fn new(kubeconfig: &Path) -> Self {
        Self::with_binary(kubeconfig, PathBuf::from("kubectl"))
    }

    /// A pinned client, `kubectl.1.27` … `kubectl.1.33`, installed beside the real kubectl.
    pub fn version(kubeconfig: &Path, minor: u32) -> Self {
        let dispatcher = which("kubectl").expect("kubectl on PATH");
        let real = std::fs::canonicalize(&dispatcher).unwrap_or(dispatcher);
        let dir = real.parent().expect("kubectl has a directory");
        Self::with_binary(kubeconfig, dir.join(format!("kubectl.1.{minor}")))
    }

    fn with_binary(kubeconfig: &Path, binary: PathBuf) -> Self {
        Self {
            kubeconfig: kubeconfig.to_owned(),
            home: tempfile::tempdir().expect("kubectl home"),
            binary,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs kubectl with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_input(args, "")
    }

    /// Runs kubectl with `input` on stdin (for `-f -`).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self.command(args).spawn().expect("start kubectl");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        let output = child.wait_with_output().expect("kubectl output");
        to_run(output)
    }

    /// Starts kubectl in the background (for `get -w`); the caller reads and kills it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args).spawn().expect("start kubectl")
    }

    /// Runs `kubectl apply -f -` with `manifest`.
    pub fn apply(&self, manifest: &str) -> Run {
        self.run_with_input(&["apply", "-f", "-"], manifest)
    }

    /// `kubectl <args> -o jsonpath=<path>`.
    pub fn jsonpath(&self, args: &[&str], path: &str) -> String {
        let template = format!("jsonpath={path}");
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-o", &template]);
        self.run(&all).ok()
    }

    /// Extra environment (e.g. `KUBE_EDITOR`) for one run.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .expect("kubectl output");
        to_run(output)
    }
}

fn to_run(output: Output) -> Run {
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

//! A real `everynode` server process in a temporary data directory.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::wait_for;

/// A running `everynode` process; killed when dropped.
pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    args: Vec<String>,
    /// Everything the current process printed on stdout so far.
    stdout: Arc<Mutex<String>>,
}

impl Server {
    /// `everynode apiserver --port 0` in a fresh data directory.
    pub fn apiserver() -> Self {
        Self::start(&["apiserver"])
    }

    /// Starts `everynode <args> --data-dir <tmp> --port 0` and waits for its kubeconfig.
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut server = Server {
            child: None,
            dir,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdout: Arc::default(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let kubeconfig = self.kubeconfig();
        let _ = std::fs::remove_file(&kubeconfig);
        let child = Command::new(env!("CARGO_BIN_EXE_everynode"))
            .args(&self.args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start everynode");
        self.child = Some(child);
        self.stdout = Arc::default();
        if let Some(mut pipe) = self.child.as_mut().and_then(|c| c.stdout.take()) {
            let printed = Arc::clone(&self.stdout);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                    if let Ok(mut printed) = printed.lock() {
                        printed.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    }
                }
            });
        }
        wait_for(
            "the kubeconfig to be written",
            Duration::from_secs(30),
            || {
                if let Some(child) = self.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    panic!("everynode exited early: {status}");
                }
                kubeconfig.exists().then_some(())
            },
        );
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// SIGKILLs the process (no shutdown path runs) and starts it again on the same directory.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// What the running process has printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (with a deadline) for the process to exit; returns its status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM")
    }

    /// Sends SIGINT (Ctrl-C) and waits (with a deadline) for the process to exit.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        self.signal("INT")
    }

    fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running server");
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} failed");
        wait_for(
            &format!("the server to exit after SIG{name}"),
            Duration::from_secs(20),
            || child.try_wait().ok().flatten(),
        )
    }

    /// Starts the server again on the same directory, with `args` in place of the first ones.
    pub fn restart_with(&mut self, args: &[&str]) {
        self.kill();
        self.args = args.iter().map(|a| a.to_string()).collect();
        self.spawn();
    }

    /// SIGKILLs the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A kube-rs client for this server, from its kubeconfig.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("config from kubeconfig");
        kube::Client::try_from(config).expect("client")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

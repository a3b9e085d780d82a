//! The command line: `everynode apiserver`, `controller` (and the shared flags of every serving command).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use everynode_apiserver::{ApiOptions, RunningServer, ServerOptions};

#[derive(Debug, Parser)]
#[command(
    name = "everynode",
    version,
    about = "Kubernetes DaemonSets in Rust: a faithful DaemonSet controller and an embedded cluster for it"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole embedded cluster: API server, controllers and simulated nodes.
    Up(crate::up::UpArgs),
    /// Run the Kubernetes-compatible API server alone, with its durable store.
    Apiserver(ServeArgs),
    /// Run the DaemonSet controller alone against any API server (a real cluster, or `apiserver`).
    Controller(crate::controller_cmd::ControllerArgs),
}

/// Where and how a server keeps its state and listens.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory of the store, the CA, the token and the kubeconfig [default: ~/.everynode].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// HTTPS port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 6443, value_name = "P")]
    port: u16,
    /// Also write the kubeconfig here (it is always written to DIR/kubeconfig).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// tolerationSeconds of the not-ready/unreachable NoExecute tolerations given to pods.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    default_toleration_seconds: i64,
}

impl ServeArgs {
    fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .context("HOME is not set: pass --data-dir DIR")?;
        Ok(Path::new(&home).join(".everynode"))
    }

    pub fn server_options(&self) -> anyhow::Result<ServerOptions> {
        Ok(ServerOptions {
            data_dir: self.data_dir()?,
            port: self.port,
            api: ApiOptions {
                default_toleration_seconds: self.default_toleration_seconds,
            },
            store: Default::default(),
        })
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => crate::up::up(args).await,
        Command::Apiserver(args) => apiserver(args).await,
        Command::Controller(args) => crate::controller_cmd::run(args).await,
    }
}

async fn apiserver(args: ServeArgs) -> anyhow::Result<()> {
    let server = RunningServer::start(args.server_options()?).await?;
    let kubeconfig = publish_kubeconfig(&server, args.kubeconfig.as_deref())?;
    println!("export KUBECONFIG={}", kubeconfig.display());
    wait_for_shutdown().await?;
    server.stop();
    Ok(())
}

/// Writes DIR/kubeconfig (and the copy asked for) once the server is ready; returns the path
/// to tell the user.
pub fn publish_kubeconfig(server: &RunningServer, copy: Option<&Path>) -> anyhow::Result<PathBuf> {
    let main = server.data_dir.join("kubeconfig");
    server
        .write_kubeconfig(&main)
        .with_context(|| format!("cannot write the kubeconfig {}", main.display()))?;
    if let Some(copy) = copy {
        server
            .write_kubeconfig(copy)
            .with_context(|| format!("cannot write the kubeconfig {}", copy.display()))?;
        return Ok(copy.to_owned());
    }
    Ok(main)
}

/// Returns on SIGINT or SIGTERM.
pub async fn wait_for_shutdown() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// Parses a duration the way Go flags spell them: `250ms`, `2s`, `1m30s`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid =
        || format!("invalid duration {text:?}: use a number with a unit, e.g. 500ms, 2s, 1m");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .filter(|&i| i > 0)
            .ok_or_else(invalid)?;
        let number: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += Duration::try_from_secs_f64(number * seconds).map_err(|_| invalid())?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go_flags() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("").is_err());
    }
}

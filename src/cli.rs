//! The command line: `everynode apiserver` (and the shared flags of every serving command).

use std::path::{Path, PathBuf};

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
    /// Run the Kubernetes-compatible API server alone, with its durable store.
    Apiserver(ServeArgs),
}

/// Where and how a server keeps its state and listens.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Directory of the store, the CA, the token and the kubeconfig [default: ~/.everynode].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// HTTPS port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 6443, value_name = "P")]
    port: u16,
    /// Also write the kubeconfig here (it is always written to DIR/kubeconfig).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
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

    fn server_options(&self) -> anyhow::Result<ServerOptions> {
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
        Command::Apiserver(args) => apiserver(args).await,
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
fn publish_kubeconfig(server: &RunningServer, copy: Option<&Path>) -> anyhow::Result<PathBuf> {
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
async fn wait_for_shutdown() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

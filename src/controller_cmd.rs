//! `everynode controller`: the DaemonSet controller alone against any API server, with optional
//! Lease-based leader election and a `/metrics` + `/healthz` endpoint.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use everynode_controller::runtime::leader::{LeaderElectionConfig, LeaderElector, Leadership};
use everynode_controller::runtime::metrics::Metrics;
use everynode_controller::runtime::{Controller, ControllerOptions};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::cli::{parse_duration, wait_for_shutdown};

/// How long the first request to the API server may take before we call it unreachable.
const REACHABLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The flags of `everynode controller` (named like kube-controller-manager's).
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Kubeconfig to use; without it, KUBECONFIG or ~/.kube/config, then the in-cluster service
    /// account (kube-rs `Config::infer`).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Run only while holding the Lease, so several replicas can run with one active.
    #[arg(long)]
    leader_elect: bool,
    /// How long a standby waits after the leader's last renewal before taking over.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION")]
    leader_elect_lease_duration: Duration,
    /// How long the leader keeps retrying a renewal before it stops leading (and exits).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    leader_elect_renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews.
    #[arg(long, default_value = "2s", value_parser = parse_duration, value_name = "DURATION")]
    leader_elect_retry_period: Duration,
    /// Namespace of the leader Lease.
    #[arg(long, default_value = "kube-system", value_name = "NAMESPACE")]
    leader_elect_namespace: String,
    /// Name of the leader Lease.
    #[arg(
        long,
        default_value = "everynode-daemonset-controller",
        value_name = "NAME"
    )]
    leader_elect_name: String,
    /// Address for /metrics and /healthz; port 0 picks a free one (printed at start).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    metrics_bind_address: SocketAddr,
    /// DaemonSets synced at once.
    #[arg(long, default_value_t = 2, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    concurrent_daemonset_syncs: u16,
}

/// What the HTTP endpoint reads: the controller once it runs, and whether we lead.
#[derive(Default)]
struct Shared {
    controller: OnceLock<Controller>,
    /// Whether leader election is on (the leader gauge is rendered only then).
    elects: bool,
}

pub async fn run(args: ControllerArgs) -> anyhow::Result<()> {
    let election = args
        .leader_elect
        .then(|| election_config(&args))
        .transpose()?;
    let client = connect(args.kubeconfig.as_ref()).await?;
    let shared = Arc::new(Shared {
        controller: OnceLock::new(),
        elects: election.is_some(),
    });
    let listener = TcpListener::bind(args.metrics_bind_address)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: pass a free --metrics-bind-address",
                args.metrics_bind_address
            )
        })?;
    let address = listener
        .local_addr()
        .context("cannot read the metrics address")?;
    // Printed on stdout so scripts (and tests) can find a port picked with `:0`.
    println!("serving /metrics and /healthz on http://{address}");
    tokio::spawn(serve(listener, shared.clone()));

    let options = ControllerOptions {
        workers: usize::from(args.concurrent_daemonset_syncs),
        ..ControllerOptions::default()
    };
    let Some(election) = election else {
        start(&shared, client, options).await;
        wait_for_shutdown().await?;
        stop(&shared);
        return Ok(());
    };
    println!("leader election identity: {}", election.identity);
    let namespace = election.namespace.clone();
    let elector = LeaderElector::new(client.clone(), election)?;
    // Only the leader runs the controller (upstream starts controllers in OnStartedLeading).
    let mut leadership: Leadership = tokio::select! {
        leadership = elector.acquire() => leadership,
        result = wait_for_shutdown() => return result,
    };
    println!("leading");
    start(&shared, client, options).await;
    tokio::select! {
        lost = leadership.lost() => {
            // Like kube-controller-manager: a leader that cannot renew stops writing by exiting;
            // a restart rejoins as a candidate.
            stop(&shared);
            Err(anyhow::Error::new(lost).context(format!(
                "stopped leading; check the API server and the Lease in namespace {namespace}"
            )))
        }
        result = wait_for_shutdown() => {
            stop(&shared);
            leadership.release().await;
            result
        }
    }
}

fn election_config(args: &ControllerArgs) -> anyhow::Result<LeaderElectionConfig> {
    let config = LeaderElectionConfig {
        namespace: args.leader_elect_namespace.clone(),
        name: args.leader_elect_name.clone(),
        identity: identity(),
        lease_duration: args.leader_elect_lease_duration,
        renew_deadline: args.leader_elect_renew_deadline,
        retry_period: args.leader_elect_retry_period,
    };
    if let Err(e) = config.validate() {
        bail!(
            "{e}: adjust --leader-elect-lease-duration, --leader-elect-renew-deadline and --leader-elect-retry-period"
        );
    }
    Ok(config)
}

/// hostname + `_` + a random suffix, as kube-controller-manager builds its holderIdentity, so two
/// processes on one host (or a restarted pod) never share an identity.
fn identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "everynode".to_owned());
    let suffix: u64 = rand::random();
    format!("{host}_{suffix:016x}")
}

/// A client from `--kubeconfig`, or inferred; fails with what to fix if the server does not answer.
async fn connect(kubeconfig: Option<&PathBuf>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path).with_context(|| {
                format!(
                    "cannot read the kubeconfig {}: check --kubeconfig",
                    path.display()
                )
            })?;
            kube::Config::from_custom_kubeconfig(file, &Default::default())
                .await
                .with_context(|| {
                    format!(
                        "the kubeconfig {} is not usable: check --kubeconfig",
                        path.display()
                    )
                })?
        }
        None => kube::Config::infer().await.context(
            "no kubeconfig and not in a cluster: pass --kubeconfig PATH or set KUBECONFIG",
        )?,
    };
    let url = config.cluster_url.clone();
    let client = kube::Client::try_from(config)
        .with_context(|| format!("cannot build a client for {url}"))?;
    match tokio::time::timeout(REACHABLE_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => bail!(
            "cannot reach the API server at {url}: {e}: check --kubeconfig and that the server is running"
        ),
        Err(_) => bail!(
            "the API server at {url} did not answer within {REACHABLE_TIMEOUT:?}: check --kubeconfig and that the server is running"
        ),
    }
}

async fn start(shared: &Shared, client: kube::Client, options: ControllerOptions) {
    let controller = Controller::start(client, options).await;
    let _ = shared.controller.set(controller);
}

fn stop(shared: &Shared) {
    if let Some(controller) = shared.controller.get() {
        controller.stop();
    }
}

/// Serves HTTP/1.1 on `listener` until the process ends.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("metrics endpoint: accept failed: {e}");
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(respond(&request, &shared)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

fn respond<B>(request: &Request<B>, shared: &Shared) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match request.uri().path() {
        "/healthz" => (StatusCode::OK, "text/plain; charset=utf-8", "ok".to_owned()),
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics(shared),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: try /metrics or /healthz\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// The controller's metrics (zeros on a standby), plus upstream's leader gauge
/// (`leader_election_master_status`) when electing.
fn metrics(shared: &Shared) -> String {
    let (mut text, leading) = match shared.controller.get() {
        Some(controller) => (controller.metrics_text(), 1),
        None => (Metrics::default().render(0), 0),
    };
    if shared.elects {
        text.push_str(&format!(
            "# HELP everynode_leader_election_master_status 1 if this process leads, else 0.\n\
             # TYPE everynode_leader_election_master_status gauge\n\
             everynode_leader_election_master_status {leading}\n"
        ));
    }
    text
}

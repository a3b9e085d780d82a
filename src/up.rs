//! `everynode up`: the API server, every controller and N simulated nodes in one process, ready
//! when the kubeconfig appears.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use everynode_apiserver::RunningServer;
use everynode_controller::runtime::informer::{Informer, SharedInformers};
use everynode_controller::runtime::{Controller, ControllerOptions};
use everynode_controller::workloads::WorkloadControllers;
use everynode_sim::{NodeSpecTemplate, SimOptions};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::cli::{ServeArgs, parse_duration, publish_kubeconfig, wait_for_shutdown};

/// How long `up` waits for its nodes to report Ready before giving up.
const NODES_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The flags of `everynode up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Simulated worker nodes `node-1`…`node-N` (on a restart, missing ones are added, none removed).
    #[arg(long, default_value_t = 3, value_name = "N")]
    nodes: usize,
    /// Also run a `control-plane` node with the control-plane role label and NoSchedule taint.
    #[arg(long)]
    control_plane: bool,
    /// Delay from a pod's binding to its containers running, e.g. `500ms`, `2s`.
    #[arg(long, default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pod_startup: Duration,
    /// Delay from a pod's graceful delete (after its preStop hooks) to its simulated containers
    /// stopping and the final delete; never later than the pod's grace period.
    #[arg(long, default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pod_deletion_delay: Duration,
    /// How long a node may miss heartbeats before it turns Unknown (upstream 50s).
    #[arg(long, default_value = "50s", value_parser = parse_duration, value_name = "DURATION")]
    node_monitor_grace_period: Duration,
    /// Lease renew interval of the simulated kubelets (upstream 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    node_lease_interval: Duration,
    /// Leave the DaemonSet controller out, for an external `everynode controller` (tests of leader
    /// election run two of them against one `up`).
    #[arg(long, hide = true)]
    no_controller: bool,
}

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let server = RunningServer::start(args.serve.server_options()?).await?;
    let client = kube::Client::new(server.service.clone(), "default");
    let garbage_collector = everynode_sim::garbage_collector::start(client.clone())
        .await
        .context("the garbage collector did not start")?;
    let sim_options = SimOptions {
        pod_startup_delay: args.pod_startup,
        pod_deletion_delay: args.pod_deletion_delay,
        node_monitor_grace_period: args.node_monitor_grace_period,
        lease_interval: args.node_lease_interval,
        ..SimOptions::default()
    };
    // One pod and one node informer for the whole process, as kube-controller-manager shares
    // its informers: every component reads the same decoded objects.
    let informers = SharedInformers::spawn(&client);
    let sources = everynode_sim::Sources {
        nodes: std::array::from_fn(|_| feed(&informers.nodes)),
        pods: std::array::from_fn(|_| feed(&informers.pods)),
    };
    let sim = everynode_sim::start_from(client.clone(), sim_options, sources)
        .await
        .context("the simulated cluster did not start")?;
    let controller = if args.no_controller {
        None
    } else {
        Some(
            Controller::start_shared(client.clone(), ControllerOptions::default(), &informers)
                .await,
        )
    };
    // ReplicaSets and Deployments run whether or not the DaemonSet controller is external.
    let workloads = WorkloadControllers::start(client.clone(), &informers).await;
    let nodes = NodeSpecTemplate::cluster(args.nodes, args.control_plane);
    everynode_sim::register_nodes_from(
        &client,
        &nodes,
        NODES_READY_TIMEOUT,
        feed(&informers.nodes),
    )
    .await
    .context("the simulated nodes did not become Ready")?;
    let kubeconfig: PathBuf = publish_kubeconfig(&server, args.serve.kubeconfig.as_deref())?;
    tracing::info!(elapsed = ?started.elapsed(), nodes = nodes.len(), "cluster ready");
    println!("export KUBECONFIG={}", kubeconfig.display());
    wait_for_shutdown().await?;
    if let Some(controller) = &controller {
        controller.stop();
    }
    workloads.stop();
    sim.stop().await;
    garbage_collector.stop();
    server.stop();
    Ok(())
}

/// The changes of an informer's cache as a stream for the simulated cluster.
fn feed<K>(informer: &Informer<K>) -> BoxStream<'static, everynode_sim::Change<K>>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (sender, receiver) = futures::channel::mpsc::unbounded();
    informer.add_handler(move |(old, new)| {
        // A stream dropped by its reader (the simulated cluster on stopping, the node
        // registration once its nodes are Ready) needs nothing more.
        let _ = sender.unbounded_send(everynode_sim::Change::from_cache(old, new));
    });
    receiver.boxed()
}

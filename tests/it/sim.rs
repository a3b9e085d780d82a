//! The simulated cluster in process: the real API server as a tower service, the scheduler,
//! kubelets and node lifecycle, driven by kube-rs clients.

use std::time::Duration;

use anyhow::{Context, Result};
use everynode_apiserver::{ApiOptions, ApiService};
use everynode_sim::{NodeSpecTemplate, SimHandle, SimOptions, register_nodes, start};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::wait::await_condition;
use serde_json::json;

/// How long any single condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

async fn cluster(options: SimOptions, nodes: usize) -> Result<(Client, SimHandle)> {
    let store = everynode_apiserver::server::open_store(None, Default::default())?;
    let service = ApiService::new(store, ApiOptions::default());
    everynode_apiserver::builtin::bootstrap(&service, "").await?;
    let client = Client::new(service, "default");
    let handle = start(client.clone(), options).await?;
    register_nodes(&client, &NodeSpecTemplate::cluster(nodes, false), DEADLINE).await?;
    Ok((client, handle))
}

async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    cond: impl Fn(Option<&K>) -> bool,
) -> Result<Option<K>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    tokio::time::timeout(
        DEADLINE,
        await_condition(api.clone(), name, move |k: Option<&K>| cond(k)),
    )
    .await
    .with_context(|| format!("timed out waiting for {name}: {what}"))?
    .with_context(|| format!("watching {name}"))
}

fn pod(name: &str, extra: serde_json::Value) -> Result<Pod> {
    let mut v = json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}});
    if let (Some(base), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in extra {
            match (base.get_mut(k), val) {
                (Some(serde_json::Value::Object(b)), serde_json::Value::Object(e)) => {
                    for (k2, v2) in e {
                        b.insert(k2.clone(), v2.clone());
                    }
                }
                _ => {
                    base.insert(k.clone(), val.clone());
                }
            }
        }
    }
    Ok(serde_json::from_value(v)?)
}

fn condition(pod: &Pod, type_: &str) -> Option<(String, Option<String>, Option<String>)> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn is_ready(pod: Option<&Pod>) -> bool {
    pod.and_then(|p| condition(p, "Ready"))
        .is_some_and(|c| c.0 == "True")
}

fn node_ready(node: Option<&Node>) -> Option<String> {
    node?
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}

fn taints(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|ts| {
            ts.iter()
                .map(|t| format!("{}:{}", t.key, t.effect))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_get_bound_and_go_running_and_ready() -> Result<()> {
    let (client, _sim) = cluster(SimOptions::default(), 3).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let n1 = nodes.get("node-1").await?;
    // Ready nodes lose the not-ready taint the API server added at creation.
    let n1 = wait_for(&nodes, "node-1", "no taints", |n| {
        n.is_some_and(|n| taints(n).is_empty())
    })
    .await?
    .unwrap_or(n1);
    let status = n1.status.clone().unwrap_or_default();
    assert_eq!(
        status
            .capacity
            .as_ref()
            .and_then(|c| c.get("memory"))
            .map(|q| q.0.as_str()),
        Some("16Gi")
    );
    assert_eq!(
        status
            .node_info
            .as_ref()
            .map(|i| i.kubelet_version.as_str()),
        Some("v1.32.0")
    );
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "kube-node-lease");
    // The Lease is written beside the first node status, so it may trail Ready slightly.
    let lease = wait_for(&leases, "node-1", "lease", |l| l.is_some())
        .await?
        .context("lease")?;
    assert_eq!(
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref()),
        Some("node-1")
    );
    assert_eq!(
        lease
            .metadata
            .owner_references
            .as_ref()
            .map(|o| o[0].kind.as_str()),
        Some("Node")
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut ips = Vec::new();
    for i in 0..6 {
        pods.create(&PostParams::default(), &pod(&format!("p{i}"), json!({}))?)
            .await?;
    }
    let mut used_nodes = std::collections::BTreeSet::new();
    for i in 0..6 {
        let p = wait_for(&pods, &format!("p{i}"), "Ready", is_ready)
            .await?
            .context("pod")?;
        let status = p.status.clone().unwrap_or_default();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(status.start_time.is_some() && status.host_ip.is_some());
        let cs = &status.container_statuses.unwrap_or_default()[0];
        assert!(cs.ready && cs.started == Some(true) && cs.container_id.is_some());
        ips.push(status.pod_ip.unwrap_or_default());
        used_nodes.insert(p.spec.and_then(|s| s.node_name).unwrap_or_default());
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 6, "pod IPs are unique");
    assert_eq!(
        used_nodes.len(),
        3,
        "least-allocated spreads pods: {used_nodes:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_big_pod_stays_pending_with_failed_scheduling() -> Result<()> {
    let (client, _sim) = cluster(SimOptions::default(), 3).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let big = pod(
        "big",
        json!({"spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"memory": "17Gi"}}}]}}),
    )?;
    pods.create(&PostParams::default(), &big).await?;
    let want = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..";
    let p = wait_for(&pods, "big", "PodScheduled=False", |p| {
        p.and_then(|p| condition(p, "PodScheduled"))
            .is_some_and(|c| c.0 == "False")
    })
    .await?
    .context("pod")?;
    assert_eq!(
        condition(&p, "PodScheduled"),
        Some((
            "False".into(),
            Some("Unschedulable".into()),
            Some(want.into())
        ))
    );
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let failed = kube::runtime::watcher(events, kube::runtime::watcher::Config::default())
        .applied_objects()
        .try_filter(|e| futures::future::ready(e.reason.as_deref() == Some("FailedScheduling")))
        .boxed();
    let e = tokio::time::timeout(DEADLINE, failed.into_future())
        .await
        .context("no FailedScheduling event")?
        .0
        .context("watch ended")??;
    assert_eq!(e.message.as_deref(), Some(want));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(
        e.source.as_ref().and_then(|s| s.component.as_deref()),
        Some("default-scheduler")
    );
    assert_eq!(e.involved_object.name.as_deref(), Some("big"));
    // A node big enough appears: the pending pod is retried without any polling and binds there.
    let nodes: Api<Node> = Api::all(client.clone());
    let mut huge = NodeSpecTemplate {
        name: "huge".into(),
        control_plane: false,
    }
    .to_node();
    huge.metadata.annotations =
        Some([("everynode.dev/memory".to_string(), "64Gi".to_string())].into());
    nodes.create(&PostParams::default(), &huge).await?;
    let p = wait_for(&pods, "big", "Ready", is_ready)
        .await?
        .context("pod")?;
    assert_eq!(p.spec.and_then(|s| s.node_name).as_deref(), Some("huge"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_heartbeat_makes_node_unknown_and_evicts_non_tolerating_pods() -> Result<()> {
    let options = SimOptions {
        lease_interval: Duration::from_millis(200),
        node_monitor_grace_period: Duration::from_secs(2),
        ..SimOptions::default()
    };
    let (client, _sim) = cluster(options, 2).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let unreachable = |secs: Option<i64>| json!([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": secs}]);
    pods.create(&PostParams::default(), &pod("leaves", json!({"spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "node-1", "tolerations": unreachable(Some(1))}}))?).await?;
    pods.create(&PostParams::default(), &pod("stays", json!({"spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "node-1", "tolerations": unreachable(None)}}))?).await?;
    wait_for(&pods, "leaves", "Ready", is_ready).await?;
    wait_for(&pods, "stays", "Ready", is_ready).await?;

    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .patch(
            "node-1",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"everynode.dev/heartbeat": "stopped"}}}),
            ),
        )
        .await?;
    let n = wait_for(&nodes, "node-1", "Ready=Unknown", |n| {
        node_ready(n).as_deref() == Some("Unknown")
    })
    .await?
    .context("node")?;
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .cloned()
        .context("ready")?;
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    let n = wait_for(&nodes, "node-1", "unreachable taints", |n| {
        n.is_some_and(|n| {
            let t = taints(n);
            t.contains(&"node.kubernetes.io/unreachable:NoSchedule".to_string())
                && t.contains(&"node.kubernetes.io/unreachable:NoExecute".to_string())
        })
    })
    .await?
    .context("node")?;
    assert!(
        !taints(&n)
            .iter()
            .any(|t| t.starts_with("node.kubernetes.io/not-ready"))
    );
    // The pod tolerating for 1 s is evicted (it stays Terminating: its kubelet is down, as upstream).
    wait_for(&pods, "leaves", "evicted", |p| {
        p.is_none_or(|p| p.metadata.deletion_timestamp.is_some())
    })
    .await?;
    let stays = wait_for(&pods, "stays", "not Ready", |p| {
        p.is_some_and(|p| !is_ready(Some(p)))
    })
    .await?
    .context("pod")?;
    assert!(stays.metadata.deletion_timestamp.is_none());

    // Heartbeats resume: Ready again, taints gone, the evicted pod's deletion completes.
    nodes
        .patch(
            "node-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"everynode.dev/heartbeat": null}}})),
        )
        .await?;
    wait_for(&nodes, "node-1", "Ready and untainted", |n| {
        node_ready(n).as_deref() == Some("True") && n.is_some_and(|n| taints(n).is_empty())
    })
    .await?;
    wait_for(&pods, "leaves", "gone", |p| p.is_none()).await?;
    let stays = wait_for(&pods, "stays", "Ready again", is_ready)
        .await?
        .context("pod")?;
    assert!(stays.metadata.deletion_timestamp.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_delete_completes_and_pods_on_deleted_nodes_are_collected() -> Result<()> {
    let (client, _sim) = cluster(SimOptions::default(), 2).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &pod(
            "graceful",
            json!({"spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "node-1"}}),
        )?,
    )
    .await?;
    wait_for(&pods, "graceful", "Ready", is_ready).await?;
    let deleted = pods.delete("graceful", &DeleteParams::default()).await?;
    // 30 s of grace by default: the pod is Terminating first, then the kubelet confirms.
    assert!(
        deleted
            .left()
            .is_some_and(|p| p.metadata.deletion_timestamp.is_some())
    );
    wait_for(&pods, "graceful", "gone", |p| p.is_none()).await?;

    pods.create(
        &PostParams::default(),
        &pod(
            "orphan",
            json!({"spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "node-2"}}),
        )?,
    )
    .await?;
    wait_for(&pods, "orphan", "Ready", is_ready).await?;
    Api::<Node>::all(client.clone())
        .delete("node-2", &DeleteParams::default())
        .await?;
    wait_for(&pods, "orphan", "collected", |p| p.is_none()).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn higher_priority_pod_preempts_lower_priority_one() -> Result<()> {
    let (client, _sim) = cluster(SimOptions::default(), 1).await?;
    let classes: Api<PriorityClass> = Api::all(client.clone());
    classes
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "high"}, "value": 1000}))?,
        )
        .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let asking =
        |cpu: &str| json!([{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}]);
    pods.create(
        &PostParams::default(),
        &pod("low", json!({"spec": {"containers": asking("3")}}))?,
    )
    .await?;
    wait_for(&pods, "low", "Ready", is_ready).await?;
    pods.create(
        &PostParams::default(),
        &pod(
            "high",
            json!({"spec": {"containers": asking("3"), "priorityClassName": "high"}}),
        )?,
    )
    .await?;
    wait_for(&pods, "low", "preempted", |p| p.is_none()).await?;
    let high = wait_for(&pods, "high", "Ready", is_ready)
        .await?
        .context("pod")?;
    assert_eq!(
        high.spec.and_then(|s| s.node_name).as_deref(),
        Some("node-1")
    );
    Ok(())
}

/// Scale smoke test: one task simulates every node; DaemonSet-style pods (pinned by matchFields)
/// are bound by the scheduler's fast path and all turn Ready. `SIM_SCALE_NODES` sets the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_nodes_and_daemon_style_pods_become_ready() -> Result<()> {
    let n: usize = std::env::var("SIM_SCALE_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let started = std::time::Instant::now();
    let (client, _sim) = cluster(SimOptions::default(), n).await?;
    let registered = started.elapsed();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let started = std::time::Instant::now();
    for i in 1..=n {
        let affinity = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [format!("node-{i}")]}]}
        ]}}});
        pods.create(&PostParams::default(), &pod(&format!("ds-{i}"), json!({"spec": {"containers": [{"name": "c", "image": "x"}], "affinity": affinity}}))?)
            .await?;
    }
    let created = started.elapsed();
    for i in 1..=n {
        let p = wait_for(&pods, &format!("ds-{i}"), "Ready", is_ready)
            .await?
            .context("pod")?;
        assert_eq!(p.spec.and_then(|s| s.node_name), Some(format!("node-{i}")));
    }
    eprintln!(
        "{n} nodes registered in {registered:?}; {n} pods created in {created:?}, all Ready after {:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_taint_cordon_and_crash_loop() -> Result<()> {
    let options = SimOptions {
        crash_loop_backoff: Duration::from_millis(500),
        ..SimOptions::default()
    };
    let store = everynode_apiserver::server::open_store(None, Default::default())?;
    let service = ApiService::new(store, ApiOptions::default());
    everynode_apiserver::builtin::bootstrap(&service, "").await?;
    let client = Client::new(service, "default");
    let _sim = start(client.clone(), options).await?;
    let templates = NodeSpecTemplate::cluster(1, true);
    register_nodes(&client, &templates, DEADLINE).await?;
    // Registering again creates nothing twice and still succeeds.
    register_nodes(&client, &templates, DEADLINE).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    assert_eq!(nodes.list(&ListParams::default()).await?.items.len(), 2);

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let crash = pod(
        "crash",
        json!({"metadata": {"annotations": {"everynode.dev/simulate": "crash-loop"}}}),
    )?;
    pods.create(&PostParams::default(), &crash).await?;
    let p = wait_for(&pods, "crash", "restarted twice", |p| {
        p.and_then(|p| {
            p.status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .first()
                .map(|c| c.restart_count)
        })
        .is_some_and(|r| r >= 2)
    })
    .await?
    .context("pod")?;
    assert_eq!(
        p.spec.clone().and_then(|s| s.node_name).as_deref(),
        Some("node-1"),
        "control-plane is tainted"
    );
    assert!(!is_ready(Some(&p)));

    nodes
        .patch(
            "node-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": true}})),
        )
        .await?;
    wait_for(&nodes, "node-1", "unschedulable taint", |n| {
        n.is_some_and(|n| {
            taints(n).contains(&"node.kubernetes.io/unschedulable:NoSchedule".to_string())
        })
    })
    .await?;
    pods.create(&PostParams::default(), &pod("nowhere", json!({}))?)
        .await?;
    let p = wait_for(&pods, "nowhere", "unschedulable", |p| {
        p.and_then(|p| condition(p, "PodScheduled"))
            .is_some_and(|c| c.0 == "False")
    })
    .await?
    .context("pod")?;
    assert_eq!(
        condition(&p, "PodScheduled").and_then(|c| c.2).as_deref(),
        Some(
            "0/2 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
        )
    );
    // Uncordon: the taint goes and the waiting pod is bound without polling.
    nodes
        .patch(
            "node-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"unschedulable": null}})),
        )
        .await?;
    wait_for(&pods, "nowhere", "Ready", is_ready).await?;
    Ok(())
}

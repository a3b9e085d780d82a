//! Upstream's DaemonSet e2e scenarios 1–4, 9 and 10 (`test/e2e/apps/daemon_set.go`, spec §5.4),
//! ported against the in-process stack: API server, scheduler, simulated nodes, node lifecycle,
//! garbage collector and the DaemonSet controller, all through kube-rs clients.

use std::time::Duration;

use everynode_controller::plan::should_run::node_should_run_daemon_pod;
use everynode_controller::runtime::{Controller, ControllerOptions};
use everynode_sim::{NodeSpecTemplate, SimOptions};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::in_process;

/// Upstream polls for 5 minutes; the simulated cluster converges in well under a second.
const DEADLINE: Duration = Duration::from_secs(30);
const DS_NAME: &str = "daemon-set";
const LABEL: &str = "daemonset-name";
const COLOR: &str = "daemonset-color";

struct Cluster {
    client: kube::Client,
    _controller: Controller,
    _sim: everynode_sim::SimHandle,
    _gc: everynode_sim::garbage_collector::GcHandle,
}

async fn cluster(nodes: usize) -> Cluster {
    let client = in_process(Default::default()).await;
    let gc = everynode_sim::garbage_collector::start(client.clone())
        .await
        .expect("gc");
    let sim = everynode_sim::start(client.clone(), SimOptions::default())
        .await
        .expect("sim");
    let controller = Controller::start(client.clone(), ControllerOptions::default()).await;
    everynode_sim::register_nodes(&client, &NodeSpecTemplate::cluster(nodes, false), DEADLINE)
        .await
        .expect("nodes");
    Cluster {
        client,
        _controller: controller,
        _sim: sim,
        _gc: gc,
    }
}

/// Upstream's fixture: label `daemonset-name: daemon-set`, one `app` container on port 9376.
fn daemon_set(pod_spec_extra: serde_json::Value) -> DaemonSet {
    let mut spec = json!({"containers": [{"name": "app", "image": "httpd:2.4", "ports": [{"containerPort": 9376}]}]});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), pod_spec_extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "metadata": {"name": DS_NAME, "labels": {LABEL: DS_NAME}},
        "spec": {
            "selector": {"matchLabels": {LABEL: DS_NAME}},
            "template": {"metadata": {"labels": {LABEL: DS_NAME}}, "spec": spec}
        }
    }))
    .expect("daemon set")
}

impl Cluster {
    fn daemon_sets(&self) -> Api<DaemonSet> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    fn nodes(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    /// Upstream `checkRunningOnAllNodes` for the nodes `expected` picks: exactly one available,
    /// non-terminating pod of the DaemonSet on each such node, none elsewhere.
    async fn running_on(&self, expected: impl Fn(&Node, &DaemonSet) -> bool) -> bool {
        let Ok(Some(ds)) = self.daemon_sets().get_opt(DS_NAME).await else {
            return false;
        };
        let nodes = self
            .nodes()
            .list(&ListParams::default())
            .await
            .expect("nodes")
            .items;
        let pods = self
            .pods()
            .list(&ListParams::default())
            .await
            .expect("pods")
            .items;
        nodes.iter().all(|node| {
            let name = node.metadata.name.as_deref().unwrap_or_default();
            let running = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                // A Failed or Succeeded pod does not run, whatever its stale Ready condition says.
                .filter(|p| !everynode_core::pod::is_pod_terminal(p))
                .filter(|p| {
                    p.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| Some(&o.uid) == ds.metadata.uid.as_ref())
                })
                .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name))
                .filter(|p| everynode_core::pod::is_pod_ready(p))
                .count();
            running == usize::from(expected(node, &ds))
        })
    }

    async fn wait_running_on(&self, what: &str, expected: impl Fn(&Node, &DaemonSet) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !self.running_on(&expected).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_running_on_all(&self) {
        self.wait_running_on("running on all nodes", |node, ds| {
            node_should_run_daemon_pod(node, ds).should_run
        })
        .await;
    }

    /// Upstream `checkDaemonStatus`: desired == current == ready.
    async fn wait_status_ok(&self) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let ds = self.daemon_sets().get(DS_NAME).await.expect("get ds");
            if let Some(s) = ds.status.as_ref()
                && s.desired_number_scheduled == s.current_number_scheduled
                && s.current_number_scheduled == s.number_ready
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "status never OK: {:?}",
                ds.status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates upstream's simple DaemonSet and waits until it runs everywhere with status OK.
    async fn run_simple_daemon(&self) {
        self.daemon_sets()
            .create(&PostParams::default(), &daemon_set(json!({})))
            .await
            .expect("create");
        self.wait_running_on_all().await;
        self.wait_status_ok().await;
    }

    async fn label_node(&self, node: &str, color: Option<&str>) {
        let patch = json!({"metadata": {"labels": {COLOR: color}}});
        self.nodes()
            .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("label");
    }
}

fn colored(color: &'static str) -> impl Fn(&Node, &DaemonSet) -> bool {
    move |node, _| {
        node.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(COLOR))
            .map(String::as_str)
            == Some(color)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_run_and_stop_simple_daemon() {
    let cluster = cluster(3).await;
    cluster.run_simple_daemon().await;
    let pods = cluster
        .pods()
        .list(&ListParams::default())
        .await
        .expect("pods");
    let victim = pods.items[0].metadata.name.clone().expect("name");
    cluster
        .pods()
        .delete(&victim, &DeleteParams::default())
        .await
        .expect("delete");
    cluster.wait_running_on_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_run_and_stop_complex_daemon() {
    let cluster = cluster(2).await;
    let ds = daemon_set(json!({"nodeSelector": {COLOR: "blue"}}));
    cluster
        .daemon_sets()
        .create(&PostParams::default(), &ds)
        .await
        .expect("create");
    cluster
        .wait_running_on("runs on no node", |_, _| false)
        .await;
    cluster.label_node("node-1", Some("blue")).await;
    cluster
        .wait_running_on("runs on the blue node", colored("blue"))
        .await;
    cluster.wait_status_ok().await;
    cluster.label_node("node-1", Some("green")).await;
    cluster
        .wait_running_on("runs nowhere once relabeled", |_, _| false)
        .await;
    let patch = json!({"spec": {"template": {"spec": {"nodeSelector": {COLOR: "green"}}}, "updateStrategy": {"type": "RollingUpdate"}}});
    cluster
        .daemon_sets()
        .patch(DS_NAME, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("patch");
    cluster
        .wait_running_on("runs on the green node", colored("green"))
        .await;
    cluster.wait_status_ok().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_run_and_stop_complex_daemon_with_node_affinity() {
    let cluster = cluster(2).await;
    let affinity = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": COLOR, "operator": "In", "values": ["blue"]}]}]
    }}}});
    cluster
        .daemon_sets()
        .create(&PostParams::default(), &daemon_set(affinity))
        .await
        .expect("create");
    cluster
        .wait_running_on("runs on no node", |_, _| false)
        .await;
    cluster.label_node("node-2", Some("blue")).await;
    cluster
        .wait_running_on("runs on the blue node", colored("blue"))
        .await;
    cluster.wait_status_ok().await;
    cluster.label_node("node-2", None).await;
    cluster
        .wait_running_on("runs nowhere once unlabeled", |_, _| false)
        .await;
}

/// Upstream "should retry creating failed daemon pods": a daemon pod whose phase turns Failed
/// is deleted and a new pod (another uid) runs on its node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_retry_creating_failed_daemon_pods() {
    let cluster = cluster(2).await;
    cluster.run_simple_daemon().await;
    let pods = cluster
        .pods()
        .list(&ListParams::default())
        .await
        .expect("pods");
    let mut failed = pods.items[0].clone();
    let name = failed.metadata.name.clone().expect("name");
    let uid = failed.metadata.uid.clone().expect("uid");
    let node = failed
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .expect("bound pod");
    // As a kubelet reports a failed pod: phase Failed and no longer Ready.
    let status = failed.status.get_or_insert_with(Default::default);
    status.phase = Some("Failed".into());
    for condition in status.conditions.iter_mut().flatten() {
        if condition.type_ == "Ready" || condition.type_ == "ContainersReady" {
            condition.status = "False".into();
        }
    }
    cluster
        .pods()
        .replace_status(&name, &PostParams::default(), &failed)
        .await
        .expect("update status");

    let deadline = tokio::time::Instant::now() + DEADLINE;
    while cluster.pods().get_opt(&name).await.expect("get").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failed pod was never deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.wait_running_on_all().await;
    let pods = cluster
        .pods()
        .list(&ListParams::default())
        .await
        .expect("pods")
        .items;
    let replacement = pods
        .iter()
        .find(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()))
        .expect("a pod on the failed pod's node");
    assert_ne!(
        replacement.metadata.uid.as_deref(),
        Some(uid.as_str()),
        "the pod on {node} must be a new one"
    );
    assert!(
        everynode_core::pod::is_pod_ready(replacement)
            && !everynode_core::pod::is_pod_terminal(replacement),
        "the replacement runs: {:?}",
        replacement.status
    );
    cluster.wait_status_ok().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_list_and_delete_a_collection_of_daemon_sets() {
    let cluster = cluster(2).await;
    cluster.run_simple_daemon().await;
    let selector = ListParams::default().labels(&format!("{LABEL}={DS_NAME}"));
    let all: Api<DaemonSet> = Api::all(cluster.client.clone());
    assert_eq!(all.list(&selector).await.expect("list").items.len(), 1);
    let params = DeleteParams {
        grace_period_seconds: Some(1),
        ..DeleteParams::default()
    };
    cluster
        .daemon_sets()
        .delete_collection(&params, &selector)
        .await
        .expect("deletecollection");
    assert!(all.list(&selector).await.expect("list").items.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn should_verify_changes_to_a_daemon_set_status() {
    use futures::StreamExt;
    use kube::runtime::watcher;
    let cluster = cluster(2).await;
    cluster.run_simple_daemon().await;
    let watch = watcher(
        cluster.daemon_sets(),
        watcher::Config::default().fields(&format!("metadata.name={DS_NAME}")),
    );
    let mut objects = std::pin::pin!(kube::runtime::WatchStreamExt::applied_objects(watch));
    let has_condition = |ds: &DaemonSet, kind: &str| {
        ds.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == kind))
    };

    // Upstream wraps this read-modify-write in RetryOnConflict: the controller writes the
    // status too, and a write of its own in between makes ours conflict.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let mut ds = cluster
            .daemon_sets()
            .get_status(DS_NAME)
            .await
            .expect("get status");
        let status = ds.status.get_or_insert_with(Default::default);
        status.conditions.get_or_insert_with(Vec::new).push(serde_json::from_value(json!({
            "type": "StatusUpdate", "status": "True", "reason": "E2E", "message": "Set from e2e test"
        })).expect("condition"));
        match cluster
            .daemon_sets()
            .replace_status(DS_NAME, &PostParams::default(), &ds)
            .await
        {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 409 => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "status update kept conflicting"
                );
            }
            Err(e) => panic!("update status: {e}"),
        }
    }
    tokio::time::timeout(DEADLINE, async {
        while let Some(Ok(ds)) = objects.next().await {
            if has_condition(&ds, "StatusUpdate") {
                return;
            }
        }
    })
    .await
    .expect("the watch never saw StatusUpdate");

    let patch = json!({"status": {"conditions": [{"type": "StatusPatched", "status": "True"}]}});
    cluster
        .daemon_sets()
        .patch_status(DS_NAME, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
    tokio::time::timeout(DEADLINE, async {
        while let Some(Ok(ds)) = objects.next().await {
            if has_condition(&ds, "StatusPatched") {
                return;
            }
        }
    })
    .await
    .expect("the watch never saw StatusPatched");
}

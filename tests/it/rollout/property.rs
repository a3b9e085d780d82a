//! Property-style rollouts in process: seeded random sequences of template changes, node joins
//! and leaves and pod failures under the invariant monitor; the budget holds throughout and the
//! rollout completes once pods can become ready (issue 5 "Show", spec daemonset.md §2.4, §2.5).

use std::time::Duration;

use everynode_controller::runtime::{Controller, ControllerOptions};
use everynode_sim::{NodeSpecTemplate, SimOptions, register_nodes};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::in_process;
use crate::support::monitor::{Limits, Monitor};

/// How long the final convergence may take.
const CONVERGE: Duration = Duration::from_secs(20);
const SELECTOR: &str = "app=prop";
/// Longer than the monitor's settling time for availability (its `decisions` module).
const SETTLE_PAUSE: Duration = Duration::from_millis(2500);
/// The simulated kubelet's fault-injection annotation (everynode-sim `ANNOTATION_SIMULATE`).
const SIMULATE: &str = "everynode.dev/simulate";

/// A small deterministic generator (SplitMix64): each seed replays the same sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn daemon_set(max_unavailable: i32, max_surge: i32) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "prop", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "prop"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {
                "maxUnavailable": max_unavailable, "maxSurge": max_surge}},
            "template": {
                "metadata": {"labels": {"app": "prop"}},
                "spec": {"containers": [{"name": "c", "image": "httpd:1", "env": [{"name": "V", "value": "0"}]}]}
            }
        }
    }))
    .expect("daemon set")
}

/// Patches the container's image and env (a template change, spec §2.1 U2).
async fn set_template(api: &Api<DaemonSet>, image: &str, version: usize) {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": image, "env": [{"name": "V", "value": version.to_string()}]}
    ]}}}});
    // A patch without a resourceVersion is unconditional: the server retries it on conflict.
    api.patch("prop", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("template patch");
}

fn node(name: &str) -> NodeSpecTemplate {
    NodeSpecTemplate {
        name: name.to_string(),
        control_plane: false,
    }
}

/// Done as `kubectl rollout status` judges it (spec §4.3), plus every node counted.
fn rolled_out(ds: &DaemonSet, nodes: usize) -> bool {
    let (Some(status), generation) = (ds.status.as_ref(), ds.metadata.generation) else {
        return false;
    };
    let desired = status.desired_number_scheduled;
    status.observed_generation >= generation
        && usize::try_from(desired) == Ok(nodes)
        && status.updated_number_scheduled.unwrap_or(0) >= desired
        && status.number_available.unwrap_or(0) >= desired
}

/// Runs one seeded case; returns how many surge creations and deletions the monitor judged.
async fn run_case(seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed);
    let client = in_process(Default::default()).await;
    let gc = everynode_sim::garbage_collector::start(client.clone())
        .await
        .expect("gc starts");
    let sim = everynode_sim::start(
        client.clone(),
        SimOptions {
            pod_startup_delay: Duration::from_millis(50),
            ..SimOptions::default()
        },
    )
    .await
    .expect("sim starts");
    let controller = Controller::start(client.clone(), ControllerOptions::default()).await;
    let mut names: Vec<String> = (1..=4).map(|i| format!("node-{i}")).collect();
    let templates: Vec<NodeSpecTemplate> = names.iter().map(|n| node(n)).collect();
    register_nodes(&client, &templates, CONVERGE)
        .await
        .expect("nodes");

    // Half the cases surge (maxUnavailable 0, spec §2.5), half do not (§2.4).
    let (max_unavailable, max_surge) = if rng.below(2) == 0 {
        (0, 1 + rng.below(2) as i32)
    } else {
        (1 + rng.below(2) as i32, 0)
    };
    let daemon_sets: Api<DaemonSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<Node> = Api::all(client.clone());
    daemon_sets
        .create(
            &PostParams::default(),
            &daemon_set(max_unavailable, max_surge),
        )
        .await
        .expect("create");
    converge(&daemon_sets, names.len(), &format!("seed {seed}")).await;

    // Without surge the state bounds hold at every moment (spec §2.4). With surge upstream
    // bounds its decisions instead (spec §2.5): an unavailable old pod is replaced outside the
    // budget and may turn available afterwards, and manage keeps the *oldest* of two outdated
    // pods by creation second and name, ready or not. So surge cases check the per-node shape
    // (at most one pod per revision, two in all) at every moment and judge each creation and
    // deletion against maxSurge (the monitor's `decisions` module).
    let surge = max_surge > 0;
    let limits = Limits {
        max_unavailable: if surge {
            usize::MAX
        } else {
            max_unavailable as usize
        },
        max_surge: if surge { usize::MAX } else { 0 },
        min_ready_seconds: 0,
    };
    let monitor = Monitor::start(client.clone(), "default", SELECTOR, limits).await;
    if surge {
        monitor.judge_surge_decisions(max_surge as usize);
    }
    let mut log = Vec::new();
    let mut version = 0;
    let mut next_node = names.len() + 1;
    for _ in 0..8 {
        match rng.below(7) {
            0 | 1 => {
                version += 1;
                // One in three changes is to an image that never pulls: a stuck rollout.
                let image = if rng.below(3) == 0 {
                    "foo:non-existent"
                } else {
                    "httpd:1"
                };
                log.push(format!("template v{version} {image}"));
                set_template(&daemon_sets, image, version).await;
            }
            2 => {
                let name = format!("node-{next_node}");
                next_node += 1;
                log.push(format!("join {name}"));
                register_nodes(&client, &[node(&name)], CONVERGE)
                    .await
                    .expect("node joins");
                names.push(name);
            }
            3 if names.len() > 2 => {
                let name = names.remove(rng.below(names.len() as u64) as usize);
                log.push(format!("leave {name}"));
                monitor.node_leaves(&name);
                nodes
                    .delete(&name, &DeleteParams::default())
                    .await
                    .expect("node leaves");
            }
            fault => {
                let list = pods
                    .list(&ListParams::default().labels(SELECTOR))
                    .await
                    .expect("pods");
                let live: Vec<&Pod> = list
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                if live.is_empty() {
                    continue;
                }
                let pod = live[rng.below(live.len() as u64) as usize];
                let name = pod.metadata.name.clone().unwrap_or_default();
                let on = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default();
                let uid = pod.metadata.uid.as_deref().unwrap_or_default();
                // A patch may race with the pod's deletion: a NotFound is fine.
                match fault {
                    4 => {
                        log.push(format!("kill {name} on {on}"));
                        monitor.fault(uid);
                        let _ = pods.delete(&name, &DeleteParams::default()).await;
                    }
                    5 => {
                        // Upstream e2e #4: the pod's phase set to Failed through the status.
                        log.push(format!("fail {name} on {on}"));
                        monitor.fault_unready(uid);
                        let patch = json!({"status": {"phase": "Failed"}});
                        let _ = pods
                            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await;
                    }
                    _ => {
                        // A running pod turns unready (its readiness probe starts failing).
                        log.push(format!("unready {name} on {on}"));
                        monitor.fault_unready(uid);
                        let patch = json!({"metadata": {"annotations": {SIMULATE: "never-ready"}}});
                        let _ = pods
                            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await;
                    }
                }
            }
        }
        // A random pause so the perturbations land at different points of the rollout; this
        // varies interleavings, it synchronizes nothing. With surge, one pause in four lets
        // the pods settle, so the next decisions are ones the monitor can judge.
        let pause = if surge && rng.below(4) == 0 {
            SETTLE_PAUSE
        } else {
            Duration::from_millis(rng.below(250))
        };
        tokio::time::sleep(pause).await;
    }
    version += 1;
    log.push(format!("template v{version} httpd:1 (final)"));
    set_template(&daemon_sets, "httpd:1", version).await;
    let what =
        format!("seed {seed}, maxUnavailable {max_unavailable}, maxSurge {max_surge}: {log:?}");
    converge(&daemon_sets, names.len(), &what).await;
    let violations = monitor.violations();
    if !violations.is_empty() {
        // The controller's events tell a failed or retried write from a planning mistake.
        let events: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(client.clone(), "default");
        let list = events.list(&ListParams::default()).await.expect("events");
        for e in list
            .items
            .iter()
            .filter(|e| e.involved_object.kind.as_deref() == Some("DaemonSet"))
        {
            log.push(format!("event {:?}: {:?}", e.reason, e.message));
        }
    }
    assert!(
        violations.is_empty(),
        "seed {seed}, maxUnavailable {max_unavailable}, maxSurge {max_surge}: {log:#?}\n{}",
        violations.join("\n")
    );
    let judged = monitor.judged();
    drop(monitor);
    controller.stop();
    sim.stop().await;
    gc.stop();
    judged
}

async fn converge(api: &Api<DaemonSet>, nodes: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + CONVERGE;
    loop {
        let ds = api.get("prop").await.expect("get ds");
        if rolled_out(&ds, nodes) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not rolled out onto {nodes} nodes: {:?}",
            ds.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_template_node_and_pod_changes_keep_the_budget_and_complete() {
    let (mut creations, mut deletions) = (0, 0);
    for seed in 1..=8 {
        let judged = run_case(seed).await;
        creations += judged.0;
        deletions += judged.1;
    }
    // The surge seeds' decision checks must have had decisions to judge.
    assert!(
        creations > 0 && deletions > 0,
        "judged {creations} surge creations and {deletions} deletions"
    );
}

//! Updates against a real `everynode up` with the real kubectl: upstream e2e scenarios 5–8
//! (spec daemonset.md §5.4), every `kubectl rollout` command (§4.3–§4.6) and the invariant
//! monitor watching each rollout.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::monitor::{Limits, Monitor};
use crate::support::{Kubectl, Server, wait_for};

mod collision;
mod property;
/// How long any single condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
const SELECTOR: &str = "daemonset-name=daemon-set";
const DS: &str = "ds/daemon-set";

/// The e2e DaemonSet (§5.4 common setup) with `strategy` spliced into its spec.
fn manifest(image: &str, strategy: &str, extra_spec: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: daemon-set
  annotations:
    kubernetes.io/change-cause: initial
spec:
  selector:
    matchLabels:
      daemonset-name: daemon-set
  updateStrategy:
{strategy}
{extra_spec}
  template:
    metadata:
      labels:
        daemonset-name: daemon-set
    spec:
      containers:
      - name: app
        image: {image}
        ports:
        - containerPort: 9376
"#
    )
}

const ROLLING: &str = "    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 1";
const ON_DELETE: &str = "    type: OnDelete";
const OLD_IMAGE: &str = "httpd:2.4.38-alpine";
const NEW_IMAGE: &str = "httpd:2.4.39-alpine";

/// One daemon pod as kubectl lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PodRow {
    uid: String,
    node: String,
    image: String,
    hash: String,
    terminating: bool,
}

fn pods(k: &Kubectl) -> Vec<PodRow> {
    let out = k.jsonpath(
        &["get", "pods", "-l", SELECTOR],
        r#"{range .items[*]}{.metadata.uid} {.spec.nodeName} {.spec.containers[0].image} {.metadata.labels.controller-revision-hash} {.metadata.deletionTimestamp}{"\n"}{end}"#,
    );
    let mut rows: Vec<PodRow> = out
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            Some(PodRow {
                uid: f.first()?.to_string(),
                node: f.get(1)?.to_string(),
                image: f.get(2)?.to_string(),
                hash: f.get(3)?.to_string(),
                terminating: f.get(4).is_some_and(|t| !t.is_empty()),
            })
        })
        .collect();
    rows.sort();
    rows
}

/// The DaemonSet's ControllerRevisions as (revision, hash), ascending.
fn revisions(k: &Kubectl) -> Vec<(i64, String)> {
    let out = k.jsonpath(
        &["get", "controllerrevisions", "-l", SELECTOR],
        r#"{range .items[*]}{.revision} {.metadata.labels.controller-revision-hash}{"\n"}{end}"#,
    );
    let mut rows: Vec<(i64, String)> = out
        .lines()
        .filter_map(|l| {
            let (r, h) = l.split_once(' ')?;
            Some((r.parse().ok()?, h.to_string()))
        })
        .collect();
    rows.sort();
    rows
}

fn current_hash(k: &Kubectl) -> String {
    revisions(k).last().map(|r| r.1.clone()).unwrap_or_default()
}

/// `kubectl rollout status` until done; returns its output.
fn rollout_done(k: &Kubectl) -> String {
    k.run(&["rollout", "status", DS, "--timeout=30s"]).ok()
}

/// A cluster of `nodes` nodes whose pods take a moment to start, so rollouts are observable.
fn cluster(nodes: &str) -> (Server, Kubectl) {
    let server = Server::start(&["up", "--nodes", nodes, "--pod-startup", "200ms"]);
    let k = Kubectl::new(&server.kubeconfig());
    (server, k)
}

fn limits(max_unavailable: usize, max_surge: usize, min_ready_seconds: i64) -> Limits {
    Limits {
        max_unavailable,
        max_surge,
        min_ready_seconds,
    }
}

/// Checks `rollout status` progress lines follow upstream's order (spec §4.3): spec observed,
/// then updated counts rising, then available counts rising, then the final message.
fn assert_progress_in_order(output: &str, desired: usize) {
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("daemon set \"daemon-set\" successfully rolled out"),
        "{output}"
    );
    let prefix = "Waiting for daemon set \"daemon-set\" rollout to finish: ";
    let mut stage = 0;
    let mut last = 0;
    for line in &lines[..lines.len() - 1] {
        let (this_stage, count) = if *line == "Waiting for daemon set spec update to be observed..."
        {
            (0, 0)
        } else if let Some(rest) = line.strip_prefix(prefix) {
            if let Some(n) =
                rest.strip_suffix(&format!(" out of {desired} new pods have been updated..."))
            {
                (1, n.parse::<usize>().expect("updated count"))
            } else if let Some(n) =
                rest.strip_suffix(&format!(" of {desired} updated pods are available..."))
            {
                (2, n.parse::<usize>().expect("available count"))
            } else {
                panic!("unexpected progress line {line:?} in\n{output}");
            }
        } else {
            panic!("unexpected progress line {line:?} in\n{output}");
        };
        assert!(this_stage >= stage, "out of order at {line:?}:\n{output}");
        if this_stage > stage {
            last = 0;
        }
        assert!(count >= last, "count went down at {line:?}:\n{output}");
        assert!(count < desired, "progress line after completion:\n{output}");
        stage = this_stage;
        last = count;
    }
}

/// §5.4 #6 (conformance DaemonSet-RollingUpdate): an image update replaces every pod, never
/// more than maxUnavailable down, and `rollout status` reports it in upstream's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn should_update_pod_when_spec_was_updated_and_update_strategy_is_rolling_update() {
    let (server, k) = cluster("3");
    k.apply(&manifest(OLD_IMAGE, ROLLING, "")).ok();
    rollout_done(&k);
    let first = revisions(&k);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, 1);
    assert!(pods(&k).iter().all(|p| p.hash == first[0].1));

    let monitor = Monitor::start(server.client().await, "default", SELECTOR, limits(1, 0, 0)).await;
    let out = k
        .run(&["set", "image", DS, &format!("app={NEW_IMAGE}")])
        .ok();
    assert_eq!(out.trim(), "daemonset.apps/daemon-set image updated");
    let status = rollout_done(&k);
    assert_progress_in_order(&status, 3);

    let revs = revisions(&k);
    assert_eq!(revs.len(), 2, "{revs:?}");
    assert_eq!(revs[1].0, 2);
    assert_ne!(revs[1].1, first[0].1);
    let now = pods(&k);
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(
        now.iter()
            .all(|p| p.image == NEW_IMAGE && p.hash == revs[1].1 && !p.terminating),
        "{now:?}"
    );
    let nodes: BTreeSet<&str> = now.iter().map(|p| p.node.as_str()).collect();
    assert_eq!(nodes.len(), 3);
    monitor.assert_clean();
}

/// §5.4 #5: with OnDelete a template change creates revision 2 and touches no pod; a pod
/// deleted by hand comes back on the new template.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn should_not_update_pod_when_spec_was_updated_and_update_strategy_is_on_delete() {
    let (server, k) = cluster("3");
    k.apply(&manifest(OLD_IMAGE, ON_DELETE, "")).ok();
    let err = k.run(&["rollout", "status", DS]).err();
    assert!(
        err.contains("rollout status is only available for RollingUpdate strategy type"),
        "{err}"
    );
    wait_for("3 available pods", DEADLINE, || {
        (k.jsonpath(&["get", DS], "{.status.numberAvailable}") == "3").then_some(())
    });
    let before = pods(&k);
    let first = revisions(&k);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(before.iter().all(|p| p.hash == first[0].1), "{before:?}");

    let monitor = Monitor::start(server.client().await, "default", SELECTOR, limits(0, 0, 0)).await;
    k.run(&["set", "image", DS, &format!("app={NEW_IMAGE}")])
        .ok();
    // The controller has seen the new template once it reports the new generation observed
    // and revision 2 exists; from then on nothing may have moved.
    wait_for(
        "revision 2 and the new generation observed",
        DEADLINE,
        || {
            let observed = k.jsonpath(
                &["get", DS],
                "{.metadata.generation} {.status.observedGeneration}",
            );
            let same = observed
                .split_once(' ')
                .is_some_and(|(g, o)| g == o && g == "2");
            (same && revisions(&k).len() == 2).then_some(())
        },
    );
    let revs = revisions(&k);
    assert_eq!(revs[1].0, 2);
    assert_ne!(revs[1].1, first[0].1);
    assert_eq!(pods(&k), before, "OnDelete must not touch pods");
    assert_eq!(
        k.jsonpath(&["get", DS], "{.status.updatedNumberScheduled}"),
        "0"
    );
    monitor.assert_clean();
    assert!(monitor.deleted().is_empty());
    drop(monitor);

    let victim = before[0].clone();
    let name = k.jsonpath(
        &["get", "pods", "-l", SELECTOR],
        &format!(
            "{{.items[?(@.metadata.uid==\"{}\")].metadata.name}}",
            victim.uid
        ),
    );
    k.run(&["delete", "pod", &name]).ok();
    let after = wait_for("a new-template pod on the emptied node", DEADLINE, || {
        let now = pods(&k);
        now.iter()
            .any(|p| p.node == victim.node && p.hash == revs[1].1 && p.image == NEW_IMAGE)
            .then_some(now)
    });
    for old in &before[1..] {
        assert!(after.contains(old), "{old:?} was touched: {after:?}");
    }
    wait_for("updatedNumberScheduled 1", DEADLINE, || {
        (k.jsonpath(&["get", DS], "{.status.updatedNumberScheduled}") == "1").then_some(())
    });
}

/// §5.4 #7 (conformance DaemonSet-Rollback): a stuck update to a missing image, undone; pods
/// already on the restored template are never restarted, history renumbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn should_rollback_without_unnecessary_restarts() {
    let (server, k) = cluster("3");
    k.apply(&manifest(OLD_IMAGE, ROLLING, "")).ok();
    rollout_done(&k);
    let good_hash = current_hash(&k);

    k.run(&["set", "image", DS, "app=foo:non-existent"]).ok();
    // maxUnavailable 1: one pod is replaced by a never-ready one and the rollout stalls there.
    let stuck = wait_for("a pod with the bad image", DEADLINE, || {
        let now = pods(&k);
        now.iter()
            .any(|p| p.image == "foo:non-existent" && !p.terminating)
            .then_some(now)
    });
    let kept: BTreeSet<String> = stuck
        .iter()
        .filter(|p| p.image == OLD_IMAGE && !p.terminating)
        .map(|p| p.uid.clone())
        .collect();
    assert!(!kept.is_empty(), "no old pods left: {stuck:?}");

    let monitor = Monitor::start(server.client().await, "default", SELECTOR, limits(1, 0, 0)).await;
    // Upstream counts every unavailable pod, the stuck one included: its node is already the
    // one unavailable node the undo may have, so no other node may go down meanwhile.
    for p in stuck.iter().filter(|p| p.image == "foo:non-existent") {
        monitor.establish(&p.node);
    }
    let out = k.run(&["rollout", "undo", DS]).ok();
    assert_eq!(out.trim(), "daemonset.apps/daemon-set rolled back");
    rollout_done(&k);

    let after = pods(&k);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(
        after
            .iter()
            .all(|p| p.image == OLD_IMAGE && p.hash == good_hash),
        "{after:?}"
    );
    let uids: BTreeSet<String> = after.iter().map(|p| p.uid.clone()).collect();
    assert!(kept.is_subset(&uids), "restarted: {kept:?} vs {after:?}");
    let deleted = monitor.deleted();
    assert!(
        kept.is_disjoint(&deleted),
        "pods on the restored template were deleted: {:?}",
        kept.intersection(&deleted).collect::<Vec<_>>()
    );
    monitor.assert_clean();

    // spec §2.8 B2: the restored revision 1 is renumbered to 3; no new revision.
    let revs = revisions(&k);
    assert_eq!(revs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(revs[1].1, good_hash);
    let out = k.run(&["rollout", "undo", DS, "--to-revision=3"]).ok();
    assert_eq!(
        out.trim(),
        "daemonset.apps/daemon-set skipped rollback (current template already matches revision 3)"
    );
}

/// §5.4 #8: maxSurge 20% / maxUnavailable 0 / minReadySeconds 10 and a 15 s preStop sleep as
/// upstream — per node the new pod is Available before the old one goes, old pods stay
/// Terminating through their hook, while the test injects upstream's faults (an old pod forced
/// unready, a random pod deleted) and the monitor checks upstream's invariants.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn should_surge_pods_onto_nodes_when_spec_was_updated_and_update_strategy_is_rolling_update()
{
    let (server, k) = cluster("3");
    let surge =
        "    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: 0\n      maxSurge: 20%";
    let manifest = manifest(OLD_IMAGE, surge, &format!("  minReadySeconds: {SURGE_MIN_READY}"))
        .replace(
            "        ports:",
            "        env:\n        - name: VERSION\n          value: \"1\"\n        lifecycle:\n          preStop:\n            exec:\n              command: [\"/bin/sh\", \"-c\", \"sleep 15\"]\n        readinessProbe:\n          exec:\n            command: [\"true\"]\n        ports:",
        );
    k.apply(&manifest).ok();
    rollout_done_within(&k, SURGE_TIMEOUT);
    let before: BTreeSet<String> = pods(&k).into_iter().map(|p| p.uid).collect();
    assert_eq!(revisions(&k).len(), 1);

    // 20% of 3 nodes rounds up to 1 (spec §2.2 R2).
    let monitor = Monitor::start(
        server.client().await,
        "default",
        SELECTOR,
        limits(0, 1, SURGE_MIN_READY),
    )
    .await;
    monitor.track_versions();
    monitor.judge_surge_decisions(1);
    k.run(&["set", "env", DS, "VERSION=2"]).ok();
    // Upstream injects a fault with probability 2/25 per 1 s poll; here each kind once, at a
    // seeded random poll, so every run exercises both.
    let mut rng = Rng(8);
    let (mut unready_at, mut delete_at) = (1 + rng.below(8), 1 + rng.below(8));
    let deadline = std::time::Instant::now() + SURGE_TIMEOUT;
    let mut faults = Vec::new();
    loop {
        let now = pods(&k);
        let hash = current_hash(&k);
        let done = now.len() == 3
            && now.iter().all(|p| p.hash == hash && !p.terminating)
            && k.jsonpath(&["get", DS], "{.status.numberAvailable}") == "3";
        if done && unready_at == 0 && delete_at == 0 {
            break;
        }
        if std::time::Instant::now() >= deadline {
            let state = k
                .run(&[
                    "get",
                    "pods",
                    "-o",
                    "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,HASH:.metadata.labels.controller-revision-hash,READY:.status.conditions[?(@.type==\"Ready\")].status,SINCE:.status.conditions[?(@.type==\"Ready\")].lastTransitionTime,ANN:.metadata.annotations",
                ])
                .ok();
            let status = k.run(&["get", DS, "-o", "jsonpath={.status}"]).ok();
            let events = k.run(&["get", "events", "--sort-by=.lastTimestamp"]).ok();
            panic!(
                "surge rollout did not finish: {now:?}, faults {faults:?}\n{state}\n{status}\n{events}"
            );
        }
        let live: Vec<&PodRow> = now.iter().filter(|p| !p.terminating).collect();
        if unready_at == 1 {
            // An old pod forced unready (upstream: its readiness probe made to fail).
            let old: Vec<&&PodRow> = live.iter().filter(|p| before.contains(&p.uid)).collect();
            if let Some(p) = old.get(rng.below(old.len().max(1) as u64) as usize) {
                monitor.fault_unready(&p.uid);
                let name = pod_name(&k, &p.uid);
                k.run(&[
                    "annotate",
                    "pod",
                    &name,
                    "everynode.dev/simulate=never-ready",
                ])
                .ok();
                faults.push(format!("unready {name} on {}", p.node));
            }
        }
        if delete_at == 1
            && let Some(p) = live.get(rng.below(live.len().max(1) as u64) as usize)
        {
            monitor.fault(&p.uid);
            let name = pod_name(&k, &p.uid);
            // The pod may already be going: a NotFound here is fine.
            let _ = k.run(&["delete", "pod", &name, "--wait=false"]);
            faults.push(format!("delete {name} on {}", p.node));
        }
        unready_at = unready_at.saturating_sub(1);
        delete_at = delete_at.saturating_sub(1);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(faults.len(), 2, "both faults injected: {faults:?}");
    let after = pods(&k);
    let hash = current_hash(&k);
    assert!(after.iter().all(|p| p.hash == hash), "{after:?}");
    assert!(after.iter().all(|p| !before.contains(&p.uid)), "{after:?}");
    assert_eq!(
        k.jsonpath(
            &["get", DS],
            "{.spec.template.spec.containers[0].env[0].value}"
        ),
        "2"
    );
    let revs = revisions(&k);
    assert_eq!(revs.len(), 2, "{revs:?}");
    assert_eq!(revs[1].0, 2);
    assert!(
        monitor.violations().is_empty(),
        "faults {faults:?}:\n{}",
        monitor.violations().join("\n")
    );
    assert!(!monitor.surged_nodes().is_empty(), "no node ever surged");
    let (creations, deletions) = monitor.judged();
    assert!(
        creations > 0 && deletions > 0,
        "judged {creations} surge creations and {deletions} deletions"
    );
    // Every old pod the rollout replaced ran its 15 s preStop sleep before going (seen from the
    // watch, so allow for its delay).
    let terminations = monitor.terminations();
    let replaced: Vec<_> = before
        .iter()
        .filter_map(|uid| terminations.get(uid))
        .collect();
    assert!(!replaced.is_empty(), "no old pod seen terminating");
    assert!(
        replaced.iter().all(|took| **took >= PRE_STOP_SEEN),
        "old pods went before their preStop sleep ended: {replaced:?}"
    );
}

/// The least time an old pod of the surge test may be seen terminating: its preStop sleeps 15 s;
/// the watch may show the deletion a little late.
const PRE_STOP_SEEN: k8s_openapi::jiff::SignedDuration =
    k8s_openapi::jiff::SignedDuration::from_secs(12);

/// Upstream's minReadySeconds for the surge test. Each node then takes ≥ 10 s, one node at a
/// time (maxSurge 20% of 3 = 1): about 35 s for the rollout, and 15 s more for the last old
/// pod's preStop sleep.
const SURGE_MIN_READY: i64 = 10;
// Generous: one run under heavy machine load took over 90 s.
const SURGE_TIMEOUT: Duration = Duration::from_secs(150);

/// `kubectl rollout status` until done within `timeout`.
fn rollout_done_within(k: &Kubectl, timeout: Duration) -> String {
    k.run(&[
        "rollout",
        "status",
        DS,
        &format!("--timeout={}s", timeout.as_secs()),
    ])
    .ok()
}

/// The name of the daemon pod with `uid`.
fn pod_name(k: &Kubectl, uid: &str) -> String {
    k.jsonpath(
        &["get", "pods", "-l", SELECTOR],
        &format!("{{.items[?(@.metadata.uid==\"{uid}\")].metadata.name}}"),
    )
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// `kubectl rollout history` lists revisions with their change-cause, `--revision=N` shows
/// that template; `rollout restart` replaces every pod under the budget; `rollout undo
/// --to-revision=N` restores an older template and renumbers it (spec §4.4–§4.6, §2.8).
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn rollout_history_restart_and_undo_to_revision() {
    let (server, k) = cluster("3");
    k.apply(&manifest(OLD_IMAGE, ROLLING, "")).ok();
    rollout_done(&k);
    // The change-cause is copied when the revision is created (spec §2.6 H3): annotate first.
    k.run(&[
        "annotate",
        DS,
        "kubernetes.io/change-cause=image v2",
        "--overwrite",
    ])
    .ok();
    k.run(&["set", "image", DS, &format!("app={NEW_IMAGE}")])
        .ok();
    rollout_done(&k);

    let history = k.run(&["rollout", "history", DS]).ok();
    let lines: Vec<&str> = history.lines().map(str::trim_end).collect();
    assert_eq!(
        lines,
        vec![
            "daemonset.apps/daemon-set",
            "REVISION  CHANGE-CAUSE",
            "1         initial",
            "2         image v2",
            ""
        ],
        "{history}"
    );
    let first = k.run(&["rollout", "history", DS, "--revision=1"]).ok();
    assert!(
        first.contains("daemonset.apps/daemon-set with revision #1"),
        "{first}"
    );
    assert!(first.contains("Pod Template:"), "{first}");
    assert!(
        first
            .lines()
            .any(|l| l.split_whitespace().eq(["Image:", OLD_IMAGE])),
        "{first}"
    );
    let err = k.run(&["rollout", "history", DS, "--revision=9"]).err();
    assert!(
        err.contains("unable to find the specified revision"),
        "{err}"
    );

    // Restart: every pod replaced within maxUnavailable 1, the annotation in the template.
    let before: BTreeSet<String> = pods(&k).into_iter().map(|p| p.uid).collect();
    let monitor = Monitor::start(server.client().await, "default", SELECTOR, limits(1, 0, 0)).await;
    let out = k.run(&["rollout", "restart", DS]).ok();
    assert_eq!(out.trim(), "daemonset.apps/daemon-set restarted");
    rollout_done(&k);
    let restarted_at = k.jsonpath(
        &["get", DS],
        r#"{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}"#,
    );
    assert!(restarted_at.ends_with('Z'), "{restarted_at:?}");
    let after = wait_for("only restarted pods", DEADLINE, || {
        let now = pods(&k);
        (now.len() == 3 && now.iter().all(|p| !p.terminating)).then_some(now)
    });
    assert!(after.iter().all(|p| !before.contains(&p.uid)), "{after:?}");
    monitor.assert_clean();
    assert!(monitor.violations().is_empty());
    drop(monitor);

    // Undo to revision 1: the old image returns as revision 4; 1 is gone from the list.
    let out = k.run(&["rollout", "undo", DS, "--to-revision=1"]).ok();
    assert_eq!(out.trim(), "daemonset.apps/daemon-set rolled back");
    rollout_done(&k);
    assert_eq!(
        k.jsonpath(&["get", DS], "{.spec.template.spec.containers[0].image}"),
        OLD_IMAGE
    );
    let revs = revisions(&k);
    assert_eq!(
        revs.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 3, 4],
        "{revs:?}"
    );
    let history = k.run(&["rollout", "history", DS]).ok();
    assert!(history.contains("4         initial"), "{history}");
    let err = k.run(&["rollout", "undo", DS, "--to-revision=1"]).err();
    assert!(
        err.contains("unable to find specified revision 1 in history"),
        "{err}"
    );
    let err = k.run(&["rollout", "pause", DS]).err();
    assert!(err.contains("pausing is not supported"), "{err}");
}

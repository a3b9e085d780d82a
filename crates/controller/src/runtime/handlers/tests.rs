//! Upstream's event-handler unit tests (`daemon_controller_test.go`): which DaemonSet keys a
//! DaemonSet, pod or node event puts on the queues, against stores built in memory.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kube::runtime::reflector::{Store, store, store::Writer};
use kube::runtime::watcher;

use super::Handlers;
use crate::fixtures::{
    SIMPLE_DAEMON_LABELS, labels, new_daemon_set, new_node, new_pod, taint_node, template_spec,
};
use crate::plan::pod_template::controller_owner_ref;
use crate::runtime::expectations::Expectations;
use crate::runtime::node_updates::NodeUpdates;
use crate::runtime::pods_by_node::PodsByNode;
use crate::runtime::queue::WorkQueue;

/// Upstream `simpleDaemonSetLabel2`.
const SIMPLE_DAEMON_LABELS_2: &[(&str, &str)] = &[("name", "simple-daemon"), ("type", "test")];
/// Upstream `simpleNodeLabel`.
const SIMPLE_NODE_LABELS: &[(&str, &str)] = &[("color", "blue"), ("speed", "fast")];

/// Upstream `newTestController` reduced to what the handlers see: the caches (filled directly,
/// as upstream adds to informer stores) and the two queues.
struct Harness {
    handlers: Handlers,
    node_updates: NodeUpdates,
    daemon_sets: Writer<DaemonSet>,
    nodes: Writer<Node>,
    pods_by_node: PodsByNode,
}

fn harness() -> Harness {
    let (ds_store, daemon_sets): (Store<DaemonSet>, _) = store();
    let (node_store, nodes): (Store<Node>, _) = store();
    let queue = WorkQueue::default();
    let handlers = Handlers {
        queue: queue.clone(),
        node_updates: WorkQueue::default(),
        expectations: Arc::new(Expectations::default()),
        daemon_sets: ds_store.clone(),
    };
    let node_updates = NodeUpdates {
        daemon_sets: ds_store,
        nodes: node_store,
        pods_by_node: PodsByNode::default(),
        queue,
    };
    Harness {
        handlers,
        pods_by_node: node_updates.pods_by_node.clone(),
        node_updates,
        daemon_sets,
        nodes,
    }
}

impl Harness {
    fn add_daemon_set(&mut self, ds: &DaemonSet) {
        self.daemon_sets
            .apply_watcher_event(&watcher::Event::Apply(ds.clone()));
    }

    fn add_node(&mut self, node: &Node) {
        self.nodes
            .apply_watcher_event(&watcher::Event::Apply(node.clone()));
    }

    fn add_pod(&mut self, pod: &Pod) {
        self.pods_by_node
            .apply(&(None, Some(Arc::new(pod.clone()))));
    }

    /// Both strategies of upstream's `updateStrategies()` loop give the same answers here: the
    /// handlers never read the strategy.
    fn queue(&self) -> &WorkQueue {
        &self.handlers.queue
    }
}

/// Upstream `getQueuedKeys`: takes everything queued, sorted.
async fn queued_keys(queue: &WorkQueue) -> Vec<String> {
    let mut keys = Vec::new();
    for _ in 0..queue.len() {
        if let Some(key) = queue.next().await {
            queue.done(&key);
            keys.push(key);
        }
    }
    keys.sort();
    keys
}

fn daemon_sets(names: &[&str]) -> Vec<DaemonSet> {
    names.iter().map(|name| new_daemon_set(name)).collect()
}

fn with_labels(mut ds: DaemonSet, pairs: &[(&str, &str)]) -> DaemonSet {
    if let Some(spec) = ds.spec.as_mut() {
        spec.selector.match_labels = Some(labels(pairs));
    }
    ds
}

/// Upstream `bumpResourceVersion`.
fn bump_resource_version(pod: &mut Pod) {
    let version: u64 = pod
        .metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pod.metadata.resource_version = Some((version + 1).to_string());
}

fn arc<T>(object: &T) -> Option<Arc<T>>
where
    T: Clone,
{
    Some(Arc::new(object.clone()))
}

#[tokio::test]
async fn add_node() {
    let mut h = harness();
    let mut ds = new_daemon_set("ds");
    template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABELS));
    h.add_daemon_set(&ds);
    // Newest upstream: every added node goes on the node-update queue, fitting or not.
    let node1 = new_node("node1", &[]);
    h.handlers.node((None, arc(&node1)));
    assert_eq!(queued_keys(&h.handlers.node_updates).await, ["node1"]);
    let node2 = new_node("node2", SIMPLE_NODE_LABELS);
    h.handlers.node((None, arc(&node2)));
    assert_eq!(queued_keys(&h.handlers.node_updates).await, ["node2"]);

    // What the node-update worker then makes of them: only the fitting node concerns `ds`.
    h.add_node(&node1);
    h.add_node(&node2);
    h.node_updates.sync("node1");
    assert!(
        h.queue().is_empty(),
        "node1 does not match the nodeSelector"
    );
    h.node_updates.sync("node2");
    assert_eq!(queued_keys(h.queue()).await, ["default/ds"]);
}

#[tokio::test]
async fn add_pod() {
    let mut h = harness();
    let [ds1, ds2] = <[DaemonSet; 2]>::try_from(daemon_sets(&["foo1", "foo2"])).expect("two");
    h.add_daemon_set(&ds1);
    h.add_daemon_set(&ds2);
    h.handlers.expectations.expect("default/foo1", 1, []);
    let pod1 = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds1));
    h.handlers.pod((None, arc(&pod1)));
    assert_eq!(queued_keys(h.queue()).await, ["default/foo1"]);
    assert!(
        h.handlers.expectations.satisfied("default/foo1"),
        "an owned pod's add is an observed creation"
    );
    let pod2 = new_pod("pod2-", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds2));
    h.handlers.pod((None, arc(&pod2)));
    assert_eq!(queued_keys(h.queue()).await, ["default/foo2"]);
}

#[tokio::test]
async fn add_pod_orphan() {
    let mut h = harness();
    for ds in daemon_sets(&["foo1", "foo2"]) {
        h.add_daemon_set(&ds);
    }
    h.add_daemon_set(&with_labels(new_daemon_set("foo3"), SIMPLE_DAEMON_LABELS_2));
    // An orphan concerns every DaemonSet whose selector matches it.
    let pod = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, None);
    h.handlers.pod((None, arc(&pod)));
    assert_eq!(
        queued_keys(h.queue()).await,
        ["default/foo1", "default/foo2"]
    );
}

#[tokio::test]
async fn update_pod() {
    let mut h = harness();
    let [ds1, ds2] = <[DaemonSet; 2]>::try_from(daemon_sets(&["foo1", "foo2"])).expect("two");
    h.add_daemon_set(&ds1);
    h.add_daemon_set(&ds2);
    for (pod, key) in [("pod1-", "default/foo1"), ("pod2-", "default/foo2")] {
        let ds = if key.ends_with("foo1") { &ds1 } else { &ds2 };
        let mut cur = new_pod(pod, "node-0", SIMPLE_DAEMON_LABELS, Some(ds));
        let prev = cur.clone();
        bump_resource_version(&mut cur);
        h.handlers.pod((arc(&prev), arc(&cur)));
        assert_eq!(queued_keys(h.queue()).await, [key]);
    }
}

#[tokio::test]
async fn update_pod_orphan_same_labels() {
    let mut h = harness();
    for ds in daemon_sets(&["foo1", "foo2"]) {
        h.add_daemon_set(&ds);
    }
    let mut pod = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, None);
    let prev = pod.clone();
    bump_resource_version(&mut pod);
    h.handlers.pod((arc(&prev), arc(&pod)));
    assert_eq!(h.queue().len(), 0);
}

#[tokio::test]
async fn update_pod_orphan_with_new_labels() {
    let mut h = harness();
    for ds in daemon_sets(&["foo1", "foo2"]) {
        h.add_daemon_set(&ds);
    }
    let mut pod = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, None);
    let mut prev = pod.clone();
    prev.metadata.labels = Some(labels(&[("foo2", "bar2")]));
    bump_resource_version(&mut pod);
    h.handlers.pod((arc(&prev), arc(&pod)));
    assert_eq!(
        queued_keys(h.queue()).await,
        ["default/foo1", "default/foo2"]
    );
}

#[tokio::test]
async fn update_pod_change_controller_ref() {
    let mut h = harness();
    let [ds1, ds2] = <[DaemonSet; 2]>::try_from(daemon_sets(&["foo1", "foo2"])).expect("two");
    h.add_daemon_set(&ds1);
    h.add_daemon_set(&ds2);
    let mut pod = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds1));
    let mut prev = pod.clone();
    prev.metadata.owner_references = Some(vec![controller_owner_ref(&ds2)]);
    bump_resource_version(&mut pod);
    h.handlers.pod((arc(&prev), arc(&pod)));
    // The old owner and the new one.
    assert_eq!(h.queue().len(), 2);
}

#[tokio::test]
async fn update_pod_controller_ref_removed() {
    let mut h = harness();
    let [ds1, ds2] = <[DaemonSet; 2]>::try_from(daemon_sets(&["foo1", "foo2"])).expect("two");
    h.add_daemon_set(&ds1);
    h.add_daemon_set(&ds2);
    let mut pod = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds1));
    let prev = pod.clone();
    pod.metadata.owner_references = None;
    bump_resource_version(&mut pod);
    h.handlers.pod((arc(&prev), arc(&pod)));
    // The old owner, and every DaemonSet that may now adopt the orphan.
    assert_eq!(h.queue().len(), 2);
}

#[tokio::test]
async fn delete_pod() {
    let mut h = harness();
    let [ds1, ds2] = <[DaemonSet; 2]>::try_from(daemon_sets(&["foo1", "foo2"])).expect("two");
    h.add_daemon_set(&ds1);
    h.add_daemon_set(&ds2);
    let pod1 = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds1));
    h.handlers
        .expectations
        .expect("default/foo1", 0, ["default/pod1-".to_owned()]);
    h.handlers.pod((arc(&pod1), None));
    assert_eq!(queued_keys(h.queue()).await, ["default/foo1"]);
    assert!(
        h.handlers.expectations.satisfied("default/foo1"),
        "an owned pod's delete is an observed deletion"
    );
    let pod2 = new_pod("pod2-", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds2));
    h.handlers.pod((arc(&pod2), None));
    assert_eq!(queued_keys(h.queue()).await, ["default/foo2"]);
}

#[tokio::test]
async fn delete_pod_orphan() {
    let mut h = harness();
    for ds in daemon_sets(&["foo1", "foo2"]) {
        h.add_daemon_set(&ds);
    }
    h.add_daemon_set(&with_labels(new_daemon_set("foo3"), SIMPLE_DAEMON_LABELS_2));
    let pod = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, None);
    h.handlers.pod((arc(&pod), None));
    assert_eq!(
        h.queue().len(),
        0,
        "no controller cares about a deleted orphan"
    );
}

#[tokio::test]
async fn delete_no_daemon_pod() {
    // Deleting pods the DaemonSet does not own — bound or not, with a controller of another
    // kind or none — enqueues nothing (upstream's three cases).
    let bound = new_pod("pod_0", "node1", &[], None);
    let mut controlled = bound.clone();
    controlled.metadata.owner_references = Some(vec![OwnerReference {
        controller: Some(true),
        ..OwnerReference::default()
    }]);
    let mut unscheduled = new_pod("pod_5", "", &[], None);
    unscheduled.metadata.labels = None;
    for deleted in [bound, controlled, unscheduled] {
        let mut h = harness();
        h.add_node(&new_node("node1", &[]));
        h.add_daemon_set(&new_daemon_set("ds"));
        for i in 0..4 {
            let mut pod = new_pod(&format!("pod_{i}"), "node1", &[], None);
            pod.metadata.owner_references = deleted.metadata.owner_references.clone();
            h.add_pod(&pod);
        }
        h.handlers.pod((arc(&deleted), None));
        assert_eq!(h.queue().len(), 0, "{:?}", deleted.metadata.name);
    }
}

#[tokio::test]
async fn update_with_a_new_uid_drops_the_old_expectations() {
    // spec §1.1 C2: a delete and re-create seen as one update.
    let h = harness();
    let old = new_daemon_set("foo");
    let mut new = old.clone();
    new.metadata.uid = Some("uid-foo-2".into());
    h.handlers.expectations.expect("default/foo", 3, []);
    h.handlers.daemon_set((arc(&old), arc(&new)));
    assert!(h.handlers.expectations.satisfied("default/foo"));
    assert_eq!(queued_keys(h.queue()).await, ["default/foo"]);

    h.handlers.expectations.expect("default/foo", 3, []);
    let mut same = new.clone();
    same.metadata.resource_version = Some("2".into());
    h.handlers.daemon_set((arc(&new), arc(&same)));
    assert!(
        !h.handlers.expectations.satisfied("default/foo"),
        "a plain update keeps them"
    );
}

#[tokio::test]
async fn node_updates_that_cannot_change_a_fit_are_ignored() {
    // spec §1.1 C7: only labels and taints matter; heartbeats and conditions do not.
    let h = harness();
    let old = new_node("node1", &[]);
    let mut heartbeat = old.clone();
    heartbeat.metadata.resource_version = Some("7".into());
    if let Some(condition) = heartbeat
        .status
        .as_mut()
        .and_then(|s| s.conditions.as_mut())
        .and_then(|c| c.first_mut())
    {
        condition.last_heartbeat_time = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        condition.status = "False".into();
    }
    h.handlers.node((arc(&old), arc(&heartbeat)));
    assert!(h.handlers.node_updates.is_empty());

    let mut relabeled = old.clone();
    relabeled.metadata.labels = Some(labels(SIMPLE_NODE_LABELS));
    h.handlers.node((arc(&old), arc(&relabeled)));
    let mut tainted = old.clone();
    taint_node(&mut tainted, "dedicated", "user1", "NoSchedule");
    h.handlers.node((arc(&old), arc(&tainted)));
    assert_eq!(queued_keys(&h.handlers.node_updates).await, ["node1"]);

    h.handlers.node((arc(&old), None));
    assert!(
        h.handlers.node_updates.is_empty(),
        "node deletes have no handler"
    );
}

#[tokio::test]
async fn node_update_enqueues_only_daemon_sets_whose_pods_must_change() {
    // Newest upstream `syncNodeUpdate`: (a) should run and has no pod, (b) has a pod that may
    // not stay, (c) has a pod while reporting misscheduled pods.
    let mut h = harness();
    let settled = new_daemon_set("settled");
    let missing = new_daemon_set("missing");
    let evicted = new_daemon_set("evicted");
    let mut misscheduled = new_daemon_set("misscheduled");
    misscheduled.status = Some(k8s_openapi::api::apps::v1::DaemonSetStatus {
        number_misscheduled: 1,
        ..Default::default()
    });
    let mut not_here = new_daemon_set("not-here");
    template_spec(&mut not_here).node_selector = Some(labels(SIMPLE_NODE_LABELS));
    h.add_daemon_set(&evicted);
    let mut node = new_node("node1", &[]);
    taint_node(&mut node, "dedicated", "user1", "NoExecute");
    // Tolerated by all but `evicted`.
    for ds in [&settled, &missing, &misscheduled, &not_here] {
        let mut ds = ds.clone();
        template_spec(&mut ds).tolerations = Some(vec![k8s_openapi::api::core::v1::Toleration {
            key: Some("dedicated".into()),
            operator: Some("Exists".into()),
            ..Default::default()
        }]);
        h.add_daemon_set(&ds);
    }
    h.add_node(&node);
    for ds in [&settled, &evicted, &misscheduled] {
        h.add_pod(&new_pod(
            &format!("{}-pod", ds.metadata.name.as_deref().unwrap_or_default()),
            "node1",
            SIMPLE_DAEMON_LABELS,
            Some(ds),
        ));
    }
    // A pod of `missing` on another node does not count for node1.
    h.add_pod(&new_pod(
        "missing-pod",
        "node2",
        SIMPLE_DAEMON_LABELS,
        Some(&missing),
    ));
    h.node_updates.sync("node1");
    assert_eq!(
        queued_keys(h.queue()).await,
        ["default/evicted", "default/misscheduled", "default/missing"]
    );
    h.node_updates.sync("node-gone");
    assert!(
        h.queue().is_empty(),
        "a node gone from the cache concerns nobody"
    );
}

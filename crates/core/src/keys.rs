//! Well-known Kubernetes strings and constants: label/annotation keys, taint keys, event reasons and messages, controller tunables.
//!
//! Everything here is an exact upstream value (spec `daemonset.md` §0, `api.md`): tests and kubectl
//! compare these strings, so they live in one place instead of being retyped at each use.

use std::time::Duration;

// === Labels and annotations ===

/// Pod and ControllerRevision label holding the hash of the DaemonSet template
/// (`DefaultDaemonSetUniqueLabelKey` == `ControllerRevisionHashLabelKey`).
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// Legacy pod label with the DaemonSet template generation at creation time.
pub const POD_TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// DaemonSet annotation carrying the internal `spec.templateGeneration` on the v1 wire.
pub const DEPRECATED_TEMPLATE_GENERATION_ANNOTATION: &str =
    "deprecated.daemonset.template.generation";
/// Template annotation written by `kubectl rollout restart` (RFC3339, second resolution).
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";
/// Annotation shown as CHANGE-CAUSE by `kubectl rollout history`.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// Annotation written by client-side `kubectl apply`.
pub const LAST_APPLIED_CONFIGURATION_ANNOTATION: &str =
    "kubectl.kubernetes.io/last-applied-configuration";
/// Annotation naming the container `kubectl logs`/`exec` pick by default.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";
/// Annotation marking a mirror (static) pod; drain skips such pods.
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Node label with the node's hostname.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// Node label with the node's operating system.
pub const OS_LABEL: &str = "kubernetes.io/os";
/// Node label with the node's CPU architecture.
pub const ARCH_LABEL: &str = "kubernetes.io/arch";
/// Prefix of node role labels (`node-role.kubernetes.io/<role>`), read by the node printer's ROLES.
pub const NODE_ROLE_LABEL_PREFIX: &str = "node-role.kubernetes.io/";
/// Legacy node role label whose value is the role name.
pub const NODE_ROLE_LABEL: &str = "kubernetes.io/role";

// === Node taint keys (upstream `v1.TaintNode*`) ===

/// Node Ready condition is False.
pub const TAINT_NODE_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Node Ready condition is Unknown (the node stopped reporting).
pub const TAINT_NODE_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Node is cordoned (`spec.unschedulable`).
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// Node MemoryPressure condition is True.
pub const TAINT_NODE_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
/// Node DiskPressure condition is True.
pub const TAINT_NODE_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
/// Node PIDPressure condition is True.
pub const TAINT_NODE_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
/// Node NetworkUnavailable condition is True.
pub const TAINT_NODE_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
/// Taint put on control-plane nodes by kubeadm.
pub const TAINT_NODE_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";

/// Taint effect: no new pods unless tolerated.
pub const EFFECT_NO_SCHEDULE: &str = "NoSchedule";
/// Taint effect: the scheduler avoids the node if it can.
pub const EFFECT_PREFER_NO_SCHEDULE: &str = "PreferNoSchedule";
/// Taint effect: untolerating pods are evicted.
pub const EFFECT_NO_EXECUTE: &str = "NoExecute";
/// Toleration operator matching any value.
pub const TOLERATION_OP_EXISTS: &str = "Exists";
/// Toleration operator requiring value equality (also the meaning of an empty operator).
pub const TOLERATION_OP_EQUAL: &str = "Equal";

// === Object references, finalizers, schedulers ===

/// Field key used by node affinity `matchFields` and field selectors (`metav1.ObjectNameField`).
pub const OBJECT_NAME_FIELD: &str = "metadata.name";
/// Namespace finalizer of the namespace lifecycle controller.
pub const FINALIZER_KUBERNETES: &str = "kubernetes";
/// Garbage-collector finalizer: orphan dependents.
pub const FINALIZER_ORPHAN: &str = "orphan";
/// Garbage-collector finalizer: delete dependents first.
pub const FINALIZER_FOREGROUND_DELETION: &str = "foregroundDeletion";
/// Scheduler name defaulted into pod specs.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// Namespace holding node heartbeat leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
/// Lease duration the kubelet writes on its node lease (api.md §12).
pub const NODE_LEASE_DURATION_SECONDS: i32 = 40;
/// `apiVersion` of the DaemonSet controller ownerRef.
pub const DAEMONSET_API_VERSION: &str = "apps/v1";
/// `kind` of the DaemonSet controller ownerRef.
pub const DAEMONSET_KIND: &str = "DaemonSet";

// === Pod and node status strings ===

/// Pod phase.
pub const POD_PENDING: &str = "Pending";
/// Pod phase.
pub const POD_RUNNING: &str = "Running";
/// Pod phase (terminal).
pub const POD_SUCCEEDED: &str = "Succeeded";
/// Pod phase (terminal).
pub const POD_FAILED: &str = "Failed";
/// Pod phase.
pub const POD_UNKNOWN: &str = "Unknown";
/// Pod condition type: all containers ready.
pub const POD_READY: &str = "Ready";
/// Pod condition type: init containers finished.
pub const POD_INITIALIZED: &str = "Initialized";
/// Pod condition type: the pod was bound to a node.
pub const POD_SCHEDULED: &str = "PodScheduled";
/// PodScheduled reason while scheduling gates remain.
pub const POD_REASON_SCHEDULING_GATED: &str = "SchedulingGated";
/// Pod `status.reason` set by the node controller when the node is lost (`NodeUnreachablePodReason`).
pub const POD_REASON_NODE_LOST: &str = "NodeLost";
/// Container restart policy that makes an init container a sidecar.
pub const CONTAINER_RESTART_POLICY_ALWAYS: &str = "Always";
/// Condition status.
pub const CONDITION_TRUE: &str = "True";
/// Condition status.
pub const CONDITION_FALSE: &str = "False";
/// Condition status.
pub const CONDITION_UNKNOWN: &str = "Unknown";
/// Node condition type.
pub const NODE_READY: &str = "Ready";
/// Node condition type.
pub const NODE_MEMORY_PRESSURE: &str = "MemoryPressure";
/// Node condition type.
pub const NODE_DISK_PRESSURE: &str = "DiskPressure";
/// Node condition type.
pub const NODE_PID_PRESSURE: &str = "PIDPressure";
/// Node condition type.
pub const NODE_NETWORK_UNAVAILABLE: &str = "NetworkUnavailable";
/// Node address type.
pub const NODE_INTERNAL_IP: &str = "InternalIP";
/// Node address type.
pub const NODE_EXTERNAL_IP: &str = "ExternalIP";
/// Ready reason written by the kubelet.
pub const REASON_KUBELET_READY: &str = "KubeletReady";
/// MemoryPressure=False reason written by the kubelet.
pub const REASON_KUBELET_HAS_SUFFICIENT_MEMORY: &str = "KubeletHasSufficientMemory";
/// DiskPressure=False reason written by the kubelet.
pub const REASON_KUBELET_HAS_NO_DISK_PRESSURE: &str = "KubeletHasNoDiskPressure";
/// PIDPressure=False reason written by the kubelet.
pub const REASON_KUBELET_HAS_SUFFICIENT_PID: &str = "KubeletHasSufficientPID";
/// Reason the node lifecycle controller writes when heartbeats stop.
pub const REASON_NODE_STATUS_UNKNOWN: &str = "NodeStatusUnknown";
/// Message paired with [`REASON_NODE_STATUS_UNKNOWN`].
pub const MESSAGE_NODE_STATUS_UNKNOWN: &str = "Kubelet stopped posting node status.";
/// Reason the node lifecycle controller writes when a condition never existed.
pub const REASON_NODE_STATUS_NEVER_UPDATED: &str = "NodeStatusNeverUpdated";
/// Message paired with [`REASON_NODE_STATUS_NEVER_UPDATED`].
pub const MESSAGE_NODE_STATUS_NEVER_UPDATED: &str = "Kubelet never posted node status.";

// === Events ===

/// Event type.
pub const EVENT_TYPE_NORMAL: &str = "Normal";
/// Event type.
pub const EVENT_TYPE_WARNING: &str = "Warning";
/// Event source component of the DaemonSet controller.
pub const DAEMONSET_CONTROLLER_COMPONENT: &str = "daemonset-controller";
/// Name of the DaemonSet work queue.
pub const DAEMONSET_QUEUE_NAME: &str = "daemonset";
/// Name of the node-update work queue.
pub const DAEMONSET_NODE_UPDATES_QUEUE_NAME: &str = "daemonset-node-updates";

/// Warning: the DaemonSet selector is `{}` (spec §1.2 S4).
pub const REASON_SELECTING_ALL: &str = "SelectingAll";
/// Message of [`REASON_SELECTING_ALL`].
pub const MESSAGE_SELECTING_ALL: &str =
    "This daemon set is selecting all pods. A non-empty selector is required.";
/// Warning: a failed daemon pod is being killed (spec §1.7 D2).
pub const REASON_FAILED_DAEMON_POD: &str = "FailedDaemonPod";
/// Normal: a succeeded daemon pod is being deleted (spec §1.7 D2).
pub const REASON_SUCCEEDED_DAEMON_POD: &str = "SucceededDaemonPod";
/// Defined upstream but never emitted by the current controller.
pub const REASON_FAILED_PLACEMENT: &str = "FailedPlacement";
/// Normal, from the shared pod-control helper.
pub const REASON_SUCCESSFUL_CREATE: &str = "SuccessfulCreate";
/// Warning, from the shared pod-control helper.
pub const REASON_FAILED_CREATE: &str = "FailedCreate";
/// Normal, from the shared pod-control helper.
pub const REASON_SUCCESSFUL_DELETE: &str = "SuccessfulDelete";
/// Warning, from the shared pod-control helper.
pub const REASON_FAILED_DELETE: &str = "FailedDelete";

/// Message of [`REASON_FAILED_DAEMON_POD`].
pub fn failed_daemon_pod_message(namespace: &str, pod: &str, node: &str) -> String {
    format!("Found failed daemon pod {namespace}/{pod} on node {node}, will try to kill it")
}

/// Message of [`REASON_SUCCEEDED_DAEMON_POD`].
pub fn succeeded_daemon_pod_message(namespace: &str, pod: &str, node: &str) -> String {
    format!("Found succeeded daemon pod {namespace}/{pod} on node {node}, will try to delete it")
}

/// Message of [`REASON_SUCCESSFUL_CREATE`].
pub fn successful_create_message(pod: &str) -> String {
    format!("Created pod: {pod}")
}

/// Message of [`REASON_FAILED_CREATE`].
pub fn failed_create_message(error: &str) -> String {
    format!("Error creating: {error}")
}

/// Message of [`REASON_SUCCESSFUL_DELETE`].
pub fn successful_delete_message(pod: &str) -> String {
    format!("Deleted pod: {pod}")
}

/// Message of [`REASON_FAILED_DELETE`].
pub fn failed_delete_message(error: &str) -> String {
    format!("Error deleting: {error}")
}

// === Controller tunables (spec §0) ===

/// Max creates and max deletes issued by one `syncNodes` call (each capped separately).
pub const BURST_REPLICAS: usize = 250;
/// First create batch size; batches double.
pub const SLOW_START_INITIAL_BATCH_SIZE: usize = 1;
/// Unfulfilled expectations older than this count as satisfied.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Extra status write attempts after the first one fails.
pub const STATUS_UPDATE_RETRIES: usize = 1;
/// How often the failed-pod backoff table is garbage collected.
pub const BACKOFF_GC_INTERVAL: Duration = Duration::from_secs(60);
/// Initial failed-pod backoff.
pub const FAILED_POD_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Maximum failed-pod backoff.
pub const FAILED_POD_BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);
/// Number of DaemonSet sync workers (`ConcurrentDaemonSetSyncs` default).
pub const DAEMONSET_WORKERS: usize = 2;
/// Work queue per-item exponential backoff base.
pub const QUEUE_BACKOFF_BASE: Duration = Duration::from_millis(5);
/// Work queue per-item exponential backoff cap.
pub const QUEUE_BACKOFF_MAX: Duration = Duration::from_secs(1000);
/// Work queue overall token bucket rate (per second).
pub const QUEUE_QPS: u32 = 10;
/// Work queue overall token bucket burst.
pub const QUEUE_BURST: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_messages_match_upstream_formats() {
        let cases = [
            (
                failed_daemon_pod_message("default", "ds-abc", "node-1"),
                "Found failed daemon pod default/ds-abc on node node-1, will try to kill it",
            ),
            (
                succeeded_daemon_pod_message("kube-system", "p", "n"),
                "Found succeeded daemon pod kube-system/p on node n, will try to delete it",
            ),
            (successful_create_message("ds-x"), "Created pod: ds-x"),
            (failed_create_message("boom"), "Error creating: boom"),
            (successful_delete_message("ds-x"), "Deleted pod: ds-x"),
            (failed_delete_message("boom"), "Error deleting: boom"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn node_taint_keys_share_the_node_prefix() {
        for key in [
            TAINT_NODE_NOT_READY,
            TAINT_NODE_UNREACHABLE,
            TAINT_NODE_UNSCHEDULABLE,
            TAINT_NODE_MEMORY_PRESSURE,
            TAINT_NODE_DISK_PRESSURE,
            TAINT_NODE_PID_PRESSURE,
            TAINT_NODE_NETWORK_UNAVAILABLE,
        ] {
            assert!(key.starts_with("node.kubernetes.io/"), "{key}");
        }
        assert!(TAINT_NODE_CONTROL_PLANE.starts_with(NODE_ROLE_LABEL_PREFIX));
    }
}

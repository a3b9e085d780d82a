//! Well-known strings of the simulated cluster: our annotations, upstream reasons and messages.

/// Node annotation overriding the simulated cpu capacity (a quantity, e.g. `8` or `500m`).
pub const ANNOTATION_CPU: &str = "everynode.dev/cpu";
/// Node annotation overriding the simulated memory capacity (e.g. `32Gi`).
pub const ANNOTATION_MEMORY: &str = "everynode.dev/memory";
/// Node annotation overriding the simulated pod capacity (e.g. `250`).
pub const ANNOTATION_PODS: &str = "everynode.dev/pods";
/// Node annotation that stops the simulated kubelet's heartbeats while it is `stopped`.
pub const ANNOTATION_HEARTBEAT: &str = "everynode.dev/heartbeat";
/// The value of [`ANNOTATION_HEARTBEAT`] that stops heartbeats.
pub const HEARTBEAT_STOPPED: &str = "stopped";
/// Pod annotation injecting a failure into the simulated containers.
pub const ANNOTATION_SIMULATE: &str = "everynode.dev/simulate";
/// [`ANNOTATION_SIMULATE`] value: every container crash-loops.
pub const SIMULATE_CRASH_LOOP: &str = "crash-loop";
/// [`ANNOTATION_SIMULATE`] value: containers run but never become Ready.
pub const SIMULATE_NEVER_READY: &str = "never-ready";
/// The image tag whose pull always fails (upstream's e2e rollback test uses `foo:non-existent`).
pub const IMAGE_TAG_NON_EXISTENT: &str = "non-existent";

/// Default simulated capacity: cpu.
pub const DEFAULT_CPU: &str = "4";
/// Default simulated capacity: memory.
pub const DEFAULT_MEMORY: &str = "16Gi";
/// Default simulated capacity: pods (upstream kubelet `--max-pods` default).
pub const DEFAULT_PODS: &str = "110";
/// Simulated ephemeral storage capacity, shown by `kubectl describe node`.
pub const DEFAULT_EPHEMERAL_STORAGE: &str = "100Gi";

/// Resource names.
pub const RESOURCE_CPU: &str = "cpu";
/// Resource names.
pub const RESOURCE_MEMORY: &str = "memory";
/// Resource names.
pub const RESOURCE_PODS: &str = "pods";
/// Resource names.
pub const RESOURCE_EPHEMERAL_STORAGE: &str = "ephemeral-storage";

/// The kubelet version every simulated node reports.
pub const KUBELET_VERSION: &str = "v1.32.0";
/// Simulated OS image.
pub const OS_IMAGE: &str = "everynode simulated node";
/// Simulated kernel version.
pub const KERNEL_VERSION: &str = "6.1.0-everynode";
/// Simulated container runtime (upstream format `<runtime>://<version>`).
pub const CONTAINER_RUNTIME_VERSION: &str = "everynode://0.1.0";
/// Simulated architecture (matches the `kubernetes.io/arch` label we register).
pub const ARCHITECTURE: &str = "amd64";
/// Simulated operating system.
pub const OPERATING_SYSTEM: &str = "linux";
/// Node address type `Hostname`.
pub const ADDRESS_HOSTNAME: &str = "Hostname";

/// Upstream kubelet node-condition messages (`pkg/kubelet/nodestatus/setters.go`).
pub const MESSAGE_KUBELET_READY: &str = "kubelet is posting ready status";
/// See [`MESSAGE_KUBELET_READY`].
pub const MESSAGE_SUFFICIENT_MEMORY: &str = "kubelet has sufficient memory available";
/// See [`MESSAGE_KUBELET_READY`].
pub const MESSAGE_NO_DISK_PRESSURE: &str = "kubelet has no disk pressure";
/// See [`MESSAGE_KUBELET_READY`].
pub const MESSAGE_SUFFICIENT_PID: &str = "kubelet has sufficient PID available";

/// Pod condition types the kubelet sets besides core's `Ready`, `Initialized`, `PodScheduled`.
pub const POD_CONTAINERS_READY: &str = "ContainersReady";
/// Pod condition (beta since 1.29, on by default) set once the sandbox exists.
pub const POD_READY_TO_START_CONTAINERS: &str = "PodReadyToStartContainers";
/// Pod condition added before an API-initiated disruption (taint eviction, preemption).
pub const POD_DISRUPTION_TARGET: &str = "DisruptionTarget";
/// Upstream reason on Ready/ContainersReady False.
pub const REASON_CONTAINERS_NOT_READY: &str = "ContainersNotReady";
/// Upstream reason on PodScheduled False.
pub const REASON_UNSCHEDULABLE: &str = "Unschedulable";
/// Container waiting reasons.
pub const REASON_CONTAINER_CREATING: &str = "ContainerCreating";
/// Container waiting reasons.
pub const REASON_ERR_IMAGE_PULL: &str = "ErrImagePull";
/// Container waiting reasons.
pub const REASON_IMAGE_PULL_BACK_OFF: &str = "ImagePullBackOff";
/// Container waiting reasons.
pub const REASON_CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
/// Container terminated reasons.
pub const REASON_ERROR: &str = "Error";
/// Container terminated reasons.
pub const REASON_COMPLETED: &str = "Completed";

/// Event reason of the scheduler for an unschedulable pod.
pub const EVENT_FAILED_SCHEDULING: &str = "FailedScheduling";
/// Event reason of the scheduler for a bound pod.
pub const EVENT_SCHEDULED: &str = "Scheduled";
/// Event reason of the scheduler on a preemption victim.
pub const EVENT_PREEMPTED: &str = "Preempted";
/// Event reason of the taint-eviction controller.
pub const EVENT_TAINT_MANAGER_EVICTION: &str = "TaintManagerEviction";
/// Event source of the scheduler.
pub const COMPONENT_SCHEDULER: &str = "default-scheduler";
/// Event source of the taint-eviction controller.
pub const COMPONENT_TAINT_EVICTION: &str = "taint-eviction-controller";
/// DisruptionTarget reason of the taint-eviction controller.
pub const REASON_DELETION_BY_TAINT_MANAGER: &str = "DeletionByTaintManager";
/// DisruptionTarget reason of the scheduler's preemption.
pub const REASON_PREEMPTION_BY_SCHEDULER: &str = "PreemptionByScheduler";

/// Built-in priority classes (upstream `pkg/apis/scheduling`), used when the class object is
/// missing from the cache.
pub const SYSTEM_NODE_CRITICAL: &str = "system-node-critical";
/// See [`SYSTEM_NODE_CRITICAL`].
pub const SYSTEM_NODE_CRITICAL_PRIORITY: i32 = 2_000_001_000;
/// See [`SYSTEM_NODE_CRITICAL`].
pub const SYSTEM_CLUSTER_CRITICAL: &str = "system-cluster-critical";
/// See [`SYSTEM_NODE_CRITICAL`].
pub const SYSTEM_CLUSTER_CRITICAL_PRIORITY: i32 = 2_000_000_000;
/// Preemption policy that forbids preempting.
pub const PREEMPT_NEVER: &str = "Never";

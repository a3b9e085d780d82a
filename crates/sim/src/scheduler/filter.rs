//! Pure scheduling filters and scores: upstream's default Filter plugins, in upstream's order, and their reason strings.

use std::collections::BTreeMap;

use everynode_core::affinity::pod_matches_node_selector_and_affinity;
use everynode_core::keys::{EFFECT_NO_SCHEDULE, TAINT_NODE_UNSCHEDULABLE};
use everynode_core::quantity::quantity_milli;
use everynode_core::taints::{
    find_untolerated_taint, is_no_schedule_or_no_execute, tolerations_tolerate_taint,
};
use k8s_openapi::api::core::v1::{Container, Node, Pod, PodSpec, ResourceRequirements, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::consts::{RESOURCE_CPU, RESOURCE_MEMORY, RESOURCE_PODS};

/// NodeUnschedulable (`nodeunschedulable.ErrReasonUnschedulable`).
pub const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// NodeName (`nodename.ErrReason`).
pub const REASON_NODE_NAME: &str = "node(s) didn't match the requested node name";
/// NodeAffinity (`nodeaffinity.ErrReasonPod`).
pub const REASON_NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
/// NodePorts (`nodeports.ErrReason`).
pub const REASON_NODE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
/// NodeResourcesFit: too many pods.
pub const REASON_TOO_MANY_PODS: &str = "Too many pods";
/// NodeResourcesFit: `Insufficient <resource>`.
pub const REASON_INSUFFICIENT_CPU: &str = "Insufficient cpu";
/// NodeResourcesFit: `Insufficient <resource>`.
pub const REASON_INSUFFICIENT_MEMORY: &str = "Insufficient memory";

/// Upstream `schedutil.DefaultMilliCPURequest`: used for scoring only, never for fitting.
const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Upstream `schedutil.DefaultMemoryRequest` (200 MiB): scoring only.
const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// cpu (milli), memory (bytes) and a pod count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// Milli-cpu.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Pods.
    pub pods: i64,
}

impl Resources {
    fn add(&mut self, other: Resources) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.pods += other.pods;
    }
    fn max(self, other: Resources) -> Resources {
        Resources {
            milli_cpu: self.milli_cpu.max(other.milli_cpu),
            memory: self.memory.max(other.memory),
            pods: self.pods.max(other.pods),
        }
    }
}

/// A host port a pod claims: (hostIP, protocol, port); hostIP `0.0.0.0` means every address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// Host IP, `0.0.0.0` when unset.
    pub ip: String,
    /// Protocol, `TCP` when unset.
    pub protocol: String,
    /// The port.
    pub port: i32,
}

/// What is already placed on a node: summed requests, pod count and host ports.
#[derive(Debug, Clone, Default)]
pub struct NodeUsage {
    /// Sum of the requests of the pods on the node (`pods` = their number).
    pub requested: Resources,
    /// Sum of the requests with upstream's non-zero defaults, for scoring.
    pub non_zero: Resources,
    /// Host ports in use.
    pub ports: Vec<HostPort>,
}

impl NodeUsage {
    /// Accounts one more pod on the node.
    pub fn add_pod(&mut self, spec: &PodSpec) {
        let mut r = pod_requests(spec);
        r.pods = 1;
        self.requested.add(r);
        let mut nz = pod_requests_non_zero(spec);
        nz.pods = 1;
        self.non_zero.add(nz);
        self.ports.extend(host_ports(spec));
    }
}

fn quantity_of(map: Option<&BTreeMap<String, Quantity>>, name: &str, milli: bool) -> i64 {
    let Some(q) = map.and_then(|m| m.get(name)) else {
        return 0;
    };
    // The API server validated quantities; a malformed one counts as zero rather than failing.
    let v = quantity_milli(q).unwrap_or(0);
    let v = if milli { v } else { (v + 999) / 1000 };
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn requirements_of(resources: Option<&ResourceRequirements>, non_zero: bool) -> Resources {
    let requests = resources.and_then(|r| r.requests.as_ref());
    let limits = resources.and_then(|r| r.limits.as_ref());
    // Defaulting copies limits into missing requests; do the same for objects written before it.
    let pick = |name: &str, milli: bool| -> (bool, i64) {
        if requests.is_some_and(|m| m.contains_key(name)) {
            (true, quantity_of(requests, name, milli))
        } else if limits.is_some_and(|m| m.contains_key(name)) {
            (true, quantity_of(limits, name, milli))
        } else {
            (false, 0)
        }
    };
    let (has_cpu, cpu) = pick(RESOURCE_CPU, true);
    let (has_mem, mem) = pick(RESOURCE_MEMORY, false);
    Resources {
        milli_cpu: if non_zero && !has_cpu {
            DEFAULT_MILLI_CPU_REQUEST
        } else {
            cpu
        },
        memory: if non_zero && !has_mem {
            DEFAULT_MEMORY_REQUEST
        } else {
            mem
        },
        pods: 0,
    }
}

fn requests_with(spec: &PodSpec, non_zero: bool) -> Resources {
    let of = |c: &Container| requirements_of(c.resources.as_ref(), non_zero);
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(of(c));
    }
    // Upstream `resource.PodRequests`: sidecars (restartable init containers) add to the
    // steady state; each plain init container needs its own request plus earlier sidecars.
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in spec.init_containers.as_deref().unwrap_or_default() {
        let r = of(c);
        if everynode_core::pod::is_restartable_init_container(c) {
            sidecars.add(r);
            init_max = init_max.max(sidecars);
        } else {
            let mut need = r;
            need.add(sidecars);
            init_max = init_max.max(need);
        }
    }
    sum.add(sidecars);
    let mut total = sum.max(init_max);
    if let Some(overhead) = &spec.overhead {
        total.milli_cpu += quantity_of(Some(overhead), RESOURCE_CPU, true);
        total.memory += quantity_of(Some(overhead), RESOURCE_MEMORY, false);
    }
    total
}

/// A pod's effective requests (containers, max with init containers, plus overhead).
pub fn pod_requests(spec: &PodSpec) -> Resources {
    requests_with(spec, false)
}

/// [`pod_requests`] with upstream's non-zero defaults for unset cpu/memory (scoring only).
pub fn pod_requests_non_zero(spec: &PodSpec) -> Resources {
    requests_with(spec, true)
}

/// The host ports the pod's containers claim.
pub fn host_ports(spec: &PodSpec) -> Vec<HostPort> {
    spec.containers
        .iter()
        .flat_map(|c| c.ports.as_deref().unwrap_or_default())
        .filter(|p| p.host_port.unwrap_or(0) > 0)
        .map(|p| HostPort {
            ip: p
                .host_ip
                .clone()
                .filter(|ip| !ip.is_empty())
                .unwrap_or_else(|| "0.0.0.0".to_string()),
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
            port: p.host_port.unwrap_or(0),
        })
        .collect()
}

fn ports_conflict(a: &HostPort, b: &HostPort) -> bool {
    a.port == b.port
        && a.protocol == b.protocol
        && (a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0")
}

/// A node's allocatable cpu, memory and pods (capacity when allocatable is missing).
pub fn allocatable(node: &Node) -> Resources {
    let status = node.status.as_ref();
    let map = status
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| status.and_then(|s| s.capacity.as_ref()));
    Resources {
        milli_cpu: quantity_of(map, RESOURCE_CPU, true),
        memory: quantity_of(map, RESOURCE_MEMORY, false),
        pods: quantity_of(map, RESOURCE_PODS, false),
    }
}

/// Why one node failed: upstream reason strings, and whether preemption could help
/// (`Unschedulable`) or not (`UnschedulableAndUnresolvable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One or more reasons (NodeResourcesFit may give several).
    pub reasons: Vec<String>,
    /// Whether removing pods from the node could make it fit.
    pub resolvable: bool,
}

impl Failure {
    fn unresolvable(reason: impl Into<String>) -> Self {
        Self {
            reasons: vec![reason.into()],
            resolvable: false,
        }
    }
}

/// Runs the filters in upstream's default-profile order (NodeUnschedulable, NodeName,
/// TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit), stopping at the first failure
/// as upstream's `RunFilterPlugins` does.
pub fn filter_node(pod: &Pod, node: &Node, usage: &NodeUsage) -> Result<(), Failure> {
    let default = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default);
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let node_spec = node.spec.as_ref();
    if node_spec.and_then(|s| s.unschedulable).unwrap_or(false) {
        let taint = Taint {
            key: TAINT_NODE_UNSCHEDULABLE.to_string(),
            effect: EFFECT_NO_SCHEDULE.to_string(),
            ..Taint::default()
        };
        if !tolerations_tolerate_taint(tolerations, &taint) {
            return Err(Failure::unresolvable(REASON_UNSCHEDULABLE));
        }
    }
    if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty())
        && Some(name) != node.metadata.name.as_deref()
    {
        return Err(Failure::unresolvable(REASON_NODE_NAME));
    }
    let taints = node_spec
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    if let Some(taint) = find_untolerated_taint(taints, tolerations, is_no_schedule_or_no_execute) {
        return Err(Failure::unresolvable(format!(
            "node(s) had untolerated taint {{{}: {}}}",
            taint.key,
            taint.value.as_deref().unwrap_or_default()
        )));
    }
    if !pod_matches_node_selector_and_affinity(spec, node) {
        return Err(Failure::unresolvable(REASON_NODE_AFFINITY));
    }
    fits_resources_and_ports(spec, &allocatable(node), usage)
}

/// NodePorts and NodeResourcesFit only: the part of filtering that removing pods can change.
pub fn fits_resources_and_ports(
    spec: &PodSpec,
    allocatable: &Resources,
    usage: &NodeUsage,
) -> Result<(), Failure> {
    let wanted = host_ports(spec);
    if wanted
        .iter()
        .any(|w| usage.ports.iter().any(|u| ports_conflict(w, u)))
    {
        return Err(Failure {
            reasons: vec![REASON_NODE_PORTS.to_string()],
            resolvable: true,
        });
    }
    // Upstream `fitsRequest`: pod count first, then cpu and memory, each only when requested.
    let req = pod_requests(spec);
    let mut reasons = Vec::new();
    if usage.requested.pods + 1 > allocatable.pods {
        reasons.push(REASON_TOO_MANY_PODS.to_string());
    }
    if req.milli_cpu > 0 && req.milli_cpu > allocatable.milli_cpu - usage.requested.milli_cpu {
        reasons.push(REASON_INSUFFICIENT_CPU.to_string());
    }
    if req.memory > 0 && req.memory > allocatable.memory - usage.requested.memory {
        reasons.push(REASON_INSUFFICIENT_MEMORY.to_string());
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            reasons,
            resolvable: true,
        })
    }
}

/// Upstream `LeastAllocated` scoring (cpu and memory weighted equally, 0–100), on requests
/// with non-zero defaults after placing the pod.
pub fn least_allocated_score(spec: &PodSpec, allocatable: &Resources, usage: &NodeUsage) -> i64 {
    let req = pod_requests_non_zero(spec);
    let score = |cap: i64, used: i64| -> i64 {
        if cap <= 0 || used > cap {
            0
        } else {
            (cap - used) * 100 / cap
        }
    };
    let cpu = score(
        allocatable.milli_cpu,
        usage.non_zero.milli_cpu + req.milli_cpu,
    );
    let mem = score(allocatable.memory, usage.non_zero.memory + req.memory);
    (cpu + mem) / 2
}

/// Upstream `FitError.Error()`: `0/N nodes are available: <count reason, …sorted>.`
pub fn fit_error_message<'a>(
    nodes: usize,
    failures: impl IntoIterator<Item = &'a Failure>,
) -> String {
    let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
    for failure in failures {
        for reason in &failure.reasons {
            *histogram.entry(reason.as_str()).or_default() += 1;
        }
    }
    format!(
        "0/{nodes} nodes are available: {}.",
        sorted_histogram(&histogram)
    )
}

/// `"<count> <reason>"` strings sorted as strings, joined by `", "` (upstream sorts the
/// formatted strings, so `"1 b"` comes before `"2 a"`).
pub fn sorted_histogram(histogram: &BTreeMap<&str, usize>) -> String {
    let mut parts: Vec<String> = histogram
        .iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect();
    parts.sort();
    parts.join(", ")
}

#[cfg(test)]
mod tests;

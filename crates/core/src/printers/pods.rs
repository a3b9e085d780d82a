//! Pod rows: NAME READY STATUS RESTARTS AGE, wide IP NODE NOMINATED NODE READINESS GATES (upstream `printPod`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;

use super::{ColumnDefinition, RowCondition, age_column, col, name_column, wide};
use crate::duration::translate_timestamp_since;
use crate::keys::{
    CONDITION_TRUE, POD_FAILED, POD_READY, POD_REASON_NODE_LOST, POD_REASON_SCHEDULING_GATED,
    POD_SCHEDULED, POD_SUCCEEDED,
};
use crate::labels::NONE;
use crate::pod::{is_phase_terminal, is_pod_initialized, is_restartable_init_container};

/// Row condition type for finished pods.
pub const ROW_COMPLETED: &str = "Completed";
/// Waiting reason that does not count as an init failure.
const POD_INITIALIZING: &str = "PodInitializing";
const COMPLETED_REASON: &str = "Completed";

/// Upstream pod column definitions.
pub fn column_definitions() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Ready",
            "string",
            "Ready containers out of all containers (sidecars included).",
        ),
        col(
            "Status",
            "string",
            "Aggregate status of the pod and its containers.",
        ),
        col(
            "Restarts",
            "string",
            "Container restarts, with the time since the last one.",
        ),
        age_column(),
        wide("IP", "string", "First IP address of the pod."),
        wide("Node", "string", "Node the pod is bound to."),
        wide(
            "Nominated Node",
            "string",
            "Node nominated by preemption, if any.",
        ),
        wide(
            "Readiness Gates",
            "string",
            "Readiness gates that are true out of all.",
        ),
    ]
}

/// Upstream's `Completed` row condition for Succeeded and Failed pods (informational).
pub fn row_conditions(pod: &Pod) -> Vec<RowCondition> {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("");
    let (reason, message) = match phase {
        POD_SUCCEEDED => (POD_SUCCEEDED, "The pod has completed successfully."),
        POD_FAILED => (POD_FAILED, "The pod failed."),
        _ => return Vec::new(),
    };
    vec![RowCondition {
        type_: ROW_COMPLETED,
        status: CONDITION_TRUE,
        reason,
        message,
    }]
}

/// The READY, STATUS and RESTARTS facts of a pod as upstream `printPod` computes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    /// Ready containers (regular ones plus started, ready sidecars).
    pub ready: usize,
    /// Containers plus restartable init containers.
    pub total: usize,
    /// The STATUS column.
    pub reason: String,
    /// Restart count shown in RESTARTS.
    pub restarts: i64,
    /// Latest `lastState.terminated.finishedAt` among the counted containers.
    pub last_restart: Option<Timestamp>,
}

fn later(current: Option<Timestamp>, candidate: Option<&Time>) -> Option<Timestamp> {
    match (current, candidate) {
        (Some(c), Some(t)) if t.0 > c => Some(t.0),
        (None, Some(t)) => Some(t.0),
        (c, _) => c,
    }
}

fn last_finished(status: &ContainerStatus) -> Option<&Time> {
    status
        .last_state
        .as_ref()?
        .terminated
        .as_ref()?
        .finished_at
        .as_ref()
}

/// Upstream `printPod`'s status logic: init containers, waiting/terminated reasons,
/// SchedulingGated, Completed-with-running-containers, Terminating and NodeLost.
pub fn summarize(pod: &Pod) -> PodSummary {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let no_containers: &[Container] = &[];
    let containers = spec.map_or(no_containers, |s| s.containers.as_slice());
    let init_containers = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    let init_by_name: BTreeMap<&str, &Container> = init_containers
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let restartable = |name: &str| {
        init_by_name
            .get(name)
            .is_some_and(|c| is_restartable_init_container(c))
    };

    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let total = containers.len()
        + init_containers
            .iter()
            .filter(|c| is_restartable_init_container(c))
            .count();
    let mut ready = 0;
    let mut last_restart = None;
    let mut last_restartable_init_restart = None;

    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    let status_reason = status.and_then(|s| s.reason.as_deref()).unwrap_or("");
    let mut reason = if status_reason.is_empty() {
        phase
    } else {
        status_reason
    }
    .to_string();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    if conditions.iter().any(|c| {
        c.type_ == POD_SCHEDULED && c.reason.as_deref() == Some(POD_REASON_SCHEDULING_GATED)
    }) {
        reason = POD_REASON_SCHEDULING_GATED.to_string();
    }

    let mut initializing = false;
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    for (i, container) in init_statuses.iter().enumerate() {
        restarts += i64::from(container.restart_count);
        last_restart = later(last_restart, last_finished(container));
        let is_sidecar = restartable(&container.name);
        if is_sidecar {
            restartable_init_restarts += i64::from(container.restart_count);
            last_restartable_init_restart =
                later(last_restartable_init_restart, last_finished(container));
        }
        let state = container.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if is_sidecar && container.started == Some(true) {
            if container.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            // Initialization failed.
            reason = match t.reason.as_deref().unwrap_or("") {
                "" => match t.signal.unwrap_or(0) {
                    0 => format!("Init:ExitCode:{}", t.exit_code),
                    signal => format!("Init:Signal:{signal}"),
                },
                r => format!("Init:{r}"),
            };
        } else if let Some(r) = waiting
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != POD_INITIALIZING)
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || is_pod_initialized(status) {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        for container in statuses.iter().rev() {
            restarts += i64::from(container.restart_count);
            last_restart = later(last_restart, last_finished(container));
            let state = container.state.as_ref();
            let waiting_reason = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .unwrap_or("");
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = match t.reason.as_deref().unwrap_or("") {
                    "" => match t.signal.unwrap_or(0) {
                        0 => format!("ExitCode:{}", t.exit_code),
                        signal => format!("Signal:{signal}"),
                    },
                    r => r.to_string(),
                };
            } else if container.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
                ready += 1;
            }
        }
        // A completed container next to a running one: report the pod by its readiness.
        if reason == COMPLETED_REASON && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| c.type_ == POD_READY && c.status == CONDITION_TRUE);
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        if status_reason == POD_REASON_NODE_LOST {
            reason = "Unknown".to_string();
        } else if !is_phase_terminal(phase) {
            reason = "Terminating".to_string();
        }
    }
    PodSummary {
        ready,
        total,
        reason,
        restarts,
        last_restart,
    }
}

/// RESTARTS: `N`, or `N (5m ago)` when there were restarts with a known finish time.
pub fn restarts_cell(summary: &PodSummary, now: Timestamp) -> String {
    match summary.last_restart {
        Some(last) if summary.restarts != 0 => format!(
            "{} ({} ago)",
            summary.restarts,
            translate_timestamp_since(Some(&Time(last)), now)
        ),
        _ => summary.restarts.to_string(),
    }
}

/// Upstream `printPod` cells, wide columns included.
pub fn row_cells(pod: &Pod, now: Timestamp) -> Vec<Value> {
    let summary = summarize(pod);
    let status = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let or_none = |s: &str| {
        if s.is_empty() {
            NONE.to_string()
        } else {
            s.to_string()
        }
    };
    let pod_ip = status
        .and_then(|s| s.pod_ips.as_deref())
        .and_then(|ips| ips.first())
        .map(|ip| ip.ip.as_str())
        .or_else(|| status.and_then(|s| s.pod_ip.as_deref()))
        .unwrap_or("");
    let node_name = spec.and_then(|s| s.node_name.as_deref()).unwrap_or("");
    let nominated = status
        .and_then(|s| s.nominated_node_name.as_deref())
        .unwrap_or("");
    let gates = spec
        .and_then(|s| s.readiness_gates.as_deref())
        .unwrap_or_default();
    let readiness_gates = if gates.is_empty() {
        NONE.to_string()
    } else {
        let conditions = status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default();
        let true_count = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| c.type_ == g.condition_type)
                    .is_some_and(|c| c.status == CONDITION_TRUE)
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        Value::from(pod.metadata.name.clone().unwrap_or_default()),
        Value::from(format!("{}/{}", summary.ready, summary.total)),
        Value::from(summary.reason.clone()),
        Value::from(restarts_cell(&summary, now)),
        Value::from(translate_timestamp_since(
            pod.metadata.creation_timestamp.as_ref(),
            now,
        )),
        Value::from(or_none(pod_ip)),
        Value::from(or_none(node_name)),
        Value::from(or_none(nominated)),
        Value::from(readiness_gates),
    ]
}

#[cfg(test)]
mod tests;

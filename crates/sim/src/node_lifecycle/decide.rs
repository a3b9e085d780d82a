//! Pure node-lifecycle decisions: heartbeat staleness, condition-derived taints, and when a NoExecute taint evicts a pod.

use everynode_core::keys::{
    CONDITION_FALSE, CONDITION_TRUE, CONDITION_UNKNOWN, EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE,
    MESSAGE_NODE_STATUS_NEVER_UPDATED, MESSAGE_NODE_STATUS_UNKNOWN, NODE_DISK_PRESSURE,
    NODE_MEMORY_PRESSURE, NODE_NETWORK_UNAVAILABLE, NODE_PID_PRESSURE, NODE_READY,
    REASON_NODE_STATUS_NEVER_UPDATED, REASON_NODE_STATUS_UNKNOWN, TAINT_NODE_DISK_PRESSURE,
    TAINT_NODE_MEMORY_PRESSURE, TAINT_NODE_NETWORK_UNAVAILABLE, TAINT_NODE_NOT_READY,
    TAINT_NODE_PID_PRESSURE, TAINT_NODE_UNREACHABLE, TAINT_NODE_UNSCHEDULABLE,
};
use everynode_core::taints::toleration_tolerates_taint;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The conditions the controller sets to Unknown when heartbeats stop (upstream
/// `nodeConditionsToUpdate` … plus Ready).
pub const MONITORED_CONDITIONS: &[&str] = &[
    NODE_READY,
    NODE_MEMORY_PRESSURE,
    NODE_DISK_PRESSURE,
    NODE_PID_PRESSURE,
];

/// The taint keys this controller owns with NoSchedule (upstream
/// `nodeConditionToTaintKeyStatusMap` plus `unschedulable`).
const NO_SCHEDULE_KEYS: &[&str] = &[
    TAINT_NODE_NOT_READY,
    TAINT_NODE_UNREACHABLE,
    TAINT_NODE_MEMORY_PRESSURE,
    TAINT_NODE_DISK_PRESSURE,
    TAINT_NODE_PID_PRESSURE,
    TAINT_NODE_NETWORK_UNAVAILABLE,
    TAINT_NODE_UNSCHEDULABLE,
];

/// The node's condition of a type.
pub fn node_condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// The Ready condition's status, if reported.
pub fn ready_status(node: &Node) -> Option<&str> {
    node_condition(node, NODE_READY).map(|c| c.status.as_str())
}

/// Upstream `tryUpdateNodeHealth` past the grace period: every monitored condition becomes
/// Unknown (`NodeStatusUnknown`, or `NodeStatusNeverUpdated` if it never existed), keeping its
/// heartbeat time. `None` when they already are Unknown.
pub fn unknown_conditions(node: &Node, now: Timestamp) -> Option<Vec<NodeCondition>> {
    let now = Time(everynode_core::duration::truncate_to_seconds(now));
    let mut conditions: Vec<NodeCondition> = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for type_ in MONITORED_CONDITIONS {
        match conditions.iter_mut().find(|c| c.type_ == *type_) {
            Some(c) if c.status == CONDITION_UNKNOWN => {}
            Some(c) => {
                c.status = CONDITION_UNKNOWN.to_string();
                c.reason = Some(REASON_NODE_STATUS_UNKNOWN.to_string());
                c.message = Some(MESSAGE_NODE_STATUS_UNKNOWN.to_string());
                c.last_transition_time = Some(now.clone());
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: type_.to_string(),
                    status: CONDITION_UNKNOWN.to_string(),
                    reason: Some(REASON_NODE_STATUS_NEVER_UPDATED.to_string()),
                    message: Some(MESSAGE_NODE_STATUS_NEVER_UPDATED.to_string()),
                    last_heartbeat_time: Some(now.clone()),
                    last_transition_time: Some(now.clone()),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

fn condition_taint(node: &Node, type_: &str, status: &str, key: &str) -> Option<Taint> {
    (node_condition(node, type_).map(|c| c.status.as_str()) == Some(status)).then(|| Taint {
        key: key.to_string(),
        effect: EFFECT_NO_SCHEDULE.to_string(),
        ..Taint::default()
    })
}

/// The node's taints as upstream's `doNoScheduleTaintingPass` and `doNoExecuteTaintingPass`
/// leave them (NoExecute without rate limiting); `None` when nothing changes. A node that has
/// not reported Ready yet keeps the `not-ready:NoSchedule` the API server added at creation.
pub fn desired_taints(node: &Node, now: Timestamp) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = ready_status(node);
    let mut wanted_no_schedule: Vec<Taint> = [
        (NODE_READY, CONDITION_FALSE, TAINT_NODE_NOT_READY),
        (NODE_READY, CONDITION_UNKNOWN, TAINT_NODE_UNREACHABLE),
        (
            NODE_MEMORY_PRESSURE,
            CONDITION_TRUE,
            TAINT_NODE_MEMORY_PRESSURE,
        ),
        (NODE_DISK_PRESSURE, CONDITION_TRUE, TAINT_NODE_DISK_PRESSURE),
        (NODE_PID_PRESSURE, CONDITION_TRUE, TAINT_NODE_PID_PRESSURE),
        (
            NODE_NETWORK_UNAVAILABLE,
            CONDITION_TRUE,
            TAINT_NODE_NETWORK_UNAVAILABLE,
        ),
    ]
    .iter()
    .filter_map(|(t, s, k)| condition_taint(node, t, s, k))
    .collect();
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        wanted_no_schedule.push(Taint {
            key: TAINT_NODE_UNSCHEDULABLE.to_string(),
            effect: EFFECT_NO_SCHEDULE.to_string(),
            ..Taint::default()
        });
    }
    let wanted_no_execute: Option<&str> = match ready {
        Some(CONDITION_FALSE) => Some(TAINT_NODE_NOT_READY),
        Some(CONDITION_UNKNOWN) => Some(TAINT_NODE_UNREACHABLE),
        _ => None,
    };
    let managed = |t: &Taint| {
        (t.effect == EFFECT_NO_SCHEDULE && NO_SCHEDULE_KEYS.contains(&t.key.as_str()))
            || (t.effect == EFFECT_NO_EXECUTE
                && (t.key == TAINT_NODE_NOT_READY || t.key == TAINT_NODE_UNREACHABLE))
    };
    let mut out: Vec<Taint> = Vec::new();
    for t in &current {
        if !managed(t) {
            out.push(t.clone());
            continue;
        }
        let keep = if t.effect == EFFECT_NO_EXECUTE {
            wanted_no_execute == Some(t.key.as_str())
        } else if ready.is_none() && t.key == TAINT_NODE_NOT_READY {
            true
        } else {
            wanted_no_schedule.iter().any(|w| w.key == t.key)
        };
        if keep && !out.iter().any(|o| o.key == t.key && o.effect == t.effect) {
            out.push(t.clone());
        }
    }
    for w in wanted_no_schedule {
        if !out.iter().any(|o| o.key == w.key && o.effect == w.effect) {
            out.push(w);
        }
    }
    if let Some(key) = wanted_no_execute
        && !out
            .iter()
            .any(|o| o.key == key && o.effect == EFFECT_NO_EXECUTE)
    {
        out.push(Taint {
            key: key.to_string(),
            effect: EFFECT_NO_EXECUTE.to_string(),
            time_added: Some(Time(everynode_core::duration::truncate_to_seconds(now))),
            value: None,
        });
    }
    (out != current).then_some(out)
}

/// When a pod on a tainted node must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    /// Every NoExecute taint is tolerated forever (or there is none).
    Never,
    /// A NoExecute taint is not tolerated at all: delete now.
    Now,
    /// Tolerated for a while: delete at this time.
    At(Timestamp),
}

/// Upstream taint-eviction `processPodOnNode`: an untolerated NoExecute taint evicts at once;
/// otherwise the smallest `tolerationSeconds` among the tolerations used (negative → 0,
/// absent → forever), measured from the earliest `timeAdded` of the NoExecute taints.
pub fn eviction_time(tolerations: &[Toleration], taints: &[Taint], now: Timestamp) -> Eviction {
    let no_execute: Vec<&Taint> = taints
        .iter()
        .filter(|t| t.effect == EFFECT_NO_EXECUTE)
        .collect();
    if no_execute.is_empty() {
        return Eviction::Never;
    }
    let mut min_seconds: Option<i64> = None;
    for taint in &no_execute {
        let used: Vec<&Toleration> = tolerations
            .iter()
            .filter(|t| toleration_tolerates_taint(t, taint))
            .collect();
        if used.is_empty() {
            return Eviction::Now;
        }
        for t in used {
            if let Some(s) = t.toleration_seconds {
                let s = s.max(0);
                min_seconds = Some(min_seconds.map_or(s, |m| m.min(s)));
            }
        }
    }
    let Some(seconds) = min_seconds else {
        return Eviction::Never;
    };
    let since = no_execute
        .iter()
        .filter_map(|t| t.time_added.as_ref().map(|t| t.0))
        .min()
        .unwrap_or(now);
    // A tolerationSeconds (never negative here) past the end of representable time never runs out.
    let Ok(at) = since.checked_add(SignedDuration::from_secs(seconds)) else {
        return Eviction::Never;
    };
    if at <= now {
        Eviction::Now
    } else {
        Eviction::At(at)
    }
}

#[cfg(test)]
mod tests;

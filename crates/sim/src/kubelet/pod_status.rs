//! Pure simulated pod lifecycle: what a pod's status is at a given time since its kubelet accepted it.

use std::time::Duration;

use everynode_core::keys::{
    CONDITION_FALSE, CONDITION_TRUE, POD_INITIALIZED, POD_PENDING, POD_READY, POD_RUNNING,
    POD_SCHEDULED,
};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::node_status::stable_hex;
use crate::consts::{
    ANNOTATION_SIMULATE, IMAGE_TAG_NON_EXISTENT, POD_CONTAINERS_READY,
    POD_READY_TO_START_CONTAINERS, REASON_COMPLETED, REASON_CONTAINER_CREATING,
    REASON_CONTAINERS_NOT_READY, REASON_CRASH_LOOP_BACK_OFF, REASON_ERR_IMAGE_PULL, REASON_ERROR,
    REASON_IMAGE_PULL_BACK_OFF, SIMULATE_CRASH_LOOP, SIMULATE_NEVER_READY,
};

/// How long a crash-looping container runs before it exits.
const CRASH_RUN: SignedDuration = SignedDuration::from_secs(1);
/// Upstream kubelet's crash back-off ceiling (`MaxContainerBackOff`, 5 min).
const CRASH_BACKOFF_MAX: SignedDuration = SignedDuration::from_secs(300);
/// How long a failed pull shows `ErrImagePull` before `ImagePullBackOff`.
const IMAGE_PULL_ERROR_SHOWN: SignedDuration = SignedDuration::from_secs(5);
/// The condition types the kubelet owns; others (DisruptionTarget, …) are kept as they are.
pub const KUBELET_CONDITIONS: &[&str] = &[
    POD_READY_TO_START_CONTAINERS,
    POD_INITIALIZED,
    POD_CONTAINERS_READY,
    POD_READY,
];

/// Timing knobs of the pod simulation.
#[derive(Debug, Clone, Copy)]
pub struct PodTiming {
    /// From acceptance by the kubelet to containers running.
    pub startup_delay: Duration,
    /// First crash-loop back-off (upstream 10 s, doubling to 5 min).
    pub crash_backoff: Duration,
}

/// A pod's simulated status and when it next changes by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    /// The full status to write.
    pub status: PodStatus,
    /// The next instant at which the status changes without any input.
    pub next_change: Option<Timestamp>,
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

fn time(t: Timestamp) -> Time {
    Time(everynode_core::duration::truncate_to_seconds(t))
}

/// The image's tag (`repo/name:tag`; a `host:port/` prefix is not a tag).
fn image_tag(image: &str) -> Option<&str> {
    let (_, last) = image.rsplit_once('/').unwrap_or(("", image));
    let last = last.split('@').next().unwrap_or(last);
    last.rsplit_once(':').map(|(_, tag)| tag)
}

struct Container1 {
    status: ContainerStatus,
    /// When it became (or becomes) ready; `None` if never.
    ready_at: Option<Timestamp>,
    started_once: bool,
    next: Option<Timestamp>,
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn simulate_container(
    pod: &Pod,
    c: &Container,
    start: Timestamp,
    now: Timestamp,
    timing: &PodTiming,
) -> Container1 {
    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let image = c.image.clone().unwrap_or_default();
    let simulate = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_SIMULATE))
        .map(String::as_str);
    let container_id = |run: i32| {
        format!(
            "containerd://{}",
            stable_hex(&[uid, &c.name, &run.to_string()], 64)
        )
    };
    let mut status = ContainerStatus {
        name: c.name.clone(),
        image: image.clone(),
        image_id: String::new(),
        ready: false,
        restart_count: 0,
        started: Some(false),
        ..ContainerStatus::default()
    };
    let waiting = |reason: &str, message: Option<String>| ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message,
        }),
        ..ContainerState::default()
    };
    if now < start {
        status.state = Some(waiting(REASON_CONTAINER_CREATING, None));
        return Container1 {
            status,
            ready_at: None,
            started_once: false,
            next: Some(start),
        };
    }
    if image_tag(&image) == Some(IMAGE_TAG_NON_EXISTENT) {
        // Upstream alternates ErrImagePull and ImagePullBackOff; we show the first, then the second.
        let backoff_at = start + IMAGE_PULL_ERROR_SHOWN;
        let (state, next) = if now < backoff_at {
            (
                waiting(
                    REASON_ERR_IMAGE_PULL,
                    Some(format!(
                        "failed to pull and unpack image \"{image}\": not found (simulated by everynode)"
                    )),
                ),
                Some(backoff_at),
            )
        } else {
            (
                waiting(
                    REASON_IMAGE_PULL_BACK_OFF,
                    Some(format!("Back-off pulling image \"{image}\"")),
                ),
                None,
            )
        };
        status.state = Some(state);
        return Container1 {
            status,
            ready_at: None,
            started_once: false,
            next,
        };
    }
    status.image_id = format!("{image}@sha256:{}", stable_hex(&[&image], 64));
    if simulate == Some(SIMULATE_CRASH_LOOP) {
        return crash_loop(pod, c, status, start, now, timing, &container_id);
    }
    status.container_id = Some(container_id(0));
    status.started = Some(true);
    status.state = Some(ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(time(start)),
        }),
        ..ContainerState::default()
    });
    let ready_at = if simulate == Some(SIMULATE_NEVER_READY) {
        None
    } else {
        // Probes pass unless a failure is injected: Ready once the first probe may run.
        let delay = c
            .readiness_probe
            .as_ref()
            .and_then(|p| p.initial_delay_seconds)
            .unwrap_or(0)
            .max(0);
        Some(start + SignedDuration::from_secs(i64::from(delay)))
    };
    status.ready = ready_at.is_some_and(|t| t <= now);
    let next = ready_at.filter(|t| *t > now);
    Container1 {
        status,
        ready_at,
        started_once: true,
        next,
    }
}

/// Run 0 crashes after [`CRASH_RUN`] and restarts at once; after run k ≥ 1 the kubelet waits
/// `crash_backoff × 2^(k-1)` (capped at 5 min) in `CrashLoopBackOff`, as upstream's back-off.
fn crash_loop(
    pod: &Pod,
    c: &Container,
    mut status: ContainerStatus,
    start: Timestamp,
    now: Timestamp,
    timing: &PodTiming,
    container_id: &dyn Fn(i32) -> String,
) -> Container1 {
    let base = signed(timing.crash_backoff);
    let mut run_start = start;
    let mut run: i32 = 0;
    loop {
        let run_end = run_start + CRASH_RUN;
        let terminated = ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 1,
                reason: Some(REASON_ERROR.to_string()),
                started_at: Some(time(run_start)),
                finished_at: Some(time(run_end)),
                container_id: Some(container_id(run)),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        };
        if now < run_end {
            status.restart_count = run;
            status.started = Some(true);
            status.container_id = Some(container_id(run));
            status.state = Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(time(run_start)),
                }),
                ..ContainerState::default()
            });
            return Container1 {
                status,
                ready_at: None,
                started_once: true,
                next: Some(run_end),
            };
        }
        let backoff = if run == 0 {
            SignedDuration::ZERO
        } else {
            let factor = 1i64 << (run - 1).min(20);
            base.checked_mul(factor as i32)
                .unwrap_or(CRASH_BACKOFF_MAX)
                .min(CRASH_BACKOFF_MAX)
        };
        let next_start = run_end + backoff;
        if now < next_start {
            status.restart_count = run;
            status.started = Some(false);
            status.container_id = Some(container_id(run));
            status.last_state = Some(terminated);
            let uid = pod.metadata.uid.as_deref().unwrap_or_default();
            status.state = Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(REASON_CRASH_LOOP_BACK_OFF.to_string()),
                    message: Some(format!(
                        "back-off {}s restarting failed container={} pod={}_{}({uid})",
                        backoff.as_secs(),
                        c.name,
                        pod.metadata.name.as_deref().unwrap_or_default(),
                        pod.metadata.namespace.as_deref().unwrap_or_default(),
                    )),
                }),
                ..ContainerState::default()
            });
            return Container1 {
                status,
                ready_at: None,
                started_once: true,
                next: Some(next_start),
            };
        }
        status.last_state = Some(terminated);
        run += 1;
        run_start = next_start;
    }
}

fn condition(
    type_: &str,
    ok: bool,
    since: Timestamp,
    reason: Option<&str>,
    message: Option<String>,
) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { CONDITION_TRUE } else { CONDITION_FALSE }.to_string(),
        last_transition_time: Some(time(since)),
        reason: if ok { None } else { reason.map(str::to_string) },
        message: if ok { None } else { message },
        ..PodCondition::default()
    }
}

/// The status of `pod` at `now`, accepted by its kubelet at `accepted` (kept in
/// `status.startTime`), with `pod_ip` and `host_ip`.
pub fn simulate_pod(
    pod: &Pod,
    accepted: Timestamp,
    now: Timestamp,
    pod_ip: &str,
    host_ip: &str,
    timing: &PodTiming,
) -> Simulated {
    let accepted = everynode_core::duration::truncate_to_seconds(accepted);
    let start = accepted + signed(timing.startup_delay);
    let spec = pod.spec.clone().unwrap_or_default();
    let containers: Vec<Container1> = spec
        .containers
        .iter()
        .map(|c| simulate_container(pod, c, start, now, timing))
        .collect();
    let mut next = None;
    for c in &containers {
        next = min_opt(next, c.next);
    }
    let started = now >= start;
    let all_started = containers.iter().all(|c| c.started_once);
    let unready: Vec<&str> = containers
        .iter()
        .filter(|c| !c.status.ready)
        .map(|c| c.status.name.as_str())
        .collect();
    let ready_since = containers
        .iter()
        .filter_map(|c| c.ready_at)
        .max()
        .unwrap_or(accepted);
    let ready = unready.is_empty();
    let not_ready_message = Some(format!(
        "containers with unready status: [{}]",
        unready.join(" ")
    ));
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let initialized_at = if init.is_empty() { accepted } else { start };
    let mut conditions = vec![
        condition(POD_READY_TO_START_CONTAINERS, true, accepted, None, None),
        condition(
            POD_INITIALIZED,
            now >= initialized_at,
            initialized_at.min(now),
            None,
            None,
        ),
        condition(
            POD_READY,
            ready,
            if ready { ready_since } else { accepted },
            Some(REASON_CONTAINERS_NOT_READY),
            not_ready_message.clone(),
        ),
        condition(
            POD_CONTAINERS_READY,
            ready,
            if ready { ready_since } else { accepted },
            Some(REASON_CONTAINERS_NOT_READY),
            not_ready_message,
        ),
    ];
    let current = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    for c in &mut conditions {
        let Some(cur) = current.iter().find(|cur| cur.type_ == c.type_) else {
            continue;
        };
        if cur.status == c.status {
            // Unchanged status keeps its transition time (what minReadySeconds measures from).
            if cur.last_transition_time.is_some() {
                c.last_transition_time = cur.last_transition_time.clone();
            }
        } else if cur.last_transition_time >= c.last_transition_time {
            // Someone else flipped it since (the node controller's MarkPodsNotReady): flipping
            // back is a new transition, now.
            c.last_transition_time = Some(time(now));
        }
    }
    // Keep the conditions others own (PodScheduled from binding, DisruptionTarget, …).
    let mut kept: Vec<PodCondition> = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()))
        .collect();
    if !kept.iter().any(|c| c.type_ == POD_SCHEDULED) {
        kept.push(condition(POD_SCHEDULED, true, accepted, None, None));
    }
    kept.append(&mut conditions);
    let init_statuses: Vec<ContainerStatus> = init
        .iter()
        .map(|c| ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            image_id: String::new(),
            ready: started,
            restart_count: 0,
            started: Some(false),
            state: Some(if started {
                ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 0,
                        reason: Some(REASON_COMPLETED.to_string()),
                        started_at: Some(time(start)),
                        finished_at: Some(time(start)),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                }
            } else {
                ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("PodInitializing".to_string()),
                        message: None,
                    }),
                    ..ContainerState::default()
                }
            }),
            ..ContainerStatus::default()
        })
        .collect();
    let status = PodStatus {
        phase: Some(
            if all_started {
                POD_RUNNING
            } else {
                POD_PENDING
            }
            .to_string(),
        ),
        conditions: Some(kept),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.to_string(),
        }]),
        pod_ip: Some(pod_ip.to_string()),
        pod_ips: Some(vec![PodIP {
            ip: pod_ip.to_string(),
        }]),
        start_time: Some(time(accepted)),
        qos_class: pod.status.as_ref().and_then(|s| s.qos_class.clone()),
        container_statuses: Some(containers.into_iter().map(|c| c.status).collect()),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        ..PodStatus::default()
    };
    Simulated {
        status,
        next_change: next,
    }
}

/// What a status write would change: phase, IPs, condition statuses and container states.
fn projection(status: Option<&PodStatus>) -> impl PartialEq + use<> {
    let s = status.cloned().unwrap_or_default();
    let mut conditions: Vec<(String, String)> = s
        .conditions
        .unwrap_or_default()
        .into_iter()
        .filter(|c| KUBELET_CONDITIONS.contains(&c.type_.as_str()))
        .map(|c| (c.type_, c.status))
        .collect();
    conditions.sort();
    let containers: Vec<_> = s
        .container_statuses
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let state = c.state.unwrap_or_default();
            let kind = if state.running.is_some() {
                "running".to_string()
            } else if let Some(t) = state.terminated {
                format!("terminated:{}", t.reason.unwrap_or_default())
            } else {
                format!(
                    "waiting:{}",
                    state.waiting.and_then(|w| w.reason).unwrap_or_default()
                )
            };
            (c.name, c.ready, c.restart_count, kind)
        })
        .collect();
    (
        s.phase,
        s.pod_ip,
        s.host_ip,
        s.start_time,
        conditions,
        containers,
    )
}

/// Whether the pod's current status differs from the simulated one.
pub fn pod_status_differs(current: Option<&PodStatus>, desired: &PodStatus) -> bool {
    projection(current) != projection(Some(desired))
}

#[cfg(test)]
mod tests;

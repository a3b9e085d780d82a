//! How long a simulated pod takes to stop: its containers' preStop hooks, which run before the kubelet signals them.
//!
//! The simulated kubelet runs no processes, so it times the hooks it can read: the `sleep`
//! action (`preStop.sleep.seconds`) and an `exec` hook whose command is a plain sleep
//! (`["sleep", "15"]`, or `["/bin/sh", "-c", "sleep 15"]` and the like). Any other hook finishes
//! at once. Containers stop in parallel, as upstream's kubelet stops them, so the pod takes as
//! long as its slowest hook, and never outlives its grace period.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{LifecycleHandler, Pod};

/// The shells whose `-c` script is read for a sleep.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash"];

/// When a gracefully deleted pod has stopped and its kubelet sends the final DELETE: its
/// preStop hooks, then `stop_delay` for the containers to exit, counted from `observed` (when its
/// kubelet saw the deletion) and never past the deletion timestamp. `None` while the pod is not
/// being deleted.
pub fn stopped_at(pod: &Pod, observed: Timestamp, stop_delay: Duration) -> Option<Timestamp> {
    let deadline = pod.metadata.deletion_timestamp.as_ref()?.0;
    let stopping = SignedDuration::try_from(pre_stop_duration(pod) + stop_delay)
        .unwrap_or(SignedDuration::MAX);
    Some(
        observed
            .checked_add(stopping)
            .unwrap_or(deadline)
            .min(deadline),
    )
}

/// How long the slowest preStop hook of the pod's containers runs.
fn pre_stop_duration(pod: &Pod) -> Duration {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .filter_map(|c| c.lifecycle.as_ref()?.pre_stop.as_ref())
        .map(hook_duration)
        .max()
        .unwrap_or(Duration::ZERO)
}

fn hook_duration(hook: &LifecycleHandler) -> Duration {
    if let Some(sleep) = &hook.sleep {
        return Duration::from_secs(u64::try_from(sleep.seconds).unwrap_or(0));
    }
    hook.exec
        .as_ref()
        .and_then(|e| e.command.as_deref())
        .and_then(command_sleep)
        .unwrap_or(Duration::ZERO)
}

/// The sleep a command amounts to, if it is one: `sleep N` directly or as a shell's `-c` script.
fn command_sleep(command: &[String]) -> Option<Duration> {
    match command {
        [program, seconds] if base_name(program) == "sleep" => sleep_seconds(seconds),
        [shell, flag, script] if SHELLS.contains(&base_name(shell)) && flag == "-c" => {
            match script.split_whitespace().collect::<Vec<_>>().as_slice() {
                [program, seconds] if base_name(program) == "sleep" => sleep_seconds(seconds),
                _ => None,
            }
        }
        _ => None,
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `sleep`'s operand: seconds, possibly fractional, with an optional `s` suffix.
fn sleep_seconds(operand: &str) -> Option<Duration> {
    let number = operand.strip_suffix('s').unwrap_or(operand);
    let seconds: f64 = number.parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_with_hooks(hooks: &[serde_json::Value]) -> Pod {
        let containers: Vec<serde_json::Value> = hooks
            .iter()
            .enumerate()
            .map(|(i, hook)| {
                json!({"name": format!("c{i}"), "image": "busybox", "lifecycle": {"preStop": hook}})
            })
            .collect();
        serde_json::from_value(json!({"spec": {"containers": containers}})).expect("pod")
    }

    fn exec(command: &[&str]) -> serde_json::Value {
        json!({"exec": {"command": command}})
    }

    #[test]
    fn a_sleep_action_runs_its_seconds() {
        let pod = pod_with_hooks(&[json!({"sleep": {"seconds": 15}})]);
        assert_eq!(pre_stop_duration(&pod), Duration::from_secs(15));
    }

    #[test]
    fn an_exec_sleep_runs_directly_or_through_a_shell() {
        for command in [
            &["sleep", "15"][..],
            &["/bin/sleep", "15s"],
            &["/bin/sh", "-c", "sleep 15"],
            &["bash", "-c", "  sleep   15 "],
        ] {
            let pod = pod_with_hooks(&[exec(command)]);
            assert_eq!(
                pre_stop_duration(&pod),
                Duration::from_secs(15),
                "{command:?}"
            );
        }
        let pod = pod_with_hooks(&[exec(&["sleep", "0.5"])]);
        assert_eq!(pre_stop_duration(&pod), Duration::from_millis(500));
    }

    #[test]
    fn other_hooks_finish_at_once() {
        for hook in [
            exec(&["/bin/sh", "-c", "nginx -s quit; sleep 5"]),
            exec(&["sleep"]),
            exec(&["sleep", "forever"]),
            exec(&["sleep", "-1"]),
            exec(&["python", "-c", "sleep 5"]),
            json!({"httpGet": {"path": "/shutdown", "port": 8080}}),
            json!({"sleep": {"seconds": -3}}),
        ] {
            let pod = pod_with_hooks(std::slice::from_ref(&hook));
            assert_eq!(pre_stop_duration(&pod), Duration::ZERO, "{hook}");
        }
        let no_hooks: Pod =
            serde_json::from_value(json!({"spec": {"containers": [{"name": "c"}]}})).expect("pod");
        assert_eq!(pre_stop_duration(&no_hooks), Duration::ZERO);
    }

    #[test]
    fn a_pod_stops_after_its_hooks_and_delay_but_within_its_grace_period() {
        let at = |s: i64| Timestamp::from_second(1_700_000_000 + s).expect("time");
        let mut pod = pod_with_hooks(&[exec(&["/bin/sh", "-c", "sleep 15"])]);
        assert_eq!(stopped_at(&pod, at(0), Duration::ZERO), None);
        pod.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(100)),
        );
        // Seen at 70: hook 15 s + delay 2 s.
        assert_eq!(
            stopped_at(&pod, at(70), Duration::from_secs(2)),
            Some(at(87))
        );
        // Seen at 90: the deletion timestamp (100) cuts the hook short.
        assert_eq!(
            stopped_at(&pod, at(90), Duration::from_secs(2)),
            Some(at(100))
        );
    }

    #[test]
    fn the_slowest_container_decides() {
        let pod = pod_with_hooks(&[
            exec(&["sleep", "3"]),
            json!({"sleep": {"seconds": 7}}),
            exec(&["true"]),
        ]);
        assert_eq!(pre_stop_duration(&pod), Duration::from_secs(7));
    }
}

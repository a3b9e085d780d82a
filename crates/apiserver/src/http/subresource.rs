//! Pod subresources: `binding` (the scheduler's write), `eviction` (drain) and `log`.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::delete::DeleteOptions;
use super::route::Target;
use super::{Api, Call};
use crate::error::ApiError;
use crate::registry;
use crate::resources::{self, Resource};
use crate::store::{Change, Key, Preconditions};

fn success() -> http::Response<ResponseBody> {
    body::json(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    )
}

fn pods() -> Result<&'static Resource, ApiError> {
    resources::find("", "v1", "pods").ok_or_else(|| ApiError::internal("pods are not served"))
}

impl Api {
    /// `POST …/pods/<name>/binding`: sets spec.nodeName and the PodScheduled condition.
    pub(super) async fn binding(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let binding = body::decode_object(&call.headers, bytes)?;
        let body_name = binding["metadata"]["name"].as_str().unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "name in URL does not match name in Binding object: {name} != {body_name}"
            )));
        }
        let namespace = target.namespace.clone().unwrap_or_default();
        self.bind(&namespace, &binding).await
    }

    /// `POST /api/v1/namespaces/<ns>/bindings`, the legacy binding endpoint.
    pub(super) async fn legacy_binding(
        &self,
        call: &Call,
        namespace: &str,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let binding = body::decode_object(&call.headers, bytes)?;
        self.bind(namespace, &binding).await
    }

    async fn bind(
        &self,
        namespace: &str,
        binding: &Value,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let pods = pods()?;
        let name = binding["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let node = binding["target"]["name"].as_str().unwrap_or("");
        if node.is_empty() {
            return Err(ApiError::invalid(
                pods,
                &name,
                vec![crate::error::Cause::required("target.name", "")],
            ));
        }
        let key = Key {
            resource: pods.storage,
            namespace: namespace.to_owned(),
            name: name.clone(),
        };
        let current = self
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(pods, &name))?;
        let mut pod = current.value();
        if let Some(uid) = binding["metadata"]["uid"]
            .as_str()
            .filter(|u| !u.is_empty())
            && uid != current.uid
        {
            return Err(ApiError::conflict(
                pods,
                &name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    current.uid
                ),
            ));
        }
        if !pod["metadata"]["deletionTimestamp"].is_null() {
            return Err(ApiError::conflict(
                pods,
                &name,
                format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        if let Some(assigned) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(ApiError::conflict(
                pods,
                &name,
                format!("pod {name} is already assigned to node \"{assigned}\""),
            ));
        }
        pod["spec"]["nodeName"] = json!(node);
        if let Some(annotations) = binding["metadata"]["annotations"].as_object() {
            for (k, v) in annotations {
                pod["metadata"]["annotations"][k] = v.clone();
            }
        }
        set_pod_scheduled(&mut pod);
        let index = registry::index(pods, &pod);
        self.store
            .write(
                key,
                Change::Update {
                    object: pod,
                    index,
                    preconditions: Preconditions {
                        resource_version: Some(current.revision),
                        uid: None,
                    },
                },
            )
            .await
            .map_err(|e| ApiError::from_write(e, pods, &name))?;
        Ok(success())
    }

    /// `POST …/pods/<name>/eviction`: deletes the pod with the eviction's options. There are no
    /// PodDisruptionBudgets in this server, so an eviction is never refused with 429.
    pub(super) async fn eviction(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let eviction = body::decode_object(&call.headers, bytes)?;
        let body_name = eviction["metadata"]["name"].as_str().unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "name in URL does not match name in Eviction object: {name} != {body_name}"
            )));
        }
        let options = DeleteOptions::from_value(&eviction["deleteOptions"])?;
        let key = self.key(target, name)?;
        self.delete_object(target.resource, key, &options).await?;
        Ok(success())
    }

    /// `GET …/pods/<name>/log`: the simulated container's log, derived from its status.
    pub(super) async fn log(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let key = self.key(target, name)?;
        let pod = self
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(target.resource, name))?
            .value();
        let containers: Vec<&str> = pod["spec"]["containers"]
            .as_array()
            .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        let container = match call.query.get("container") {
            Some(c) if !c.is_empty() => {
                if !containers.contains(&c) {
                    return Err(ApiError::bad_request(format!(
                        "container {c} is not valid for pod {name}"
                    )));
                }
                c.to_owned()
            }
            _ => match containers.as_slice() {
                [only] => (*only).to_owned(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "a container name must be specified for pod {name}, choose one of: [{}]",
                        containers.join(" ")
                    )));
                }
            },
        };
        let lines = simulated_log(&pod, &container, name)?;
        let tail = call.query.integer("tailLines")?;
        let skip = match tail {
            Some(n) if n >= 0 => lines.len().saturating_sub(n as usize),
            _ => 0,
        };
        let timestamps = call.query.flag("timestamps");
        let mut out = String::new();
        for (time, line) in &lines[skip..] {
            if timestamps {
                out.push_str(time);
                out.push(' ');
            }
            out.push_str(line);
            out.push('\n');
        }
        Ok(body::respond(
            StatusCode::OK,
            "text/plain",
            Bytes::from(out),
        ))
    }
}

/// The lines a simulated container "wrote": its starts, its stops (exits, and the stop signal of
/// a pod being deleted) and its restarts, each marked as simulated. Oldest first.
fn simulated_log(
    pod: &Value,
    container: &str,
    pod_name: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let status = pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == container));
    let Some(status) = status else {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: ContainerCreating"
        )));
    };
    let restarts = status["restartCount"].as_i64().unwrap_or(0);
    if let Some(reason) = status["state"]["waiting"]["reason"].as_str()
        && restarts == 0
    {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
        )));
    }
    let image = pod["spec"]["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == container))
        .and_then(|c| c["image"].as_str())
        .unwrap_or("");
    let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
    let text = |s: &Value| s.as_str().unwrap_or("").to_owned();
    let started = |at: &Value| {
        (
            text(at),
            format!(
                "{SIMULATED} container {container} (image {image}) started on node {node}; no real process runs here"
            ),
        )
    };
    let stopped = |terminated: &Value| {
        let code = terminated["exitCode"].as_i64().unwrap_or(0);
        let reason = terminated["reason"].as_str().unwrap_or("Completed");
        (
            text(&terminated["finishedAt"]),
            format!("{SIMULATED} container {container} stopped: exit code {code} ({reason})"),
        )
    };
    let mut lines = Vec::new();
    let last = &status["lastState"]["terminated"];
    if last.is_object() {
        lines.push(started(&last["startedAt"]));
        lines.push(stopped(last));
    }
    let state = &status["state"];
    if state["running"].is_object() {
        if restarts > 0 {
            lines.push((
                text(&state["running"]["startedAt"]),
                format!(
                    "{SIMULATED} container {container} restarted ({restarts} restart(s) so far)"
                ),
            ));
        }
        lines.push(started(&state["running"]["startedAt"]));
        if let Some(line) = stop_signal(pod, container) {
            lines.push(line);
        }
    } else if state["terminated"].is_object() {
        lines.push(started(&state["terminated"]["startedAt"]));
        lines.push(stopped(&state["terminated"]));
    } else if let Some(reason) = state["waiting"]["reason"].as_str() {
        lines.push((
            text(last.get("finishedAt").unwrap_or(&Value::Null)),
            format!("{SIMULATED} container {container} waiting to restart: {reason} ({restarts} restart(s) so far)"),
        ));
    }
    Ok(lines)
}

/// How every simulated line begins.
const SIMULATED: &str = "[everynode simulated]";

/// The line of a running container whose pod is being deleted: it was sent the stop signal when
/// the delete came (the deletion timestamp less the grace period).
fn stop_signal(pod: &Value, container: &str) -> Option<(String, String)> {
    let deadline = pod["metadata"]["deletionTimestamp"].as_str()?;
    let grace = pod["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(0);
    let at = super::delete::deletion_requested_at(deadline, grace)
        .map(|t| format!("{t:.0}"))
        .unwrap_or_else(|| deadline.to_owned());
    Some((
        at,
        format!(
            "{SIMULATED} container {container} stopping: the pod is being deleted, grace period {grace}s"
        ),
    ))
}

/// Sets the PodScheduled condition to True, as the binding registry does.
fn set_pod_scheduled(pod: &mut Value) {
    let now = registry::now_rfc3339();
    let condition = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let conditions = &mut pod["status"]["conditions"];
    match conditions.as_array_mut() {
        Some(list) => {
            list.retain(|c| c["type"] != "PodScheduled");
            list.push(condition);
        }
        None => *conditions = json!([condition]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(pod: Value) -> Vec<String> {
        simulated_log(&pod, "c", "p")
            .unwrap_or_default()
            .into_iter()
            .map(|(at, line)| format!("{at} {line}"))
            .collect()
    }

    fn pod(status: Value, metadata: Value) -> Value {
        json!({
            "metadata": metadata,
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx"}]},
            "status": {"containerStatuses": [status]},
        })
    }

    #[test]
    fn a_running_container_logs_its_start() {
        let lines = log(pod(
            json!({"name": "c", "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}),
            json!({}),
        ));
        assert_eq!(
            lines,
            [
                "2026-01-01T00:00:01Z [everynode simulated] container c (image nginx) started on node node-1; no real process runs here"
            ]
        );
    }

    #[test]
    fn a_pod_being_deleted_logs_the_stop_signal_when_the_delete_came() {
        let lines = log(pod(
            json!({"name": "c", "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:01Z"}}}),
            json!({"deletionTimestamp": "2026-01-01T00:01:00Z", "deletionGracePeriodSeconds": 30}),
        ));
        assert_eq!(
            lines.last().map(String::as_str),
            Some(
                "2026-01-01T00:00:30Z [everynode simulated] container c stopping: the pod is being deleted, grace period 30s"
            )
        );
    }

    #[test]
    fn restarts_log_each_stop_and_start() {
        let last = json!({"exitCode": 1, "reason": "Error", "startedAt": "2026-01-01T00:00:01Z", "finishedAt": "2026-01-01T00:00:02Z"});
        let lines = log(pod(
            json!({"name": "c", "restartCount": 1, "lastState": {"terminated": last}, "state": {"running": {"startedAt": "2026-01-01T00:00:12Z"}}}),
            json!({}),
        ));
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(
            lines[1].ends_with("container c stopped: exit code 1 (Error)"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("restarted (1 restart(s) so far)"),
            "{lines:?}"
        );
        let waiting = log(pod(
            json!({"name": "c", "restartCount": 2, "lastState": {"terminated": last}, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}),
            json!({}),
        ));
        assert_eq!(waiting.len(), 3, "{waiting:?}");
        assert!(
            waiting[2].contains("waiting to restart: CrashLoopBackOff (2 restart(s) so far)"),
            "{waiting:?}"
        );
    }

    #[test]
    fn a_terminated_container_logs_its_stop() {
        let lines = log(pod(
            json!({"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-01-01T00:00:01Z", "finishedAt": "2026-01-01T00:00:05Z"}}}),
            json!({}),
        ));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].starts_with("2026-01-01T00:00:05Z [everynode simulated] container c stopped: exit code 0 (Completed)"), "{lines:?}");
    }
}

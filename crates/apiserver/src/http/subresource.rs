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

/// The lines a simulated container "wrote": one per start and per restart, marked as simulated.
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
    if let Some(reason) = status["state"]["waiting"]["reason"].as_str()
        && status["restartCount"].as_i64().unwrap_or(0) == 0
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
    let started = status["state"]["running"]["startedAt"]
        .as_str()
        .or_else(|| status["lastState"]["terminated"]["startedAt"].as_str())
        .unwrap_or("")
        .to_owned();
    let restarts = status["restartCount"].as_i64().unwrap_or(0);
    let node = pod["spec"]["nodeName"].as_str().unwrap_or("");
    let mut lines = Vec::new();
    if restarts > 0 {
        let finished = status["lastState"]["terminated"]["finishedAt"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        lines.push((
            finished,
            format!("[everynode simulated] container {container} exited; restarted {restarts} time(s) so far"),
        ));
    }
    lines.push((
        started,
        format!("[everynode simulated] container {container} (image {image}) started on node {node}; no real process runs here"),
    ));
    Ok(lines)
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

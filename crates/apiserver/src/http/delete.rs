//! Deletes: DeleteOptions, preconditions, graceful pod deletion, finalizers and propagation.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::filter::Filter;
use super::route::Target;
use super::{Api, Call};
use crate::error::ApiError;
use crate::registry;
use crate::resources::Resource;
use crate::store::{Change, Key, Preconditions, StoredObject};

/// Finalizers the garbage collector honours for propagation (upstream metav1 constants).
pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// The parts of `metav1.DeleteOptions` the server acts on.
#[derive(Debug, Default, Clone)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
    pub uid: Option<String>,
    pub resource_version: Option<u64>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

impl DeleteOptions {
    /// From the body when there is one (kubectl sends JSON, typed clients protobuf), else from
    /// the query (api.md §0).
    pub fn parse(call: &Call, bytes: &Bytes) -> Result<Self, ApiError> {
        let from_body = !bytes.is_empty();
        let source: Value = if from_body {
            body::decode_object(&call.headers, bytes)?
        } else {
            let q = &call.query;
            let mut v = json!({});
            if let Some(g) = q.integer("gracePeriodSeconds")? {
                v["gracePeriodSeconds"] = json!(g);
            }
            if let Some(p) = q.get("propagationPolicy") {
                v["propagationPolicy"] = json!(p);
            }
            if q.get("orphanDependents").is_some() {
                v["orphanDependents"] = json!(q.flag("orphanDependents"));
            }
            if let Some(d) = q.get("dryRun") {
                v["dryRun"] = json!([d]);
            }
            v
        };
        Self::from_value(&source)
    }

    pub fn from_value(source: &Value) -> Result<Self, ApiError> {
        let propagation = match source["propagationPolicy"].as_str() {
            None | Some("") => match source["orphanDependents"].as_bool() {
                Some(true) => Some(Propagation::Orphan),
                Some(false) => Some(Propagation::Background),
                None => None,
            },
            Some("Orphan") => Some(Propagation::Orphan),
            Some("Background") => Some(Propagation::Background),
            Some("Foreground") => Some(Propagation::Foreground),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
        };
        let dry_run = match &source["dryRun"] {
            Value::Array(values) => values.iter().any(|v| v == "All"),
            _ => false,
        };
        let resource_version = match source["preconditions"]["resourceVersion"].as_str() {
            None | Some("") => None,
            Some(rv) => Some(rv.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid resourceVersion precondition {rv:?}"))
            })?),
        };
        Ok(Self {
            grace_period_seconds: source["gracePeriodSeconds"].as_i64(),
            propagation,
            uid: source["preconditions"]["uid"]
                .as_str()
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            resource_version,
            dry_run,
        })
    }
}

impl Api {
    pub(super) async fn delete(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let mut options = DeleteOptions::parse(call, bytes)?;
        options.dry_run |= call.query.dry_run()?;
        let key = self.key(target, name)?;
        let outcome = self.delete_object(target.resource, key, &options).await?;
        Ok(outcome.respond(target.resource))
    }

    /// Deletes one object per `options`; shared by DELETE, deletecollection and eviction.
    pub(crate) async fn delete_object(
        &self,
        resource: &'static Resource,
        key: Key,
        options: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        let name = key.name.clone();
        let current = self
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(resource, &name))?;
        if let Some(uid) = &options.uid
            && *uid != current.uid
        {
            return Err(ApiError::conflict(
                resource,
                &name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    current.uid
                ),
            ));
        }
        if let Some(rv) = options.resource_version
            && rv != current.revision
        {
            return Err(ApiError::conflict(
                resource,
                &name,
                format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    current.revision
                ),
            ));
        }
        let mut object = current.value();
        let now = registry::now_rfc3339();
        let mut changed = false;

        // Graceful pod deletion (upstream BeforeDelete with the pod's CheckGracefulDelete,
        // api.md §8).
        let grace = if resource.storage == "pods" {
            match pod_grace(&object, options) {
                PodGrace::Pending => {
                    // Deletion already pending with an equal or shorter grace: nothing changes,
                    // not even the finalizers (upstream: they cannot change once it started).
                    return Ok(Deleted::Pending(current.json.clone()));
                }
                PodGrace::Start { seconds } => {
                    object["metadata"]["deletionTimestamp"] = json!(deletion_deadline(seconds));
                    object["metadata"]["deletionGracePeriodSeconds"] = json!(seconds);
                    let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
                    object["metadata"]["generation"] = json!(generation.saturating_add(1));
                    changed = true;
                    Some(seconds)
                }
                PodGrace::Shorten { seconds, deadline } => {
                    object["metadata"]["deletionTimestamp"] = json!(deadline);
                    object["metadata"]["deletionGracePeriodSeconds"] = json!(seconds);
                    changed = true;
                    Some(seconds)
                }
                PodGrace::Immediate => None,
            }
        } else {
            None
        };

        // Propagation finalizers (upstream deletionFinalizersForGarbageCollection), written by
        // the same update that sets a graceful deletionTimestamp. Pods and everything else
        // default to Background.
        let mut finalizers: Vec<String> = object["metadata"]["finalizers"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let before = finalizers.clone();
        match options.propagation {
            Some(Propagation::Orphan) => {
                finalizers.retain(|f| f != FOREGROUND_FINALIZER);
                if !finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
                    finalizers.push(ORPHAN_FINALIZER.to_owned());
                }
            }
            Some(Propagation::Foreground) => {
                finalizers.retain(|f| f != ORPHAN_FINALIZER);
                if !finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
                    finalizers.push(FOREGROUND_FINALIZER.to_owned());
                }
            }
            Some(Propagation::Background) => {
                finalizers.retain(|f| f != ORPHAN_FINALIZER && f != FOREGROUND_FINALIZER);
            }
            None => {}
        }
        if finalizers != before {
            object["metadata"]["finalizers"] = json!(finalizers);
            changed = true;
        }
        // Namespaces keep their spec finalizer (`kubernetes`) until the namespace controller
        // has emptied them.
        let spec_finalizers = resource.storage == "namespaces"
            && object["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
        // A graceful deletion waits for the kubelet; one whose grace is 0 goes now unless
        // finalizers hold it (upstream updateForGracefulDeletionAndFinalizers).
        let waits_for_kubelet = grace.is_some_and(|g| g > 0);
        if waits_for_kubelet || !finalizers.is_empty() || spec_finalizers {
            // Without a grace period, finalizers hold the object: it is marked as deleting now.
            if object["metadata"]["deletionTimestamp"].is_null() {
                object["metadata"]["deletionTimestamp"] = json!(now);
                object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                changed = true;
            }
            if resource.storage == "namespaces" && object["status"]["phase"] != "Terminating" {
                object["status"]["phase"] = json!("Terminating");
                changed = true;
            }
            if !changed {
                return Ok(Deleted::Pending(current.json.clone()));
            }
            return self
                .write_pending(resource, key, &current, object, options)
                .await;
        }
        if options.dry_run {
            return Ok(Deleted::Gone(current));
        }
        let stored = self
            .store
            .write(
                key,
                Change::Delete {
                    preconditions: Preconditions {
                        resource_version: None,
                        uid: Some(current.uid.clone()),
                    },
                },
            )
            .await
            .map_err(|e| ApiError::from_write(e, resource, &name))?;
        Ok(Deleted::Gone(stored))
    }

    async fn write_pending(
        &self,
        resource: &'static Resource,
        key: Key,
        current: &StoredObject,
        object: Value,
        options: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        if options.dry_run {
            return Ok(Deleted::Pending(
                serde_json::to_vec(&object).unwrap_or_default().into(),
            ));
        }
        let name = key.name.clone();
        let index = registry::index(resource, &object);
        let stored = self
            .store
            .write(
                key,
                Change::Update {
                    object,
                    index,
                    preconditions: Preconditions {
                        resource_version: Some(current.revision),
                        uid: None,
                    },
                },
            )
            .await
            .map_err(|e| ApiError::from_write(e, resource, &name))?;
        Ok(Deleted::Pending(stored.json.clone()))
    }

    pub(super) async fn delete_collection(
        &self,
        call: &Call,
        target: &Target,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let mut options = DeleteOptions::parse(call, bytes)?;
        options.dry_run |= call.query.dry_run()?;
        let filter = Filter::from_query(resource, &call.query)?;
        let listing = self.store.list(
            resource.storage,
            target.namespace.as_deref(),
            None,
            0,
            |o| filter.matches(o),
        );
        let mut items = Vec::new();
        for object in &listing.items {
            let key = Key {
                resource: resource.storage,
                namespace: object.namespace.clone(),
                name: object.name.clone(),
            };
            match self.delete_object(resource, key, &options).await {
                Ok(Deleted::Gone(stored)) => items.push(stored.json.clone()),
                Ok(Deleted::Pending(bytes)) => items.push(bytes),
                // Deleted concurrently: nothing left to do for it.
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let mut out = format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{}\"}},\"items\":[",
            resource.kind,
            resource.api_version(),
            self.store.revision()
        )
        .into_bytes();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item);
        }
        out.extend_from_slice(b"]}");
        Ok(body::json_bytes(StatusCode::OK, out))
    }
}

/// What a delete does to a pod's grace period.
#[derive(Debug, PartialEq, Eq)]
enum PodGrace {
    /// Not being deleted yet: deletion starts with this grace (0 deletes at once).
    Start { seconds: i64 },
    /// Being deleted, and this delete shortens the grace: the deadline moves accordingly.
    Shorten { seconds: i64, deadline: String },
    /// Being deleted with an equal or shorter grace already: nothing changes.
    Pending,
    /// Being deleted with grace 0 already (or none recorded): delete now.
    Immediate,
}

/// Upstream `BeforeDelete` for pods: a pod already being deleted may only have its grace
/// shortened; otherwise `CheckGracefulDelete` picks the grace (the request's, else the pod's
/// terminationGracePeriodSeconds; 0 for unscheduled or terminal pods; negative counts as 1).
fn pod_grace(pod: &Value, options: &DeleteOptions) -> PodGrace {
    let requested = options
        .grace_period_seconds
        .map(|g| if g < 0 { 1 } else { g });
    let metadata = &pod["metadata"];
    if !metadata["deletionTimestamp"].is_null() {
        let existing = match metadata["deletionGracePeriodSeconds"].as_i64() {
            None | Some(0) => return PodGrace::Immediate,
            Some(e) if e < 0 => 1,
            Some(e) => e,
        };
        return match requested {
            Some(seconds) if seconds < existing => PodGrace::Shorten {
                seconds,
                deadline: shortened_deadline(
                    metadata["deletionTimestamp"].as_str().unwrap_or(""),
                    existing,
                    seconds,
                ),
            },
            _ => PodGrace::Pending,
        };
    }
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    let unscheduled = pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty();
    let seconds = if unscheduled || phase == "Succeeded" || phase == "Failed" {
        0
    } else {
        requested
            .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
            .unwrap_or(30)
    };
    PodGrace::Start {
        seconds: if seconds < 0 { 1 } else { seconds },
    }
}

/// The deadline of a shortened grace period: the old deadline moved back by the difference
/// (upstream: old deletionTimestamp - old grace + new grace), or now + grace when the stored
/// timestamp does not parse.
fn shortened_deadline(stored: &str, old_grace: i64, new_grace: i64) -> String {
    use k8s_openapi::jiff::SignedDuration;
    deletion_requested_at(stored, old_grace)
        .and_then(|requested| {
            requested
                .checked_add(SignedDuration::from_secs(new_grace))
                .ok()
        })
        .map_or_else(|| deletion_deadline(new_grace), |t| format!("{t:.0}"))
}

/// When a graceful delete was asked for: its deletion timestamp less its grace period.
pub(super) fn deletion_requested_at(
    deletion_timestamp: &str,
    grace: i64,
) -> Option<k8s_openapi::jiff::Timestamp> {
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    deletion_timestamp
        .parse::<Timestamp>()
        .ok()?
        .checked_sub(SignedDuration::from_secs(grace))
        .ok()
}

/// The deletionTimestamp of a graceful delete: now plus the grace period (upstream
/// `BeforeDelete`), in whole seconds. A grace period beyond the last representable instant
/// (year 9999) gets that instant: the pod is then deleted only by its kubelet or a later,
/// shorter delete, which is what such a period means.
fn deletion_deadline(grace: i64) -> String {
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    let deadline = Timestamp::now()
        .checked_add(SignedDuration::from_secs(grace))
        .unwrap_or(Timestamp::MAX);
    format!("{deadline:.0}")
}

/// The result of a delete.
pub(crate) enum Deleted {
    /// Removed from the store; the final state.
    Gone(std::sync::Arc<StoredObject>),
    /// Marked for deletion (grace period or finalizers); the object as now stored.
    Pending(Bytes),
}

impl Deleted {
    fn respond(self, resource: &Resource) -> http::Response<ResponseBody> {
        match self {
            Deleted::Pending(bytes) => body::json_bytes(StatusCode::OK, bytes),
            // Pods return the deleted object (upstream ReturnDeletedObject); others a Status.
            Deleted::Gone(stored) if resource.storage == "pods" => {
                body::json_bytes(StatusCode::OK, stored.json.clone())
            }
            Deleted::Gone(stored) => body::json(
                StatusCode::OK,
                &json!({
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": stored.name,
                        "group": resource.group,
                        "kind": resource.plural,
                        "uid": stored.uid,
                    },
                }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(grace: Option<i64>) -> DeleteOptions {
        DeleteOptions {
            grace_period_seconds: grace,
            ..DeleteOptions::default()
        }
    }

    fn scheduled() -> Value {
        json!({
            "metadata": {"name": "p"},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 30},
            "status": {"phase": "Running"},
        })
    }

    #[test]
    fn check_graceful_delete_picks_the_grace() {
        let pod = scheduled();
        assert_eq!(
            pod_grace(&pod, &options(None)),
            PodGrace::Start { seconds: 30 }
        );
        assert_eq!(
            pod_grace(&pod, &options(Some(5))),
            PodGrace::Start { seconds: 5 }
        );
        assert_eq!(
            pod_grace(&pod, &options(Some(-3))),
            PodGrace::Start { seconds: 1 }
        );
        let mut unscheduled = scheduled();
        unscheduled["spec"]["nodeName"] = json!("");
        assert_eq!(
            pod_grace(&unscheduled, &options(Some(60))),
            PodGrace::Start { seconds: 0 }
        );
        let mut done = scheduled();
        done["status"]["phase"] = json!("Succeeded");
        assert_eq!(
            pod_grace(&done, &options(None)),
            PodGrace::Start { seconds: 0 }
        );
    }

    #[test]
    fn a_pending_deletion_may_only_be_shortened() {
        let mut pod = scheduled();
        pod["metadata"]["deletionTimestamp"] = json!("2030-01-01T00:00:30Z");
        pod["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        assert_eq!(pod_grace(&pod, &options(None)), PodGrace::Pending);
        assert_eq!(pod_grace(&pod, &options(Some(30))), PodGrace::Pending);
        assert_eq!(pod_grace(&pod, &options(Some(60))), PodGrace::Pending);
        assert_eq!(
            pod_grace(&pod, &options(Some(10))),
            PodGrace::Shorten {
                seconds: 10,
                deadline: "2030-01-01T00:00:10Z".into()
            }
        );
        // The kubelet's final delete (grace 0) moves the deadline to when deletion started.
        assert_eq!(
            pod_grace(&pod, &options(Some(0))),
            PodGrace::Shorten {
                seconds: 0,
                deadline: "2030-01-01T00:00:00Z".into()
            }
        );
        pod["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        assert_eq!(pod_grace(&pod, &options(Some(0))), PodGrace::Immediate);
    }

    #[test]
    fn deadlines_saturate_at_the_end_of_time() {
        assert!(deletion_deadline(i64::MAX).starts_with("9999-"));
        assert!(deletion_deadline(999_999_999_999).starts_with("9999-"));
        // Moving a deadline back past the start of time falls back to now + grace.
        let fallback = shortened_deadline("-009999-01-01T00:00:00Z", i64::MAX, 0);
        let year: i32 = fallback[..4].parse().unwrap_or(0);
        assert!(year >= 2024, "{fallback}");
        let unparsable = shortened_deadline("yesterday", 30, 0);
        assert!(unparsable.parse::<k8s_openapi::jiff::Timestamp>().is_ok());
    }
}

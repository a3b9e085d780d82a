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

        // Graceful pod deletion (upstream CheckGracefulDelete, api.md §8).
        if resource.storage == "pods"
            && let Some(grace) = pod_grace_period(&object, options)
        {
            let existing = object["metadata"]["deletionGracePeriodSeconds"].as_i64();
            if existing.is_some_and(|e| e <= grace) {
                // A second delete with an equal or longer grace changes nothing.
                return Ok(Deleted::Pending(current.json.clone()));
            }
            object["metadata"]["deletionTimestamp"] = json!(deletion_deadline(grace));
            object["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
            object["metadata"]["generation"] = json!(generation.saturating_add(1));
            return self
                .write_pending(resource, key, &current, object, options)
                .await;
        }

        // Propagation finalizers (upstream deletionFinalizersForGarbageCollection). Pods and
        // everything else default to Background.
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
        if !finalizers.is_empty() || spec_finalizers {
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

/// The grace period of a pod deletion, or `None` to delete it now (upstream CheckGracefulDelete:
/// unscheduled or terminal pods go at once; negative grace counts as 1).
fn pod_grace_period(pod: &Value, options: &DeleteOptions) -> Option<i64> {
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    let unscheduled = pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty();
    if unscheduled || phase == "Succeeded" || phase == "Failed" {
        return None;
    }
    let grace = options
        .grace_period_seconds
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30);
    let grace = if grace < 0 { 1 } else { grace };
    (grace > 0).then_some(grace)
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

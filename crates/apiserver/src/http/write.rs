//! Writes: create, update (incl. status and finalize) and patch (JSON, merge, strategic).

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::query::FieldValidation;
use super::route::Target;
use super::{Api, Call};
use crate::error::{ApiError, Cause};
use crate::registry::{self, Admission};
use crate::resources::Resource;
use crate::store::{Change, Key, Preconditions, StoredObject, WriteError};

/// How often a patch or unconditional update is retried when the object changes between read
/// and write. Upstream
/// retries until it wins; a bound keeps a pathological writer storm from spinning forever, and
/// is far above what concurrent writers need (each round lets at least one through).
const PATCH_ATTEMPTS: usize = 64;

impl Api {
    pub(super) async fn create(
        &self,
        call: &Call,
        target: &Target,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let input = body::decode_object(&call.headers, bytes)?;
        let (object, warnings) = self.decode(resource, input, &call.query)?;
        let dry_run = call.query.dry_run()?;
        let created = self
            .create_object(resource, target.namespace.as_deref(), object, dry_run)
            .await?;
        let mut response = match created {
            Created::Stored(stored) => body::json_bytes(StatusCode::CREATED, stored.json.clone()),
            Created::DryRun(object) => body::json(StatusCode::CREATED, &object),
        };
        body::add_warnings(&mut response, &warnings);
        Ok(response)
    }

    /// Type-checks a body against the resource and decodes it into the stored form, applying
    /// `fieldValidation` to unknown fields. Returns the object and the warnings to send.
    pub(crate) fn decode(
        &self,
        resource: &Resource,
        input: Value,
        query: &super::query::Query,
    ) -> Result<(Value, Vec<String>), ApiError> {
        let validation = FieldValidation::from_query(query)?;
        if !input.is_object() {
            return Err(ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: the body is not a JSON object",
                resource.kind, resource.version, resource.kind
            )));
        }
        if let Some(kind) = input.get("kind").and_then(Value::as_str)
            && kind != resource.kind
        {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                resource.kind
            )));
        }
        if let Some(api_version) = input.get("apiVersion").and_then(Value::as_str)
            && api_version != resource.api_version()
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({})",
                resource.api_version()
            )));
        }
        let mut input = input;
        // Bodies may omit apiVersion and kind; the stored form always has them.
        input["apiVersion"] = json!(resource.api_version());
        input["kind"] = json!(resource.kind);
        if input.get("metadata").is_none_or(Value::is_null) {
            input["metadata"] = json!({});
        }
        let decoded = (registry::rules(resource).decode)(input).map_err(|e| {
            ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {e}",
                resource.kind, resource.version, resource.kind
            ))
        })?;
        let mut warnings = Vec::new();
        if !decoded.unknown_fields.is_empty() {
            match validation {
                FieldValidation::Ignore => {}
                FieldValidation::Warn => {
                    warnings.extend(
                        decoded
                            .unknown_fields
                            .iter()
                            .map(|f| format!("unknown field \"{f}\"")),
                    );
                }
                FieldValidation::Strict => {
                    let fields: Vec<String> = decoded
                        .unknown_fields
                        .iter()
                        .map(|f| format!("unknown field \"{f}\""))
                        .collect();
                    return Err(ApiError::bad_request(format!(
                        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                        resource.kind,
                        resource.version,
                        resource.kind,
                        fields.join(", ")
                    )));
                }
            }
        }
        Ok((decoded.object, warnings))
    }

    /// Creates a decoded object: name, system metadata, admission, validation, then the store.
    pub(crate) async fn create_object(
        &self,
        resource: &'static Resource,
        url_namespace: Option<&str>,
        mut object: Value,
        dry_run: bool,
    ) -> Result<Created, ApiError> {
        let namespace = if resource.namespaced {
            let body_namespace = object["metadata"]["namespace"].as_str().unwrap_or("");
            let url_namespace = url_namespace.ok_or_else(ApiError::no_route)?;
            if !body_namespace.is_empty() && body_namespace != url_namespace {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some(url_namespace.to_owned())
        } else {
            None
        };
        let name = match object["metadata"]["name"].as_str() {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => match object["metadata"]["generateName"].as_str() {
                Some(base) if !base.is_empty() => registry::generate_name(base),
                _ => {
                    return Err(ApiError::invalid(
                        resource,
                        "",
                        vec![Cause::required(
                            "metadata.name",
                            "name or generateName is required",
                        )],
                    ));
                }
            },
        };
        object["metadata"]["name"] = json!(name);
        registry::fill_create_metadata(&mut object, namespace.as_deref());
        self.admit(resource, &name, &mut object)?;
        if let Some(namespace) = &namespace {
            self.check_namespace_open(resource, &name, namespace)?;
        }
        if dry_run {
            return Ok(Created::DryRun(object));
        }
        let key = Key {
            resource: resource.storage,
            namespace: namespace.unwrap_or_default(),
            name: name.clone(),
        };
        let index = registry::index(resource, &object);
        let stored = self
            .store
            .write(key, Change::Create { object, index })
            .await
            .map_err(|e| ApiError::from_write(e, resource, &name))?;
        Ok(Created::Stored(stored))
    }

    /// Defaults, admission, strategy and validation of a new object.
    fn admit(&self, resource: &Resource, name: &str, object: &mut Value) -> Result<(), ApiError> {
        let store = self.store.clone();
        let priority_class = move |class: &str| {
            let key = Key {
                resource: "priorityclasses.scheduling.k8s.io",
                namespace: String::new(),
                name: class.to_owned(),
            };
            let value = store.get(&key)?.value();
            Some((
                i32::try_from(value["value"].as_i64()?).ok()?,
                value["preemptionPolicy"].as_str().map(str::to_owned),
            ))
        };
        let admission = Admission {
            default_toleration_seconds: self.options.default_toleration_seconds,
            priority_class: &priority_class,
        };
        (registry::rules(resource).create)(object, &admission)
            .map_err(|causes| ApiError::invalid(resource, name, causes))
    }

    /// New objects need an existing namespace that is not being deleted (upstream's
    /// NamespaceLifecycle admission).
    fn check_namespace_open(
        &self,
        resource: &Resource,
        name: &str,
        namespace: &str,
    ) -> Result<(), ApiError> {
        let key = Key {
            resource: "namespaces",
            namespace: String::new(),
            name: namespace.to_owned(),
        };
        let namespaces = crate::resources::find("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("namespaces are not served"))?;
        let stored = self
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(namespaces, namespace))?;
        if stored.value()["status"]["phase"] == "Terminating" {
            return Err(ApiError::namespace_terminating(resource, name, namespace));
        }
        Ok(())
    }

    pub(super) async fn update(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        subresource: Option<&str>,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let input = body::decode_object(&call.headers, bytes)?;
        let body_name = input["metadata"]["name"].as_str().unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if resource.namespaced {
            let body_namespace = input["metadata"]["namespace"].as_str().unwrap_or("");
            if !body_namespace.is_empty() && Some(body_namespace) != target.namespace.as_deref() {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
        let (mut object, warnings) = self.decode(resource, input, &call.query)?;
        let expected = requested_revision(&object)?;
        let key = self.key(target, name)?;
        if let Some(ns) = &target.namespace {
            object["metadata"]["namespace"] = json!(ns);
        }
        let dry_run = call.query.dry_run()?;
        // An unconditional update (no resourceVersion in the body) that loses a race with another
        // writer is applied to the new state, as upstream's GuaranteedUpdate does.
        self.guaranteed_update(resource, &key, subresource, dry_run, |_| {
            Ok((object.clone(), expected, warnings.clone()))
        })
        .await
    }

    /// Reads the stored object, lets `build` turn it into the new object (with the revision the
    /// write requires, if any, and warnings), and writes it; a conflict with another writer is
    /// retried on the fresh state unless the write named the revision it expects (upstream's
    /// `GuaranteedUpdate`).
    async fn guaranteed_update(
        &self,
        resource: &'static Resource,
        key: &Key,
        subresource: Option<&str>,
        dry_run: bool,
        mut build: impl FnMut(&StoredObject) -> Result<(Value, Option<u64>, Vec<String>), ApiError>,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self
                .store
                .get(key)
                .ok_or_else(|| ApiError::not_found(resource, &key.name))?;
            let (object, expected, warnings) = build(&current)?;
            let result = self
                .update_object(
                    resource,
                    key.clone(),
                    &current,
                    object,
                    subresource,
                    expected,
                    dry_run,
                )
                .await;
            match result {
                Err(e) if e.code == 409 && expected.is_none() && attempt < PATCH_ATTEMPTS => {}
                Err(e) => return Err(e),
                Ok(updated) => {
                    let mut response = updated.respond();
                    body::add_warnings(&mut response, &warnings);
                    return Ok(response);
                }
            }
        }
    }

    /// Runs the update rules on `new` against `current` and writes it (compare-and-swap on
    /// `expected`, or on the revision read when `None`... see callers).
    #[allow(clippy::too_many_arguments)] // the parts of one update; grouping them adds nothing
    pub(crate) async fn update_object(
        &self,
        resource: &'static Resource,
        key: Key,
        current: &StoredObject,
        mut new: Value,
        subresource: Option<&str>,
        expected: Option<u64>,
        dry_run: bool,
    ) -> Result<Updated, ApiError> {
        let name = key.name.clone();
        let old = current.value();
        let mut causes = registry::carry_update_metadata(&mut new, &old);
        let rules = registry::rules(resource);
        let result = match subresource {
            Some("status") => (rules.status_update)(&mut new, &old),
            Some("finalize") => {
                // Only spec.finalizers may change through namespaces/finalize.
                let finalizers = new["spec"]["finalizers"].clone();
                new = old.clone();
                new["spec"]["finalizers"] = finalizers;
                Ok(())
            }
            _ => (rules.update)(&mut new, &old),
        };
        if let Err(more) = result {
            causes.extend(more);
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid(resource, &name, causes));
        }
        if let Some(expected) = expected
            && expected != current.revision
        {
            return Err(ApiError::from_write(
                WriteError::ResourceVersionConflict,
                resource,
                &name,
            ));
        }
        // An object being deleted whose last finalizer is gone is removed (upstream's update
        // path deletes it instead of storing it), once its grace period is 0: a pod still
        // terminating gracefully waits for its kubelet's final delete (`ShouldDeleteDuringUpdate`).
        let deleting = !new["metadata"]["deletionTimestamp"].is_null()
            && current.value()["metadata"]["deletionGracePeriodSeconds"].as_i64() == Some(0);
        let no_finalizers = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty)
            && (resource.storage != "namespaces"
                || new["spec"]["finalizers"]
                    .as_array()
                    .is_none_or(Vec::is_empty));
        if dry_run {
            return Ok(Updated::DryRun(new));
        }
        if deleting && no_finalizers {
            let stored = self
                .store
                .write(
                    key,
                    Change::Delete {
                        preconditions: Preconditions {
                            resource_version: Some(current.revision),
                            uid: None,
                        },
                    },
                )
                .await
                .map_err(|e| ApiError::from_write(e, resource, &name))?;
            return Ok(Updated::Stored(stored));
        }
        new["metadata"]["resourceVersion"] = json!(current.revision.to_string());
        if serde_json::to_vec(&new).is_ok_and(|bytes| bytes == current.json) {
            // Nothing changed: upstream returns the stored object without a new revision.
            return Ok(Updated::Unchanged(current.json.clone()));
        }
        let index = registry::index(resource, &new);
        let stored = self
            .store
            .write(
                key,
                Change::Update {
                    object: new,
                    index,
                    preconditions: Preconditions {
                        resource_version: Some(current.revision),
                        uid: None,
                    },
                },
            )
            .await
            .map_err(|e| ApiError::from_write(e, resource, &name))?;
        Ok(Updated::Stored(stored))
    }

    pub(super) async fn patch(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        subresource: Option<&str>,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        self.patch_view(call, target, name, subresource, bytes, None)
            .await
    }

    /// A patch applied to `view`'s form of the stored object (another API version's field
    /// names), as upstream applies patches in the request's version and converts back.
    pub(super) async fn patch_view(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        subresource: Option<&str>,
        bytes: &Bytes,
        view: Option<&View>,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let kind = PatchKind::from_content_type(&body::content_type(&call.headers))?;
        let patch = body::decode_json(bytes)?;
        let key = self.key(target, name)?;
        let dry_run = call.query.dry_run()?;
        self.guaranteed_update(resource, &key, subresource, dry_run, |current| {
            let patched = match view {
                None => kind.apply(resource, &current.value(), &patch)?,
                Some(view) => {
                    let external = (view.to_external)(current.value());
                    (view.to_internal)(kind.apply(resource, &external, &patch)?)
                }
            };
            // The patched object always carries the stored resourceVersion; only a patch that
            // names one itself makes the write conditional (upstream retries the others).
            let expected = if kind.names_revision(&patch) {
                requested_revision(&patched)?
            } else {
                None
            };
            if patched["metadata"]["name"].as_str() != Some(name) {
                return Err(ApiError::bad_request(
                    "the name of the object cannot be changed by a patch",
                ));
            }
            let (object, warnings) = self.decode(resource, patched, &call.query)?;
            Ok((object, expected, warnings))
        })
        .await
    }
}

/// Conversions between the stored form and another API version's form of the same object.
pub(super) struct View {
    pub to_external: fn(Value) -> Value,
    pub to_internal: fn(Value) -> Value,
}

/// The resourceVersion a write body requires, if it names one.
fn requested_revision(object: &Value) -> Result<Option<u64>, ApiError> {
    match object["metadata"]["resourceVersion"].as_str() {
        None | Some("") => Ok(None),
        Some(rv) => rv.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {rv:?}: not a revision of this server"
            ))
        }),
    }
}

/// The result of a create.
pub(crate) enum Created {
    Stored(Arc<StoredObject>),
    DryRun(Value),
}

/// The result of an update.
pub(crate) enum Updated {
    Stored(Arc<StoredObject>),
    Unchanged(Bytes),
    DryRun(Value),
}

impl Updated {
    fn respond(self) -> http::Response<ResponseBody> {
        match self {
            Updated::Stored(stored) => body::json_bytes(StatusCode::OK, stored.json.clone()),
            Updated::Unchanged(bytes) => body::json_bytes(StatusCode::OK, bytes),
            Updated::DryRun(object) => body::json(StatusCode::OK, &object),
        }
    }
}

/// The patch formats kube-apiserver accepts (api.md §7).
pub(super) enum PatchKind {
    Json,
    Merge,
    Strategic,
}

impl PatchKind {
    /// Whether the patch itself sets `metadata.resourceVersion`.
    pub(super) fn names_revision(&self, patch: &Value) -> bool {
        match self {
            PatchKind::Json => patch.as_array().is_some_and(|operations| {
                operations
                    .iter()
                    .any(|op| op["path"].as_str() == Some("/metadata/resourceVersion"))
            }),
            PatchKind::Merge | PatchKind::Strategic => patch["metadata"]["resourceVersion"]
                .as_str()
                .is_some_and(|rv| !rv.is_empty()),
        }
    }

    pub(super) fn from_content_type(media: &str) -> Result<Self, ApiError> {
        match media {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            _ => Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {media:?})"
            ))),
        }
    }

    pub(super) fn apply(
        &self,
        resource: &Resource,
        current: &Value,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let rejected = |e: &dyn std::fmt::Display| ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("the server rejected our request due to an error in our request: {e}"),
            details: None,
        };
        match self {
            PatchKind::Json => {
                let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                let mut target = current.clone();
                json_patch::patch(&mut target, &operations).map_err(|e| rejected(&e))?;
                Ok(target)
            }
            PatchKind::Merge => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                Ok(everynode_core::patch::merge::apply(current, patch))
            }
            PatchKind::Strategic => {
                let schema = everynode_core::patch::schema::Schema::for_kind(resource.kind);
                everynode_core::patch::strategic::apply(current, patch, schema)
                    .map_err(|e| rejected(&e))
            }
        }
    }
}

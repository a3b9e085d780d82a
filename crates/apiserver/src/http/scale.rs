//! The `scale` subresource of Deployments and ReplicaSets: an autoscaling/v1 Scale view of `spec.replicas` (upstream `pkg/registry/apps/deployment/storage` ScaleREST), which `kubectl scale` patches.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::route::Target;
use super::write::{PatchKind, Updated};
use super::{Api, Call};
use crate::error::ApiError;
use crate::store::StoredObject;

/// The API version of the Scale a `scale` subresource serves.
const SCALE_API_VERSION: &str = "autoscaling/v1";
/// The kind a `scale` subresource serves.
const SCALE_KIND: &str = "Scale";

/// The Scale of a stored Deployment or ReplicaSet: name, namespace, uid, resourceVersion and
/// creationTimestamp of the parent, its desired and observed replicas, and its selector as text.
fn scale_of(object: &Value) -> Value {
    let meta = &object["metadata"];
    let mut metadata = json!({});
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if !meta[field].is_null() {
            metadata[field] = meta[field].clone();
        }
    }
    let selector = serde_json::from_value(object["spec"]["selector"].clone())
        .ok()
        .map(|s| everynode_core::labels::format_label_selector(Some(&s)))
        .filter(|s| s != "<none>")
        .unwrap_or_default();
    json!({
        "kind": SCALE_KIND,
        "apiVersion": SCALE_API_VERSION,
        "metadata": metadata,
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {
            "replicas": object["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector,
        },
    })
}

impl Api {
    /// `GET …/<name>/scale`.
    pub(super) fn get_scale(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let current = self.current(target, name)?;
        Ok(body::json(StatusCode::OK, &scale_of(&current.value())))
    }

    /// `PUT …/<name>/scale`: a whole Scale whose `spec.replicas` becomes the parent's.
    pub(super) async fn put_scale(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let scale = body::decode_object(&call.headers, bytes)?;
        let body_name = scale["metadata"]["name"].as_str().unwrap_or("");
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        self.write_scale(call, target, name, None, &scale).await
    }

    /// `PATCH …/<name>/scale`: the patch applies to the Scale view (what `kubectl scale` sends:
    /// a merge patch `{"spec":{"replicas":N}}`), retried when the parent changes in between.
    pub(super) async fn patch_scale(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        bytes: &Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let kind = PatchKind::from_content_type(&body::content_type(&call.headers))?;
        let patch = body::decode_json(bytes)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.current(target, name)?;
            let scale = kind.apply(target.resource, &scale_of(&current.value()), &patch)?;
            match self
                .write_scale(call, target, name, Some(&current), &scale)
                .await
            {
                Err(e) if e.code == 409 && attempt < 16 && !kind.names_revision(&patch) => {}
                other => return other,
            }
        }
    }

    fn current(
        &self,
        target: &Target,
        name: &str,
    ) -> Result<std::sync::Arc<StoredObject>, ApiError> {
        let key = self.key(target, name)?;
        self.store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(target.resource, name))
    }

    async fn write_scale(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
        current: Option<&std::sync::Arc<StoredObject>>,
        scale: &Value,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let current = match current {
            Some(c) => c.clone(),
            None => self.current(target, name)?,
        };
        let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
        let replicas = i32::try_from(replicas).map_err(|_| {
            ApiError::bad_request(format!("spec.replicas {replicas} is out of range"))
        })?;
        // A Scale naming a resourceVersion makes the write conditional (upstream scale update).
        let expected =
            match scale["metadata"]["resourceVersion"].as_str() {
                None | Some("") => None,
                Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resourceVersion {rv:?}"))
                })?),
            };
        let mut parent = current.value();
        parent["spec"]["replicas"] = json!(replicas);
        let key = self.key(target, name)?;
        let dry_run = call.query.dry_run()?;
        let updated = self
            .update_object(resource, key, &current, parent, None, expected, dry_run)
            .await?;
        let object = match updated {
            Updated::Stored(stored) => stored.value(),
            Updated::Unchanged(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::internal(format!("stored object is not json: {e}")))?,
            Updated::DryRun(object) => object,
        };
        Ok(body::json(StatusCode::OK, &scale_of(&object)))
    }
}

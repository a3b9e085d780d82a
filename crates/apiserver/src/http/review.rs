//! Self reviews, what `kubectl auth can-i` and `kubectl auth whoami` ask: every access is "allowed", because everynode authorizes every authenticated request (upstream's AlwaysAllow).
//!
//! A review is created and answered, never stored: the response is the request with its
//! `status` filled in, as kube-apiserver's review endpoints return it. The one identity is the
//! holder of the bearer token, named as in the kubeconfig, in upstream's admin group.

use http::StatusCode;
use serde_json::{Value, json};

use super::Call;
use super::body::{self, ResponseBody};
use crate::error::{ApiError, Cause};
use crate::resources::Resource;

/// Why every review is allowed.
const ALLOWED_REASON: &str =
    "everynode authorizes every authenticated request (RBAC objects are stored, not enforced)";
/// The user the bearer token authenticates (the kubeconfig's user entry).
const USER: &str = "everynode";
/// Its groups: upstream's admin group and every authenticated user's.
const GROUPS: [&str; 2] = ["system:masters", "system:authenticated"];

/// The API groups whose create-only review kinds [`answer`] handles.
pub(super) const GROUPS_SERVED: [&str; 2] = ["authorization.k8s.io", "authentication.k8s.io"];

/// Answers a POST of a SelfSubjectAccessReview, SelfSubjectRulesReview or SelfSubjectReview.
pub(super) fn answer(
    call: &Call,
    resource: &'static Resource,
    bytes: &[u8],
) -> Result<http::Response<ResponseBody>, ApiError> {
    let mut review = body::decode_object(&call.headers, bytes)?;
    let Some(object) = review.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: the body is not a JSON object",
            resource.kind, resource.version, resource.kind
        )));
    };
    object.insert("apiVersion".into(), json!(resource.api_version()));
    object.insert("kind".into(), json!(resource.kind));
    object.entry("metadata").or_insert_with(|| json!({}));
    let status = match resource.kind {
        "SelfSubjectAccessReview" => {
            validate_access_review(resource, &review["spec"])?;
            json!({"allowed": true, "reason": ALLOWED_REASON})
        }
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        _ => json!({"userInfo": {"username": USER, "groups": GROUPS}}),
    };
    review["status"] = status;
    Ok(body::json(StatusCode::CREATED, &review))
}

/// Upstream `ValidateSelfSubjectAccessReviewSpec`: exactly one of the two attribute sets.
fn validate_access_review(resource: &Resource, spec: &Value) -> Result<(), ApiError> {
    let resource_attributes = spec.get("resourceAttributes").filter(|v| !v.is_null());
    let non_resource_attributes = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
    let cause = match (resource_attributes, non_resource_attributes) {
        (Some(_), Some(non_resource)) => Cause::invalid(
            "spec.nonResourceAttributes",
            non_resource.to_string(),
            "cannot be specified in combination with resourceAttributes",
        ),
        (None, None) => Cause::invalid(
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ),
        _ => return Ok(()),
    };
    Err(ApiError::invalid(resource, "", vec![cause]))
}

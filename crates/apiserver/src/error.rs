//! API errors as Kubernetes `Status` objects: the code, reason and message shapes upstream uses.

use serde_json::{Value, json};

use crate::resources::Resource;
use crate::store::WriteError;

/// One field-level cause of an Invalid (422) error: upstream's `field.Error`.
pub use everynode_core::validation::FieldError as Cause;

/// A failed request, rendered as a `metav1.Status` with the same HTTP code.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// Boxed: most errors carry none, and handlers pass `Result<_, ApiError>` around a lot.
    pub details: Option<Box<Details>>,
}

/// `Status.details`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Details {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub uid: Option<String>,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: Option<u32>,
    /// `Status.metadata.continue`: a token to go on with (an inconsistent continuation).
    pub continue_token: Option<String>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, resource: &Resource, name: &str) -> Self {
        self.details = Some(Box::new(Details {
            name: name.to_owned(),
            group: resource.group.to_owned(),
            kind: resource.plural.to_owned(),
            ..Details::default()
        }));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// A create in a namespace being deleted: upstream's `NewForbidden` with the
    /// `NamespaceTerminating` cause that controllers test for (`HasStatusCause`).
    pub fn namespace_terminating(resource: &Resource, name: &str, namespace: &str) -> Self {
        let subject = if name.is_empty() {
            resource.qualified()
        } else {
            format!(
                "{} {}",
                resource.qualified(),
                everynode_core::validation::q(name)
            )
        };
        let mut error = Self::forbidden(format!(
            "{subject} is forbidden: unable to create new content in namespace {namespace} because it is being terminated"
        ))
        .with_details(resource, name);
        if let Some(details) = error.details.as_mut() {
            details.causes.push(Cause {
                reason: "NamespaceTerminating",
                field: "metadata.namespace".to_owned(),
                message: format!("namespace {namespace} is being terminated"),
            });
        }
        error
    }

    /// The 404 for a path that names no served resource.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn not_found(resource: &Resource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.qualified()),
        )
        .with_details(resource, name)
    }

    pub fn method_not_allowed(action: &str, resource: &Resource) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{action} is not supported on resources of kind \"{}\"",
                resource.qualified()
            ),
        )
        .with_details(resource, "")
    }

    pub fn already_exists(resource: &Resource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.qualified()),
        )
        .with_details(resource, name)
    }

    pub fn conflict(resource: &Resource, name: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                resource.qualified()
            ),
        )
        .with_details(resource, name)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 410 for a continue token whose revision is gone (upstream `handleCompactedErrorForPaging`):
    /// the status carries a token that continues at the newest revision instead.
    pub fn continue_expired(inconsistent_token: String) -> Self {
        let mut error = Self::expired(
            "The provided continue parameter is too old to display a consistent list result. \
             You can start a new list without the continue parameter, or use the continue token \
             in this response to retrieve the remainder of the results. Continuing with the \
             provided token results in an inconsistent list - objects that were created, \
             modified, or deleted between the time the first chunk was returned and now may \
             show up in the list.",
        );
        error.details = Some(Box::new(Details {
            continue_token: Some(inconsistent_token),
            ..Details::default()
        }));
        error
    }

    /// 504 for a resourceVersion the store has not reached within the wait (upstream
    /// `storage.NewTooLargeResourceVersionError`).
    pub fn resource_version_too_large(requested: u64, current: u64) -> Self {
        let mut error = Self::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
        );
        error.details = Some(Box::new(Details {
            causes: vec![Cause {
                reason: "ResourceVersionTooLarge",
                field: String::new(),
                message: "Too large resource version".to_owned(),
            }],
            retry_after_seconds: Some(1),
            ..Details::default()
        }));
        error
    }

    /// 422 for invalid query options (`ListOptions.meta.k8s.io "" is invalid: …`).
    pub fn invalid_options(kind: &str, causes: Vec<Cause>) -> Self {
        let message = everynode_core::validation::invalid_message(
            &format!("{kind}.meta.k8s.io"),
            "",
            &causes,
        );
        let mut error = Self::new(422, "Invalid", message);
        error.details = Some(Box::new(Details {
            group: "meta.k8s.io".to_owned(),
            kind: kind.to_owned(),
            causes,
            ..Details::default()
        }));
        error
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLarge", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// 422 Invalid with field causes: `DaemonSet.apps "x" is invalid: <errors>`.
    pub fn invalid(resource: &Resource, name: &str, causes: Vec<Cause>) -> Self {
        let message =
            everynode_core::validation::invalid_message(&resource.qualified_kind(), name, &causes);
        let mut error = Self::new(422, "Invalid", message);
        error.details = Some(Box::new(Details {
            name: name.to_owned(),
            group: resource.group.to_owned(),
            kind: resource.kind.to_owned(),
            causes,
            ..Details::default()
        }));
        error
    }

    pub fn too_many_requests(message: impl Into<String>, retry_after: u32) -> Self {
        let mut error = Self::new(429, "TooManyRequests", message);
        error.details = Some(Box::new(Details {
            retry_after_seconds: Some(retry_after),
            ..Details::default()
        }));
        error
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// Maps a store refusal to upstream's error for that resource and name.
    pub fn from_write(error: WriteError, resource: &Resource, name: &str) -> Self {
        match error {
            WriteError::AlreadyExists => Self::already_exists(resource, name),
            WriteError::NotFound => Self::not_found(resource, name),
            WriteError::ResourceVersionConflict | WriteError::UidConflict { .. } => {
                Self::conflict(resource, name, error)
            }
            WriteError::Storage(message) => Self::internal(message),
            WriteError::Closed => Self::service_unavailable("the server is shutting down"),
        }
    }

    /// The `metav1.Status` body.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            let mut d = json!({});
            if !details.name.is_empty() {
                d["name"] = json!(details.name);
            }
            if !details.group.is_empty() {
                d["group"] = json!(details.group);
            }
            if !details.kind.is_empty() {
                d["kind"] = json!(details.kind);
            }
            if let Some(uid) = &details.uid {
                d["uid"] = json!(uid);
            }
            if !details.causes.is_empty() {
                d["causes"] = details
                    .causes
                    .iter()
                    .map(|c| {
                        let mut cause = json!({"reason": c.reason, "message": c.message});
                        // `field` is omitempty upstream.
                        if !c.field.is_empty() {
                            cause["field"] = json!(c.field);
                        }
                        cause
                    })
                    .collect();
            }
            if let Some(seconds) = details.retry_after_seconds {
                d["retryAfterSeconds"] = json!(seconds);
            }
            if let Some(token) = &details.continue_token {
                status["metadata"]["continue"] = json!(token);
            }
            if d.as_object().is_some_and(|d| !d.is_empty()) || details.continue_token.is_none() {
                status["details"] = d;
            }
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    #[test]
    fn not_found_names_group_qualified_resource() {
        let ds = find("apps", "v1", "daemonsets").expect("daemonsets served");
        let status = ApiError::not_found(ds, "x").status();
        assert_eq!(status["message"], "daemonsets.apps \"x\" not found");
        assert_eq!(status["code"], 404);
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["details"]["kind"], "daemonsets");
    }

    #[test]
    fn invalid_aggregates_several_causes_in_brackets() {
        let ds = find("apps", "v1", "daemonsets").expect("daemonsets served");
        let cause = |f: &str| Cause::required(f, "");
        let one = ApiError::invalid(ds, "x", vec![cause("spec.a")]);
        assert_eq!(
            one.message,
            "DaemonSet.apps \"x\" is invalid: spec.a: Required value"
        );
        let two = ApiError::invalid(ds, "x", vec![cause("spec.a"), cause("spec.b")]);
        assert_eq!(
            two.message,
            "DaemonSet.apps \"x\" is invalid: [spec.a: Required value, spec.b: Required value]"
        );
        assert_eq!(two.status()["details"]["causes"][1]["field"], "spec.b");
    }
}

//! RBAC validation (Role, ClusterRole, RoleBinding, ClusterRoleBinding) after upstream `pkg/apis/rbac/validation`.

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::meta::{ObjectName, path_segment_name};
use super::{FieldError, Path, go_string_slice, object_meta_update, object_meta_with, q};
use crate::labels::is_dns1123_subdomain;

/// The RBAC API group, the only one a roleRef may name.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// Upstream's message when an update changes a binding's roleRef.
pub const CANNOT_CHANGE_ROLE_REF: &str = "cannot change roleRef";

/// Upstream `ValidateRole`.
pub fn role(role: &Role) -> Vec<FieldError> {
    policy_object(&role.metadata, role.rules.as_deref(), true)
}

/// Upstream `ValidateRoleUpdate`.
pub fn role_update(new: &Role, old: &Role) -> Vec<FieldError> {
    let mut errs = role(new);
    errs.extend(object_meta_update(&new.metadata, &old.metadata));
    errs
}

/// Upstream `ValidateClusterRole`.
pub fn cluster_role(role: &ClusterRole) -> Vec<FieldError> {
    policy_object(&role.metadata, role.rules.as_deref(), false)
}

/// Upstream `ValidateClusterRoleUpdate`.
pub fn cluster_role_update(new: &ClusterRole, old: &ClusterRole) -> Vec<FieldError> {
    let mut errs = cluster_role(new);
    errs.extend(object_meta_update(&new.metadata, &old.metadata));
    errs
}

/// Upstream `ValidateRoleBinding`.
pub fn role_binding(binding: &RoleBinding) -> Vec<FieldError> {
    binding_object(
        &binding.metadata,
        &binding.role_ref,
        binding.subjects.as_deref(),
        true,
    )
}

/// Upstream `ValidateRoleBindingUpdate`: roleRef is immutable.
pub fn role_binding_update(new: &RoleBinding, old: &RoleBinding) -> Vec<FieldError> {
    let mut errs = role_binding(new);
    errs.extend(object_meta_update(&new.metadata, &old.metadata));
    errs.extend(role_ref_unchanged(&new.role_ref, &old.role_ref));
    errs
}

/// Upstream `ValidateClusterRoleBinding`.
pub fn cluster_role_binding(binding: &ClusterRoleBinding) -> Vec<FieldError> {
    binding_object(
        &binding.metadata,
        &binding.role_ref,
        binding.subjects.as_deref(),
        false,
    )
}

/// Upstream `ValidateClusterRoleBindingUpdate`: roleRef is immutable.
pub fn cluster_role_binding_update(
    new: &ClusterRoleBinding,
    old: &ClusterRoleBinding,
) -> Vec<FieldError> {
    let mut errs = cluster_role_binding(new);
    errs.extend(object_meta_update(&new.metadata, &old.metadata));
    errs.extend(role_ref_unchanged(&new.role_ref, &old.role_ref));
    errs
}

fn policy_object(
    meta: &ObjectMeta,
    rules: Option<&[PolicyRule]>,
    namespaced: bool,
) -> Vec<FieldError> {
    let mut errs = object_meta_with(meta, namespaced, ObjectName::PathSegment);
    let path = Path::new("rules");
    for (i, rule) in rules.unwrap_or_default().iter().enumerate() {
        errs.extend(policy_rule(rule, namespaced, &path.index(i)));
    }
    errs
}

/// Upstream `validatePolicyRule`: a rule covers either API resources or non-resource URLs.
fn policy_rule(rule: &PolicyRule, namespaced: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if rule.verbs.is_empty() {
        errs.push(FieldError::required(
            path.child("verbs").as_str(),
            "verbs must contain at least one value",
        ));
    }
    let non_empty = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|l| !l.is_empty());
    if non_empty(&rule.non_resource_urls) {
        let urls = go_string_slice(rule.non_resource_urls.as_deref());
        let urls_path = path.child("nonResourceURLs");
        if namespaced {
            errs.push(FieldError::invalid(
                urls_path.as_str(),
                &urls,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if non_empty(&rule.api_groups)
            || non_empty(&rule.resources)
            || non_empty(&rule.resource_names)
        {
            errs.push(FieldError::invalid(
                urls_path.as_str(),
                &urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if !non_empty(&rule.api_groups) {
        errs.push(FieldError::required(
            path.child("apiGroups").as_str(),
            "resource rules must supply at least one api group",
        ));
    }
    if !non_empty(&rule.resources) {
        errs.push(FieldError::required(
            path.child("resources").as_str(),
            "resource rules must supply at least one resource",
        ));
    }
    let resources = rule.resources.as_ref().map_or(0, Vec::len);
    if non_empty(&rule.resource_names) && resources > 1 {
        // Upstream reports this as Required, not Invalid; kept for identical messages.
        errs.push(FieldError::required(
            path.child("resourceNames").as_str(),
            "resource names cannot apply to multiple resources",
        ));
    }
    errs
}

fn binding_object(
    meta: &ObjectMeta,
    role_ref: &RoleRef,
    subjects: Option<&[Subject]>,
    namespaced: bool,
) -> Vec<FieldError> {
    let mut errs = object_meta_with(meta, namespaced, ObjectName::PathSegment);
    if role_ref.api_group != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            q(&role_ref.api_group),
            &[RBAC_GROUP],
        ));
    }
    // A ClusterRoleBinding cannot grant a namespaced Role.
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        errs.push(FieldError::not_supported(
            "roleRef.kind",
            q(&role_ref.kind),
            kinds,
        ));
    }
    if role_ref.name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        for msg in path_segment_name(&role_ref.name) {
            errs.push(FieldError::invalid("roleRef.name", q(&role_ref.name), &msg));
        }
    }
    let path = Path::new("subjects");
    for (i, subject) in subjects.unwrap_or_default().iter().enumerate() {
        errs.extend(subject_errors(subject, namespaced, &path.index(i)));
    }
    errs
}

/// Upstream `validateRoleBindingSubject`. ServiceAccount subjects of a ClusterRoleBinding must
/// name their namespace: there is no binding namespace to fall back on.
fn subject_errors(subject: &Subject, namespaced: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name_path = path.child("name");
    let group_path = path.child("apiGroup");
    let group = subject.api_group.as_deref().unwrap_or("");
    if subject.name.is_empty() {
        errs.push(FieldError::required(name_path.as_str(), ""));
    }
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                for msg in is_dns1123_subdomain(&subject.name) {
                    errs.push(FieldError::invalid(
                        name_path.as_str(),
                        q(&subject.name),
                        &msg,
                    ));
                }
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(
                    group_path.as_str(),
                    q(group),
                    &[""],
                ));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or("").is_empty() {
                errs.push(FieldError::required(path.child("namespace").as_str(), ""));
            }
        }
        kind @ ("User" | "Group") => {
            if subject.name.is_empty() {
                let detail = if kind == "User" {
                    "user name cannot be empty"
                } else {
                    "group name cannot be empty"
                };
                errs.push(FieldError::invalid(name_path.as_str(), q(""), detail));
            }
            if group != RBAC_GROUP {
                errs.push(FieldError::not_supported(
                    group_path.as_str(),
                    q(group),
                    &[RBAC_GROUP],
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            path.child("kind").as_str(),
            q(other),
            &["ServiceAccount", "User", "Group"],
        )),
    }
    errs
}

/// Upstream compares the whole roleRef and prints it with Go's `%#v` of the internal type.
fn role_ref_unchanged(new: &RoleRef, old: &RoleRef) -> Option<FieldError> {
    (new != old).then(|| {
        let value = format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            q(&new.api_group),
            q(&new.kind),
            q(&new.name)
        );
        FieldError::invalid("roleRef", value, CANNOT_CHANGE_ROLE_REF)
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, Role, RoleBinding, RoleRef, Subject};
    use serde_json::json;

    use super::*;

    fn texts(errors: &[FieldError]) -> Vec<String> {
        errors.iter().map(FieldError::text).collect()
    }

    fn role_ref(name: &str) -> RoleRef {
        RoleRef {
            api_group: RBAC_GROUP.into(),
            kind: "ClusterRole".into(),
            name: name.into(),
        }
    }

    #[test]
    fn names_only_need_to_be_path_segments() {
        let mut role: Role = serde_json::from_value(
            json!({"metadata": {"name": "system:Controller_1", "namespace": "default"}}),
        )
        .expect("role");
        assert!(super::role(&role).is_empty());
        role.metadata.name = Some("a/b%c".into());
        assert_eq!(
            texts(&super::role(&role)),
            [
                r#"metadata.name: Invalid value: "a/b%c": may not contain '/'"#,
                r#"metadata.name: Invalid value: "a/b%c": may not contain '%'"#,
            ]
        );
    }

    #[test]
    fn cluster_bindings_need_service_account_namespaces() {
        let subject = Subject {
            kind: "ServiceAccount".into(),
            name: "sa".into(),
            ..Default::default()
        };
        let cluster = ClusterRoleBinding {
            metadata: ObjectMeta {
                name: Some("b".into()),
                ..Default::default()
            },
            role_ref: role_ref("view"),
            subjects: Some(vec![subject.clone()]),
        };
        assert_eq!(
            texts(&cluster_role_binding(&cluster)),
            ["subjects[0].namespace: Required value"]
        );
        let namespaced = RoleBinding {
            metadata: ObjectMeta {
                name: Some("b".into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            role_ref: role_ref("view"),
            subjects: Some(vec![subject]),
        };
        assert!(role_binding(&namespaced).is_empty());
    }

    #[test]
    fn role_ref_cannot_change() {
        let old = RoleBinding {
            metadata: ObjectMeta {
                name: Some("b".into()),
                namespace: Some("default".into()),
                resource_version: Some("1".into()),
                ..Default::default()
            },
            role_ref: role_ref("view"),
            subjects: None,
        };
        let mut new = old.clone();
        new.role_ref.name = "edit".into();
        assert_eq!(
            texts(&role_binding_update(&new, &old)),
            [
                r#"roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef"#
            ]
        );
    }

    #[test]
    fn rules_cover_resources_or_urls() {
        let role: Role = serde_json::from_value(json!({
            "metadata": {"name": "r", "namespace": "default"},
            "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, {"verbs": []}],
        }))
        .expect("role");
        assert_eq!(
            texts(&super::role(&role)),
            [
                r#"rules[0].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs"#,
                "rules[1].verbs: Required value: verbs must contain at least one value",
                "rules[1].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].resources: Required value: resource rules must supply at least one resource",
            ]
        );
    }
}

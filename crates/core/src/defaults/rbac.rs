//! RBAC defaulting (upstream `pkg/apis/rbac/v1/defaults.go`): the API groups of roleRefs and subjects.

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef, Subject};

use crate::validation::RBAC_GROUP;

/// Upstream `SetDefaults_RoleBinding` and `SetDefaults_Subject`.
pub fn role_binding(binding: &mut RoleBinding) {
    binding_parts(&mut binding.role_ref, binding.subjects.as_deref_mut());
}

/// Upstream `SetDefaults_ClusterRoleBinding` and `SetDefaults_Subject`.
pub fn cluster_role_binding(binding: &mut ClusterRoleBinding) {
    binding_parts(&mut binding.role_ref, binding.subjects.as_deref_mut());
}

fn binding_parts(role_ref: &mut RoleRef, subjects: Option<&mut [Subject]>) {
    if role_ref.api_group.is_empty() {
        role_ref.api_group = RBAC_GROUP.to_owned();
    }
    for subject in subjects.unwrap_or_default() {
        // ServiceAccounts live in the core group, whose name is empty: nothing to fill in.
        let unset = subject.api_group.as_deref().is_none_or(str::is_empty);
        if unset && matches!(subject.kind.as_str(), "User" | "Group") {
            subject.api_group = Some(RBAC_GROUP.to_owned());
        }
    }
}

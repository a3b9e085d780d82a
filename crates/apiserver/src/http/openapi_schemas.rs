//! The OpenAPI v3 component schemas of every served kind, from k8s-openapi's JSON Schemas: what `kubectl explain` reads.
//!
//! Each kind's schema carries `x-kubernetes-group-version-kind` as upstream's does, and every
//! schema it refers to sits beside it under upstream's definition names
//! (`io.k8s.api.apps.v1.DaemonSet`). References with a description become `allOf: [{$ref}]`, the
//! shape upstream publishes and kubectl's explain templates expect.

use k8s_openapi::api::{
    apps, authentication, authorization, coordination, core, events, rbac, scheduling,
};
use k8s_openapi::schemars::JsonSchema;
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::resources::RESOURCES;

/// The `components.schemas` of one group version's document.
pub fn components(group: &str, version: &str) -> Map<String, Value> {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut kinds = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        if let Some(name) = add_kind(&mut generator, group, version, r.kind) {
            kinds.push((name, r.kind));
        }
    }
    let mut schemas = generator.take_definitions(true);
    for (name, kind) in kinds {
        if let Some(Value::Object(schema)) = schemas.get_mut(&name) {
            schema.insert(
                "x-kubernetes-group-version-kind".to_string(),
                json!([{"group": group, "kind": kind, "version": version}]),
            );
        }
    }
    schemas
}

/// Adds the kind's schema (and everything it refers to); returns its definition name, or `None`
/// for a kind without a k8s-openapi type here.
fn add_kind(
    generator: &mut SchemaGenerator,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<String> {
    fn add<T: JsonSchema>(generator: &mut SchemaGenerator) -> Option<String> {
        generator.subschema_for::<T>();
        Some(T::schema_name().into_owned())
    }
    match (group, version, kind) {
        ("", "v1", "Namespace") => add::<core::v1::Namespace>(generator),
        ("", "v1", "Node") => add::<core::v1::Node>(generator),
        ("", "v1", "Pod") => add::<core::v1::Pod>(generator),
        ("", "v1", "Event") => add::<core::v1::Event>(generator),
        ("", "v1", "ServiceAccount") => add::<core::v1::ServiceAccount>(generator),
        ("", "v1", "ConfigMap") => add::<core::v1::ConfigMap>(generator),
        ("apps", "v1", "DaemonSet") => add::<apps::v1::DaemonSet>(generator),
        ("apps", "v1", "Deployment") => add::<apps::v1::Deployment>(generator),
        ("apps", "v1", "ReplicaSet") => add::<apps::v1::ReplicaSet>(generator),
        ("apps", "v1", "ControllerRevision") => add::<apps::v1::ControllerRevision>(generator),
        ("coordination.k8s.io", "v1", "Lease") => add::<coordination::v1::Lease>(generator),
        ("events.k8s.io", "v1", "Event") => add::<events::v1::Event>(generator),
        ("scheduling.k8s.io", "v1", "PriorityClass") => {
            add::<scheduling::v1::PriorityClass>(generator)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding") => {
            add::<rbac::v1::ClusterRoleBinding>(generator)
        }
        ("rbac.authorization.k8s.io", "v1", "ClusterRole") => {
            add::<rbac::v1::ClusterRole>(generator)
        }
        ("rbac.authorization.k8s.io", "v1", "RoleBinding") => {
            add::<rbac::v1::RoleBinding>(generator)
        }
        ("rbac.authorization.k8s.io", "v1", "Role") => add::<rbac::v1::Role>(generator),
        ("authorization.k8s.io", "v1", "SelfSubjectAccessReview") => {
            add::<authorization::v1::SelfSubjectAccessReview>(generator)
        }
        ("authorization.k8s.io", "v1", "SelfSubjectRulesReview") => {
            add::<authorization::v1::SelfSubjectRulesReview>(generator)
        }
        ("authentication.k8s.io", "v1", "SelfSubjectReview") => {
            add::<authentication::v1::SelfSubjectReview>(generator)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_kind_has_a_schema_tagged_with_its_gvk() {
        for r in RESOURCES.iter() {
            let schemas = components(r.group, r.version);
            let tagged = schemas.values().any(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|gvks| {
                        gvks.contains(
                            &json!({"group": r.group, "kind": r.kind, "version": r.version}),
                        )
                    })
            });
            assert!(tagged, "no schema for {}/{} {}", r.group, r.version, r.kind);
        }
    }

    #[test]
    fn fields_refer_to_their_types_as_upstream_does() {
        let schemas = components("apps", "v1");
        let daemon_set = &schemas["io.k8s.api.apps.v1.DaemonSet"];
        let spec = &daemon_set["properties"]["spec"];
        assert_eq!(
            spec["allOf"],
            json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DaemonSetSpec"}])
        );
        assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()));
        let strategy = &schemas["io.k8s.api.apps.v1.DaemonSetSpec"]["properties"]["updateStrategy"];
        assert_eq!(
            strategy["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.DaemonSetUpdateStrategy"
        );
        // Every reference resolves within the document.
        let text = serde_json::to_string(&schemas).unwrap_or_default();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "dangling reference to {name}");
        }
    }
}

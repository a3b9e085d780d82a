//! The resources this server serves: names, kinds, scope, verbs and subresources, as discovery shows them.

use crate::store::ResourceName;

/// A subresource as discovery advertises it.
#[derive(Debug, PartialEq)]
pub struct Subresource {
    pub name: &'static str,
    /// The kind the subresource accepts/returns, and its group and version when they differ
    /// from the parent's (`pods/eviction` is `policy/v1 Eviction`).
    pub kind: &'static str,
    pub group: Option<&'static str>,
    pub version: Option<&'static str>,
    pub verbs: &'static [&'static str],
}

/// One served resource.
#[derive(Debug, PartialEq)]
pub struct Resource {
    /// The store key: plural, qualified with the group unless core. Two resources share one
    /// storage when one is another group's view of the same objects (events.k8s.io `events`
    /// stores core/v1 Events, as upstream's storage does); the first listed owns it.
    pub storage: ResourceName,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [Subresource],
}

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods` or `daemonsets.apps`, as upstream names resources in error messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Pod` or `DaemonSet.apps`, as upstream names kinds in "is invalid" messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s.name == name)
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Whether this resource is a view of storage another resource owns, so walks over all
    /// stored objects must skip it.
    pub fn is_alias(&self) -> bool {
        by_storage(self.storage).is_some_and(|owner| !std::ptr::eq(owner, self))
    }
}

/// Every verb of an ordinary resource (upstream discovery's usual set).
const ALL: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
/// A cluster-scoped review kind of a `v1` group: created and answered, never stored (its
/// storage name is never written).
const fn review(
    storage: ResourceName,
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
) -> Resource {
    Resource {
        storage,
        group,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced: false,
        short_names: &[],
        categories: &[],
        verbs: &["create"],
        subresources: &[],
    }
}

const fn status(kind: &'static str) -> Subresource {
    Subresource {
        name: "status",
        kind,
        group: None,
        version: None,
        verbs: STATUS_VERBS,
    }
}

/// The `scale` subresource of workloads: autoscaling/v1 Scale (`kubectl scale`).
const SCALE: Subresource = Subresource {
    name: "scale",
    kind: "Scale",
    group: Some("autoscaling"),
    version: Some("v1"),
    verbs: STATUS_VERBS,
};

/// The served resources, core group first (discovery order and shortName priority follow it).
pub static RESOURCES: &[Resource] = &[
    Resource {
        storage: "namespaces",
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
        categories: &[],
        // Upstream serves no deletecollection on namespaces.
        verbs: &[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        subresources: &[
            status("Namespace"),
            Subresource {
                name: "finalize",
                kind: "Namespace",
                group: None,
                version: None,
                verbs: &["update"],
            },
        ],
    },
    Resource {
        storage: "nodes",
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
        categories: &[],
        verbs: ALL,
        subresources: &[status("Node")],
    },
    Resource {
        storage: "pods",
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
        categories: &["all"],
        verbs: ALL,
        subresources: &[
            status("Pod"),
            Subresource {
                name: "binding",
                kind: "Binding",
                group: None,
                version: None,
                verbs: &["create"],
            },
            Subresource {
                name: "eviction",
                kind: "Eviction",
                group: Some("policy"),
                version: Some("v1"),
                verbs: &["create"],
            },
            Subresource {
                name: "log",
                kind: "Pod",
                group: None,
                version: None,
                verbs: &["get"],
            },
        ],
    },
    Resource {
        storage: "events",
        group: "",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "serviceaccounts",
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "configmaps",
        group: "",
        version: "v1",
        plural: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        namespaced: true,
        short_names: &["cm"],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "daemonsets.apps",
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        singular: "daemonset",
        kind: "DaemonSet",
        namespaced: true,
        short_names: &["ds"],
        categories: &["all"],
        verbs: ALL,
        subresources: &[status("DaemonSet")],
    },
    Resource {
        storage: "deployments.apps",
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short_names: &["deploy"],
        categories: &["all"],
        verbs: ALL,
        subresources: &[status("Deployment"), SCALE],
    },
    Resource {
        storage: "replicasets.apps",
        group: "apps",
        version: "v1",
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        namespaced: true,
        short_names: &["rs"],
        categories: &["all"],
        verbs: ALL,
        subresources: &[status("ReplicaSet"), SCALE],
    },
    Resource {
        storage: "controllerrevisions.apps",
        group: "apps",
        version: "v1",
        plural: "controllerrevisions",
        singular: "controllerrevision",
        kind: "ControllerRevision",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "leases.coordination.k8s.io",
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        singular: "lease",
        kind: "Lease",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    // events.k8s.io/v1 serves the core/v1 Event storage under renamed fields (api.md §10,
    // `http::events`). Upstream advertises `ev` here too and core wins it by group priority,
    // but kubectl ≥ 1.31 then warns that "ev" could also match this one; `ev` stays with core.
    Resource {
        storage: "events",
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        singular: "event",
        kind: "Event",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "priorityclasses.scheduling.k8s.io",
        group: "scheduling.k8s.io",
        version: "v1",
        plural: "priorityclasses",
        singular: "priorityclass",
        kind: "PriorityClass",
        namespaced: false,
        short_names: &["pc"],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    // RBAC objects are stored and validated only: everynode authorizes every authenticated
    // request, but manifests that ship RBAC must apply (upstream discovery order).
    Resource {
        storage: "clusterrolebindings.rbac.authorization.k8s.io",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterrolebindings",
        singular: "clusterrolebinding",
        kind: "ClusterRoleBinding",
        namespaced: false,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "clusterroles.rbac.authorization.k8s.io",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "clusterroles",
        singular: "clusterrole",
        kind: "ClusterRole",
        namespaced: false,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "rolebindings.rbac.authorization.k8s.io",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "rolebindings",
        singular: "rolebinding",
        kind: "RoleBinding",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    Resource {
        storage: "roles.rbac.authorization.k8s.io",
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "roles",
        singular: "role",
        kind: "Role",
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: ALL,
        subresources: &[],
    },
    // `kubectl auth can-i` asks these; with no authorization enforced, everything is allowed
    // (upstream's AlwaysAllow answers).
    review(
        "selfsubjectaccessreviews.authorization.k8s.io",
        "authorization.k8s.io",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
    ),
    review(
        "selfsubjectrulesreviews.authorization.k8s.io",
        "authorization.k8s.io",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        "SelfSubjectRulesReview",
    ),
    // `kubectl auth whoami`.
    review(
        "selfsubjectreviews.authentication.k8s.io",
        "authentication.k8s.io",
        "selfsubjectreviews",
        "selfsubjectreview",
        "SelfSubjectReview",
    ),
];

/// The groups in discovery order (core `""` first), each with its one version.
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut groups: Vec<(&'static str, &'static str)> = Vec::new();
    for resource in RESOURCES {
        if !groups.iter().any(|(g, _)| *g == resource.group) {
            groups.push((resource.group, resource.version));
        }
    }
    groups
}

/// The resource served at `group/version` under `plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource stored under `storage` (used when loading the store).
pub fn by_storage(storage: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.storage == storage)
}

/// The resource of a kind (used by the built-in controllers and the garbage collector).
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_are_unique_and_qualified() {
        for (i, a) in RESOURCES.iter().enumerate() {
            if a.is_alias() {
                continue;
            }
            assert_eq!(a.storage, a.qualified(), "{} storage name", a.plural);
            for b in &RESOURCES[i + 1..] {
                assert!(a.storage != b.storage || b.is_alias());
            }
        }
    }

    #[test]
    fn events_k8s_io_is_a_view_of_core_events() {
        let view = find("events.k8s.io", "v1", "events").map(Resource::is_alias);
        assert_eq!(view, Some(true));
        assert_eq!(
            by_storage("events").map(Resource::api_version),
            Some("v1".into())
        );
    }

    #[test]
    fn core_group_comes_first() {
        assert_eq!(groups().first(), Some(&("", "v1")));
        assert!(groups().contains(&("apps", "v1")));
    }

    /// A protobuf envelope of `api_version`/`kind` around an empty object.
    fn empty_protobuf_body(api_version: &str, kind: &str) -> Vec<u8> {
        let field = |number: u8, bytes: &[u8]| {
            let mut out = vec![
                number << 3 | 2,
                u8::try_from(bytes.len()).unwrap_or(u8::MAX),
            ];
            out.extend_from_slice(bytes);
            out
        };
        let mut type_meta = field(1, api_version.as_bytes());
        type_meta.extend(field(2, kind.as_bytes()));
        let mut body = everynode_core::protobuf::MAGIC.to_vec();
        body.extend(field(1, &type_meta));
        body.extend(field(2, &[]));
        body
    }

    /// Go clients send protobuf bodies for every built-in kind (client-go 1.32), so every kind
    /// a resource or subresource accepts has a descriptor.
    #[test]
    fn every_served_kind_has_a_protobuf_descriptor() {
        for resource in RESOURCES {
            let mut kinds = vec![(resource.api_version(), resource.kind)];
            for sub in resource.subresources {
                let group = sub.group.unwrap_or(resource.group);
                let version = sub.version.unwrap_or(resource.version);
                let api_version = if group.is_empty() {
                    version.to_owned()
                } else {
                    format!("{group}/{version}")
                };
                kinds.push((api_version, sub.kind));
            }
            for (api_version, kind) in kinds {
                let decoded =
                    everynode_core::protobuf::decode_body(&empty_protobuf_body(&api_version, kind));
                assert!(
                    decoded.is_ok(),
                    "{api_version} {kind} ({}): {decoded:?}",
                    resource.plural
                );
            }
        }
    }
}

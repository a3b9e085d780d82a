//! Per-kind strategic-merge-patch metadata (`patchStrategy` / `patchMergeKey` struct tags of upstream `core/v1` and `apps/v1` types) as a static tree.

/// How a field is merged when both the live object and the patch carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// No `patchStrategy` tag: maps merge key by key, lists are atomic (the patch list wins).
    Default,
    /// `patchStrategy:"merge"`: lists merge element-wise, by `merge_key` for lists of objects
    /// or by value for lists of primitives (e.g. `finalizers`, `podCIDRs`).
    Merge,
}

/// Patch metadata for one field of an object, plus the schema of its value (for a list, of
/// each element).
#[derive(Debug, Clone, Copy)]
pub struct FieldSchema {
    /// JSON field name.
    pub name: &'static str,
    /// The `patchStrategy` list/map behavior.
    pub strategy: Strategy,
    /// `patchMergeKey`: identifies list elements; `None` for primitive merge lists.
    pub merge_key: Option<&'static str>,
    /// `patchStrategy` includes `retainKeys`. Informational on the apply side: upstream honors a
    /// `$retainKeys` directive wherever it appears; kubectl only emits it for such fields.
    pub retain_keys: bool,
    /// Schema of the field's value (for lists: of each element).
    pub child: &'static Schema,
}

impl FieldSchema {
    /// A field with no special strategy (plain map / atomic list / scalar).
    pub const fn plain(name: &'static str, child: &'static Schema) -> Self {
        Self {
            name,
            strategy: Strategy::Default,
            merge_key: None,
            retain_keys: false,
            child,
        }
    }

    /// A list of objects merged element-wise by `merge_key`.
    pub const fn merge_by(
        name: &'static str,
        merge_key: &'static str,
        child: &'static Schema,
    ) -> Self {
        Self {
            name,
            strategy: Strategy::Merge,
            merge_key: Some(merge_key),
            retain_keys: false,
            child,
        }
    }

    /// A list of primitives merged as a set union (order kept, duplicates dropped).
    pub const fn merge_primitives(name: &'static str) -> Self {
        Self {
            name,
            strategy: Strategy::Merge,
            merge_key: None,
            retain_keys: false,
            child: &EMPTY,
        }
    }

    /// Adds the `retainKeys` strategy (as in `patchStrategy:"merge,retainKeys"`).
    pub const fn retaining_keys(self) -> Self {
        Self {
            retain_keys: true,
            ..self
        }
    }

    /// Whether this field is a list merged element-wise rather than replaced.
    pub fn is_merge_list(&self) -> bool {
        self.strategy == Strategy::Merge
    }
}

/// The fields with special patch behavior inside one JSON object type; any field not listed is
/// plain (see [`FieldSchema::plain`]) with an empty child schema.
#[derive(Debug)]
pub struct Schema {
    fields: &'static [FieldSchema],
}

/// The schema of an object with no special fields (also every unknown kind).
static EMPTY: Schema = Schema::new(&[]);

impl Schema {
    /// A schema listing the given special fields.
    pub const fn new(fields: &'static [FieldSchema]) -> Self {
        Self { fields }
    }

    /// The empty schema: every map merges plainly, every list is atomic.
    pub fn empty() -> &'static Schema {
        &EMPTY
    }

    /// The schema of a top-level object of `kind` (e.g. `"Pod"`, `"DaemonSet"`, `"Node"`);
    /// unknown kinds get [`Schema::empty`].
    pub fn for_kind(kind: &str) -> &'static Schema {
        match kind {
            "Pod" => &POD,
            "PodTemplate" => &POD_TEMPLATE,
            "Node" => &NODE,
            "Namespace" => &NAMESPACE,
            // Deployment and ReplicaSet specs, like DaemonSet's, only tag the template and conditions.
            "DaemonSet" | "Deployment" | "ReplicaSet" => &DAEMON_SET,
            "ServiceAccount" => &SERVICE_ACCOUNT,
            "ControllerRevision" | "Event" | "Lease" | "ConfigMap" | "PriorityClass" => {
                &METADATA_ONLY
            }
            // rules, subjects and every list inside them are `listType=atomic` without a
            // patchStrategy, so only metadata merges specially.
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => &METADATA_ONLY,
            _ => &EMPTY,
        }
    }

    /// Patch metadata of `name` in this object; unlisted fields are plain.
    pub fn field(&self, name: &str) -> FieldSchema {
        self.fields
            .iter()
            .find(|field| field.name == name)
            .copied()
            .unwrap_or(FieldSchema {
                name: "",
                strategy: Strategy::Default,
                merge_key: None,
                retain_keys: false,
                child: &EMPTY,
            })
    }
}

// ObjectMeta (apimachinery meta/v1/types.go).
static OBJECT_META: Schema = Schema::new(&[
    FieldSchema::merge_by("ownerReferences", "uid", &EMPTY),
    FieldSchema::merge_primitives("finalizers"),
]);

static METADATA_ONLY: Schema = Schema::new(&[FieldSchema::plain("metadata", &OBJECT_META)]);

// Container and EphemeralContainer(Common) share these tags; `envFrom`, `args`, `command`,
// `resizePolicy` carry none and so stay atomic.
static CONTAINER: Schema = Schema::new(&[
    FieldSchema::merge_by("ports", "containerPort", &EMPTY),
    FieldSchema::merge_by("env", "name", &EMPTY),
    FieldSchema::merge_by("volumeMounts", "mountPath", &EMPTY),
    FieldSchema::merge_by("volumeDevices", "devicePath", &EMPTY),
]);

// PodSpec: `tolerations` and `readinessGates` have no strategy tag upstream (atomic).
// `topologySpreadConstraints` is a list-map on (topologyKey, whenUnsatisfiable) for SSA, but its
// strategic-merge key is `topologyKey` alone.
static POD_SPEC: Schema = Schema::new(&[
    FieldSchema::merge_by("volumes", "name", &EMPTY).retaining_keys(),
    FieldSchema::merge_by("initContainers", "name", &CONTAINER),
    FieldSchema::merge_by("containers", "name", &CONTAINER),
    FieldSchema::merge_by("ephemeralContainers", "name", &CONTAINER),
    FieldSchema::merge_by("imagePullSecrets", "name", &EMPTY),
    FieldSchema::merge_by("hostAliases", "ip", &EMPTY),
    FieldSchema::merge_by("topologySpreadConstraints", "topologyKey", &EMPTY),
    FieldSchema::merge_by("schedulingGates", "name", &EMPTY),
    FieldSchema::merge_by("resourceClaims", "name", &EMPTY).retaining_keys(),
]);

// PodStatus: `containerStatuses`, `initContainerStatuses`, `ephemeralContainerStatuses` are atomic.
static POD_STATUS: Schema = Schema::new(&[
    FieldSchema::merge_by("conditions", "type", &EMPTY),
    FieldSchema::merge_by("podIPs", "ip", &EMPTY),
    FieldSchema::merge_by("hostIPs", "ip", &EMPTY),
    FieldSchema::merge_by("resourceClaimStatuses", "name", &EMPTY).retaining_keys(),
]);

static POD: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::plain("spec", &POD_SPEC),
    FieldSchema::plain("status", &POD_STATUS),
]);

static POD_TEMPLATE_SPEC: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::plain("spec", &POD_SPEC),
]);

static POD_TEMPLATE: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::plain("template", &POD_TEMPLATE_SPEC),
]);

// NodeSpec: `taints` has no strategy tag (atomic); `podCIDRs` is a primitive merge list.
static NODE_SPEC: Schema = Schema::new(&[FieldSchema::merge_primitives("podCIDRs")]);

// NodeStatus: `images`, `volumesInUse`, `volumesAttached` are atomic.
static NODE_STATUS: Schema = Schema::new(&[
    FieldSchema::merge_by("conditions", "type", &EMPTY),
    FieldSchema::merge_by("addresses", "type", &EMPTY),
]);

static NODE: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::plain("spec", &NODE_SPEC),
    FieldSchema::plain("status", &NODE_STATUS),
]);

// NamespaceSpec.finalizers has no strategy tag (atomic), unlike ObjectMeta.finalizers.
static NAMESPACE_STATUS: Schema =
    Schema::new(&[FieldSchema::merge_by("conditions", "type", &EMPTY)]);

static NAMESPACE: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::plain("status", &NAMESPACE_STATUS),
]);

// DaemonSetSpec: `selector` and `updateStrategy` carry no strategy tags; only the template matters.
static DAEMON_SET_SPEC: Schema = Schema::new(&[FieldSchema::plain("template", &POD_TEMPLATE_SPEC)]);

static DAEMON_SET_STATUS: Schema =
    Schema::new(&[FieldSchema::merge_by("conditions", "type", &EMPTY)]);

static DAEMON_SET: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::plain("spec", &DAEMON_SET_SPEC),
    FieldSchema::plain("status", &DAEMON_SET_STATUS),
]);

// ServiceAccount.secrets merges by name; `imagePullSecrets` there has no tag (atomic).
static SERVICE_ACCOUNT: Schema = Schema::new(&[
    FieldSchema::plain("metadata", &OBJECT_META),
    FieldSchema::merge_by("secrets", "name", &EMPTY),
]);

#[cfg(test)]
mod tests {
    use super::{Schema, Strategy};

    fn lookup(kind: &str, path: &[&str]) -> super::FieldSchema {
        let mut schema = Schema::for_kind(kind);
        let (last, parents) = path.split_last().unwrap_or((&"", &[]));
        for name in parents {
            schema = schema.field(name).child;
        }
        schema.field(last)
    }

    #[test]
    fn daemonset_template_reaches_container_env() {
        let env = lookup(
            "DaemonSet",
            &["spec", "template", "spec", "containers", "env"],
        );
        assert_eq!(env.strategy, Strategy::Merge);
        assert_eq!(env.merge_key, Some("name"));
    }

    #[test]
    fn pod_volumes_merge_by_name_and_retain_keys() {
        let volumes = lookup("Pod", &["spec", "volumes"]);
        assert_eq!(volumes.merge_key, Some("name"));
        assert!(volumes.retain_keys);
    }

    #[test]
    fn container_ports_merge_by_container_port() {
        let ports = lookup("Pod", &["spec", "initContainers", "ports"]);
        assert_eq!(ports.merge_key, Some("containerPort"));
    }

    #[test]
    fn node_taints_are_atomic_and_pod_cidrs_merge() {
        assert_eq!(
            lookup("Node", &["spec", "taints"]).strategy,
            Strategy::Default
        );
        let cidrs = lookup("Node", &["spec", "podCIDRs"]);
        assert_eq!(cidrs.strategy, Strategy::Merge);
        assert_eq!(cidrs.merge_key, None);
    }

    #[test]
    fn tolerations_are_atomic() {
        assert_eq!(
            lookup("Pod", &["spec", "tolerations"]).strategy,
            Strategy::Default
        );
    }

    #[test]
    fn owner_references_merge_by_uid_for_every_known_kind() {
        for kind in [
            "Pod",
            "Node",
            "Namespace",
            "DaemonSet",
            "ControllerRevision",
            "Event",
            "Lease",
            "ConfigMap",
            "ServiceAccount",
            "PriorityClass",
            "Role",
            "ClusterRole",
            "RoleBinding",
            "ClusterRoleBinding",
        ] {
            assert_eq!(
                lookup(kind, &["metadata", "ownerReferences"]).merge_key,
                Some("uid"),
                "{kind}"
            );
            assert_eq!(
                lookup(kind, &["metadata", "finalizers"]).strategy,
                Strategy::Merge,
                "{kind}"
            );
        }
    }

    #[test]
    fn unknown_kind_is_all_plain() {
        assert_eq!(
            lookup("Widget", &["metadata", "finalizers"]).strategy,
            Strategy::Default
        );
    }
}

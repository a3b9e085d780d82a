//! Descriptors for rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding (`kubectl create role|clusterrole|rolebinding|clusterrolebinding` send protobuf).

use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::schema::Kind::{Msg, Str};
use super::schema::{Message, f};

/// `rules` lacks `omitempty` upstream, but an empty list is never on the wire and reads back
/// the same as an absent one here.
pub(crate) static ROLE: Message = Message {
    name: "Role",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "rules", Msg(&POLICY_RULE)).list(),
    ],
};

pub(crate) static CLUSTER_ROLE: Message = Message {
    name: "ClusterRole",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "rules", Msg(&POLICY_RULE)).list(),
        f(3, "aggregationRule", Msg(&AGGREGATION_RULE)),
    ],
};

static AGGREGATION_RULE: Message = Message {
    name: "AggregationRule",
    fields: &[f(1, "clusterRoleSelectors", Msg(&LABEL_SELECTOR)).list()],
};

static POLICY_RULE: Message = Message {
    name: "PolicyRule",
    fields: &[
        f(1, "verbs", Str).list(),
        f(2, "apiGroups", Str).list(),
        f(3, "resources", Str).list(),
        f(4, "resourceNames", Str).list(),
        f(5, "nonResourceURLs", Str).list(),
    ],
};

pub(crate) static ROLE_BINDING: Message = Message {
    name: "RoleBinding",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "subjects", Msg(&SUBJECT)).list(),
        f(3, "roleRef", Msg(&ROLE_REF)),
    ],
};

/// Same layout as RoleBinding; a separate message only for its name in errors.
pub(crate) static CLUSTER_ROLE_BINDING: Message = Message {
    name: "ClusterRoleBinding",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "subjects", Msg(&SUBJECT)).list(),
        f(3, "roleRef", Msg(&ROLE_REF)),
    ],
};

/// No RoleRef field has `omitempty`, so empty strings are kept.
static ROLE_REF: Message = Message {
    name: "RoleRef",
    fields: &[
        f(1, "apiGroup", Str).keep(),
        f(2, "kind", Str).keep(),
        f(3, "name", Str).keep(),
    ],
};

/// `kind` and `name` lack `omitempty`; `apiGroup` and `namespace` have it.
static SUBJECT: Message = Message {
    name: "Subject",
    fields: &[
        f(1, "kind", Str).keep(),
        f(2, "apiGroup", Str),
        f(3, "name", Str).keep(),
        f(4, "namespace", Str),
    ],
};

//! Descriptors for `k8s.io/apimachinery/pkg/apis/meta/v1` messages (field numbers from its `generated.proto`).
//!
//! `ObjectMeta.managedFields` (17) is deliberately not decoded: typed clients never send it and
//! the server owns it.

use super::schema::Kind::{Bool, Int, Msg, Str, StrMap, Time};
use super::schema::{Message, f};

pub(crate) static OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        f(1, "name", Str),
        f(2, "generateName", Str),
        f(3, "namespace", Str),
        f(4, "selfLink", Str),
        f(5, "uid", Str),
        f(6, "resourceVersion", Str),
        f(7, "generation", Int),
        f(8, "creationTimestamp", Time),
        f(9, "deletionTimestamp", Time),
        f(10, "deletionGracePeriodSeconds", Int).keep(),
        f(11, "labels", StrMap),
        f(12, "annotations", StrMap),
        f(13, "ownerReferences", Msg(&OWNER_REFERENCE)).list(),
        f(14, "finalizers", Str).list(),
    ],
};

pub(crate) static OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        f(5, "apiVersion", Str).keep(),
        f(1, "kind", Str).keep(),
        f(3, "name", Str).keep(),
        f(4, "uid", Str).keep(),
        f(6, "controller", Bool).keep(),
        f(7, "blockOwnerDeletion", Bool).keep(),
    ],
};

pub(crate) static LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[
        f(1, "matchLabels", StrMap),
        f(2, "matchExpressions", Msg(&LABEL_SELECTOR_REQUIREMENT)).list(),
    ],
};

static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[
        f(1, "key", Str).keep(),
        f(2, "operator", Str).keep(),
        f(3, "values", Str).list(),
    ],
};

/// `DeleteOptions`; its pointer fields keep explicit zeros (`gracePeriodSeconds: 0` means
/// "delete now", spec §8).
pub(crate) static DELETE_OPTIONS: Message = Message {
    name: "DeleteOptions",
    fields: &[
        f(1, "gracePeriodSeconds", Int).keep(),
        f(2, "preconditions", Msg(&PRECONDITIONS)),
        f(3, "orphanDependents", Bool).keep(),
        f(4, "propagationPolicy", Str).keep(),
        f(5, "dryRun", Str).list(),
    ],
};

static PRECONDITIONS: Message = Message {
    name: "Preconditions",
    fields: &[f(1, "uid", Str).keep(), f(2, "resourceVersion", Str).keep()],
};

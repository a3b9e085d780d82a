//! Descriptors for the non-core groups we serve: policy/v1 Eviction, apps/v1 DaemonSet and ControllerRevision, coordination.k8s.io/v1 Lease, scheduling.k8s.io/v1 PriorityClass, events.k8s.io/v1 Event, authorization.k8s.io/v1 and authentication.k8s.io/v1 self-reviews.

use super::core::{EVENT_SOURCE, OBJECT_REFERENCE};
use super::meta::{DELETE_OPTIONS, LABEL_SELECTOR, OBJECT_META};
use super::pod::POD_TEMPLATE_SPEC;
use super::schema::Kind::{Bool, Int, IntOrString, MicroTime, Msg, RawJson, Str, Time};
use super::schema::{Message, f};

// --- policy/v1 ---

pub(crate) static EVICTION: Message = Message {
    name: "Eviction",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "deleteOptions", Msg(&DELETE_OPTIONS)),
    ],
};

// --- apps/v1 ---

pub(crate) static DAEMON_SET: Message = Message {
    name: "DaemonSet",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&DAEMON_SET_SPEC)),
        f(3, "status", Msg(&DAEMON_SET_STATUS)),
    ],
};

static DAEMON_SET_SPEC: Message = Message {
    name: "DaemonSetSpec",
    fields: &[
        f(1, "selector", Msg(&LABEL_SELECTOR)),
        f(2, "template", Msg(&POD_TEMPLATE_SPEC)),
        f(3, "updateStrategy", Msg(&DAEMON_SET_UPDATE_STRATEGY)),
        f(4, "minReadySeconds", Int),
        f(6, "revisionHistoryLimit", Int).keep(),
    ],
};

static DAEMON_SET_UPDATE_STRATEGY: Message = Message {
    name: "DaemonSetUpdateStrategy",
    fields: &[
        f(1, "type", Str),
        f(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DAEMON_SET)),
    ],
};

static ROLLING_UPDATE_DAEMON_SET: Message = Message {
    name: "RollingUpdateDaemonSet",
    fields: &[
        f(1, "maxUnavailable", IntOrString),
        f(2, "maxSurge", IntOrString),
    ],
};

/// The four scheduling counters lack `omitempty` upstream, so zeros are kept.
static DAEMON_SET_STATUS: Message = Message {
    name: "DaemonSetStatus",
    fields: &[
        f(1, "currentNumberScheduled", Int).keep(),
        f(2, "numberMisscheduled", Int).keep(),
        f(3, "desiredNumberScheduled", Int).keep(),
        f(4, "numberReady", Int).keep(),
        f(5, "observedGeneration", Int),
        f(6, "updatedNumberScheduled", Int),
        f(7, "numberAvailable", Int),
        f(8, "numberUnavailable", Int),
        f(9, "collisionCount", Int).keep(),
        f(10, "conditions", Msg(&DAEMON_SET_CONDITION)).list(),
    ],
};

static DAEMON_SET_CONDITION: Message = Message {
    name: "DaemonSetCondition",
    fields: &[
        f(1, "type", Str).keep(),
        f(2, "status", Str).keep(),
        f(3, "lastTransitionTime", Time),
        f(4, "reason", Str),
        f(5, "message", Str),
    ],
};

/// `data` is a RawExtension whose bytes are JSON (the controller stores a strategic-merge
/// patch of the template there, which `rollout undo` replays: api.md TL;DR 5).
pub(crate) static CONTROLLER_REVISION: Message = Message {
    name: "ControllerRevision",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "data", RawJson),
        f(3, "revision", Int).keep(),
    ],
};

// --- coordination.k8s.io/v1 ---

pub(crate) static LEASE: Message = Message {
    name: "Lease",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&LEASE_SPEC)),
    ],
};

/// Every `LeaseSpec` field is a pointer upstream, so whatever is on the wire is kept.
static LEASE_SPEC: Message = Message {
    name: "LeaseSpec",
    fields: &[
        f(1, "holderIdentity", Str).keep(),
        f(2, "leaseDurationSeconds", Int).keep(),
        f(3, "acquireTime", MicroTime),
        f(4, "renewTime", MicroTime),
        f(5, "leaseTransitions", Int).keep(),
        f(6, "strategy", Str).keep(),
        f(7, "preferredHolder", Str).keep(),
    ],
};

// --- scheduling.k8s.io/v1 ---

/// `value` has no `omitempty` (0 is a real priority); `preemptionPolicy` is a pointer.
pub(crate) static PRIORITY_CLASS: Message = Message {
    name: "PriorityClass",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "value", Int).keep(),
        f(3, "globalDefault", Bool),
        f(4, "description", Str),
        f(5, "preemptionPolicy", Str).keep(),
    ],
};

// --- events.k8s.io/v1 ---

/// The events.k8s.io/v1 form of an Event (`regarding`, `note`, `deprecated*`); the server
/// converts it to the stored core/v1 form.
pub(crate) static EVENTS_V1_EVENT: Message = Message {
    name: "Event",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "eventTime", MicroTime),
        f(3, "series", Msg(&EVENTS_V1_SERIES)),
        f(4, "reportingController", Str),
        f(5, "reportingInstance", Str),
        f(6, "action", Str),
        f(7, "reason", Str),
        f(8, "regarding", Msg(&OBJECT_REFERENCE)),
        f(9, "related", Msg(&OBJECT_REFERENCE)),
        f(10, "note", Str),
        f(11, "type", Str),
        f(12, "deprecatedSource", Msg(&EVENT_SOURCE)),
        f(13, "deprecatedFirstTimestamp", Time),
        f(14, "deprecatedLastTimestamp", Time),
        f(15, "deprecatedCount", Int),
    ],
};

/// Unlike core/v1's, this `count` has no `omitempty`.
static EVENTS_V1_SERIES: Message = Message {
    name: "EventSeries",
    fields: &[
        f(1, "count", Int).keep(),
        f(2, "lastObservedTime", MicroTime),
    ],
};

// --- authorization.k8s.io/v1 (what `kubectl auth can-i` sends) ---

pub(crate) static SELF_SUBJECT_ACCESS_REVIEW: Message = Message {
    name: "SelfSubjectAccessReview",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&SELF_SUBJECT_ACCESS_REVIEW_SPEC)),
    ],
};

static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Message = Message {
    name: "SelfSubjectAccessReviewSpec",
    fields: &[
        f(1, "resourceAttributes", Msg(&RESOURCE_ATTRIBUTES)),
        f(2, "nonResourceAttributes", Msg(&NON_RESOURCE_ATTRIBUTES)),
    ],
};

/// The selector attributes (8, 9) are alpha upstream and not read here.
static RESOURCE_ATTRIBUTES: Message = Message {
    name: "ResourceAttributes",
    fields: &[
        f(1, "namespace", Str),
        f(2, "verb", Str),
        f(3, "group", Str),
        f(4, "version", Str),
        f(5, "resource", Str),
        f(6, "subresource", Str),
        f(7, "name", Str),
    ],
};

static NON_RESOURCE_ATTRIBUTES: Message = Message {
    name: "NonResourceAttributes",
    fields: &[f(1, "path", Str), f(2, "verb", Str)],
};

pub(crate) static SELF_SUBJECT_RULES_REVIEW: Message = Message {
    name: "SelfSubjectRulesReview",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&SELF_SUBJECT_RULES_REVIEW_SPEC)),
    ],
};

static SELF_SUBJECT_RULES_REVIEW_SPEC: Message = Message {
    name: "SelfSubjectRulesReviewSpec",
    fields: &[f(1, "namespace", Str)],
};

// --- authentication.k8s.io/v1 (what `kubectl auth whoami` sends) ---

pub(crate) static SELF_SUBJECT_REVIEW: Message = Message {
    name: "SelfSubjectReview",
    fields: &[f(1, "metadata", Msg(&OBJECT_META))],
};

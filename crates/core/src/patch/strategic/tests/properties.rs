//! Property tests: random patches never panic or leak directives, and plain patches agree with RFC 7386.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::patch::merge;
use crate::patch::schema::Schema;
use crate::patch::strategic::apply;

/// Arbitrary JSON built from the field names and directive strings strategic merge patch cares
/// about, so random patches actually reach the interesting code paths.
fn arb_json(allow_directives: bool) -> impl Strategy<Value = Value> {
    let mut keys = vec![
        "metadata",
        "spec",
        "status",
        "template",
        "containers",
        "name",
        "image",
        "env",
        "value",
        "finalizers",
        "conditions",
        "type",
        "volumes",
        "taints",
        "ports",
        "containerPort",
        "ownerReferences",
        "uid",
        "podCIDRs",
    ];
    if allow_directives {
        keys.extend([
            "$patch",
            "$retainKeys",
            "$setElementOrder/containers",
            "$setElementOrder/finalizers",
            "$setElementOrder/conditions",
            "$deleteFromPrimitiveList/finalizers",
            "$deleteFromPrimitiveList/podCIDRs",
            "$bogus",
        ]);
    }
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..4).prop_map(Value::from),
        prop::sample::select(vec![
            "a", "b", "c", "replace", "delete", "merge", "name", "fluentd"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(keys.clone()), inner, 0..6).prop_map(
                |members| Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                )
            ),
        ]
    })
}

fn contains_directive(value: &Value) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .any(|(key, value)| key.starts_with('$') || contains_directive(value)),
        Value::Array(items) => items.iter().any(contains_directive),
        _ => false,
    }
}

/// Objects in the shape of the live objects: no directives, top level is a map.
fn arb_object() -> impl Strategy<Value = Value> {
    arb_json(false).prop_map(|value| match value {
        Value::Object(_) => value,
        other => json!({"spec": other}),
    })
}

proptest! {
    #[test]
    fn random_patches_never_panic_and_never_leave_directives(
        current in arb_object(),
        patch in arb_json(true),
        kind in prop::sample::select(vec!["Pod", "DaemonSet", "Node", "Widget"]),
    ) {
        if let Ok(result) = apply(&current, &patch, Schema::for_kind(kind)) {
            prop_assert!(!contains_directive(&result), "directive left in {result}");
        }
    }

    /// Without directives, merge lists or nulls inside lists, strategic merge patch on an
    /// unknown kind is exactly RFC 7386.
    #[test]
    fn plain_patches_on_unknown_kinds_match_json_merge_patch(
        current in arb_object(),
        patch in arb_object(),
    ) {
        prop_assume!(!contains_null_in_list(&patch));
        prop_assert_eq!(apply(&current, &patch, Schema::empty()), Ok(merge::apply(&current, &patch)));
    }

    #[test]
    fn json_merge_patch_is_idempotent(current in arb_json(true), patch in arb_json(true)) {
        let once = merge::apply(&current, &patch);
        prop_assert_eq!(merge::apply(&once, &patch), once);
    }
}

/// Lists are copied verbatim by RFC 7386 but have their maps resolved by strategic merge patch,
/// which drops nulls inside them.
fn contains_null_in_list(value: &Value) -> bool {
    match value {
        Value::Object(members) => members.values().any(contains_null_in_list),
        Value::Array(items) => items.iter().any(contains_null),
        _ => false,
    }
}

fn contains_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(members) => members.values().any(contains_null),
        Value::Array(items) => items.iter().any(contains_null),
        _ => false,
    }
}

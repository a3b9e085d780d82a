//! Table tests ported from upstream `strategicpatch/patch_test.go` and error cases; kubectl bodies and property tests live in `tests/`.

use serde_json::{Value, json};

use super::{PatchError, apply};
use crate::patch::schema::{FieldSchema, Schema};

/// Upstream's test type `MergeItem` (patch_test.go), minus `replacingItem` (`patchStrategy:"replace"`
/// is not used by any kind we serve).
static MERGE_ITEM: Schema = Schema::new(&[
    FieldSchema::merge_by("mergingList", "name", &MERGE_ITEM),
    FieldSchema::plain("nonMergingList", &MERGE_ITEM),
    FieldSchema::merge_primitives("mergingIntList"),
    FieldSchema::merge_by("mergeItemPtr", "name", &MERGE_ITEM),
    FieldSchema::plain("retainKeysMap", &RETAIN_KEYS_MERGE_ITEM).retaining_keys(),
    FieldSchema::merge_by("retainKeysMergingList", "name", &MERGE_ITEM).retaining_keys(),
]);

/// Upstream's `RetainKeysMergeItem`.
static RETAIN_KEYS_MERGE_ITEM: Schema = Schema::new(&[
    FieldSchema::merge_primitives("mergingIntList"),
    FieldSchema::merge_by("mergingList", "name", &MERGE_ITEM),
]);

/// Applies `patch` to `original` with `schema` and asserts the exact result.
#[track_caller]
fn assert_patch(case: &str, schema: &Schema, original: Value, patch: Value, expected: Value) {
    match apply(&original, &patch, schema) {
        Ok(result) => assert_eq!(result, expected, "case {case:?}"),
        Err(error) => panic!("case {case:?}: unexpected error: {error}"),
    }
}

#[track_caller]
fn assert_patch_error(
    case: &str,
    schema: &Schema,
    original: Value,
    patch: Value,
    expected: PatchError,
) {
    assert_eq!(
        apply(&original, &patch, schema),
        Err(expected),
        "case {case:?}"
    );
}

/// (upstream description, original/current, patch, expected result) on `MergeItem`.
fn upstream_cases() -> Vec<(&'static str, Value, Value, Value)> {
    vec![
        (
            "unique scalars when merging lists",
            json!({"mergingIntList": [1, 2]}),
            json!({"mergingIntList": [2, 3]}),
            json!({"mergingIntList": [1, 2, 3]}),
        ),
        (
            "delete map from nested map",
            json!({"simpleMap": {"key1": 1, "key2": 1}}),
            json!({"simpleMap": {"$patch": "delete"}}),
            json!({"simpleMap": {}}),
        ),
        (
            "delete all items from merging list",
            json!({"mergingList": [{"name": 1}, {"name": 2}]}),
            json!({"mergingList": [{"$patch": "replace"}]}),
            json!({"mergingList": []}),
        ),
        (
            "merge empty merging lists",
            json!({"mergingList": []}),
            json!({"mergingList": []}),
            json!({"mergingList": []}),
        ),
        (
            "delete all keys from map",
            json!({"name": 1, "value": 1}),
            json!({"$patch": "replace"}),
            json!({}),
        ),
        (
            "add key and delete all keys from map",
            json!({"name": 1, "value": 1}),
            json!({"other": "a", "$patch": "replace"}),
            json!({"other": "a"}),
        ),
        (
            "delete all duplicate entries in a merging list",
            json!({"mergingList": [{"name": 1}, {"name": 1}, {"name": 2, "value": "a"}, {"name": 3}, {"name": 3}]}),
            json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 3, "$patch": "delete"}]}),
            json!({"mergingList": [{"name": 2, "value": "a"}]}),
        ),
        (
            "retainKeys map can add a field when no retainKeys directive present",
            json!({"retainKeysMap": {"name": "foo"}}),
            json!({"retainKeysMap": {"value": "bar"}}),
            json!({"retainKeysMap": {"name": "foo", "value": "bar"}}),
        ),
        (
            "retainKeys map can change a field when no retainKeys directive present",
            json!({"retainKeysMap": {"name": "foo", "value": "a"}}),
            json!({"retainKeysMap": {"value": "b"}}),
            json!({"retainKeysMap": {"name": "foo", "value": "b"}}),
        ),
        (
            "retainKeys map can delete a field when no retainKeys directive present",
            json!({"retainKeysMap": {"name": "foo", "value": "a"}}),
            json!({"retainKeysMap": {"value": null}}),
            json!({"retainKeysMap": {"name": "foo"}}),
        ),
        (
            "retainKeys map merge an empty map",
            json!({"retainKeysMap": {"name": "foo", "value": "a"}}),
            json!({"retainKeysMap": {}}),
            json!({"retainKeysMap": {"name": "foo", "value": "a"}}),
        ),
        (
            "retainKeys list can add a field when no retainKeys directive present",
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo"}]}),
            json!({"retainKeysMergingList": [{"name": "foo", "value": "a"}]}),
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
        ),
        (
            "retainKeys list can change a field when no retainKeys directive present",
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
            json!({"retainKeysMergingList": [{"name": "foo", "value": "b"}]}),
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "b"}]}),
        ),
        (
            "retainKeys list can delete a field when no retainKeys directive present",
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
            json!({"retainKeysMergingList": [{"name": "foo", "value": null}]}),
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo"}]}),
        ),
        (
            "preserve the order from the patch in a merging list",
            json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}, {"name": 2, "other": "x"}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}, {"name": 2, "value": "b", "other": "x"}]}),
        ),
        (
            "preserve the order from the patch in a merging list 2",
            json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}]}),
            json!({"mergingList": [{"name": 2, "value": "b"}, {"name": 3, "value": "c"}, {"name": 1, "value": "a"}]}),
        ),
        (
            "preserve the order from the patch in a merging int list",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"mergingIntList": [3, 1, 2]}),
            json!({"mergingIntList": [3, 1, 2]}),
        ),
        (
            "preserve the order from the patch in a merging int list (subset)",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"mergingIntList": [3, 1]}),
            json!({"mergingIntList": [2, 3, 1]}),
        ),
        (
            "$setElementOrder contains item that is not present in the list to be merged",
            json!({"mergingList": [{"name": 1}, {"name": 3}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": 3}, {"name": 2}, {"name": 1}],
                "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]
            }),
            json!({"mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
        ),
        (
            "$setElementOrder contains item that is not present in the int list to be merged",
            json!({"mergingIntList": [1, 3]}),
            json!({"$setElementOrder/mergingIntList": [3, 2, 1]}),
            json!({"mergingIntList": [3, 1]}),
        ),
        (
            "$deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list",
            json!({"mergingIntList": [1, 2]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": [1, 2]}),
        ),
        (
            "$deleteFromPrimitiveList on empty primitive list should not add the item to the list",
            json!({"mergingIntList": null}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": null}),
        ),
        (
            "$deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list",
            json!({"foo": ["bar"]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"foo": ["bar"]}),
        ),
        (
            "$deleteFromPrimitiveList should delete item from a list with merge patch strategy",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [2]}),
            json!({"mergingIntList": [1, 3]}),
        ),
        (
            "$deleteFromPrimitiveList should delete item from a list without merge patch strategy",
            json!({"nonMergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/nonMergingIntList": [2]}),
            json!({"nonMergingIntList": [1, 3]}),
        ),
        (
            "nil patch",
            json!({"name": 1}),
            json!({}),
            json!({"name": 1}),
        ),
        (
            "add field and delete field from map",
            json!({"name": 1, "other": "a"}),
            json!({"name": null, "value": 1}),
            json!({"value": 1, "other": "a"}),
        ),
        (
            "delete field from nested map",
            json!({"simpleMap": {"key1": 1, "key2": 1, "other": "a"}}),
            json!({"simpleMap": {"key2": null}}),
            json!({"simpleMap": {"key1": 1, "other": "a"}}),
        ),
        (
            "replace list of scalars with conflict",
            json!({"nonMergingIntList": [1, 4]}),
            json!({"nonMergingIntList": [2, 3]}),
            json!({"nonMergingIntList": [2, 3]}),
        ),
        (
            "delete all maps from merging list with conflict",
            json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "other": "b"}]}),
            json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 2, "$patch": "delete"}]}),
            json!({"mergingList": []}),
        ),
        (
            "delete all maps from empty merging list",
            json!({"mergingList": []}),
            json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 2, "$patch": "delete"}]}),
            json!({"mergingList": []}),
        ),
        (
            "defined null values should propagate removing original fields",
            json!({"name": "original-name", "value": "original-value", "other": "current-other"}),
            json!({"name": "modified-name", "value": null}),
            json!({"name": "modified-name", "other": "current-other"}),
        ),
        (
            "nested patch merge with empty list (two-way)",
            json!({"name": "hi"}),
            json!({"mergingList": [{"name": "hello"}, {"$patch": "delete", "name": "doesntexist"}]}),
            json!({"name": "hi", "mergingList": [{"name": "hello"}]}),
        ),
        (
            "nested patch merge with empty list (three-way)",
            json!({"name": "hi", "mergingList": [{"name": "hello2"}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": "hello"}, {"name": "doesntexist"}],
                "mergingList": [{"name": "hello"}, {"$patch": "delete", "name": "doesntexist"}]
            }),
            json!({"name": "hi", "mergingList": [{"name": "hello"}, {"name": "hello2"}]}),
        ),
        (
            "delete items in lists of scalars",
            json!({"mergingIntList": [1, 2, 3, 4]}),
            json!({"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": [1, 2, 4]}),
        ),
        (
            "delete all duplicate items in lists of scalars",
            json!({"mergingIntList": [1, 2, 3, 3, 4]}),
            json!({"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": [1, 2, 4]}),
        ),
        (
            "add and delete items in lists of scalars",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({
                "$setElementOrder/mergingIntList": [1, 2, 4],
                "$deleteFromPrimitiveList/mergingIntList": [3],
                "mergingIntList": [4]
            }),
            json!({"mergingIntList": [1, 2, 4]}),
        ),
        (
            "merge lists of maps",
            json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": 4}, {"name": 1}, {"name": 2}, {"name": 3}],
                "mergingList": [{"name": 4, "value": 4}, {"name": 3, "value": 3}]
            }),
            json!({"mergingList": [
                {"name": 4, "value": 4},
                {"name": 1, "other": "a"},
                {"name": 2, "value": 2, "other": "b"},
                {"name": 3, "value": 3}
            ]}),
        ),
        (
            "merge lists of maps with conflict",
            json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 3, "other": "b"}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
                "mergingList": [{"name": 2, "value": 2}, {"name": 3, "value": 3}]
            }),
            json!({"mergingList": [
                {"name": 1, "other": "a"},
                {"name": 2, "value": 2, "other": "b"},
                {"name": 3, "value": 3}
            ]}),
        ),
        (
            "server-only items keep their place relative to reordered patch items",
            json!({"mergingList": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]}),
            json!({
                "$setElementOrder/mergingList": [{"name": "d"}, {"name": "b"}],
                "mergingList": [{"name": "d", "value": 1}]
            }),
            json!({"mergingList": [{"name": "a"}, {"name": "c"}, {"name": "d", "value": 1}, {"name": "b"}]}),
        ),
        (
            "retainKeys directive clears unlisted fields of a map",
            json!({"retainKeysMap": {"name": "foo", "value": "a", "other": "x"}}),
            json!({"retainKeysMap": {"$retainKeys": ["name", "value"], "value": "b"}}),
            json!({"retainKeysMap": {"name": "foo", "value": "b"}}),
        ),
        (
            "retainKeys directive inside a merging list element",
            json!({"retainKeysMergingList": [{"name": "bar", "other": "o"}, {"name": "foo", "value": "a", "other": "o"}]}),
            json!({"retainKeysMergingList": [{"name": "foo", "$retainKeys": ["name", "value"], "value": "b"}]}),
            json!({"retainKeysMergingList": [{"name": "bar", "other": "o"}, {"name": "foo", "value": "b"}]}),
        ),
        (
            "nested merging lists merge recursively",
            json!({"mergingList": [{"name": 1, "mergingList": [{"name": "x", "value": 1}, {"name": "y"}]}]}),
            json!({"mergingList": [{"name": 1, "mergingList": [{"name": "y", "value": 2}]}]}),
            json!({"mergingList": [{"name": 1, "mergingList": [{"name": "x", "value": 1}, {"name": "y", "value": 2}]}]}),
        ),
        (
            "non-merging list nested in merging list is replaced",
            json!({"mergingList": [{"name": 1, "nonMergingList": [{"name": "x"}, {"name": "y"}]}]}),
            json!({"mergingList": [{"name": 1, "nonMergingList": [{"name": "z"}]}]}),
            json!({"mergingList": [{"name": 1, "nonMergingList": [{"name": "z"}]}]}),
        ),
        (
            "replace directive in a list keeps only the patch elements",
            json!({"mergingList": [{"name": 1, "value": "a"}, {"name": 2}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}, {"$patch": "replace"}]}),
            json!({"mergingList": [{"name": 3, "value": "c"}]}),
        ),
        (
            "replace directive on a nested map drops the old contents",
            json!({"simpleMap": {"key1": 1, "key2": 1}}),
            json!({"simpleMap": {"$patch": "replace", "key3": 3}}),
            json!({"simpleMap": {"key3": 3}}),
        ),
        (
            "explicit merge directive in a list is a no-op",
            json!({"mergingList": [{"name": 1}]}),
            json!({"mergingList": [{"$patch": "merge"}, {"name": 1, "value": "a"}]}),
            json!({"mergingList": [{"name": 1, "value": "a"}]}),
        ),
        (
            // Upstream `mergeSortedSlice` only puts a live-only element first when the patch
            // element it is compared with was also live and came later.
            "new elements of a plain merge list patch come before live-only ones",
            json!({"mergingList": [{"name": 1}, {"name": 2}]}),
            json!({"mergingList": [{"name": 3}]}),
            json!({"mergingList": [{"name": 3}, {"name": 1}, {"name": 2}]}),
        ),
    ]
}

#[test]
fn upstream_strategic_merge_patch_cases() {
    for (case, original, patch, expected) in upstream_cases() {
        assert_patch(case, &MERGE_ITEM, original, patch, expected);
    }
}

#[test]
fn upstream_error_cases() {
    assert_patch_error(
        "should check if order in $setElementOrder and patch list match",
        &MERGE_ITEM,
        json!({"mergingList": [{"name": 1}, {"name": 3}, {"name": 2}]}),
        json!({
            "$setElementOrder/mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
            "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]
        }),
        PatchError::OrderMismatch("mergingList".into()),
    );
    assert_patch_error(
        "should check if order in $setElementOrder and patch int list match",
        &MERGE_ITEM,
        json!({"mergingIntList": [1, 3, 2]}),
        json!({"$setElementOrder/mergingIntList": [1, 2, 3], "mergingIntList": [3, 1]}),
        PatchError::OrderMismatch("mergingIntList".into()),
    );
    assert_patch_error(
        "missing merge key should error out",
        &MERGE_ITEM,
        json!({"mergingList": [{"name": 1, "value": "a"}]}),
        json!({"mergingList": [{"value": "b"}]}),
        PatchError::MissingMergeKey {
            field: "mergingList".into(),
            merge_key: "name".into(),
        },
    );
    assert_patch_error(
        "retainKeys must list every patched field",
        &MERGE_ITEM,
        json!({"retainKeysMap": {"name": "foo"}}),
        json!({"retainKeysMap": {"$retainKeys": ["name"], "value": "b"}}),
        PatchError::RetainKeysMissing("value".into()),
    );
}

#[test]
fn malformed_patches_are_errors() {
    let pod =
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let schema = Schema::for_kind("Pod");
    let cases: Vec<(&str, Value, PatchError)> = vec![
        (
            "list patch",
            json!([{"op": "add"}]),
            PatchError::PatchNotObject("a list"),
        ),
        (
            "string patch",
            json!("spec"),
            PatchError::PatchNotObject("a string"),
        ),
        (
            "null patch",
            json!(null),
            PatchError::PatchNotObject("null"),
        ),
        (
            "unknown directive",
            json!({"spec": {"$frobnicate": 1}}),
            PatchError::UnknownDirective("$frobnicate".into()),
        ),
        (
            "prefix without slash",
            json!({"$setElementOrder": []}),
            PatchError::UnknownDirective("$setElementOrder".into()),
        ),
        (
            "bad $patch value",
            json!({"spec": {"$patch": "explode"}}),
            PatchError::InvalidPatchValue("\"explode\"".into()),
        ),
        (
            "non-string $patch value",
            json!({"$patch": 3}),
            PatchError::InvalidPatchValue("3".into()),
        ),
        (
            "bad $patch in a list element",
            json!({"spec": {"containers": [{"name": "c", "$patch": "nope"}]}}),
            PatchError::InvalidPatchValue("\"nope\"".into()),
        ),
        (
            "merge list patched with a string",
            json!({"spec": {"containers": "c"}}),
            PatchError::ExpectedList("containers".into()),
        ),
        (
            "merge list patched with a map",
            json!({"spec": {"containers": {"name": "c"}}}),
            PatchError::ExpectedList("containers".into()),
        ),
        (
            "merge list element is a number",
            json!({"spec": {"containers": [1]}}),
            PatchError::MixedElementTypes("containers".into()),
        ),
        (
            "list of lists",
            json!({"spec": {"containers": [["c"]]}}),
            PatchError::ListOfLists("containers".into()),
        ),
        (
            "delete element without merge key",
            json!({"spec": {"containers": [{"$patch": "delete"}]}}),
            PatchError::MissingMergeKey {
                field: "containers".into(),
                merge_key: "name".into(),
            },
        ),
        (
            "$setElementOrder not a list",
            json!({"spec": {"$setElementOrder/containers": {"name": "c"}}}),
            PatchError::DirectiveNotList("$setElementOrder/containers".into()),
        ),
        (
            "$setElementOrder entry without merge key",
            json!({"spec": {"$setElementOrder/containers": ["c"]}}),
            PatchError::MissingMergeKey {
                field: "$setElementOrder/containers".into(),
                merge_key: "name".into(),
            },
        ),
        (
            "$deleteFromPrimitiveList not a list",
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            PatchError::DirectiveNotList("$deleteFromPrimitiveList/finalizers".into()),
        ),
        (
            "$retainKeys not a list",
            json!({"spec": {"volumes": [{"name": "v", "$retainKeys": "name"}]}}),
            PatchError::DirectiveNotList("$retainKeys".into()),
        ),
        (
            "$retainKeys with numbers",
            json!({"spec": {"$retainKeys": [1]}}),
            PatchError::RetainKeysNotStrings,
        ),
    ];
    for (case, patch, expected) in cases {
        assert_patch_error(case, schema, pod.clone(), patch, expected);
    }
    assert_eq!(
        apply(&json!([1]), &json!({}), schema),
        Err(PatchError::CurrentNotObject("a list"))
    );
}

#[test]
fn error_messages_are_lowercase_sentences() {
    let message = PatchError::UnknownDirective("$frobnicate".into()).to_string();
    assert_eq!(message, "unknown patch directive \"$frobnicate\"");
    let message = PatchError::PatchNotObject("a list").to_string();
    assert_eq!(message, "patch must be a json object, got a list");
}

#[test]
fn null_current_is_patched_like_an_empty_object() {
    let result = apply(
        &Value::Null,
        &json!({"metadata": {"finalizers": ["a"], "x": null}}),
        Schema::for_kind("Pod"),
    );
    assert_eq!(result, Ok(json!({"metadata": {"finalizers": ["a"]}})));
}

/// A map's directives never leak into the result, even when the map is new or replaces a
/// value of another type.
#[test]
fn directives_in_new_values_are_resolved() {
    assert_patch(
        "new nested map",
        Schema::empty(),
        json!({}),
        json!({"a": {"$patch": "replace", "b": {"c": null, "d": 1}}}),
        json!({"a": {"b": {"d": 1}}}),
    );
    assert_patch(
        "map replacing a list",
        Schema::empty(),
        json!({"a": [1]}),
        json!({"a": {"$retainKeys": ["b"], "b": 1}}),
        json!({"a": {"b": 1}}),
    );
    assert_patch(
        "atomic list of maps",
        Schema::for_kind("Node"),
        json!({"spec": {}}),
        json!({"spec": {"taints": [{"key": "k", "effect": "NoSchedule", "$patch": "merge"}]}}),
        json!({"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}),
    );
}

mod kubectl;
mod properties;

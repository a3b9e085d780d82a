//! RFC 7386 JSON merge patch (`application/merge-patch+json`), as a pure function on JSON values.

use serde_json::{Map, Value};

/// Applies `patch` to `current` following RFC 7386 section 2.
///
/// An object patch merges key by key into `current` (a non-object `current` is treated as `{}`),
/// `null` deletes a key, and any non-object patch value replaces the target wholesale; lists are
/// always replaced, never merged. `null` members of a patch that is itself being inserted (no
/// counterpart in `current`) are dropped, as the RFC's recursive definition implies.
pub fn apply(current: &Value, patch: &Value) -> Value {
    let Value::Object(patch_members) = patch else {
        return patch.clone();
    };
    let mut target = match current {
        Value::Object(members) => members.clone(),
        _ => Map::new(),
    };
    for (key, patch_value) in patch_members {
        if patch_value.is_null() {
            target.remove(key);
            continue;
        }
        let merged = apply(target.get(key).unwrap_or(&Value::Null), patch_value);
        target.insert(key.clone(), merged);
    }
    Value::Object(target)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::apply;

    /// The examples table of RFC 7386 appendix A: (target, patch, result).
    #[test]
    fn rfc7386_appendix_a_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(
                apply(&target, &patch),
                expected,
                "target {target} patch {patch}"
            );
        }
    }

    #[test]
    fn lists_are_replaced_not_merged() {
        let current = json!({"spec": {"taints": [{"key": "a"}], "unschedulable": true}});
        let patch = json!({"spec": {"taints": [{"key": "b"}]}});
        assert_eq!(
            apply(&current, &patch),
            json!({"spec": {"taints": [{"key": "b"}], "unschedulable": true}})
        );
    }

    #[test]
    fn label_removal_keeps_other_metadata() {
        let current = json!({"metadata": {"name": "n1", "labels": {"a": "1", "b": "2"}}});
        let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}});
        assert_eq!(
            apply(&current, &patch),
            json!({"metadata": {"name": "n1", "labels": {"b": "2", "c": "3"}}})
        );
    }
}

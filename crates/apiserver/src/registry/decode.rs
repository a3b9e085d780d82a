//! Typed decoding of request bodies: upstream's "cannot be handled as" errors and strict field checks.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The canonical form of a decoded object and the fields the typed schema does not know.
pub struct Decoded {
    pub object: Value,
    pub unknown_fields: Vec<String>,
}

/// Decodes `input` as `K` and re-encodes it, so what is stored has exactly the schema's fields.
///
/// The error string is serde's description of the first type mismatch.
pub fn canonicalize<K: Serialize + DeserializeOwned>(input: Value) -> Result<Decoded, String> {
    let typed: K = serde_json::from_value(input.clone()).map_err(|e| e.to_string())?;
    let mut object = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    drop_empty_lists(&mut object);
    let mut unknown_fields = Vec::new();
    unknown(&input, &object, "", &mut unknown_fields);
    Ok(Decoded {
        object,
        unknown_fields,
    })
}

/// Removes empty lists, as Go's `omitempty` does for every list field of the built-in kinds:
/// an emptied `ownerReferences` or `finalizers` must read back as absent, like upstream's.
fn drop_empty_lists(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !matches!(v, Value::Array(items) if items.is_empty()));
            map.values_mut().for_each(drop_empty_lists);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty_lists),
        _ => {}
    }
}

/// Collects the paths present (and non-null) in `input` but dropped by the typed round trip.
fn unknown(input: &Value, output: &Value, path: &str, found: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match kept.get(key) {
                    Some(kept_value) => unknown(value, kept_value, &child, found),
                    // A null or empty value is indistinguishable from an omitted optional field.
                    None if value.is_null() => {}
                    None if is_empty_container(value) => {}
                    None => found.push(child),
                }
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (i, (value, kept_value)) in given.iter().zip(kept).enumerate() {
                unknown(value, kept_value, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().all(|v| v.is_null() || is_empty_container(v)),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DaemonSet;
    use serde_json::json;

    #[test]
    fn reports_unknown_nested_fields_with_their_path() {
        let decoded = canonicalize::<DaemonSet>(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "x", "creationTimestamp": null},
            "spec": {"foo": 1, "template": {"spec": {"containers": [{"name": "c", "bogus": true}]}}}
        }))
        .expect("decodes");
        assert_eq!(
            decoded.unknown_fields,
            vec!["spec.foo", "spec.template.spec.containers[0].bogus"]
        );
        assert!(decoded.object["spec"].get("foo").is_none());
    }

    #[test]
    fn empty_lists_are_stored_as_absent() {
        let decoded = canonicalize::<DaemonSet>(json!({
            "metadata": {"name": "x", "ownerReferences": [], "finalizers": []},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "args": []}]}}}
        }))
        .expect("decodes");
        assert!(decoded.object["metadata"].get("ownerReferences").is_none());
        assert!(decoded.object["metadata"].get("finalizers").is_none());
        assert!(
            decoded.object["spec"]["template"]["spec"]["containers"][0]
                .get("args")
                .is_none()
        );
        assert!(decoded.unknown_fields.is_empty());
    }

    #[test]
    fn type_mismatch_is_an_error() {
        let error = canonicalize::<DaemonSet>(json!({"spec": {"minReadySeconds": "ten"}}));
        assert!(error.is_err());
    }
}

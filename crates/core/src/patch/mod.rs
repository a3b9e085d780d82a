//! Patches applied by the API server: JSON merge patch (RFC 7386) and strategic merge patch.

pub mod merge {
    //! RFC 7386 JSON merge patch.
    use serde_json::Value;

    /// Applies `patch` to `current`: objects merge recursively, `null` removes a key, anything
    /// else replaces the value.
    pub fn apply(current: &Value, patch: &Value) -> Value {
        let Value::Object(changes) = patch else {
            return patch.clone();
        };
        let mut result = match current {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        for (key, change) in changes {
            if change.is_null() {
                result.remove(key);
            } else {
                let merged = apply(result.get(key).unwrap_or(&Value::Null), change);
                result.insert(key.clone(), merged);
            }
        }
        Value::Object(result)
    }
}

pub mod schema {
    //! Merge keys of the kinds the server serves (placeholder until the full table lands).
    /// The strategic-merge schema of one kind.
    pub struct Schema;
    static EMPTY: Schema = Schema;
    impl Schema {
        pub fn for_kind(_kind: &str) -> &'static Schema {
            &EMPTY
        }
    }
}

pub mod strategic {
    //! Strategic merge patch (placeholder: merge-patch semantics until the full version lands).
    use serde_json::Value;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    pub struct PatchError(String);

    pub fn apply(
        current: &Value,
        patch: &Value,
        _schema: &super::schema::Schema,
    ) -> Result<Value, PatchError> {
        if !patch.is_object() {
            return Err(PatchError(
                "a strategic merge patch must be a JSON object".into(),
            ));
        }
        Ok(super::merge::apply(current, patch))
    }
}

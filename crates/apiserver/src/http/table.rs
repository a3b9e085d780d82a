//! Server-side printing: `kubectl get` asks for a `meta.k8s.io/v1` Table and prints its cells.

use http::StatusCode;
use serde_json::{Value, json};

use super::Call;
use super::body::{self, ResponseBody};
use crate::error::ApiError;
use crate::resources::Resource;
use crate::store::StoredObject;

/// A request for Table output and how to embed each row's object.
#[derive(Debug, Clone)]
pub struct TableRequest {
    include: Include,
    /// Leave out column definitions (every watch event after the first).
    pub omit_headers: bool,
}

#[derive(Debug, Clone, Copy)]
enum Include {
    None,
    Metadata,
    Object,
}

impl TableRequest {
    /// A Table is wanted when the Accept header asks for `as=Table` (api.md §3).
    pub fn from_call(call: &Call) -> Option<Self> {
        let accept = call.headers.get(http::header::ACCEPT)?.to_str().ok()?;
        let wants_table = accept.split(',').any(|range| {
            range
                .split(';')
                .any(|p| p.trim().eq_ignore_ascii_case("as=Table"))
        });
        if !wants_table {
            return None;
        }
        let include = match call.query.get("includeObject") {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        };
        Some(Self {
            include,
            omit_headers: false,
        })
    }
}

/// Builds the Table for `objects`.
pub fn table(
    resource: &Resource,
    objects: &[&StoredObject],
    request: &TableRequest,
    revision: Option<u64>,
    continue_token: Option<&str>,
) -> Result<Value, ApiError> {
    let now = k8s_openapi::jiff::Timestamp::now();
    let mut rows = Vec::with_capacity(objects.len());
    for stored in objects {
        // Printing decodes the typed object straight from the stored bytes; only a row that
        // embeds the whole object parses it into a value as well.
        let printed = everynode_core::printers::print_row_json(resource.plural, &stored.json, now)
            .map_err(|e| ApiError::internal(format!("failed to print {}: {e}", resource.plural)))?;
        let mut row = json!({"cells": printed.cells});
        row["object"] = match request.include {
            Include::None => Value::Null,
            Include::Object => stored.value(),
            Include::Metadata => super::metadata::object(stored),
        };
        if !printed.conditions.is_empty() {
            row["conditions"] = json!(printed.conditions);
        }
        rows.push(row);
    }
    let columns: Vec<Value> = if request.omit_headers {
        Vec::new()
    } else {
        everynode_core::printers::column_definitions(resource.plural)
            .iter()
            .map(|c| json!(c))
            .collect()
    };
    let mut metadata = json!({});
    if let Some(revision) = revision {
        metadata["resourceVersion"] = json!(revision.to_string());
    }
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    Ok(json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    }))
}

pub fn respond(table: &Value) -> http::Response<ResponseBody> {
    body::respond(
        StatusCode::OK,
        "application/json;as=Table;v=v1;g=meta.k8s.io",
        serde_json::to_vec(table).unwrap_or_default().into(),
    )
}

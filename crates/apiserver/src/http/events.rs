//! events.k8s.io/v1 Events as a view of the core/v1 Event storage: fields renamed at the HTTP boundary.
//!
//! Upstream stores one internal Event and converts per request version (kubernetes
//! `pkg/apis/events/v1/conversion.go`); api.md §10. Here the stored form is core/v1: request
//! bodies are converted to it before the ordinary handlers run, and every response (objects,
//! lists, Tables, watch events) is converted back on the way out.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Map, Value, json};

use super::body::{self, ResponseBody};
use super::route::Target;
use super::write::View;
use super::{Api, Call};
use crate::error::{ApiError, Cause};
use crate::resources::{self, Resource};

const API_VERSION: &str = "events.k8s.io/v1";
const CORE_API_VERSION: &str = "v1";
const KIND: &str = "Event";

/// `(core/v1 field, events.k8s.io/v1 field)`; every other field has the same name in both.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// Field selectors name fields in the request's version; the index knows the core names
/// (upstream registers the same field label conversions for events.k8s.io).
const SELECTOR_RENAMES: &[(&str, &str)] = &[
    ("regarding.", "involvedObject."),
    ("reportingController", "reportingComponent"),
    ("note", "message"),
    ("deprecatedSource.", "source."),
];

const VIEW: View = View {
    to_external: to_events_v1,
    to_internal: to_core,
};

/// Whether a resource is the events.k8s.io view.
pub fn is_events_v1(resource: &Resource) -> bool {
    resource.group == "events.k8s.io" && resource.plural == "events"
}

impl Api {
    /// Serves a request to events.k8s.io/v1 `events` through the core/v1 handlers.
    pub(super) async fn events_v1(
        &self,
        mut call: Call,
        target: Target,
        bytes: Bytes,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let view = target.resource;
        let core =
            resources::by_storage(view.storage).ok_or_else(|| ApiError::internal("no events"))?;
        if let Some(selector) = call.query.get("fieldSelector") {
            let mut renamed = selector.to_owned();
            for (from, to) in SELECTOR_RENAMES {
                renamed = rename_selector_fields(&renamed, from, to);
            }
            call.query.set("fieldSelector", renamed);
        }
        let watch = call.method == Method::GET && target.name.is_none() && call.query.flag("watch");
        let core_target = Target {
            resource: core,
            ..target
        };
        let result = match (&call.method, &core_target.name, &core_target.subresource) {
            (&Method::POST, None, None) | (&Method::PUT, Some(_), None) => {
                let input = body::decode_object(&call.headers, &bytes)?;
                let name = core_target.name.as_deref().unwrap_or("");
                let object = request_to_core(input, call.method == Method::POST, view, name)?;
                call.headers.insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static(body::JSON),
                );
                let bytes = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
                self.resource(call, core_target, bytes).await
            }
            (&Method::PATCH, Some(name), None) => {
                self.patch_view(&call, &core_target, name, None, &bytes, Some(&VIEW))
                    .await
            }
            _ => self.resource(call, core_target, bytes).await,
        };
        match result {
            Ok(response) if watch => Ok(convert_stream(response)),
            Ok(response) => Ok(convert_response(response).await),
            Err(error) => Err(view_error(error, view)),
        }
    }
}

/// Renames `from` to `to` where it starts a field in a selector like `a=b,c!=d`.
fn rename_selector_fields(selector: &str, from: &str, to: &str) -> String {
    selector
        .split(',')
        .map(|term| match term.trim_start().strip_prefix(from) {
            Some(rest) => format!("{to}{rest}"),
            None => term.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A stored core/v1 Event in its events.k8s.io/v1 form.
pub fn to_events_v1(object: Value) -> Value {
    let Value::Object(mut map) = object else {
        return object;
    };
    map.insert("apiVersion".into(), json!(API_VERSION));
    map.insert("kind".into(), json!(KIND));
    for (core, v1) in RENAMES {
        move_field(&mut map, core, v1);
    }
    Value::Object(map)
}

/// An events.k8s.io/v1 Event in the stored core/v1 form.
pub fn to_core(object: Value) -> Value {
    let Value::Object(mut map) = object else {
        return object;
    };
    map.insert("apiVersion".into(), json!(CORE_API_VERSION));
    map.insert("kind".into(), json!(KIND));
    for (core, v1) in RENAMES {
        move_field(&mut map, v1, core);
    }
    // core/v1 `involvedObject` is required (no omitempty upstream); events.k8s.io `regarding`
    // is optional.
    map.entry("involvedObject").or_insert_with(|| json!({}));
    Value::Object(map)
}

fn move_field(map: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = map.remove(from)
        && !value.is_null()
    {
        map.insert(to.to_owned(), value);
    }
}

/// Checks a create or update body in the events.k8s.io/v1 form and converts it.
fn request_to_core(
    input: Value,
    create: bool,
    view: &Resource,
    url_name: &str,
) -> Result<Value, ApiError> {
    let Value::Object(map) = &input else {
        return Err(ApiError::bad_request(
            "Event in version \"v1\" cannot be handled as a Event: the body is not a JSON object"
                .to_string(),
        ));
    };
    if let Some(kind) = map.get("kind").and_then(Value::as_str)
        && kind != KIND
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({KIND})"
        )));
    }
    if let Some(api_version) = map.get("apiVersion").and_then(Value::as_str)
        && api_version != API_VERSION
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({API_VERSION})"
        )));
    }
    // Core names in an events.k8s.io body are unknown fields there; they must not slip
    // through the conversion as if they were the renamed ones.
    let mut input = input;
    if let Value::Object(map) = &mut input {
        for (core, _) in RENAMES {
            map.remove(*core);
        }
    }
    if create {
        let causes = create_causes(&input);
        if !causes.is_empty() {
            let name = input["metadata"]["name"].as_str().unwrap_or(url_name);
            return Err(ApiError::invalid(view, name, causes));
        }
    }
    Ok(to_core(input))
}

/// Upstream's stricter create validation for events.k8s.io/v1 and newer (kubernetes
/// `pkg/apis/core/validation/events.go ValidateEventCreate`): `eventTime` is required, the
/// deprecated fields must be unset, and the fields a set `eventTime` demands in
/// `legacyValidateEvent` are required.
fn create_causes(event: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let empty = |field: &str| event[field].as_str().is_none_or(str::is_empty);
    if event["eventTime"].is_null() {
        causes.push(Cause::required("eventTime", ""));
    }
    let kind = event["type"].as_str().unwrap_or("");
    if kind != "Normal" && kind != "Warning" {
        causes.push(Cause::invalid(
            "type",
            "\"\"",
            &format!("has invalid value: {kind}"),
        ));
    }
    for field in [
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedCount",
    ] {
        let set = match &event[field] {
            Value::Null => false,
            Value::Number(n) => n.as_i64() != Some(0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if set {
            causes.push(Cause::invalid(field, "\"\"", "needs to be unset"));
        }
    }
    let source = &event["deprecatedSource"];
    if ["component", "host"]
        .iter()
        .any(|f| source[*f].as_str().is_some_and(|s| !s.is_empty()))
    {
        causes.push(Cause::invalid(
            "deprecatedSource",
            "\"\"",
            "needs to be unset",
        ));
    }
    for field in [
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
    ] {
        if empty(field) {
            causes.push(Cause::required(field, ""));
        }
    }
    causes
}

/// Upstream names the group's resource and kind in its messages: `events.events.k8s.io "x" not
/// found`, `Event.events.k8s.io "x" is invalid`.
fn view_error(mut error: ApiError, view: &Resource) -> ApiError {
    for (plain, qualified) in [
        (
            format!("{} \"", view.plural),
            format!("{} \"", view.qualified()),
        ),
        (
            format!("{} \"", view.kind),
            format!("{} \"", view.qualified_kind()),
        ),
    ] {
        if let Some(rest) = error.message.strip_prefix(&plain) {
            error.message = format!("{qualified}{rest}");
            break;
        }
    }
    if let Some(details) = &mut error.details {
        details.group = view.group.to_owned();
    }
    error
}

/// Converts any JSON body that carries Events: an Event, an EventList, a Table whose rows
/// include the objects, or a watch event. Other bodies (Status) pass unchanged.
fn convert_value(value: Value) -> Value {
    match value["kind"].as_str() {
        Some(KIND) => to_events_v1(value),
        Some("EventList") => {
            let Value::Object(mut map) = value else {
                return value;
            };
            map.insert("apiVersion".into(), json!(API_VERSION));
            if let Some(Value::Array(items)) = map.remove("items") {
                let items: Vec<Value> = items.into_iter().map(to_events_v1).collect();
                map.insert("items".into(), Value::Array(items));
            }
            Value::Object(map)
        }
        Some("Table") => {
            let mut value = value;
            if let Some(rows) = value["rows"].as_array_mut() {
                for row in rows {
                    if row["object"]["kind"] == KIND {
                        row["object"] = to_events_v1(row["object"].take());
                    }
                }
            }
            value
        }
        _ => value,
    }
}

/// A buffered response converted; bodies that are not JSON pass unchanged.
async fn convert_response(response: http::Response<ResponseBody>) -> http::Response<ResponseBody> {
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    if parts.status == StatusCode::NO_CONTENT {
        return http::Response::from_parts(parts, http_body_util::Full::new(bytes).boxed_unsync());
    }
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) => Bytes::from(serde_json::to_vec(&convert_value(value)).unwrap_or_default()),
        Err(_) => bytes,
    };
    http::Response::from_parts(parts, http_body_util::Full::new(bytes).boxed_unsync())
}

/// A watch stream converted line by line: each line is one `{"type":…,"object":…}` event.
fn convert_stream(response: http::Response<ResponseBody>) -> http::Response<ResponseBody> {
    let (parts, body) = response.into_parts();
    let lines = body
        .into_data_stream()
        .scan(BytesMut::new(), |pending, chunk| {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(never) => match never {},
            };
            pending.extend_from_slice(&chunk);
            let mut out = BytesMut::new();
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line = pending.split_to(end + 1);
                out.extend_from_slice(&convert_watch_line(&line));
            }
            futures::future::ready(Some(out.freeze()))
        })
        .filter(|chunk| futures::future::ready(!chunk.is_empty()))
        .map(|chunk| Ok(http_body::Frame::data(chunk)));
    http::Response::from_parts(parts, StreamBody::new(lines).boxed_unsync())
}

fn convert_watch_line(line: &[u8]) -> Bytes {
    let Ok(mut event) = serde_json::from_slice::<Value>(line) else {
        return Bytes::copy_from_slice(line);
    };
    if event["type"] != "ERROR" {
        event["object"] = convert_value(event["object"].take());
    }
    let mut bytes = serde_json::to_vec(&event).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_between_versions() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "a.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "a"},
            "message": "hi", "reason": "Started", "type": "Normal",
            "source": {"component": "kubelet"}, "count": 2,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:01Z",
            "reportingComponent": "kubelet", "eventTime": null,
        });
        let v1 = to_events_v1(core.clone());
        assert_eq!(v1["apiVersion"], API_VERSION);
        assert_eq!(v1["regarding"]["name"], "a");
        assert_eq!(v1["note"], "hi");
        assert_eq!(v1["deprecatedCount"], 2);
        assert_eq!(v1["deprecatedSource"]["component"], "kubelet");
        assert_eq!(v1["reportingController"], "kubelet");
        assert!(v1.get("message").is_none() && v1.get("involvedObject").is_none());
        assert_eq!(to_core(v1), core);
    }

    #[test]
    fn create_requires_event_time_and_unset_deprecated_fields() {
        let fields =
            |v: &Value| -> Vec<String> { create_causes(v).iter().map(|c| c.to_string()).collect() };
        let good = json!({"eventTime": "2026-01-01T00:00:00.000000Z", "type": "Normal",
            "reportingController": "x/y", "reportingInstance": "i", "action": "A", "reason": "R"});
        assert!(fields(&good).is_empty(), "{:?}", fields(&good));
        let mut bad = good.clone();
        bad["eventTime"] = Value::Null;
        bad["deprecatedCount"] = json!(3);
        let errors = fields(&bad).join("; ");
        assert!(errors.contains("eventTime: Required value"), "{errors}");
        assert!(errors.contains("deprecatedCount"), "{errors}");
    }

    #[test]
    fn selectors_and_lists_use_the_view_names() {
        assert_eq!(
            rename_selector_fields(
                "regarding.name=a,type=Normal",
                "regarding.",
                "involvedObject."
            ),
            "involvedObject.name=a,type=Normal"
        );
        let list = convert_value(json!({"kind": "EventList", "apiVersion": "v1",
            "items": [{"message": "m", "involvedObject": {}}]}));
        assert_eq!(list["apiVersion"], API_VERSION);
        assert_eq!(list["items"][0]["note"], "m");
        assert_eq!(list["items"][0]["kind"], KIND);
    }
}

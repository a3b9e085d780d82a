//! core/v1 Event rows: LAST SEEN TYPE REASON OBJECT [SUBOBJECT SOURCE] MESSAGE [FIRST SEEN COUNT NAME] (upstream `printEvent`).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use serde_json::Value;

use super::{ColumnDefinition, col, name_column, wide};
use crate::duration::{translate_micro_timestamp_since, translate_timestamp_since};

/// Upstream event column definitions (NAME last, at priority 1).
pub fn column_definitions() -> Vec<ColumnDefinition> {
    let mut name = name_column();
    name.priority = 1;
    vec![
        col(
            "Last Seen",
            "string",
            "Time since the event was last observed.",
        ),
        col("Type", "string", "Event type, Normal or Warning."),
        col("Reason", "string", "Short machine-readable reason."),
        col(
            "Object",
            "string",
            "The object the event is about, as kind/name.",
        ),
        wide(
            "Subobject",
            "string",
            "Field path inside the object, if any.",
        ),
        wide(
            "Source",
            "string",
            "Component (and host) that reported the event.",
        ),
        col("Message", "string", "Human-readable description."),
        wide(
            "First Seen",
            "string",
            "Time since the event was first observed.",
        ),
        wide("Count", "string", "Number of occurrences."),
        name,
    ]
}

/// Upstream `formatEventSource`: component (or reportingController), then `, host` (or
/// reportingInstance) when present.
pub fn format_event_source(event: &Event) -> String {
    let source = event.source.as_ref();
    let first_non_empty = |a: Option<&str>, b: Option<&str>| {
        [a, b]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .unwrap_or("")
            .to_string()
    };
    let component = first_non_empty(
        source.and_then(|s| s.component.as_deref()),
        event.reporting_component.as_deref(),
    );
    let instance = first_non_empty(
        source.and_then(|s| s.host.as_deref()),
        event.reporting_instance.as_deref(),
    );
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}

/// Upstream `printEvent` cells, wide columns included.
pub fn row_cells(event: &Event, now: Timestamp) -> Vec<Value> {
    let first_seen = match &event.first_timestamp {
        Some(t) => translate_timestamp_since(Some(t), now),
        None => translate_micro_timestamp_since(event.event_time.as_ref(), now),
    };
    let mut last_seen = match &event.last_timestamp {
        Some(t) => translate_timestamp_since(Some(t), now),
        None => first_seen.clone(),
    };
    let mut count = event.count.unwrap_or(0);
    if let Some(series) = &event.series {
        last_seen = translate_micro_timestamp_since(series.last_observed_time.as_ref(), now);
        count = series.count.unwrap_or(0);
    } else if count == 0 {
        // Singleton events written through events.k8s.io have no count.
        count = 1;
    }
    let involved = &event.involved_object;
    let kind = involved.kind.as_deref().unwrap_or("").to_lowercase();
    let target = match involved.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{kind}/{name}"),
        _ => kind,
    };
    vec![
        Value::from(last_seen),
        Value::from(event.type_.clone().unwrap_or_default()),
        Value::from(event.reason.clone().unwrap_or_default()),
        Value::from(target),
        Value::from(involved.field_path.clone().unwrap_or_default()),
        Value::from(format_event_source(event)),
        Value::from(event.message.as_deref().unwrap_or("").trim()),
        Value::from(first_seen),
        Value::from(i64::from(count)),
        Value::from(event.metadata.name.clone().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(v: Value) -> Event {
        serde_json::from_value(v).expect("valid event")
    }

    #[test]
    fn print_event_like_upstream_test_print_event() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let cases = [
            (
                "basic event",
                json!({
                    "metadata": {"name": "event1"},
                    "source": {"component": "kubelet", "host": "Node1"},
                    "involvedObject": {"kind": "Pod", "name": "Pod Name", "fieldPath": "spec.containers{foo}"},
                    "reason": "Event Reason", "message": "Message Data ",
                    "firstTimestamp": "2024-04-28T12:00:00Z", "lastTimestamp": "2024-04-30T12:00:00Z",
                    "count": 6, "type": "Normal"
                }),
                json!([
                    "24h",
                    "Normal",
                    "Event Reason",
                    "pod/Pod Name",
                    "spec.containers{foo}",
                    "kubelet, Node1",
                    "Message Data",
                    "3d",
                    6,
                    "event1"
                ]),
            ),
            (
                "no first timestamp uses eventTime; no last uses first; no count is 1",
                json!({
                    "metadata": {"name": "event2"},
                    "reportingComponent": "daemonset-controller",
                    "involvedObject": {"kind": "DaemonSet", "name": "ds"},
                    "eventTime": "2024-05-01T11:58:00.000000Z", "type": "Warning"
                }),
                json!([
                    "2m",
                    "Warning",
                    "",
                    "daemonset/ds",
                    "",
                    "daemonset-controller",
                    "",
                    "2m",
                    1,
                    "event2"
                ]),
            ),
            (
                "series overrides last seen and count",
                json!({
                    "metadata": {"name": "event3"},
                    "source": {"component": "c"}, "reportingInstance": "i",
                    "involvedObject": {"kind": "Node"},
                    "firstTimestamp": "2024-05-01T11:00:00Z", "lastTimestamp": "2024-05-01T11:30:00Z",
                    "count": 2, "series": {"count": 9, "lastObservedTime": "2024-05-01T11:59:00.000000Z"}
                }),
                json!(["60s", "", "", "node", "", "c, i", "", "60m", 9, "event3"]),
            ),
            (
                "nothing known",
                json!({"metadata": {"name": "e"}, "involvedObject": {}}),
                json!(["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "e"]),
            ),
        ];
        for (name, e, want) in cases {
            assert_eq!(Value::from(row_cells(&event(e), now)), want, "{name}");
        }
        let names: Vec<&str> = column_definitions().iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ]
        );
    }
}

//! Reads: get, list (selectors, limit/continue, Table), and watch (replay, filtering, bookmarks).

use std::time::Duration;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::{StatusCode, header};
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::filter::Filter;
use super::route::Target;
use super::table::{self, TableRequest};
use super::{Api, Call};
use crate::error::ApiError;
use crate::resources::Resource;
use crate::store::{EventType, Key, Listing, StoredObject, WatchEvent, WatchOutcome};

/// How often an idle watch that allows bookmarks gets one (upstream sends about once a minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

impl Api {
    pub(super) fn key(&self, target: &Target, name: &str) -> Result<Key, ApiError> {
        let namespace = match (target.resource.namespaced, &target.namespace) {
            (true, Some(ns)) => ns.clone(),
            (true, None) => return Err(ApiError::no_route()),
            (false, _) => String::new(),
        };
        Ok(Key {
            resource: target.resource.storage,
            namespace,
            name: name.to_owned(),
        })
    }

    pub(super) fn get(
        &self,
        call: &Call,
        target: &Target,
        name: &str,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let key = self.key(target, name)?;
        let object = self
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(target.resource, name))?;
        if let Some(request) = TableRequest::from_call(call) {
            let table = table::table(target.resource, &[&*object], &request, None, None)?;
            return Ok(table::respond(&table));
        }
        Ok(body::json_bytes(StatusCode::OK, object.json.clone()))
    }

    pub(super) fn list(
        &self,
        call: &Call,
        target: &Target,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let filter = Filter::from_query(resource, &call.query)?;
        let limit = call.query.integer("limit")?.unwrap_or(0).max(0) as usize;
        let start_after = match call.query.get("continue") {
            None | Some("") => None,
            Some(token) => Some(decode_continue(token)?),
        };
        let listing = self.store.list(
            resource.storage,
            target.namespace.as_deref(),
            start_after.as_ref(),
            limit,
            |object| filter.matches(object),
        );
        let continue_token = listing.continue_after.as_ref().map(encode_continue);
        if let Some(request) = TableRequest::from_call(call) {
            let items: Vec<&StoredObject> = listing.items.iter().map(|o| &**o).collect();
            let table = table::table(
                resource,
                &items,
                &request,
                Some(listing.revision),
                continue_token.as_deref(),
            )?;
            return Ok(table::respond(&table));
        }
        Ok(body::json_bytes(
            StatusCode::OK,
            list_bytes(resource, &listing, continue_token.as_deref()),
        ))
    }

    pub(super) fn watch(
        &self,
        call: &Call,
        target: &Target,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let filter = Filter::from_query(resource, &call.query)?;
        let namespace = target.namespace.clone();
        let from = call.query.resource_version()?.filter(|rv| *rv != 0);
        let bookmarks = call.query.flag("allowWatchBookmarks");
        let timeout = match call.query.integer("timeoutSeconds")? {
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds as u64),
            // Upstream picks 1800–3600 s when the client does not say; kubectl exits when the
            // stream ends, so never close early.
            _ => Duration::from_secs(1800 + rand::random_range(0..1800)),
        };
        let table = TableRequest::from_call(call);
        // Unset or 0: start with synthetic ADDED events for the current state (api.md §4).
        let initial = match from {
            None => Some(self.store.list(
                resource.storage,
                namespace.as_deref(),
                None,
                0,
                |object| filter.matches(object),
            )),
            Some(_) => None,
        };
        let start = initial.as_ref().map(|listing| listing.revision).or(from);
        let mut watcher = match self.store.watch(start) {
            Ok(watcher) => watcher,
            Err(WatchOutcome::Expired { requested, oldest }) => {
                return Err(ApiError::expired(format!(
                    "too old resource version: {requested} ({oldest})"
                )));
            }
            Err(_) => return Err(ApiError::service_unavailable("the store is closed")),
        };
        let (sender, chunks) = tokio::sync::mpsc::channel::<Bytes>(64);
        let content_type = if table.is_some() {
            "application/json;as=Table;v=v1;g=meta.k8s.io"
        } else {
            body::JSON
        };
        tokio::spawn(async move {
            let mut encoder = EventEncoder { resource, table };
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            if let Some(listing) = initial {
                for object in &listing.items {
                    let line = encoder.encode("ADDED", object);
                    if sender.send(line).await.is_err() {
                        return;
                    }
                }
            }
            let matches = |object: &StoredObject| {
                namespace.as_ref().is_none_or(|ns| *ns == object.namespace)
                    && filter.matches(object)
            };
            loop {
                let outcome = tokio::select! {
                    outcome = watcher.next() => outcome,
                    _ = &mut deadline => return,
                    _ = tokio::time::sleep(BOOKMARK_INTERVAL), if bookmarks => {
                        let line = bookmark(resource, watcher.cursor());
                        if sender.send(line).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    _ = sender.closed() => return,
                };
                match outcome {
                    WatchOutcome::Events(events) => {
                        for event in events
                            .iter()
                            .filter(|e| e.object.resource == resource.storage)
                        {
                            if let Some((kind, object)) = visible(event, &matches)
                                && sender.send(encoder.encode(kind, object)).await.is_err()
                            {
                                return;
                            }
                        }
                    }
                    WatchOutcome::Expired { requested, oldest } => {
                        let status = ApiError::expired(format!(
                            "too old resource version: {requested} ({oldest})"
                        ))
                        .status();
                        let line = json!({"type": "ERROR", "object": status});
                        let _ = sender.send(line_bytes(&line)).await;
                        return;
                    }
                    WatchOutcome::Closed => return,
                }
            }
        });
        let mut response = body::stream(content_type, chunks);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-cache, private"),
        );
        Ok(response)
    }
}

/// What a filtered watcher sees of an event: an object entering the filter is ADDED, one leaving
/// it is DELETED (as upstream's watch cache does), others pass with their own type.
fn visible<'a>(
    event: &'a WatchEvent,
    matches: &impl Fn(&StoredObject) -> bool,
) -> Option<(&'static str, &'a StoredObject)> {
    let now = matches(&event.object);
    let before = event.previous.as_deref().is_some_and(matches);
    match event.event {
        EventType::Added => now.then_some(("ADDED", &*event.object)),
        EventType::Deleted => (now || before).then_some(("DELETED", &*event.object)),
        EventType::Modified => match (before, now) {
            (true, true) => Some(("MODIFIED", &*event.object)),
            (false, true) => Some(("ADDED", &*event.object)),
            (true, false) => Some(("DELETED", &*event.object)),
            (false, false) => None,
        },
    }
}

/// Encodes watch events as newline-delimited compact JSON, splicing the stored bytes in.
struct EventEncoder {
    resource: &'static Resource,
    table: Option<TableRequest>,
}

impl EventEncoder {
    fn encode(&mut self, kind: &str, object: &StoredObject) -> Bytes {
        if let Some(request) = &mut self.table {
            let rows = table::table(self.resource, &[object], request, None, None);
            // Column definitions go only with the first event (upstream's watch encoder).
            request.omit_headers = true;
            return match rows {
                Ok(table) => line_bytes(&json!({"type": kind, "object": table})),
                Err(error) => line_bytes(&json!({"type": "ERROR", "object": error.status()})),
            };
        }
        let mut line = BytesMut::with_capacity(object.json.len() + 32);
        line.put_slice(b"{\"type\":\"");
        line.put_slice(kind.as_bytes());
        line.put_slice(b"\",\"object\":");
        line.put_slice(&object.json);
        line.put_slice(b"}\n");
        line.freeze()
    }
}

fn bookmark(resource: &Resource, revision: u64) -> Bytes {
    line_bytes(&json!({
        "type": "BOOKMARK",
        "object": {
            "kind": resource.kind,
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": revision.to_string()},
        },
    }))
}

fn line_bytes(value: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// A `<Kind>List` built from the stored bytes without re-encoding the items.
pub(super) fn list_bytes(
    resource: &Resource,
    listing: &Listing,
    continue_token: Option<&str>,
) -> Bytes {
    let mut metadata = json!({"resourceVersion": listing.revision.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    let size: usize = listing.items.iter().map(|o| o.json.len() + 1).sum();
    let mut out = BytesMut::with_capacity(size + 256);
    out.put_slice(
        format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
            resource.kind,
            resource.api_version(),
            metadata
        )
        .as_bytes(),
    );
    for (i, object) in listing.items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&object.json);
    }
    out.put_slice(b"]}");
    out.freeze()
}

/// Continue tokens name the last key returned; the next page starts after it.
fn encode_continue(key: &(String, String)) -> String {
    let raw = json!([key.0, key.1]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let invalid = || ApiError::bad_request(format!("invalid continue token: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    serde_json::from_slice::<(String, String)>(&raw).map_err(|_| invalid())
}

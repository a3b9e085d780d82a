//! Reads: get, list (selectors, limit/continue, Table, metadata only), and watch (replay, filtering, bookmarks).

use std::time::Duration;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use http::{StatusCode, header};
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::filter::Filter;
use super::metadata;
use super::route::Target;
use super::table::{self, TableRequest};
use super::{Api, Call};
use crate::error::ApiError;
use crate::error::Cause;
use crate::resources::Resource;
use crate::store::{EventType, Key, ListError, Listing, StoredObject, WatchEvent, WatchOutcome};

/// How often an idle watch that allows bookmarks gets one (upstream sends about once a minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);
/// How long a read waits for a resourceVersion the store has not reached (upstream's watch
/// cache `blockTimeout`).
const TOO_LARGE_WAIT: Duration = Duration::from_secs(3);

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
        if metadata::wanted(call) {
            let partial = serde_json::to_vec(&metadata::object(&object)).unwrap_or_default();
            return Ok(body::respond(
                StatusCode::OK,
                metadata::CONTENT_TYPE,
                partial.into(),
            ));
        }
        Ok(body::json_bytes(StatusCode::OK, object.json.clone()))
    }

    pub(super) async fn list(
        &self,
        call: &Call,
        target: &Target,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let filter = Filter::from_query(resource, &call.query)?;
        let limit =
            usize::try_from(call.query.integer("limit")?.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
        let consistency = ListConsistency::from_query(&call.query, limit > 0)?;
        let at = match &consistency {
            ListConsistency::Latest => None,
            ListConsistency::NotOlderThan(revision) => {
                self.wait_for_revision(*revision).await?;
                None
            }
            ListConsistency::Exact(revision) => {
                self.wait_for_revision(*revision).await?;
                Some(*revision)
            }
            ListConsistency::Continue(token) => token.revision,
        };
        let start_after = match &consistency {
            ListConsistency::Continue(token) => Some(&token.start_after),
            _ => None,
        };
        let namespace = target.namespace.as_deref();
        let matches = |object: &StoredObject| filter.matches(object);
        let listing = match at {
            None => self
                .store
                .list(resource.storage, namespace, start_after, limit, matches),
            Some(revision) => self
                .store
                .list_at(
                    resource.storage,
                    namespace,
                    start_after,
                    limit,
                    revision,
                    matches,
                )
                .map_err(|error| match (error, &consistency) {
                    (ListError::Compacted { .. }, ListConsistency::Continue(token)) => {
                        // Go on at the newest revision if the client accepts the gap.
                        ApiError::continue_expired(encode_continue(&token.start_after, None))
                    }
                    (ListError::Compacted { .. }, _) => {
                        ApiError::expired("The resourceVersion for the provided list is too old.")
                    }
                    (ListError::TooLarge { current }, _) => {
                        ApiError::resource_version_too_large(revision, current)
                    }
                })?,
        };
        // The next page continues at the revision of this one, so pages are consistent.
        let continue_token = listing
            .continue_after
            .as_ref()
            .map(|key| encode_continue(key, Some(listing.revision)));
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
        if metadata::wanted(call) {
            let items = listing.items.iter().map(|o| &**o);
            let list = metadata::list(items, listing.revision, continue_token.as_deref());
            return Ok(body::respond(
                StatusCode::OK,
                metadata::LIST_CONTENT_TYPE,
                list,
            ));
        }
        Ok(body::json_bytes(
            StatusCode::OK,
            list_bytes(resource, &listing, continue_token.as_deref()),
        ))
    }

    /// Waits (up to upstream's 3 s) for the store to reach `revision`; a revision that does not
    /// arrive is upstream's 504 "Too large resource version".
    async fn wait_for_revision(&self, revision: u64) -> Result<(), ApiError> {
        if self.store.revision() >= revision
            || self.store.wait_for_revision(revision, TOO_LARGE_WAIT).await
        {
            return Ok(());
        }
        Err(ApiError::resource_version_too_large(
            revision,
            self.store.revision(),
        ))
    }

    pub(super) async fn watch(
        &self,
        call: &Call,
        target: &Target,
    ) -> Result<http::Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        let filter = Filter::from_query(resource, &call.query)?;
        let namespace = target.namespace.clone();
        let from = call.query.resource_version()?.filter(|rv| *rv != 0);
        if let Some(revision) = from {
            // A revision from the future: wait for it, as upstream's watch cache does.
            self.wait_for_revision(revision).await?;
        }
        let bookmarks = call.query.flag("allowWatchBookmarks");
        let timeout = match call.query.integer("timeoutSeconds")? {
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds as u64),
            // Upstream picks 1800–3600 s when the client does not say; kubectl exits when the
            // stream ends, so never close early.
            _ => Duration::from_secs(1800 + rand::random_range(0..1800)),
        };
        let table = TableRequest::from_call(call);
        let metadata_only = table.is_none() && metadata::wanted(call);
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
        } else if metadata_only {
            metadata::CONTENT_TYPE
        } else {
            body::JSON
        };
        tokio::spawn(async move {
            let mut encoder = EventEncoder {
                resource,
                table,
                metadata_only,
            };
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
                        let line = encoder.bookmark(watcher.cursor());
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
    /// Each object as its PartialObjectMetadata.
    metadata_only: bool,
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
        if self.metadata_only {
            return line_bytes(&json!({"type": kind, "object": metadata::object(object)}));
        }
        let mut line = BytesMut::with_capacity(object.json.len() + 32);
        line.put_slice(b"{\"type\":\"");
        line.put_slice(kind.as_bytes());
        line.put_slice(b"\",\"object\":");
        line.put_slice(&object.json);
        line.put_slice(b"}\n");
        line.freeze()
    }

    /// A BOOKMARK at `revision`, its object of the kind the watch delivers (a metadata-only
    /// watch's decoder knows only PartialObjectMetadata).
    fn bookmark(&self, revision: u64) -> Bytes {
        let metadata = json!({"resourceVersion": revision.to_string()});
        let object = if self.metadata_only {
            metadata::partial(metadata)
        } else {
            json!({
                "kind": self.resource.kind,
                "apiVersion": self.resource.api_version(),
                "metadata": metadata,
            })
        };
        line_bytes(&json!({"type": "BOOKMARK", "object": object}))
    }
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

/// What a list reads, from `resourceVersion`, `resourceVersionMatch` and `continue` (upstream
/// `ValidateListOptions` and the storage layer's reading of them).
enum ListConsistency {
    /// The newest state: no resourceVersion, or "0" (any state will do; ours is the newest).
    Latest,
    /// At least this fresh: the newest state once the store has reached it.
    NotOlderThan(u64),
    /// Exactly the state at this revision.
    Exact(u64),
    /// The next page of an earlier list.
    Continue(ContinueToken),
}

impl ListConsistency {
    fn from_query(query: &super::query::Query, paging: bool) -> Result<Self, ApiError> {
        let raw_version = query.get("resourceVersion").unwrap_or("");
        let raw_match = query.get("resourceVersionMatch").unwrap_or("");
        let raw_continue = query.get("continue").unwrap_or("");
        let mut causes = Vec::new();
        if !raw_match.is_empty() {
            let field = "resourceVersionMatch";
            if raw_version.is_empty() {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if !raw_continue.is_empty() {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if raw_match != "Exact" && raw_match != "NotOlderThan" {
                causes.push(Cause::not_supported(
                    field,
                    raw_match,
                    &["Exact", "NotOlderThan", ""],
                ));
            }
            if raw_match == "Exact" && raw_version == "0" {
                causes.push(Cause::forbidden(
                    field,
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if !causes.is_empty() {
            return Err(ApiError::invalid_options("ListOptions", causes));
        }
        if !raw_continue.is_empty() {
            if !raw_version.is_empty() && raw_version != "0" {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            return Ok(Self::Continue(decode_continue(raw_continue)?));
        }
        Ok(match (query.resource_version()?, raw_match) {
            (None | Some(0), _) => Self::Latest,
            (Some(revision), "Exact") => Self::Exact(revision),
            // Without a match, a paged list reads at exactly the revision (upstream's legacy
            // rule, served from etcd); an unpaged one at least at it.
            (Some(revision), "") if paging => Self::Exact(revision),
            (Some(revision), _) => Self::NotOlderThan(revision),
        })
    }
}

/// A continue token: the last key returned, and the revision the list was read at (`None`:
/// continue at the newest revision, the inconsistent continuation upstream offers with 410).
#[derive(Debug, PartialEq)]
struct ContinueToken {
    start_after: (String, String),
    revision: Option<u64>,
}

/// Upstream's token layout (`storage.EncodeContinue`): base64 of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":…}`, with rv -1 for "at the newest revision".
fn encode_continue(key: &(String, String), revision: Option<u64>) -> String {
    let rv = revision.map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX));
    let raw = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": [key.0, key.1]}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    let invalid = || ApiError::bad_request(format!("invalid continue token: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    if value["v"] != "meta.k8s.io/v1" {
        return Err(invalid());
    }
    let start_after: (String, String) =
        serde_json::from_value(value["start"].clone()).map_err(|_| invalid())?;
    let revision = match value["rv"].as_i64() {
        Some(-1) => None,
        Some(rv) if rv > 0 => Some(rv.unsigned_abs()),
        _ => return Err(invalid()),
    };
    Ok(ContinueToken {
        start_after,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::query::Query;

    fn consistency(query: &str, paging: bool) -> Result<ListConsistency, ApiError> {
        ListConsistency::from_query(&Query::parse(Some(query)), paging)
    }

    #[test]
    fn bookmarks_carry_the_kind_the_watch_delivers() {
        let pods = crate::resources::find("", "v1", "pods").expect("pods are served");
        let bookmark = |metadata_only| {
            let encoder = EventEncoder {
                resource: pods,
                table: None,
                metadata_only,
            };
            let line = encoder.bookmark(7);
            serde_json::from_slice::<Value>(&line).expect("json")
        };
        let plain = bookmark(false);
        assert_eq!(plain["type"], "BOOKMARK");
        assert_eq!(
            (&plain["object"]["kind"], &plain["object"]["apiVersion"]),
            (&json!("Pod"), &json!("v1"))
        );
        let partial = bookmark(true);
        assert_eq!(
            (&partial["object"]["kind"], &partial["object"]["apiVersion"]),
            (&json!("PartialObjectMetadata"), &json!("meta.k8s.io/v1"))
        );
        assert_eq!(partial["object"]["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn continue_tokens_round_trip_with_their_revision() {
        let key = ("default".to_owned(), "web-0".to_owned());
        for revision in [Some(42), None] {
            let token = decode_continue(&encode_continue(&key, revision)).expect("decodes");
            assert_eq!(
                token,
                ContinueToken {
                    start_after: key.clone(),
                    revision
                }
            );
        }
        for bad in ["", "!!", "e30", "WyJhIiwiYiJd"] {
            let error = decode_continue(bad).expect_err("refused");
            assert_eq!(error.code, 400, "{bad}");
        }
    }

    #[test]
    fn resource_version_match_needs_a_resource_version() {
        let error = consistency("resourceVersionMatch=NotOlderThan", false).err();
        let error = error.expect("refused");
        assert_eq!(error.code, 422);
        assert_eq!(
            error.message,
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
        );
        let error = consistency("resourceVersion=0&resourceVersionMatch=Exact", false).err();
        assert_eq!(error.map(|e| e.code), Some(422));
        let error = consistency("resourceVersion=5&resourceVersionMatch=Newest", false).err();
        assert_eq!(error.map(|e| e.code), Some(422));
    }

    #[test]
    fn resource_versions_pick_the_consistency() {
        let pick = |query: &str, paging: bool| match consistency(query, paging) {
            Ok(ListConsistency::Latest) => "latest".to_owned(),
            Ok(ListConsistency::NotOlderThan(rv)) => format!("not-older-than {rv}"),
            Ok(ListConsistency::Exact(rv)) => format!("exact {rv}"),
            Ok(ListConsistency::Continue(_)) => "continue".to_owned(),
            Err(e) => format!("{}", e.code),
        };
        assert_eq!(pick("", false), "latest");
        assert_eq!(pick("resourceVersion=0", true), "latest");
        assert_eq!(pick("resourceVersion=7", false), "not-older-than 7");
        assert_eq!(pick("resourceVersion=7", true), "exact 7");
        assert_eq!(
            pick("resourceVersion=7&resourceVersionMatch=NotOlderThan", true),
            "not-older-than 7"
        );
        assert_eq!(
            pick("resourceVersion=7&resourceVersionMatch=Exact", false),
            "exact 7"
        );
        let token = encode_continue(&("a".into(), "b".into()), Some(3));
        assert_eq!(pick(&format!("continue={token}"), true), "continue");
        assert_eq!(
            pick(&format!("continue={token}&resourceVersion=3"), true),
            "400"
        );
    }
}

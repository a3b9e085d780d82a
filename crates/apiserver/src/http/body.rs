//! Request bodies in (JSON, YAML, protobuf) and responses out (JSON, Status errors, streams).

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::Value;

use crate::error::ApiError;

/// The body type of every response.
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

/// The error type bodies of any origin (hyper, kube) convert into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Requests larger than this get 413, as kube-apiserver's 3 MiB object limit.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub const JSON: &str = "application/json";
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`].
pub async fn read<B>(body: B) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::too_large(
            "the request body is larger than the 3 MiB limit",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "failed to read the request body: {e}"
        ))),
    }
}

/// The media type of a request, without parameters, lowercased.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Decodes an object body according to its Content-Type.
pub fn decode_object(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    let media = content_type(headers);
    match media.as_str() {
        "" | JSON | "*/*" => decode_json(bytes),
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid YAML: {e}"))),
        PROTOBUF => everynode_core::protobuf::decode_body(bytes)
            .map_err(|e| ApiError::unsupported_media_type(e.to_string())),
        other => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format ({other}) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        ))),
    }
}

pub fn decode_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// A JSON response from already-serialized bytes.
pub fn json_bytes(code: StatusCode, bytes: impl Into<Bytes>) -> Response<ResponseBody> {
    respond(code, JSON, bytes.into())
}

pub fn json(code: StatusCode, value: &Value) -> Response<ResponseBody> {
    json_bytes(code, serde_json::to_vec(value).unwrap_or_default())
}

pub fn respond(code: StatusCode, content_type: &str, bytes: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(bytes).boxed_unsync());
    *response.status_mut() = code;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

pub fn error(error: &ApiError) -> Response<ResponseBody> {
    let code = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(code, &error.status());
    if let Some(seconds) = error.details.as_ref().and_then(|d| d.retry_after_seconds)
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A streaming response (watch, followed logs): each received chunk is flushed as it comes.
pub fn stream(
    content_type: &str,
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
) -> Response<ResponseBody> {
    use futures::StreamExt;
    let frames = tokio_stream::wrappers::ReceiverStream::new(chunks)
        .map(|chunk| Ok::<_, Infallible>(http_body::Frame::data(chunk)));
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Adds `Warning: 299 - "text"` headers, which kubectl prints as `Warning: text`.
pub fn add_warnings(response: &mut Response<ResponseBody>, warnings: &[String]) {
    for warning in warnings {
        let text = format!("299 - \"{}\"", warning.replace('"', "'"));
        if let Ok(value) = header::HeaderValue::from_str(&text) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
}

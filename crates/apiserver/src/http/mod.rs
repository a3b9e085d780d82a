//! The HTTP API: one tower service that routes Kubernetes REST requests to the store.
//!
//! The same [`ApiService`] serves kubectl over HTTPS (behind TLS and bearer-token checks, see
//! `server`) and in-process components through `kube::Client::new(service)`.

pub mod body;
pub mod delete;
mod discovery;
mod events;
mod filter;
mod metadata;
mod openapi;
mod openapi_schemas;
mod openapi_v2;
mod query;
mod read;
mod review;
pub mod route;
mod scale;
mod subresource;
mod table;
mod write;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};

use crate::error::ApiError;
use crate::store::Store;
use body::ResponseBody;
use query::Query;
use route::{Route, Target};

/// Settings of the API server's own behaviour.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// `tolerationSeconds` of the not-ready/unreachable tolerations added to pods (upstream 300).
    pub default_toleration_seconds: i64,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            default_toleration_seconds: 300,
        }
    }
}

/// The API server's state shared by all requests.
pub struct Api {
    pub store: Store,
    pub options: ApiOptions,
}

/// The tower service answering Kubernetes API requests.
#[derive(Clone)]
pub struct ApiService {
    api: Arc<Api>,
}

impl ApiService {
    pub fn new(store: Store, options: ApiOptions) -> Self {
        Self {
            api: Arc::new(Api { store, options }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.api.store
    }

    pub(crate) fn api(&self) -> &Api {
        &self.api
    }

    /// Answers one request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<body::BoxError>,
    {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = match self.api.route(request).await {
            Ok(response) => response,
            Err(error) => body::error(&error),
        };
        tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
        response
    }
}

impl<B> tower::Service<Request<B>> for ApiService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<body::BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.handle(request).await) })
    }
}

/// What a handler needs of the request besides the body.
pub struct Call {
    pub method: Method,
    pub headers: http::HeaderMap,
    pub query: Query,
}

impl Api {
    async fn route<B>(&self, request: Request<B>) -> Result<Response<ResponseBody>, ApiError>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<body::BoxError>,
    {
        let (parts, body) = request.into_parts();
        let call = Call {
            method: parts.method,
            headers: parts.headers,
            query: Query::parse(parts.uri.query()),
        };
        // No metrics exist for simulated containers; kubectl top is told so (not "not found").
        if let Some(answer) = discovery::metrics::serve(&call.method, parts.uri.path()) {
            return answer;
        }
        let route = route::parse(parts.uri.path()).ok_or_else(ApiError::no_route)?;
        let read_only = matches!(call.method, Method::GET | Method::HEAD);
        match route {
            Route::Version if read_only => Ok(discovery::version()),
            Route::Health(_) if read_only => Ok(body::respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                Bytes::from_static(b"ok"),
            )),
            Route::CoreGroups if read_only => Ok(discovery::core_groups(&call)),
            Route::Groups if read_only => Ok(discovery::groups(&call)),
            Route::GroupVersion { group, version } if read_only => {
                discovery::resource_list(&group, &version)
            }
            Route::OpenApiV3Index if read_only => Ok(openapi::index()),
            Route::OpenApiV3Document(path) if read_only => openapi::document(&path),
            // kubectl ≤ 1.27 reads only v2 for its validation decision (api.md §2).
            Route::OpenApiV2 if read_only => Ok(openapi_v2::document(&call)),
            Route::Resource(target) => {
                let bytes = body::read(body).await?;
                if events::is_events_v1(target.resource) {
                    return self.events_v1(call, target, bytes).await;
                }
                self.resource(call, target, bytes).await
            }
            Route::Bindings { namespace } if call.method == Method::POST => {
                let bytes = body::read(body).await?;
                self.legacy_binding(&call, &namespace, &bytes).await
            }
            _ => Err(ApiError {
                code: 405,
                reason: "MethodNotAllowed",
                message: "the server does not allow this method on the requested resource"
                    .to_string(),
                details: None,
            }),
        }
    }

    async fn resource(
        &self,
        call: Call,
        target: Target,
        bytes: Bytes,
    ) -> Result<Response<ResponseBody>, ApiError> {
        let resource = target.resource;
        if let Some(sub) = &target.subresource {
            if resource.storage == "pods"
                && matches!(sub.as_str(), "exec" | "attach" | "portforward")
            {
                // Simulated pods run no processes: say so instead of a bare 404.
                return Err(ApiError::bad_request(format!(
                    "pods/{sub} is not available: everynode simulates containers, so there is no process to connect to (kubectl logs shows what the simulated container did)"
                )));
            }
            if !resource.has_subresource(sub) {
                return Err(ApiError::no_route());
            }
        }
        let verb_allowed = |verb: &str| {
            if resource.supports(verb) {
                Ok(())
            } else {
                Err(ApiError::method_not_allowed(verb, resource))
            }
        };
        match (&call.method, &target.name, target.subresource.as_deref()) {
            (&Method::GET, None, None) => {
                if call.query.flag("watch") {
                    verb_allowed("watch")?;
                    self.watch(&call, &target).await
                } else {
                    verb_allowed("list")?;
                    self.list(&call, &target).await
                }
            }
            (&Method::GET, Some(name), None | Some("status")) => self.get(&call, &target, name),
            (&Method::GET, Some(name), Some("scale")) => self.get_scale(&target, name),
            (&Method::PUT, Some(name), Some("scale")) => {
                verb_allowed("update")?;
                self.put_scale(&call, &target, name, &bytes).await
            }
            (&Method::PATCH, Some(name), Some("scale")) => {
                verb_allowed("patch")?;
                self.patch_scale(&call, &target, name, &bytes).await
            }
            (&Method::GET, Some(name), Some("log")) => self.log(&call, &target, name).await,
            (&Method::POST, None, None) => {
                verb_allowed("create")?;
                if review::GROUPS_SERVED.contains(&resource.group) {
                    return review::answer(&call, resource, &bytes);
                }
                self.create(&call, &target, &bytes).await
            }
            (&Method::POST, Some(name), Some("binding")) => {
                self.binding(&call, &target, name, &bytes).await
            }
            (&Method::POST, Some(name), Some("eviction")) => {
                self.eviction(&call, &target, name, &bytes).await
            }
            (&Method::PUT, Some(name), sub @ (None | Some("status") | Some("finalize"))) => {
                verb_allowed("update")?;
                self.update(&call, &target, name, sub, &bytes).await
            }
            (&Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
                verb_allowed("patch")?;
                self.patch(&call, &target, name, sub, &bytes).await
            }
            (&Method::DELETE, Some(name), None) => {
                verb_allowed("delete")?;
                self.delete(&call, &target, name, &bytes).await
            }
            (&Method::DELETE, None, None) => {
                verb_allowed("deletecollection")?;
                self.delete_collection(&call, &target, &bytes).await
            }
            (method, _, _) => Err(ApiError::method_not_allowed(
                &method.as_str().to_ascii_lowercase(),
                resource,
            )),
        }
    }
}

//! Starting the API server: data directory, store, built-in bootstrap, and the HTTPS listener
//! with bearer-token authentication.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::http::body::{self, ResponseBody};
use crate::http::{ApiOptions, ApiService};
use crate::store::{Store, StoreOptions};
use crate::tls::Credentials;
use crate::{builtin, registry, resources};

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where the store, credentials and kubeconfig live.
    pub data_dir: PathBuf,
    /// 0 picks a free port.
    pub port: u16,
    pub api: ApiOptions,
    pub store: StoreOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use data directory {path} (it must be a directory you can write)")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::OpenError),
    #[error(transparent)]
    Credentials(#[from] crate::tls::CredentialsError),
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    #[error(
        "cannot listen on 127.0.0.1:{port}: {error} (is another server using it? pick another with --port, or --port 0)"
    )]
    Listen {
        port: u16,
        /// Rendered in the message itself, before the hint.
        error: std::io::Error,
    },
    #[error("failed to bootstrap the cluster: {0}")]
    Bootstrap(ApiError),
}

/// A running API server.
pub struct RunningServer {
    pub service: ApiService,
    pub address: SocketAddr,
    pub credentials: Arc<Credentials>,
    pub data_dir: PathBuf,
    listener_task: tokio::task::JoinHandle<()>,
}

/// Opens the store in `dir`, for callers that need one without a listener (tests, benchmarks).
pub fn open_store(
    dir: Option<&Path>,
    options: StoreOptions,
) -> Result<Store, crate::store::OpenError> {
    Store::open(
        dir.map(|d| d.join("store.db")).as_deref(),
        options,
        |name| resources::by_storage(name).map(|r| r.storage),
        |storage, object| match resources::by_storage(storage) {
            Some(resource) => registry::index(resource, object),
            None => crate::store::Index::default(),
        },
    )
}

impl RunningServer {
    /// Starts serving: store, bootstrap objects, built-in controllers, then the listener.
    pub async fn start(options: ServerOptions) -> Result<Self, StartError> {
        let dir = options.data_dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| StartError::DataDir {
            path: dir.clone(),
            source,
        })?;
        let credentials = Arc::new(Credentials::load_or_create(&dir)?);
        let store = open_store(Some(&dir), options.store.clone())?;
        let service = ApiService::new(store, options.api.clone());
        builtin::bootstrap(&service, &credentials.ca_pem)
            .await
            .map_err(StartError::Bootstrap)?;
        builtin::spawn(service.clone(), credentials.ca_pem.clone());
        let listener = TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|error| StartError::Listen {
                port: options.port,
                error,
            })?;
        let address = listener.local_addr().map_err(|error| StartError::Listen {
            port: options.port,
            error,
        })?;
        let tls = credentials.server_config().map_err(StartError::Tls)?;
        let listener_task = tokio::spawn(accept_loop(
            listener,
            tls,
            Arc::from(credentials.token.as_str()),
            service.clone(),
        ));
        Ok(Self {
            service,
            address,
            credentials,
            data_dir: dir,
            listener_task,
        })
    }

    /// The kubeconfig for this server's current port.
    pub fn kubeconfig(&self) -> String {
        self.credentials.kubeconfig(self.address.port())
    }

    /// Writes the kubeconfig atomically with mode 0600.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), crate::tls::CredentialsError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| crate::tls::CredentialsError::Io {
                action: "create",
                path: parent.to_owned(),
                source,
            })?;
        }
        crate::tls::write_private(path, &self.kubeconfig())
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        self.listener_task.abort();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.listener_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    token: Arc<str>,
    service: ApiService,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let token = token.clone();
        let service = service.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                acceptor.accept(stream),
            )
            .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
                let service = service.clone();
                let token = token.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(authenticate(request, &token, &service).await)
                }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), handler)
                .await
            {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

/// Paths anyone may read, as upstream's `system:public-info-viewer` role allows.
fn is_public(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/readyz" | "/livez")
}

async fn authenticate(
    request: Request<Incoming>,
    token: &str,
    service: &ApiService,
) -> Response<ResponseBody> {
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let allowed = presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes()))
        || is_public(request.uri().path());
    if !allowed {
        return body::error(&ApiError::unauthorized());
    }
    service.handle(request).await
}

/// Compares without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

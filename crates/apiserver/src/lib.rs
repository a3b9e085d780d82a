//! A Kubernetes-compatible API server with a durable SQLite store, served to kubectl over HTTPS
//! and to in-process components as a tower service.
//!
//! Start with [`store`] (how objects are kept and watched), then [`http`] (how requests become
//! store operations) and `registry` (the per-kind rules).

pub mod builtin;
pub mod error;
pub mod http;
pub mod registry;
pub mod resources;
pub mod server;
pub mod store;
pub mod tls;

pub use http::{ApiOptions, ApiService};
pub use server::{RunningServer, ServerOptions};

//! Server-side patch application: RFC 7386 JSON merge patch ([`merge`]) and Kubernetes strategic merge patch ([`strategic`], driven by a per-kind [`schema`]).

pub mod merge;
pub mod schema;
pub mod strategic;

pub use schema::{FieldSchema, Schema, Strategy};
pub use strategic::PatchError;

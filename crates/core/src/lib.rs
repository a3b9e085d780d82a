//! Pure Kubernetes semantics shared by the API server, the controller and the simulated cluster.
//!
//! Nothing in this crate does I/O or async work: every function is a plain transformation of
//! k8s-openapi types or JSON values, so it can be table-tested and property-tested directly.
//! Newcomers: start with [`labels`] and [`taints`], the two vocabularies everything else uses.

pub mod affinity;
pub mod defaults;
pub mod duration;
pub mod fields;
pub mod keys;
pub mod labels;
pub mod patch;
pub mod pod;
pub mod printers;
pub mod protobuf;
pub mod quantity;
pub mod strategy;
pub mod taints;
pub mod validation;
pub mod workloads;

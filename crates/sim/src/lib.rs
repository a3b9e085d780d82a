//! The rest of a cluster for `everynode up`: the garbage collector (and, as they land, the
//! scheduler, simulated nodes and node lifecycle), each a Kubernetes API client.

pub mod garbage_collector;

//! The one integration-test binary: real `everynode` processes driven by the real kubectl and by
//! kube-rs clients.

mod support;

mod apiserver_compat;
mod apiserver_kubectl;
mod apiserver_store;
mod garbage_collector;
mod rollout;
mod seeds;
mod sim;

//! The one integration-test binary: real `everynode` processes driven by the real kubectl and by
//! kube-rs clients.

mod support;

mod apiserver_compat;
mod apiserver_kubectl;
mod apiserver_store;
mod controller_deploy;
mod garbage_collector;
mod seeds;
mod sim;

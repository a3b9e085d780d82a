//! The one integration-test binary: real `everynode` processes driven by the real kubectl and by
//! kube-rs clients.

mod support;

mod apiserver_compat;
mod apiserver_errors;
mod apiserver_kubectl;
mod apiserver_list;
mod apiserver_rbac;
mod apiserver_store;
mod cli;
mod controller_deploy;
mod deployments;
mod e2e_daemonset;
mod garbage_collector;
mod rollout;
mod seeds;
mod sim;
mod up_kubectl;

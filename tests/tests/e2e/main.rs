//! End-to-end tests of the whole suite, one module per flow.

mod access;
mod activation;
mod admin_cli;
mod agent;
mod eligibility;
mod events;
mod foundation;
mod organizations;
mod portal;
mod scan;
mod secrets;
mod serve;
mod upstreams;

//! End-to-end tests of the whole suite, one module per flow.

mod access;
mod activation;
mod admin_cli;
mod agent;
mod api_docs;
mod audit_export;
mod audit_fail_closed;
mod audit_forward;
mod cluster;
mod deploy_configs;
mod eligibility;
mod events;
mod foundation;
mod health_cli;
mod metrics;
mod organizations;
mod portal;
mod scan;
mod secrets;
mod serve;
mod traces;
mod upstreams;

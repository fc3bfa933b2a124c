//! End-to-end tests of the whole suite, one module per flow.

mod access;
mod activation;
mod admin_cli;
mod agent;
mod audit_export;
mod audit_fail_closed;
mod audit_forward;
mod eligibility;
mod events;
mod foundation;
mod organizations;
mod portal;
mod scan;
mod secrets;
mod serve;
mod upstreams;

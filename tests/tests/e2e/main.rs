//! End-to-end tests of the whole suite, one module per flow.

mod foundation;
mod organizations;
mod serve;
mod access;
mod admin_cli;
mod portal;
mod secrets;

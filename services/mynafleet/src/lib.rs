//! The `mynafleet` binary's library: the one place that wires every service into one process
//! ([`dev`], used by `mynafleet dev` and by the test suite's `Suite::start`), and the
//! one-service-per-process entry ([`serve`]), and the operator CLI ([`admin`]). `main.rs` only
//! parses the command line.

pub mod admin;
pub mod cli;
pub mod deploy;
pub mod dev;
pub mod health;
mod pem;
pub mod serve;

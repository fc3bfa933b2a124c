//! The `mynafleet` binary's library: the one place that wires every service into one process
//! ([`dev`], used by `mynafleet dev` and by the test suite's `Suite::start`), and the
//! one-service-per-process entry ([`serve`]). `main.rs` only parses the command line.

pub mod cli;
pub mod dev;
pub mod serve;

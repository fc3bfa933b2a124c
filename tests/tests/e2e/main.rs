//! End-to-end tests of the whole suite, one module per flow.

mod foundation;
mod organizations;
mod serve;

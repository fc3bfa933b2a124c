//! Plumbing every MynaFleet service shares: configuration loading, TLS and caller identity,
//! telemetry, database pools and migrations, the gRPC server frame (health, reflection,
//! graceful shutdown), request-id idempotency, status helpers, and the string guards every
//! ingress applies (check digits, the My Number filter), the audit outbox, and the two things
//! every audit producer and the verifier must compute alike: the audit chain's encoding,
//! hashes and checkpoints (`audit_chain`) and the keyed patient reference (`patient_ref`).
//!
//! Apart from those two, this crate knows no domain: it never names a clinic or a card.
//! Services hand it their descriptor sets, service names, access tables and migrations as
//! arguments.

pub mod audit_chain;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod grpc;
pub mod guard;
pub mod idempotency;
pub mod keys;
pub mod metrics;
pub mod outbox;
pub mod page;
pub mod patient_ref;
pub mod shutdown;
pub mod status;
pub mod telemetry;
pub mod tls;

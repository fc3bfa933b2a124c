//! The tamper-evident audit chain (issue #7, docs/audit.md): the canonical encoding of an
//! audit record, the per-organization hash chain over it, Ed25519-signed checkpoints of a
//! chain's head, and the offline verifier of an export.
//!
//! Everything here is pure (no database, no network) so the account service that appends,
//! the CLI that exports and the verifier that checks an export all use one definition.
//!
//! # Canonical encoding, version [`ENCODING`]
//! The bytes of [`canonical`]: the tag `mynafleet-audit-v1` and a zero byte, then each field
//! of [`ChainRecord`] in declaration order as a 4-byte big-endian length followed by its
//! UTF-8 bytes (`time` as its decimal digits, with a leading `-` when negative), then the
//! number of `detail` entries as 4 bytes and each entry, in byte order of the keys, as the
//! length-prefixed key and the length-prefixed value.
//!
//! # Chain
//! Entry `seq` (from 1, gap-free) of the chain with origin `o` has
//! `hash = SHA-256("mynafleet-audit-chain-v1" ‖ 0x00 ‖ len(o) ‖ o ‖ seq as 8 bytes BE ‖
//! prev_hash ‖ canonical(record))`, where `prev_hash` is the hash of entry `seq - 1`, or
//! [`ZERO_HASH`] for entry 1. The origin and seq are inside the hash, so an entry cannot be
//! moved to another place or another organization's chain without the change showing.

mod checkpoint;
pub mod fhir;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod verify;
pub mod wire;

pub use checkpoint::{Checkpoint, CheckpointError, KeyRing, PublicKey, Signer};
pub use verify::{Problem, ProblemKind, Report, Verifier};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The version of the canonical encoding every hash covers.
pub const ENCODING: &str = "mynafleet-audit-v1";

/// The domain tag of entry hashes.
const CHAIN_TAG: &[u8] = b"mynafleet-audit-chain-v1";

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The previous hash of entry 1 and the head of an empty chain.
pub const ZERO_HASH: Hash = [0; 32];

/// The chain of records no organization owns (a failed login of an unknown id).
pub const DEPLOYMENT_CHAIN: &str = "deployment";

/// Returns the origin named in hashes and checkpoints of `chain` (`organizations/{org}` or
/// [`DEPLOYMENT_CHAIN`]).
pub fn origin(chain: &str) -> String {
    format!("mynafleet-audit/{chain}")
}

/// An audit record exactly as the chain covers it: every field of
/// `mynafleet.audit.v1.AuditRecord`, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    /// UUIDv7 made by the producer.
    pub id: String,
    /// `organizations/{org}`, or empty.
    pub organization: String,
    /// Microseconds since the Unix epoch.
    pub time: i64,
    /// The producing service.
    pub producer: String,
    /// operator, device, service or anonymous.
    pub actor_kind: String,
    /// Who acted.
    pub actor: String,
    /// The actor's role.
    pub actor_role: String,
    /// How the actor authenticated.
    pub auth_method: String,
    /// Keyed hash of the session id.
    pub session_ref: String,
    /// `noun.verb`.
    pub action: String,
    /// FHIR action code (C, R, U, D, E).
    pub action_code: String,
    /// The clinic concerned.
    pub clinic: String,
    /// The resource acted on.
    pub target: String,
    /// success, failure or denied.
    pub outcome: String,
    /// Stable reason of a failure.
    pub reason: String,
    /// The caller's network address.
    pub source_address: String,
    /// The request id.
    pub request_id: String,
    /// Keyed HMAC of a patient reference, hex.
    pub patient_ref: String,
    /// Id of its key.
    pub patient_ref_key_id: String,
    /// W3C traceparent.
    pub traceparent: String,
    /// FHIR entity.detail.
    pub detail: BTreeMap<String, String>,
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    // Fields are bounded far below 4 GiB by every ingress; saturate rather than wrap.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Returns the canonical encoding of `r` (module doc).
pub fn canonical(r: &ChainRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(ENCODING.as_bytes());
    out.push(0);
    let time = r.time.to_string();
    for field in [
        &r.id,
        &r.organization,
        &time,
        &r.producer,
        &r.actor_kind,
        &r.actor,
        &r.actor_role,
        &r.auth_method,
        &r.session_ref,
        &r.action,
        &r.action_code,
        &r.clinic,
        &r.target,
        &r.outcome,
        &r.reason,
        &r.source_address,
        &r.request_id,
        &r.patient_ref,
        &r.patient_ref_key_id,
        &r.traceparent,
    ] {
        put(&mut out, field.as_bytes());
    }
    let count = u32::try_from(r.detail.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for (k, v) in &r.detail {
        put(&mut out, k.as_bytes());
        put(&mut out, v.as_bytes());
    }
    out
}

/// Returns the hash of entry `seq` of the chain with `origin`, after `prev` (module doc).
pub fn entry_hash(origin: &str, seq: i64, prev: &Hash, record: &ChainRecord) -> Hash {
    let mut h = Sha256::new();
    h.update(CHAIN_TAG);
    h.update([0]);
    let len = u32::try_from(origin.len()).unwrap_or(u32::MAX);
    h.update(len.to_be_bytes());
    h.update(origin.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(prev);
    h.update(canonical(record));
    h.finalize().into()
}

/// One entry of a chain: a record at its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// From 1.
    pub seq: i64,
    /// The previous entry's hash.
    pub prev_hash: Hash,
    /// This entry's hash.
    pub hash: Hash,
    /// The record.
    pub record: ChainRecord,
}

/// Returns `h` as 64 lowercase hex digits.
pub fn hash_hex(h: &Hash) -> String {
    hex::encode(h)
}

/// Parses 64 hex digits.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests;

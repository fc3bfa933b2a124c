//! Conversions between the wire shapes of the audit log (`mynafleet.audit.v1`: records,
//! chain entries, checkpoints, signing keys) and the chain values of this module, in both
//! directions, and between outcome words and the wire enum. The account service sends with
//! them and the CLI reads with them, so a record read back hashes exactly as it was hashed.
//!
//! Reading never fills in a value the sender left out: an entry without its record or a
//! time, a malformed hash, signature or key is an error naming the seq, size or key id.

use super::{
    ChainRecord, Checkpoint, CheckpointError, ENCODING, Entry, PublicKey, hash_hex, parse_hash,
};
use mynafleet_proto::audit::v1 as pb;
use mynafleet_proto::prost_types::Timestamp;

/// The only signing algorithm checkpoints use.
pub const ALGORITHM: &str = "ed25519";

/// Why a wire value cannot become a chain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A hash of an entry is not 64 hex digits.
    #[error("seq {seq} has a malformed {field}")]
    MalformedHash {
        /// The entry's seq.
        seq: i64,
        /// `prev_hash` or `hash`.
        field: &'static str,
    },
    /// An entry came without its record.
    #[error("seq {0} has no record")]
    MissingRecord(i64),
    /// An entry's record has no valid time.
    #[error("seq {0} has a record without a valid time")]
    RecordTime(i64),
    /// A checkpoint's head hash is not 64 hex digits.
    #[error("the checkpoint at size {0} has a malformed head hash")]
    MalformedHead(i64),
    /// A checkpoint has no valid time.
    #[error("the checkpoint at size {0} has no valid time")]
    CheckpointTime(i64),
    /// A checkpoint's signature is not base64 of 64 bytes.
    #[error("the checkpoint at size {size} has a bad signature field: {source}")]
    Signature {
        /// The checkpoint's size.
        size: i64,
        /// What is wrong with it.
        source: CheckpointError,
    },
    /// A key of an algorithm other than [`ALGORITHM`].
    #[error("key {key_id} is of algorithm {algorithm:?}, which is not known")]
    UnknownAlgorithm {
        /// The key's id as sent.
        key_id: String,
        /// Its algorithm as sent.
        algorithm: String,
    },
    /// A key that is not a raw Ed25519 key in base64.
    #[error("key {0} is malformed")]
    MalformedKey(String),
    /// A key whose bytes have another id than the one sent.
    #[error("key {sent} has bytes whose id is {actual}")]
    KeyIdMismatch {
        /// The id sent.
        sent: String,
        /// The id of the bytes.
        actual: String,
    },
}

/// Returns the word records store for `o` (empty for `Unspecified`).
pub fn outcome_name(o: pb::Outcome) -> &'static str {
    match o {
        pb::Outcome::Success => "success",
        pb::Outcome::Failure => "failure",
        pb::Outcome::Denied => "denied",
        pb::Outcome::Unspecified => "",
    }
}

/// Returns the wire outcome of a stored word (`Unspecified` for any other word).
pub fn outcome_from_name(name: &str) -> pb::Outcome {
    match name {
        "success" => pb::Outcome::Success,
        "failure" => pb::Outcome::Failure,
        "denied" => pb::Outcome::Denied,
        _ => pb::Outcome::Unspecified,
    }
}

/// Returns a wire timestamp as microseconds since the epoch, if it is a valid one (nanos in
/// range, no overflow).
pub fn micros(t: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return None;
    }
    t.seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(t.nanos / 1_000))
}

/// Returns microseconds since the epoch as a wire timestamp (exact for every value, so
/// [`micros`] gives it back).
pub fn timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// Returns `r` as the wire shape.
pub fn record_to_pb(r: ChainRecord) -> pb::AuditRecord {
    pb::AuditRecord {
        id: r.id,
        organization: r.organization,
        time: Some(timestamp(r.time)),
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: outcome_from_name(&r.outcome).into(),
        reason: r.reason,
        patient_ref: r.patient_ref,
        patient_ref_key_id: r.patient_ref_key_id,
        traceparent: r.traceparent,
        producer: r.producer,
        actor_kind: r.actor_kind,
        actor_role: r.actor_role,
        clinic: r.clinic,
        source_address: r.source_address,
        request_id: r.request_id,
        action_code: r.action_code,
        auth_method: r.auth_method,
        session_ref: r.session_ref,
        detail: r.detail.into_iter().collect(),
    }
}

/// Returns the record as the chain covers it, or `None` without a valid time.
pub fn record_from_pb(r: &pb::AuditRecord) -> Option<ChainRecord> {
    Some(ChainRecord {
        id: r.id.clone(),
        organization: r.organization.clone(),
        time: micros(r.time.as_ref()?)?,
        producer: r.producer.clone(),
        actor_kind: r.actor_kind.clone(),
        actor: r.actor.clone(),
        actor_role: r.actor_role.clone(),
        auth_method: r.auth_method.clone(),
        session_ref: r.session_ref.clone(),
        action: r.action.clone(),
        action_code: r.action_code.clone(),
        clinic: r.clinic.clone(),
        target: r.target.clone(),
        outcome: outcome_name(r.outcome()).to_owned(),
        reason: r.reason.clone(),
        source_address: r.source_address.clone(),
        request_id: r.request_id.clone(),
        patient_ref: r.patient_ref.clone(),
        patient_ref_key_id: r.patient_ref_key_id.clone(),
        traceparent: r.traceparent.clone(),
        detail: r
            .detail
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Returns `e` as the wire shape, naming [`ENCODING`].
pub fn entry_to_pb(e: Entry) -> pb::ChainEntry {
    pb::ChainEntry {
        seq: e.seq,
        prev_hash: hash_hex(&e.prev_hash),
        hash: hash_hex(&e.hash),
        encoding: ENCODING.to_owned(),
        record: Some(record_to_pb(e.record)),
    }
}

/// Returns a chain entry read from the wire.
pub fn entry_from_pb(e: &pb::ChainEntry) -> Result<Entry, WireError> {
    let malformed = |field| WireError::MalformedHash { seq: e.seq, field };
    let prev_hash = parse_hash(&e.prev_hash).ok_or_else(|| malformed("prev_hash"))?;
    let hash = parse_hash(&e.hash).ok_or_else(|| malformed("hash"))?;
    let r = e.record.as_ref().ok_or(WireError::MissingRecord(e.seq))?;
    let record = record_from_pb(r).ok_or(WireError::RecordTime(e.seq))?;
    Ok(Entry {
        seq: e.seq,
        prev_hash,
        hash,
        record,
    })
}

/// Returns `c` as the wire shape, with its note.
pub fn checkpoint_to_pb(c: &Checkpoint) -> pb::Checkpoint {
    pb::Checkpoint {
        origin: c.origin.clone(),
        size: c.size,
        head_hash: hash_hex(&c.head),
        time: Some(timestamp(c.time)),
        key_id: c.key_id.clone(),
        note: c.note(),
        signature: c.signature_b64(),
    }
}

/// Returns a checkpoint read from the wire (its note is recomputed, never taken as sent).
pub fn checkpoint_from_pb(c: &pb::Checkpoint) -> Result<Checkpoint, WireError> {
    let head = parse_hash(&c.head_hash).ok_or(WireError::MalformedHead(c.size))?;
    let time = c
        .time
        .as_ref()
        .and_then(micros)
        .ok_or(WireError::CheckpointTime(c.size))?;
    let signature =
        Checkpoint::decode_signature(&c.signature).map_err(|source| WireError::Signature {
            size: c.size,
            source,
        })?;
    Ok(Checkpoint {
        origin: c.origin.clone(),
        size: c.size,
        head,
        time,
        key_id: c.key_id.clone(),
        signature,
    })
}

/// Returns `k` as the wire shape; `current` says whether it signs new checkpoints.
pub fn key_to_pb(k: &PublicKey, current: bool) -> pb::SigningKey {
    pb::SigningKey {
        key_id: k.key_id.clone(),
        algorithm: ALGORITHM.to_owned(),
        public_key: k.b64(),
        current,
    }
}

/// Returns a signing key read from the wire: a raw Ed25519 key in base64 whose id matches
/// the one sent (an empty algorithm is taken as [`ALGORITHM`]).
pub fn key_from_pb(k: &pb::SigningKey) -> Result<PublicKey, WireError> {
    if !k.algorithm.is_empty() && k.algorithm != ALGORITHM {
        return Err(WireError::UnknownAlgorithm {
            key_id: k.key_id.clone(),
            algorithm: k.algorithm.clone(),
        });
    }
    let key = PublicKey::from_b64(&k.public_key)
        .ok_or_else(|| WireError::MalformedKey(k.key_id.clone()))?;
    if key.key_id != k.key_id {
        return Err(WireError::KeyIdMismatch {
            sent: k.key_id.clone(),
            actual: key.key_id,
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests;

//! Wire types of the audit log turned into kit's chain values (records, entries,
//! checkpoints, keys) exactly as the server hashed and signed them, so an export holds what
//! the verifier recomputes. Never fills in a value the server did not send.

use anyhow::{Context as _, bail};
use mynafleet_kit::audit_chain::{ChainRecord, Checkpoint, Entry, PublicKey, parse_hash};
use mynafleet_proto::audit::v1 as pb;
use mynafleet_proto::prost_types::Timestamp;

/// Returns the word of an outcome as records store it.
pub(crate) fn outcome_key(o: pb::Outcome) -> &'static str {
    match o {
        pb::Outcome::Success => "success",
        pb::Outcome::Failure => "failure",
        pb::Outcome::Denied => "denied",
        pb::Outcome::Unspecified => "",
    }
}

/// Returns a wire timestamp as microseconds since the epoch (0 when absent).
pub(crate) fn micros(ts: Option<&Timestamp>) -> i64 {
    ts.map_or(0, |t| {
        t.seconds
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(t.nanos) / 1_000)
    })
}

/// Returns the record as the chain covers it.
pub(crate) fn record(r: &pb::AuditRecord) -> ChainRecord {
    ChainRecord {
        id: r.id.clone(),
        organization: r.organization.clone(),
        time: micros(r.time.as_ref()),
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
        outcome: outcome_key(r.outcome()).to_owned(),
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
    }
}

/// Returns a chain entry; fails on hashes that are not 64 hex digits.
pub(crate) fn entry(e: &pb::ChainEntry) -> anyhow::Result<Entry> {
    let prev_hash = parse_hash(&e.prev_hash)
        .with_context(|| format!("the server sent seq {} with a malformed prev_hash", e.seq))?;
    let hash = parse_hash(&e.hash)
        .with_context(|| format!("the server sent seq {} with a malformed hash", e.seq))?;
    let Some(r) = e.record.as_ref() else {
        bail!("the server sent seq {} without its record", e.seq);
    };
    Ok(Entry {
        seq: e.seq,
        prev_hash,
        hash,
        record: record(r),
    })
}

/// Returns a checkpoint; fails on a malformed head hash or signature.
pub(crate) fn checkpoint(c: &pb::Checkpoint) -> anyhow::Result<Checkpoint> {
    let head = parse_hash(&c.head_hash).with_context(|| {
        format!(
            "the server sent the checkpoint at size {} with a malformed head hash",
            c.size
        )
    })?;
    let signature = Checkpoint::decode_signature(&c.signature).map_err(|e| {
        anyhow::anyhow!(
            "the server sent the checkpoint at size {} with a bad signature field: {e}",
            c.size
        )
    })?;
    Ok(Checkpoint {
        origin: c.origin.clone(),
        size: c.size,
        head,
        time: micros(c.time.as_ref()),
        key_id: c.key_id.clone(),
        signature,
    })
}

/// Returns a signing key; fails on a key that is not a raw Ed25519 key in base64 or whose id
/// does not match it.
pub(crate) fn key(k: &pb::SigningKey) -> anyhow::Result<PublicKey> {
    if !k.algorithm.is_empty() && k.algorithm != "ed25519" {
        bail!(
            "the server sent key {} of algorithm {:?}, which this CLI does not know",
            k.key_id,
            k.algorithm
        );
    }
    let key = PublicKey::from_b64(&k.public_key)
        .with_context(|| format!("the server sent key {} malformed", k.key_id))?;
    if key.key_id != k.key_id {
        bail!(
            "the server sent key {} whose bytes have the id {}",
            k.key_id,
            key.key_id
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests;

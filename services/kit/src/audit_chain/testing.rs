//! Test chains (feature `testing`): records with every kind of field filled (a patient
//! reference, `detail` text with commas, quotes and a newline), linked with [`entry_hash`]
//! and sealed by a fresh [`Signer`], for the verifier's tests and the CLI's export tests.
//! Never used outside tests.

use super::{ChainRecord, Checkpoint, Entry, Hash, Signer, ZERO_HASH, entry_hash, origin};

/// The organization of every test chain.
pub const ORG: &str = "organizations/0192f1c2-0000-7000-8000-000000000001";

/// The time of record 0, microseconds since the epoch; record `n` is `n` seconds later.
pub const T0: i64 = 1_790_000_000_000_000;

/// Returns the origin of the test chain.
pub fn test_origin() -> String {
    origin(ORG)
}

/// Returns record `n` of the test chain (every third one a patient check with `detail`).
pub fn record(n: i64) -> ChainRecord {
    let mut r = ChainRecord {
        id: format!("0192f1c2-0000-7000-8000-{n:012}"),
        organization: ORG.to_owned(),
        time: T0 + n * 1_000_000,
        producer: "account".to_owned(),
        actor_kind: "operator".to_owned(),
        actor: format!("{ORG}/operators/admin"),
        actor_role: "org_admin".to_owned(),
        auth_method: "password+totp".to_owned(),
        action: if n % 3 == 0 {
            "eligibility.check".to_owned()
        } else {
            "clinic.create".to_owned()
        },
        action_code: "C".to_owned(),
        clinic: format!("{ORG}/clinics/c{n}"),
        target: format!("{ORG}/clinics/c{n}"),
        outcome: "success".to_owned(),
        source_address: "127.0.0.1:5000".to_owned(),
        request_id: format!("req-{n}"),
        ..ChainRecord::default()
    };
    if n % 3 == 0 {
        r.patient_ref = "ab".repeat(32);
        r.patient_ref_key_id = "k1".to_owned();
        r.detail
            .insert("note".to_owned(), "受付, \"二番\"\n窓口".to_owned());
        r.detail.insert("method".to_owned(), "card".to_owned());
    }
    r
}

/// Returns entries `from..=to` of records [`record`]`(seq)` in the chain with `origin`,
/// linked after `prev` (the hash of entry `from - 1`, or [`ZERO_HASH`] when `from` is 1).
pub fn link(origin: &str, from: i64, to: i64, mut prev: Hash) -> Vec<Entry> {
    (from..=to)
        .map(|seq| {
            let record = record(seq);
            let hash = entry_hash(origin, seq, &prev, &record);
            let e = Entry {
                seq,
                prev_hash: prev,
                hash,
                record,
            };
            prev = hash;
            e
        })
        .collect()
}

/// Returns entries 1 to `size` of the test chain.
pub fn chain(size: i64) -> Vec<Entry> {
    link(&test_origin(), 1, size, ZERO_HASH)
}

/// Returns `signer`'s checkpoint of the test chain `entries` (from seq 1) at `size`.
///
/// # Panics
/// When `entries` is shorter than `size`.
pub fn seal(signer: &Signer, entries: &[Entry], size: i64) -> Checkpoint {
    let head = usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_sub(1))
        .map_or(ZERO_HASH, |i| entries[i].hash);
    signer.sign(&test_origin(), size, head, T0 + 100_000_000 + size)
}

/// Returns the test chain of `size` entries, sealed by a fresh signer every `every`
/// entries and at the end, and the signer.
///
/// # Panics
/// When `every` is not positive or no key can be generated.
pub fn sealed_chain(size: i64, every: i64) -> (Vec<Entry>, Vec<Checkpoint>, Signer) {
    assert!(every > 0, "checkpoints every {every} entries");
    let (signer, _) = Signer::generate().expect("generate a test signing key");
    let entries = chain(size);
    let mut sizes: Vec<i64> = (1..=size / every).map(|k| k * every).collect();
    if size % every != 0 {
        sizes.push(size);
    }
    let checkpoints = sizes
        .into_iter()
        .map(|s| seal(&signer, &entries, s))
        .collect();
    (entries, checkpoints, signer)
}

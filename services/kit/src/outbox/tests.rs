//! The outbox store's conformance suite: every case runs on SQLite and on PostgreSQL, over a
//! test-only migration that makes `audit_outbox` as the services' migrations do.

use super::*;
use crate::db::{MigrationFile, Migrations};

const TABLE: &str = "CREATE TABLE audit_outbox (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    time BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    action TEXT NOT NULL,
    action_code TEXT NOT NULL,
    clinic TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    source_address TEXT NOT NULL,
    request_id TEXT NOT NULL,
    traceparent TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    patient_ref TEXT NOT NULL DEFAULT '',
    patient_ref_key_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
)";

const FILES: &[MigrationFile] = &[MigrationFile {
    version: 1,
    description: "create_audit_outbox",
    sql: TABLE,
}];

/// The test-only migrations: one table, the same on both engines.
pub(crate) const MIGRATIONS: Migrations = Migrations {
    sqlite: FILES,
    postgres: FILES,
};

crate::store_conformance!(
    crate::outbox::tests::MIGRATIONS;
    the_outbox_hands_out_the_oldest_first,
    forwarded_records_are_deleted_and_others_kept,
    failures_are_noted_on_the_records,
    patient_references_and_detail_round_trip,
);

/// Returns a record of `action` with every field set.
pub(crate) fn record(action: &str) -> OutboxRecord {
    OutboxRecord {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: "o".to_owned(),
        time: 1_000,
        actor_kind: "operator".to_owned(),
        actor: "organizations/o/operators/op".to_owned(),
        actor_role: "org_admin".to_owned(),
        auth_method: "session".to_owned(),
        action: action.to_owned(),
        action_code: "U".to_owned(),
        clinic: "organizations/o/clinics/c".to_owned(),
        target: "organizations/o/clinics/c/devices/d".to_owned(),
        outcome: "success".to_owned(),
        reason: String::new(),
        source_address: "192.0.2.1".to_owned(),
        request_id: "rid".to_owned(),
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
        ..OutboxRecord::default()
    }
}

/// Writes `n` records (ids in time order) and returns their ids.
pub(crate) async fn write(pool: &AnyPool, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let r = record("device.suspend");
        let mut conn = pool.acquire().await.unwrap();
        insert(&mut conn, &r).await.unwrap();
        ids.push(r.id);
    }
    ids
}

async fn the_outbox_hands_out_the_oldest_first(pool: AnyPool) {
    assert!(pending(&pool, 10).await.unwrap().is_empty());
    let ids = write(&pool, 5).await;
    assert_eq!(depth(&pool).await.unwrap(), 5);
    let first = pending(&pool, 3).await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        ids[..3]
    );
    let mut expected = record("device.suspend");
    expected.id = ids[0].clone();
    assert_eq!(first[0], expected);
    let mut refused = record("access.denied");
    refused.outcome = "denied".to_owned();
    refused.reason = "OUT_OF_SCOPE".to_owned();
    let mut conn = pool.acquire().await.unwrap();
    insert(&mut conn, &refused).await.unwrap();
    let last = pending(&pool, 10).await.unwrap().pop().unwrap();
    assert_eq!(last, refused);
}

async fn forwarded_records_are_deleted_and_others_kept(pool: AnyPool) {
    let ids = write(&pool, 4).await;
    delete(&pool, &ids[..2]).await.unwrap();
    let left: Vec<_> = pending(&pool, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, ids[2..]);
    // Deleting again (a retried batch) is harmless.
    delete(&pool, &ids[..3]).await.unwrap();
    assert_eq!(depth(&pool).await.unwrap(), 1);
    delete(&pool, &[]).await.unwrap();
    assert_eq!(depth(&pool).await.unwrap(), 1);
}

async fn failures_are_noted_on_the_records(pool: AnyPool) {
    let ids = write(&pool, 3).await;
    note_failure(&pool, &ids[..2], "account service unavailable")
        .await
        .unwrap();
    note_failure(&pool, &ids[..1], "unimplemented")
        .await
        .unwrap();
    let rows = sqlx::query("SELECT id, attempts, last_error FROM audit_outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let seen: Vec<(String, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("id").unwrap(),
                r.try_get("attempts").unwrap(),
                r.try_get("last_error").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (ids[0].clone(), 2, "unimplemented".to_owned()),
            (ids[1].clone(), 1, "account service unavailable".to_owned()),
            (ids[2].clone(), 0, String::new()),
        ]
    );
    // Nothing is lost: failed records are still handed out, oldest first.
    assert_eq!(pending(&pool, 10).await.unwrap().len(), 3);
}

async fn patient_references_and_detail_round_trip(pool: AnyPool) {
    let mut r = record("eligibility.check_card");
    r.patient_ref = "ab".repeat(32);
    r.patient_ref_key_id = "0123456789ab".to_owned();
    r.detail = BTreeMap::from([
        ("identity_method".to_owned(), "pin".to_owned()),
        ("validity".to_owned(), "1".to_owned()),
        ("note".to_owned(), "\"quoted\" 資格".to_owned()),
    ]);
    let mut conn = pool.acquire().await.unwrap();
    insert(&mut conn, &r).await.unwrap();
    drop(conn);
    let stored: String = sqlx::query("SELECT detail FROM audit_outbox")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("detail")
        .unwrap();
    assert!(stored.starts_with('{'), "{stored}");
    assert_eq!(pending(&pool, 1).await.unwrap(), [r]);
}

#[test]
fn records_map_to_the_wire_shape() {
    let mut r = record("device.suspend");
    r.time = 1_700_000_000_123_456;
    r.patient_ref = "ff".to_owned();
    r.detail = BTreeMap::from([("check_kind".to_owned(), "card".to_owned())]);
    let pb = r.to_pb("eligibility-proxy");
    assert_eq!(pb.organization, "organizations/o");
    assert_eq!(pb.producer, "eligibility-proxy");
    let t = pb.time.unwrap();
    assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_456_000));
    assert_eq!(pb.outcome, audit_pb::Outcome::Success as i32);
    assert_eq!(pb.patient_ref, "ff");
    assert_eq!(
        pb.detail.get("check_kind").map(String::as_str),
        Some("card")
    );
    r.organization_id.clear();
    r.outcome = "denied".to_owned();
    let pb = r.to_pb("activation");
    assert_eq!(pb.organization, "");
    assert_eq!(pb.outcome, audit_pb::Outcome::Denied as i32);
}

#[test]
fn empty_detail_text_reads_as_an_empty_map() {
    assert!(detail_from_json("").unwrap().is_empty());
    assert!(detail_from_json("{}").unwrap().is_empty());
    assert_eq!(detail_to_json(&BTreeMap::new()), "{}");
    assert!(detail_from_json("[1]").is_err());
}

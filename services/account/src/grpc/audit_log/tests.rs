//! AuditLogService over a real server (TLS, the caller-identity layer, bearer sessions) on
//! SQLite and PostgreSQL: searches by every filter, the patient found by the reference the
//! proxy wrote, every read recorded once, the chain paged in order with its checkpoints,
//! checkpoints that verify with the listed key, retention's refusal, and roles refused.

use crate::auth::Role;
use crate::config::Config;
use crate::operator::{LoginId, NewOperator};
use crate::organization::DisplayName;
use crate::organization::OrganizationId;
use crate::store::audit_log::StoredRecord;
use crate::store::clinics::tests::Fixture;
use crate::store::{Idempotent, operators, sessions};
use mynafleet_kit::tls::dev::DevPki;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_proto::tonic::{Code, Request, Status};
use pb::audit_log_service_client::AuditLogServiceClient;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod access;
mod chain;
mod deployment;
mod search;

use access::viewers_and_other_organizations_are_refused;
use chain::{
    a_chain_read_is_recorded_once_and_pages_in_order_with_its_checkpoints,
    a_created_checkpoint_verifies_with_the_listed_key,
    a_read_into_a_pruned_segment_is_refused_and_zero_starts_at_the_anchor,
    a_tail_read_returns_the_last_entries_and_is_recorded_once,
};
use deployment::the_deployment_chain_is_read_and_sealed_by_a_service_identity_alone;
use search::{
    a_search_is_recorded_once_and_its_token_serves_only_its_session_and_filters,
    an_incomplete_or_malformed_filter_is_refused_naming_the_field, every_filter_narrows_the_search,
    the_patient_typed_full_width_finds_the_record_the_proxy_wrote,
};

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    every_filter_narrows_the_search,
    the_patient_typed_full_width_finds_the_record_the_proxy_wrote,
    an_incomplete_or_malformed_filter_is_refused_naming_the_field,
    a_search_is_recorded_once_and_its_token_serves_only_its_session_and_filters,
    viewers_and_other_organizations_are_refused,
    a_chain_read_is_recorded_once_and_pages_in_order_with_its_checkpoints,
    a_created_checkpoint_verifies_with_the_listed_key,
    a_read_into_a_pruned_segment_is_refused_and_zero_starts_at_the_anchor,
    a_tail_read_returns_the_last_entries_and_is_recorded_once,
    the_deployment_chain_is_read_and_sealed_by_a_service_identity_alone,
);

/// A running account server with one organization.
struct Harness {
    pool: AnyPool,
    config: Config,
    org: OrganizationId,
    channel: Channel,
    /// Presents the activation service's certificate of the internal CA.
    service_channel: Channel,
    stop: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Harness {
    async fn start(pool: AnyPool) -> Self {
        let pki = DevPki::in_memory().unwrap();
        let tls = pki.server_tls(pki.service_identity("account").unwrap(), None);
        let config = Config::for_tests("sqlite::memory:".into(), tls);
        let stop = CancellationToken::new();
        let (frame, routes) =
            crate::grpc::frame(config.clone(), pool.clone(), stop.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stopped = stop.clone();
        tokio::spawn(async move {
            mynafleet_kit::grpc::serve(frame, routes, listener, async move {
                stopped.cancelled().await;
            })
            .await
        });
        let url = format!("https://localhost:{port}");
        let channel = pki
            .client_tls(None)
            .lazy_channel(&url, Duration::from_secs(10))
            .unwrap();
        let service_channel = pki
            .client_tls(Some(pki.service_identity("activation").unwrap()))
            .lazy_channel(&url, Duration::from_secs(10))
            .unwrap();
        let org = Fixture::new(&pool).await.org;
        Self {
            pool,
            config,
            org,
            channel,
            service_channel,
            stop,
        }
    }

    fn client(&self) -> AuditLogServiceClient<Channel> {
        AuditLogServiceClient::new(self.channel.clone())
    }

    /// A client that calls as a MynaFleet service (no session).
    fn service_client(&self) -> AuditLogServiceClient<Channel> {
        AuditLogServiceClient::new(self.service_channel.clone())
    }

    /// Returns the session token of a new operator of `org` with `role`.
    async fn operator(&self, org: OrganizationId, role: Role, login: &str) -> String {
        let new = NewOperator::new(
            org,
            LoginId::parse(login, "login").unwrap(),
            DisplayName::parse("監査 太郎", "name").unwrap(),
            role,
            Vec::new(),
            "operator",
        )
        .unwrap();
        let now = self.config.clock.now_micros();
        let entry = crate::store::clinics::tests::audit();
        let created = match operators::create(
            &self.pool,
            now,
            &new,
            false,
            &self.config.keys.totp,
            entry,
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap()
        {
            Idempotent::Done(c) => c,
            Idempotent::Replayed(_) => unreachable!("no request id"),
        };
        let id = created.operator.id;
        sqlx::query("UPDATE operators SET must_change_password = 0 WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .unwrap();
        let (token, hash) = sessions::new_token().unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        sessions::open(&mut conn, id, &hash, now, &self.config.sessions)
            .await
            .unwrap();
        token
    }

    /// Stores `records` as a forwarding service would.
    async fn ingest(&self, records: &[StoredRecord]) {
        crate::store::audit_log::ingest(&self.pool, records)
            .await
            .unwrap();
    }

    /// Returns how many records of `action` the organization's chain holds.
    async fn count(&self, action: &str) -> usize {
        let filter = crate::store::audit_log::AuditFilter {
            action: Some(action.to_owned()),
            ..Default::default()
        };
        crate::store::audit_log::search(&self.pool, self.org, &filter, None, 1000)
            .await
            .unwrap()
            .0
            .len()
    }
}

/// Returns `msg` sent with `token`.
fn authed<T>(token: &str, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// Asserts `status` has `code` and `reason`, and names `fields` (in any order).
fn refused(status: &Status, code: Code, reason: &str, fields: &[&str]) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        mynafleet_kit::status::reason_of(status).as_deref(),
        Some(reason),
        "{status:?}"
    );
    let mut named = mynafleet_kit::status::violated_fields(status);
    named.sort();
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(named, want, "{status:?}");
}

/// A record of `org` by a device, as the proxy forwards it.
fn record(org: OrganizationId, time: i64, action: &str) -> StoredRecord {
    StoredRecord {
        id: uuid::Uuid::now_v7().to_string(),
        organization: Some(org),
        time,
        producer: "eligibility-proxy".into(),
        actor_kind: "device".into(),
        actor: String::new(),
        actor_role: "general".into(),
        auth_method: "mtls".into(),
        session_ref: String::new(),
        action: action.into(),
        action_code: "E".into(),
        clinic: String::new(),
        target: String::new(),
        outcome: "success".into(),
        reason: String::new(),
        source_address: "192.0.2.7:5000".into(),
        request_id: String::new(),
        patient_ref: String::new(),
        patient_ref_key_id: String::new(),
        traceparent: String::new(),
        detail: BTreeMap::new(),
    }
}

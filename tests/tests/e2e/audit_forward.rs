//! The audit forwarder across an account outage (issue #7): activation reaches the account
//! service through a cable the test cuts. While it is cut, activation keeps working where it
//! needs no answer from account (codes issued for accounts) and records what it cannot do
//! (renewals that need the account's scope); every record waits in activation's outbox,
//! retried with backoff. Once the cable is restored each record reaches the central store
//! exactly once, the outbox empties and the organization's chain has no gap.

use mynafleet_account::MIGRATIONS as ACCOUNT_MIGRATIONS;
use mynafleet_activation::MIGRATIONS as ACTIVATION_MIGRATIONS;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_tests::fleet::{TestAccount, rid};
use mynafleet_tests::{As, Backend, DEADLINE, Suite, SuiteOptions, Target};
use sqlx::{AnyPool, Row};
use std::collections::BTreeSet;
use std::time::Duration;

mynafleet_tests::on_both_backends!(records_made_while_account_is_down_arrive_later_exactly_once);

/// How long the forwarder may take to ship after the cable is back (its backoff is capped
/// at 5 s, and a failed attempt waits out a few client retries).
const CATCH_UP: Duration = Duration::from_secs(60);
/// The forwarding attempts each record must have failed before the cable is restored.
const FAILED_ATTEMPTS: i64 = 3;

/// Polls `probe` on interval ticks until it returns `Some`, failing after `deadline` with
/// what was last seen.
async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut last = String::from("nothing yet");
    let waited = tokio::time::timeout(deadline, async {
        loop {
            ticks.tick().await;
            match probe().await {
                Ok(v) => return v,
                Err(seen) => last = seen,
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("{what} within {deadline:?}; last seen: {last}"))
}

/// (id, attempts, last_error) of every record in activation's outbox, oldest first.
async fn outbox(pool: &AnyPool) -> Vec<(String, i64, String)> {
    sqlx::query("SELECT id, attempts, last_error FROM audit_outbox ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("read activation's outbox")
        .iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("attempts"),
                r.try_get::<Option<String>, _>("last_error")
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// How many times each of `ids` is in the central store.
async fn stored_times(account: &AnyPool, ids: &BTreeSet<String>) -> Vec<(String, i64)> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_records WHERE id = $1")
            .bind(id)
            .fetch_one(account)
            .await
            .expect("count a record in the central store")
            .get("n");
        out.push((id.clone(), n));
    }
    out
}

/// The scope the account service gives activation for `account` (available, 医療情報閲覧).
fn scope_of(account: &TestAccount) -> account_pb::DeviceAccountScope {
    let (clinic, _) = account
        .name
        .rsplit_once("/accounts/")
        .expect("an account name has a clinic");
    let organization = clinic
        .split_once("/clinics/")
        .map(|(org, _)| org.to_owned())
        .expect("a clinic name has an organization");
    account_pb::DeviceAccountScope {
        account: account.name.clone(),
        organization,
        clinic: clinic.to_owned(),
        institution_code: account.institution_code.clone(),
        institution_name: "さくら在宅クリニック".to_owned(),
        privilege: account_pb::Privilege::MedicalInfo.into(),
        status: account_pb::DeviceAccountStatus::Available.into(),
        must_change_password: false,
        home_visit_enabled: true,
    }
}

async fn records_made_while_account_is_down_arrive_later_exactly_once(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions {
        account_cable: true,
        ..SuiteOptions::on(backend)
    })
    .await;
    let activation_db =
        mynafleet_kit::db::connect(suite.activation_database_url(), &ACTIVATION_MIGRATIONS)
            .await
            .expect("open activation's database");
    let account_db = mynafleet_kit::db::connect(suite.account_database_url(), &ACCOUNT_MIGRATIONS)
        .await
        .expect("open the account database");

    // Cable up: a terminal activates, and its records reach the central store.
    let admin = suite.org_admin("さくら在宅医療会", "sakura-admin").await;
    let clinic = suite
        .clinic(&admin, "3410712362", "さくら在宅クリニック", true)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::MedicalInfo)
        .await;
    let terminal = suite.activate_terminal(&account, &account.sheet_code).await;
    eventually("activation's outbox empties", DEADLINE, || async {
        let waiting = outbox(&activation_db).await;
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(format!("{} records waiting", waiting.len()))
        }
    })
    .await;

    // Cable cut: codes are still issued (no account call), renewals fail and are recorded.
    let cable = suite.account_cable();
    cable.cut();
    let internal = || {
        pb::activation_internal_service_client::ActivationInternalServiceClient::new(
            suite.channel(Target::Activation, As::Service("e2e-tests")),
        )
    };
    for _ in 0..3 {
        let issued = internal()
            .issue_activation_codes(pb::IssueActivationCodesRequest {
                accounts: vec![scope_of(&account)],
                request_id: rid(),
            })
            .await
            .expect("codes are issued while the account service is unreachable")
            .into_inner();
        assert!(issued.codes[0].activation_code.is_some(), "{issued:?}");
    }
    for _ in 0..2 {
        let refused = terminal
            .renew(&suite)
            .await
            .expect_err("a renewal needs the account's scope");
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    }
    let waiting: BTreeSet<String> = outbox(&activation_db)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert!(
        waiting.len() >= 5,
        "3 code issues and 2 failed renewals wait in the outbox: {waiting:?}"
    );
    assert!(
        stored_times(&account_db, &waiting)
            .await
            .iter()
            .all(|(_, n)| *n == 0),
        "nothing crossed the cut cable"
    );

    // The forwarder keeps failing, with backoff, for as long as the cable stays cut.
    eventually(
        "every waiting record failed forwarding a few times",
        CATCH_UP,
        || async {
            let rows = outbox(&activation_db).await;
            let behind: Vec<_> = rows
                .iter()
                .filter(|(id, attempts, error)| {
                    waiting.contains(id) && (*attempts < FAILED_ATTEMPTS || error.is_empty())
                })
                .collect();
            if behind.is_empty() {
                Ok(())
            } else {
                Err(format!("{behind:?}"))
            }
        },
    )
    .await;
    assert!(cable.dropped() > 0, "activation tried to reach account");
    assert!(
        stored_times(&account_db, &waiting)
            .await
            .iter()
            .all(|(_, n)| *n == 0),
        "still nothing crossed the cut cable"
    );

    // Cable restored: every record arrives once, and the outbox empties.
    cable.restore();
    eventually("the outbox empties after the outage", CATCH_UP, || async {
        let left = outbox(&activation_db).await;
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} records still waiting", left.len()))
        }
    })
    .await;
    for (id, n) in stored_times(&account_db, &waiting).await {
        assert_eq!(n, 1, "record {id} is in the central store exactly once");
    }
    let listed = suite.audit_records(&admin).await;
    for id in &waiting {
        assert_eq!(
            listed.iter().filter(|r| &r.id == id).count(),
            1,
            "record {id} is listed once"
        );
    }

    // The organization's chain holds them, numbered 1..=n with no gap.
    let chain: Vec<(String, Option<i64>)> =
        sqlx::query("SELECT id, seq FROM audit_records WHERE chain = $1 ORDER BY seq")
            .bind(&admin.organization)
            .fetch_all(&account_db)
            .await
            .expect("read the organization's chain")
            .iter()
            .map(|r| (r.get("id"), r.get("seq")))
            .collect();
    let seqs: Vec<Option<i64>> = chain.iter().map(|(_, seq)| *seq).collect();
    let expected: Vec<Option<i64>> = (1..=i64::try_from(chain.len()).unwrap())
        .map(Some)
        .collect();
    assert_eq!(seqs, expected, "the chain runs 1..=n with no gap");
    for id in &waiting {
        assert!(
            chain.iter().any(|(chained, _)| chained == id),
            "record {id} is in the organization's chain"
        );
    }
}

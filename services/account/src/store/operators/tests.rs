//! Operator store conformance: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::organization::NewOrganization;
use crate::store::sessions::resolve;
use std::time::Duration;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    created_operators_read_back_and_list_in_creation_order,
    a_taken_login_id_is_refused,
    clinic_admins_need_clinics_of_their_own_organization,
    a_replayed_create_carries_no_secrets,
    login_opens_a_session_that_resolves,
    wrong_passwords_lock_at_the_configured_count_and_unlock_clears_it,
    a_replayed_totp_code_is_refused,
    missing_or_wrong_totp_codes_fail_and_are_audited,
    an_unknown_login_id_is_audited_anonymously,
    idle_timeout_and_absolute_lifetime_end_sessions,
    disabling_ends_sessions_and_refuses_login,
    the_database_holds_no_plaintext_password_or_totp_secret,
    changing_the_password_clears_the_flag_and_keeps_only_this_session,
    without_totp_a_password_logs_in,
    operators_of_another_organization_are_not_found,
);

const MINUTE: i64 = 60_000_000;
/// 2025-01-01T00:00:00Z, so TOTP steps are realistic.
const T0: i64 = 1_735_689_600_000_000;

struct Env {
    pool: AnyPool,
    org: OrganizationId,
    key: SecretKey,
    policy: SessionPolicy,
}

fn entry(action: &'static str) -> AuditEntry {
    AuditEntry::new(
        &Actor::Service("store-tests".into()),
        &RequestMeta::default(),
        T0,
        action,
        ActionCode::Create,
    )
}

async fn org(pool: &AnyPool, name: &str) -> OrganizationId {
    let new = NewOrganization {
        display_name: DisplayName::parse(name, "f").unwrap(),
    };
    match crate::store::create_organization(
        pool,
        T0,
        &new,
        entry("organization.create"),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap()
    {
        Idempotent::Done(o) => o.id,
        Idempotent::Replayed(_) => panic!("no request id, no replay"),
    }
}

async fn env(pool: AnyPool) -> Env {
    let org = org(&pool, "さくら医療グループ").await;
    Env {
        pool,
        org,
        key: SecretKey::generate().unwrap(),
        policy: SessionPolicy::default(),
    }
}

async fn clinic(pool: &AnyPool, org: OrganizationId) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO clinics (id, organization_id, kind, institution_key, institution_code, \
         registration_number, display_name, prefecture, home_visit_enabled, \
         operation_start_date, bank_hash, bank_key_id, warnings, revision, create_time, \
         update_time) VALUES ($1, $2, 'medical', $3, NULL, NULL, 'さくら内科', 13, 0, NULL, \
         NULL, NULL, '', 1, $4, $4)",
    )
    .bind(id.to_string())
    .bind(org.stored())
    .bind(format!("k{}", id.simple()))
    .bind(T0)
    .execute(pool)
    .await
    .unwrap();
    id
}

fn new_op(org: OrganizationId, login: &str, role: Role, clinics: Vec<Uuid>) -> NewOperator {
    NewOperator::new(
        org,
        LoginId::parse(login, "f").unwrap(),
        DisplayName::parse("山田 太郎", "f").unwrap(),
        role,
        clinics,
        "operator.clinics",
    )
    .unwrap()
}

impl Env {
    async fn try_create(&self, login: &str, role: Role, clinics: Vec<Uuid>) -> Result<Created> {
        let new = new_op(self.org, login, role, clinics);
        match create(
            &self.pool,
            T0,
            &new,
            self.policy.require_totp,
            &self.key,
            entry("operator.create"),
            None,
            |_| Vec::new(),
        )
        .await?
        {
            Idempotent::Done(c) => Ok(c),
            Idempotent::Replayed(_) => panic!("no request id, no replay"),
        }
    }

    async fn create(&self, login: &str) -> Created {
        self.try_create(login, Role::OrgAdmin, vec![])
            .await
            .unwrap()
    }

    async fn login(&self, c: &Created, code: &str, now: i64) -> Result<LoggedIn> {
        self.login_with(c.operator.login_id.as_str(), &c.password, code, now)
            .await
    }

    async fn login_with(
        &self,
        login_id: &str,
        password: &str,
        code: &str,
        now: i64,
    ) -> Result<LoggedIn> {
        login(
            &self.pool,
            now,
            &self.policy,
            &self.key,
            &RequestMeta {
                source_address: "192.0.2.1:50000".into(),
                ..RequestMeta::default()
            },
            Credentials {
                login_id,
                password,
                totp_code: code,
            },
        )
        .await
    }

    async fn audits(&self, action: &str) -> Vec<(String, String, String, String)> {
        sqlx::query(
            "SELECT outcome, reason, actor_kind, auth_method FROM audit_records \
             WHERE action = $1 ORDER BY id",
        )
        .bind(action)
        .fetch_all(&self.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("outcome").unwrap(),
                r.try_get("reason").unwrap(),
                r.try_get("actor_kind").unwrap(),
                r.try_get("auth_method").unwrap(),
            )
        })
        .collect()
    }
}

fn code(c: &Created, now: i64) -> String {
    c.totp.as_ref().unwrap().code_at(now).unwrap().to_string()
}

async fn created_operators_read_back_and_list_in_creation_order(pool: AnyPool) {
    let env = env(pool).await;
    let cl = clinic(&env.pool, env.org).await;
    let a = env.create("admin").await;
    let b = env
        .try_create("Clinic.Admin", Role::ClinicAdmin, vec![cl])
        .await
        .unwrap();
    let c = env
        .try_create("viewer", Role::Viewer, vec![])
        .await
        .unwrap();
    assert_eq!(b.operator.login_id.as_str(), "clinic.admin");
    assert!(a.operator.must_change_password && a.operator.totp_enrolled);
    assert_eq!(a.operator.state, OperatorState::Active);
    assert_eq!(a.password.chars().count(), password::GENERATED_LEN);
    let got = get(&env.pool, env.org, b.operator.id).await.unwrap();
    assert_eq!(got, b.operator);
    assert_eq!(got.clinics, vec![cl]);

    let (page1, next) = list(&env.pool, env.org, None, 2).await.unwrap();
    assert_eq!(
        page1.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![a.operator.id, b.operator.id]
    );
    assert_eq!(page1[1].clinics, vec![cl]);
    let (page2, next2) = list(&env.pool, env.org, next, 2).await.unwrap();
    assert_eq!(page2, vec![c.operator.clone()]);
    assert_eq!(next2, None);
}

async fn a_taken_login_id_is_refused(pool: AnyPool) {
    let env = env(pool).await;
    env.create("yamada").await;
    let other_org = Env {
        org: org(&env.pool, "ひまわり会").await,
        ..env
    };
    let err = other_org
        .try_create("YAMADA", Role::Viewer, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Taken {
                reason: "LOGIN_ID_TAKEN",
                field: "operator.login_id",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        login_id_taken(&other_org.pool, &LoginId::parse("yamada", "f").unwrap())
            .await
            .unwrap()
    );
    let (ops, _) = list(&other_org.pool, other_org.org, None, 10)
        .await
        .unwrap();
    assert!(ops.is_empty());
}

async fn clinic_admins_need_clinics_of_their_own_organization(pool: AnyPool) {
    let env = env(pool).await;
    let foreign_org = org(&env.pool, "ひまわり会").await;
    let foreign = clinic(&env.pool, foreign_org).await;
    for clinics in [vec![foreign], vec![Uuid::now_v7()]] {
        let err = env
            .try_create("clinic.admin", Role::ClinicAdmin, clinics)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotFound {
                    reason: "CLINIC_NOT_FOUND",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(
        list(&env.pool, env.org, None, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
}

async fn a_replayed_create_carries_no_secrets(pool: AnyPool) {
    let env = env(pool).await;
    let new = new_op(env.org, "yamada", Role::OrgAdmin, vec![]);
    let hash = [7u8; 32];
    let key = RequestKey {
        caller: "operator:test",
        method: "/mynafleet.account.v1.OperatorService/CreateOperator",
        request_id: "0190a000-0000-7000-8000-000000000001",
        request_hash: &hash,
    };
    let run = || {
        create(
            &env.pool,
            T0,
            &new,
            true,
            &env.key,
            entry("operator.create"),
            Some(&key),
            |op| op.name().into_bytes(),
        )
    };
    let first = match run().await.unwrap() {
        Idempotent::Done(c) => c,
        Idempotent::Replayed(_) => panic!("first call must do the work"),
    };
    match run().await.unwrap() {
        Idempotent::Replayed(bytes) => assert_eq!(bytes, first.operator.name().into_bytes()),
        Idempotent::Done(_) => panic!("a repeat must replay"),
    }
    assert_eq!(list(&env.pool, env.org, None, 10).await.unwrap().0.len(), 1);
}

async fn login_opens_a_session_that_resolves(pool: AnyPool) {
    let env = env(pool).await;
    let c = env.create("yamada").await;
    let now = T0 + MINUTE;
    let done = env.login(&c, &code(&c, now), now).await.unwrap();
    assert!(done.token.starts_with(sessions::TOKEN_PREFIX));
    assert_eq!(done.operator.last_login_time, Some(now));
    assert_eq!(
        done.expire_time,
        now + i64::try_from(env.policy.absolute_lifetime.as_micros()).unwrap()
    );
    let s = resolve(&env.pool, &done.token, now + MINUTE, &env.policy)
        .await
        .unwrap();
    assert_eq!(s.principal.operator, c.operator.id);
    assert_eq!(s.principal.role, Role::OrgAdmin);
    assert_eq!(s.principal.session_id, done.session_id);
    assert!(s.principal.must_change_password);
    let got = get(&env.pool, env.org, c.operator.id).await.unwrap();
    assert_eq!(got.last_login_time, Some(now));
    assert_eq!(
        env.audits("session.login").await,
        vec![(
            "success".into(),
            String::new(),
            "operator".into(),
            "password+totp".into()
        )]
    );
    let session_ref: String =
        sqlx::query("SELECT session_ref FROM audit_records WHERE action = 'session.login'")
            .fetch_one(&env.pool)
            .await
            .unwrap()
            .try_get("session_ref")
            .unwrap();
    assert_eq!(session_ref, done.session_id);
}

async fn wrong_passwords_lock_at_the_configured_count_and_unlock_clears_it(pool: AnyPool) {
    let mut env = env(pool).await;
    env.policy.max_failed_logins = 3;
    let c = env.create("yamada").await;
    let login_id = c.operator.login_id.as_str();
    let mut now = T0;
    for _ in 0..3 {
        now += MINUTE;
        let err = env
            .login_with(login_id, "Wrong-password-42", &code(&c, now), now)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::LoginFailed), "{err:?}");
    }
    assert_eq!(
        get(&env.pool, env.org, c.operator.id).await.unwrap().state,
        OperatorState::Locked
    );
    now += MINUTE;
    let err = env.login(&c, &code(&c, now), now).await.unwrap_err();
    assert!(matches!(err, Error::OperatorLocked), "{err:?}");
    let logins = env.audits("session.login").await;
    let reasons: Vec<&str> = logins.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "PASSWORD_WRONG",
            "PASSWORD_WRONG",
            "PASSWORD_WRONG",
            "OPERATOR_LOCKED"
        ]
    );
    assert!(logins.iter().all(|l| l.0 == "failure"));
    assert_eq!(env.audits("operator.locked").await.len(), 1);

    let unlocked = match unlock(
        &env.pool,
        now,
        env.org,
        c.operator.id,
        entry("operator.unlock"),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap()
    {
        Idempotent::Done(op) => op,
        Idempotent::Replayed(_) => panic!("no request id, no replay"),
    };
    assert_eq!(unlocked.state, OperatorState::Active);
    // The count starts again from zero: two failures do not lock a three-strike operator.
    for _ in 0..2 {
        now += MINUTE;
        env.login_with(login_id, "Wrong-password-42", "", now)
            .await
            .unwrap_err();
    }
    now += MINUTE;
    env.login(&c, &code(&c, now), now).await.unwrap();
    let failed: i64 = sqlx::query("SELECT failed_logins FROM operators WHERE id = $1")
        .bind(c.operator.id.to_string())
        .fetch_one(&env.pool)
        .await
        .unwrap()
        .try_get("failed_logins")
        .unwrap();
    assert_eq!(failed, 0, "a successful login resets the count");
}

async fn a_replayed_totp_code_is_refused(pool: AnyPool) {
    let env = env(pool).await;
    let c = env.create("yamada").await;
    let now = T0 + 5 * MINUTE;
    let first = code(&c, now);
    env.login(&c, &first, now).await.unwrap();
    let err = env.login(&c, &first, now + 1_000_000).await.unwrap_err();
    assert!(matches!(err, Error::LoginFailed), "{err:?}");
    // The code of the step before is older than the one accepted, so it fails as well.
    let earlier = code(&c, now - 30_000_000);
    env.login(&c, &earlier, now).await.unwrap_err();
    let later = now + 30_000_000;
    env.login(&c, &code(&c, later), later).await.unwrap();
    let reasons: Vec<String> = env
        .audits("session.login")
        .await
        .into_iter()
        .map(|a| a.1)
        .collect();
    assert_eq!(reasons, vec!["", "TOTP_REPLAYED", "TOTP_REPLAYED", ""]);
}

async fn missing_or_wrong_totp_codes_fail_and_are_audited(pool: AnyPool) {
    let env = env(pool).await;
    let c = env.create("yamada").await;
    let now = T0 + MINUTE;
    let right = code(&c, now);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for typed in ["", wrong] {
        let err = env.login(&c, typed, now).await.unwrap_err();
        assert!(matches!(err, Error::LoginFailed), "{err:?}");
    }
    // A code three steps away is outside the skew.
    let stale = code(&c, now - 90_000_000);
    env.login(&c, &stale, now).await.unwrap_err();
    let reasons: Vec<String> = env
        .audits("session.login")
        .await
        .into_iter()
        .map(|a| a.1)
        .collect();
    assert_eq!(reasons, vec!["TOTP_MISSING", "TOTP_WRONG", "TOTP_WRONG"]);
}

async fn an_unknown_login_id_is_audited_anonymously(pool: AnyPool) {
    let env = env(pool).await;
    let err = env
        .login_with("ghost.user", "Typed-Secret-Password-9", "123456", T0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LoginFailed), "{err:?}");
    let row = sqlx::query(
        "SELECT organization_id, actor, actor_kind, reason, source_address FROM audit_records \
         WHERE action = 'session.login'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        row.try_get::<Option<String>, _>("organization_id").unwrap(),
        None
    );
    assert_eq!(row.try_get::<String, _>("actor_kind").unwrap(), "anonymous");
    assert_eq!(row.try_get::<String, _>("actor").unwrap(), "");
    assert_eq!(
        row.try_get::<String, _>("reason").unwrap(),
        "UNKNOWN_LOGIN_ID"
    );
    assert_eq!(
        row.try_get::<String, _>("source_address").unwrap(),
        "192.0.2.1:50000"
    );
    let dump = audit_dump(&env.pool).await;
    assert!(!dump.contains("ghost"));
    assert!(!dump.contains("Typed-Secret-Password-9"));
}

/// Every text column of every audit record, joined.
async fn audit_dump(pool: &AnyPool) -> String {
    sqlx::query(
        "SELECT actor, actor_role, target, reason, clinic, session_ref, request_id \
         FROM audit_records",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .flat_map(|r| {
        (0..7)
            .map(|i| r.try_get::<String, _>(i).unwrap())
            .collect::<Vec<_>>()
    })
    .collect::<Vec<_>>()
    .join("\n")
}

async fn idle_timeout_and_absolute_lifetime_end_sessions(pool: AnyPool) {
    let env = env(pool).await;
    let c = env.create("yamada").await;
    let idle = i64::try_from(env.policy.idle_timeout.as_micros()).unwrap();
    let mut now = T0 + MINUTE;
    let s = env.login(&c, &code(&c, now), now).await.unwrap();
    now += idle - MINUTE;
    resolve(&env.pool, &s.token, now, &env.policy)
        .await
        .unwrap();
    now += idle;
    let err = resolve(&env.pool, &s.token, now, &env.policy)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SessionExpired), "{err:?}");
    // Once expired, it stays dead even if used again quickly.
    let err = resolve(&env.pool, &s.token, now + 1, &env.policy)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SessionInvalid), "{err:?}");

    // Kept busy, a session still ends at its absolute lifetime.
    now += MINUTE;
    let s = env.login(&c, &code(&c, now), now).await.unwrap();
    assert_eq!(
        s.expire_time - now,
        i64::try_from(Duration::from_secs(8 * 3600).as_micros()).unwrap()
    );
    while now + 10 * MINUTE < s.expire_time {
        now += 10 * MINUTE;
        resolve(&env.pool, &s.token, now, &env.policy)
            .await
            .unwrap();
    }
    let err = resolve(&env.pool, &s.token, s.expire_time, &env.policy)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SessionExpired), "{err:?}");
}

async fn disabling_ends_sessions_and_refuses_login(pool: AnyPool) {
    let env = env(pool).await;
    let admin = env.create("admin").await;
    let c = env.create("yamada").await;
    let mut now = T0 + MINUTE;
    let s = env.login(&c, &code(&c, now), now).await.unwrap();
    let err = disable(
        &env.pool,
        now,
        env.org,
        admin.operator.id,
        Some(admin.operator.id),
        entry("operator.disable"),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Precondition {
                reason: "CANNOT_DISABLE_SELF",
                ..
            }
        ),
        "{err:?}"
    );
    let disabled = match disable(
        &env.pool,
        now,
        env.org,
        c.operator.id,
        Some(admin.operator.id),
        entry("operator.disable"),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap()
    {
        Idempotent::Done(op) => op,
        Idempotent::Replayed(_) => panic!("no request id, no replay"),
    };
    assert_eq!(disabled.state, OperatorState::Disabled);
    let err = resolve(&env.pool, &s.token, now, &env.policy)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SessionInvalid), "{err:?}");
    now += MINUTE;
    let err = env.login(&c, &code(&c, now), now).await.unwrap_err();
    assert!(matches!(err, Error::OperatorDisabled), "{err:?}");
    assert_eq!(env.audits("operator.disable").await.len(), 1);
    assert_eq!(
        env.audits("session.login").await.last().unwrap().1,
        "OPERATOR_DISABLED"
    );
}

async fn the_database_holds_no_plaintext_password_or_totp_secret(pool: AnyPool) {
    let env = env(pool).await;
    let new = new_op(env.org, "yamada", Role::OrgAdmin, vec![]);
    let hash = [1u8; 32];
    let key = RequestKey {
        caller: "operator:test",
        method: "/mynafleet.account.v1.OperatorService/CreateOperator",
        request_id: "0190a000-0000-7000-8000-000000000002",
        request_hash: &hash,
    };
    let c = match create(
        &env.pool,
        T0,
        &new,
        true,
        &env.key,
        entry("operator.create"),
        Some(&key),
        |op| op.name().into_bytes(),
    )
    .await
    .unwrap()
    {
        Idempotent::Done(c) => c,
        Idempotent::Replayed(_) => panic!("first call must do the work"),
    };
    let now = T0 + MINUTE;
    let s = env.login(&c, &code(&c, now), now).await.unwrap();
    let secret = c.totp.as_ref().unwrap();
    let base32 = secret.base32();
    let row =
        sqlx::query("SELECT password_hash, totp_sealed, totp_key_id FROM operators WHERE id = $1")
            .bind(c.operator.id.to_string())
            .fetch_one(&env.pool)
            .await
            .unwrap();
    let phc: String = row.try_get("password_hash").unwrap();
    assert!(phc.starts_with("$argon2id$"));
    assert!(!phc.contains(c.password.as_str()));
    let sealed: Vec<u8> = row.try_get("totp_sealed").unwrap();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(&sealed, base32.as_bytes()));
    assert!(!contains(&sealed, c.password.as_bytes()));
    assert_eq!(
        row.try_get::<String, _>("totp_key_id").unwrap(),
        env.key.id()
    );
    // Nothing else written on the way holds them either (request replay, sessions, audit).
    let replay: Vec<u8> = sqlx::query("SELECT response FROM request_ids")
        .fetch_one(&env.pool)
        .await
        .unwrap()
        .try_get("response")
        .unwrap();
    let token_hashes: Vec<Vec<u8>> = sqlx::query("SELECT token_hash FROM sessions")
        .fetch_all(&env.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("token_hash").unwrap())
        .collect();
    let dump = audit_dump(&env.pool).await;
    for secret in [c.password.as_bytes(), base32.as_bytes(), s.token.as_bytes()] {
        assert!(!contains(&replay, secret));
        assert!(!contains(dump.as_bytes(), secret));
        assert!(token_hashes.iter().all(|h| !contains(h, secret)));
    }
}

async fn changing_the_password_clears_the_flag_and_keeps_only_this_session(pool: AnyPool) {
    let env = env(pool).await;
    let c = env.create("yamada").await;
    let mut now = T0 + MINUTE;
    let other = env.login(&c, &code(&c, now), now).await.unwrap();
    now += MINUTE;
    let this = env.login(&c, &code(&c, now), now).await.unwrap();
    let principal = resolve(&env.pool, &this.token, now, &env.policy)
        .await
        .unwrap()
        .principal;
    let change = |current: &str, new: &str| {
        change_password(
            &env.pool,
            now,
            &env.policy,
            &principal,
            Zeroizing::new(current.to_owned()),
            Zeroizing::new(new.to_owned()),
            entry("operator.password_change"),
        )
    };
    let strong = "Kirishima-Clinic-2025";
    let err = change(&c.password, "short1A").await.unwrap_err();
    assert!(matches!(err, Error::PasswordTooWeak(_)), "{err:?}");
    let err = change(&c.password, &c.password).await.unwrap_err();
    assert!(matches!(err, Error::PasswordTooWeak(_)), "{err:?}");
    let err = change("Not-the-current-pw-1", strong).await.unwrap_err();
    assert!(matches!(err, Error::InvalidFields(_)), "{err:?}");
    change(&c.password, strong).await.unwrap();

    let s = resolve(&env.pool, &this.token, now, &env.policy)
        .await
        .unwrap();
    assert!(!s.principal.must_change_password);
    let err = resolve(&env.pool, &other.token, now, &env.policy)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SessionInvalid), "{err:?}");
    now += MINUTE;
    env.login_with("yamada", &c.password, &code(&c, now), now)
        .await
        .unwrap_err();
    now += MINUTE;
    env.login_with("yamada", strong, &code(&c, now), now)
        .await
        .unwrap();
    let outcomes: Vec<(String, String)> = env
        .audits("operator.password_change")
        .await
        .into_iter()
        .map(|a| (a.0, a.1))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("failure".into(), "PASSWORD_WRONG".into()),
            ("success".into(), String::new())
        ]
    );
}

async fn without_totp_a_password_logs_in(pool: AnyPool) {
    let mut env = env(pool).await;
    env.policy.require_totp = false;
    let c = env.create("yamada").await;
    assert!(!c.operator.totp_enrolled && c.totp.is_none());
    assert_eq!(c.totp_uri().unwrap().as_str(), "");
    env.login(&c, "", T0).await.unwrap();
    assert_eq!(env.audits("session.login").await[0].3, "password");
    // Switching TOTP on later refuses operators who never enrolled.
    env.policy.require_totp = true;
    let err = env.login(&c, "", T0 + MINUTE).await.unwrap_err();
    assert!(matches!(err, Error::LoginFailed), "{err:?}");
    assert_eq!(env.audits("session.login").await[1].1, "TOTP_NOT_ENROLLED");
}

async fn operators_of_another_organization_are_not_found(pool: AnyPool) {
    let env = env(pool).await;
    let c = env.create("yamada").await;
    let other = org(&env.pool, "ひまわり会").await;
    let err = get(&env.pool, other, c.operator.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                reason: "OPERATOR_NOT_FOUND",
                ..
            }
        ),
        "{err:?}"
    );
    let err = unlock(
        &env.pool,
        T0,
        other,
        c.operator.id,
        entry("operator.unlock"),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = disable(
        &env.pool,
        T0,
        other,
        c.operator.id,
        None,
        entry("operator.disable"),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(list(&env.pool, other, None, 10).await.unwrap().0.is_empty());
}

//! Bootstrap of a deployment's organization (DESIGN.md §3.1): creates the organization and
//! its first org_admin with a generated password and, when TOTP is required, an enrolled
//! TOTP secret. `mynafleet admin bootstrap` and dev mode print the credentials once; this
//! module never logs them and its `Debug` output hides them.

use crate::audit::{ActionCode, AuditEntry, RequestMeta};
use crate::auth::{Actor, Role};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::operator::{LoginId, NewOperator};
use crate::organization::{DisplayName, NewOrganization};
use crate::store::{self, Idempotent, operators};
use sqlx::AnyPool;
use zeroize::Zeroizing;

/// The actor name bootstrap records act under.
const ACTOR: &str = "bootstrap";

/// What bootstrap made, with the first admin's credentials (shown once).
pub struct Bootstrapped {
    /// The organization's resource name, `organizations/{uuid}`.
    pub organization: String,
    /// The admin's resource name, `organizations/{org}/operators/{uuid}`.
    pub operator: String,
    /// The admin's login id (as stored, lower-cased).
    pub login_id: String,
    /// The generated initial password (to be changed at first login).
    pub password: Zeroizing<String>,
    /// `otpauth://totp/…` to enrol in an authenticator app; empty when TOTP is not required.
    pub totp_uri: String,
}

impl std::fmt::Debug for Bootstrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrapped")
            .field("organization", &self.organization)
            .field("operator", &self.operator)
            .field("login_id", &self.login_id)
            .field("password", &"<redacted>")
            .field("totp_uri", &"<redacted>")
            .finish()
    }
}

fn db_open_error(e: mynafleet_kit::db::DbError) -> Error {
    use mynafleet_kit::db::DbError;
    Error::Db(match e {
        DbError::Connect(e) => e,
        DbError::Migrate(m) => sqlx::Error::Migrate(Box::new(m)),
        other => sqlx::Error::Configuration(other.to_string().into()),
    })
}

/// Opens the store of `config` (applying migrations) and bootstraps an organization named
/// `organization_display_name` with its first org_admin `login_id` / `display_name`.
pub async fn bootstrap(
    config: &Config,
    organization_display_name: &str,
    login_id: &str,
    display_name: &str,
) -> Result<Bootstrapped> {
    let pool = mynafleet_kit::db::connect(&config.database_url, &crate::MIGRATIONS)
        .await
        .map_err(db_open_error)?;
    let made = bootstrap_with_pool(
        &pool,
        config,
        organization_display_name,
        login_id,
        display_name,
    )
    .await;
    pool.close().await;
    made
}

/// Like [`bootstrap`] on an open, migrated pool. A login id already in use is refused
/// (`Error::Taken`, reason `LOGIN_ID_TAKEN`) before anything is created.
pub async fn bootstrap_with_pool(
    pool: &AnyPool,
    config: &Config,
    organization_display_name: &str,
    login_id: &str,
    display_name: &str,
) -> Result<Bootstrapped> {
    let org = NewOrganization {
        display_name: DisplayName::parse(organization_display_name, "organization.display_name")?,
    };
    let login_id = LoginId::parse(login_id, "operator.login_id")?;
    let display_name = DisplayName::parse(display_name, "operator.display_name")?;
    if operators::login_id_taken(pool, &login_id).await? {
        return Err(Error::Taken {
            reason: "LOGIN_ID_TAKEN",
            field: "operator.login_id",
            message: format!(
                "an operator with login id {:?} already exists; choose another",
                login_id.as_str()
            ),
        });
    }
    let actor = Actor::Service(ACTOR.into());
    let meta = RequestMeta::default();
    let now = config.clock.now_micros();
    let entry = |action, code| AuditEntry::new(&actor, &meta, now, action, code);
    let organization = match store::create_organization(
        pool,
        now,
        &org,
        entry("organization.create", ActionCode::Create),
        None,
        |_| Vec::new(),
    )
    .await?
    {
        Idempotent::Done(o) => o,
        Idempotent::Replayed(_) => unreachable!("no request id, so no replay"),
    };
    let new = NewOperator::new(
        organization.id,
        login_id,
        display_name,
        Role::OrgAdmin,
        Vec::new(),
        "operator.clinics",
    )?;
    let created = match operators::create(
        pool,
        now,
        &new,
        config.sessions.require_totp,
        &config.keys.totp,
        entry("operator.create", ActionCode::Create),
        None,
        |_| Vec::new(),
    )
    .await?
    {
        Idempotent::Done(c) => c,
        Idempotent::Replayed(_) => unreachable!("no request id, so no replay"),
    };
    let totp_uri = created.totp_uri()?;
    tracing::info!(
        organization = %organization.id.name(),
        operator = %created.operator.name(),
        "bootstrapped organization and its first org_admin"
    );
    Ok(Bootstrapped {
        organization: organization.id.name(),
        operator: created.operator.name(),
        login_id: created.operator.login_id.as_str().to_owned(),
        password: created.password.clone(),
        totp_uri: totp_uri.as_str().to_owned(),
    })
}

#[cfg(test)]
mod tests;

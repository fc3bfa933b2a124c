//! The operator's session: `login` (password + TOTP → token), `logout`, `whoami`, `password`,
//! and the session file `<config-dir>/session.json` (0600) that keeps the token between
//! commands. The token is never printed.

use super::connect::{Ctx, call};
use super::operators::OperatorView;
use super::output::{self, Format};
use super::prompt;
use anyhow::{Context as _, bail};
use mynafleet_proto::account::v1 as pb;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroize as _;

/// The file name of the session in the config directory.
const FILE: &str = "session.json";

/// What `login` keeps for the commands after it.
#[derive(Deserialize, Serialize)]
pub(crate) struct Session {
    /// The account service the token belongs to.
    pub(crate) endpoint: String,
    /// The CA file used at login.
    pub(crate) ca: Option<PathBuf>,
    /// The activation service known at login (flag or endpoints.json), if any.
    #[serde(default)]
    pub(crate) activation_url: Option<String>,
    /// The bearer token.
    pub(crate) token: String,
    /// The operator's login id.
    pub(crate) login_id: String,
    /// `organizations/{org}/operators/{id}`.
    pub(crate) operator: String,
    /// `organizations/{org}`.
    pub(crate) organization: String,
    /// When the session ends whatever happens (RFC 3339).
    pub(crate) expire_time: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .field("login_id", &self.login_id)
            .field("expire_time", &self.expire_time)
            .finish_non_exhaustive()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.token.zeroize();
    }
}

impl Session {
    fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// Reads the session of `dir`.
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("not logged in; run `mynafleet admin login --login-id ID`")
            }
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is damaged; run `mynafleet admin login` again",
                path.display()
            )
        })
    }

    /// Writes the session to `dir` (created 0700), readable by its owner only.
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        create_private_dir(dir)?;
        let text = zeroize::Zeroizing::new(serde_json::to_string_pretty(self)?);
        let path = Self::path(dir);
        mynafleet_kit::tls::dev::write_private(&path, &text)
            .with_context(|| format!("write {}", path.display()))
    }

    /// Returns whether the session is past its absolute lifetime.
    pub(crate) fn expired(&self) -> bool {
        time::OffsetDateTime::parse(
            &self.expire_time,
            &time::format_description::well_known::Rfc3339,
        )
        .is_ok_and(|t| t <= time::OffsetDateTime::now_utc())
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("create {}", dir.display()))
}

/// Flags of `admin login`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The operator's login id.
    #[arg(long)]
    login_id: String,
}

/// `admin login`: asks for password and TOTP code, opens a session and keeps its token.
pub(crate) async fn login(ctx: &Ctx, args: LoginArgs) -> anyhow::Result<()> {
    let dir = ctx.config_dir()?;
    let previous = Session::load(&dir).ok();
    let endpoint = ctx.endpoint(previous.as_ref())?;
    let channel = ctx.channel(&endpoint)?;
    let password = prompt::secret("Password").await?;
    let code = prompt::visible("TOTP code").await?;
    let request = pb::LoginRequest {
        login_id: args.login_id.clone(),
        password: password.to_string(),
        totp_code: code.trim().to_owned(),
    };
    let mut resp = call(|| {
        let mut c = pb::session_service_client::SessionServiceClient::new(channel.clone());
        let r = request.clone();
        async move { c.login(r).await }
    })
    .await
    .context("log in")?;
    let operator = resp.operator.take().unwrap_or_default();
    let organization = organization_of(&operator.name);
    let session = Session {
        endpoint: endpoint.url.clone(),
        ca: Some(endpoint.ca.clone()),
        activation_url: ctx.activation_url(previous.as_ref()),
        token: std::mem::take(&mut resp.session_token),
        login_id: operator.login_id.clone(),
        operator: operator.name.clone(),
        organization: organization.clone(),
        expire_time: output::rfc3339(resp.expire_time.as_ref()),
    };
    session.save(&dir)?;
    let view = OperatorView::from(&operator);
    match ctx.format() {
        Format::Json => output::json(&serde_json::json!({
            "operator": view,
            "organization": organization,
            "expire_time": session.expire_time,
            "idle_timeout_seconds": resp.idle_timeout_seconds,
        }))?,
        Format::Table => {
            println!(
                "logged in as {} ({}) of {}",
                view.login_id, view.role, organization
            );
            println!(
                "the session ends after {} minutes idle, at the latest at {}",
                resp.idle_timeout_seconds / 60,
                output::local(resp.expire_time.as_ref())
            );
        }
    }
    if operator.must_change_password {
        eprintln!(
            "note: the password is still the initial one; run `mynafleet admin password` \
             before anything else"
        );
    }
    Ok(())
}

/// Returns `organizations/{org}` of `organizations/{org}/operators/{id}`.
pub(crate) fn organization_of(name: &str) -> String {
    name.split("/operators/")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `admin logout`: ends the session on the server and forgets the token.
pub(crate) async fn logout(ctx: &Ctx) -> anyhow::Result<()> {
    let dir = ctx.config_dir()?;
    let api = ctx.api();
    let ended = match &api {
        Ok(api) => call(|| {
            let mut c = api.sessions();
            async move { c.logout(pb::LogoutRequest {}).await }
        })
        .await
        .map(|_| ()),
        Err(_) => Ok(()),
    };
    let path = Session::path(&dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("not logged in");
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("remove {}", path.display())),
    }
    match ended {
        Ok(()) => println!("logged out"),
        // The token is gone locally; a session the server already ended needs nothing more.
        Err(e) => println!("logged out locally ({e:#})"),
    }
    Ok(())
}

/// `admin whoami`: the operator and session the token names.
pub(crate) async fn whoami(ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let resp = call(|| {
        let mut c = api.sessions();
        async move { c.get_current_session(pb::GetCurrentSessionRequest {}).await }
    })
    .await?;
    let op = resp.operator.unwrap_or_default();
    let view = OperatorView::from(&op);
    match ctx.format() {
        Format::Json => output::json(&serde_json::json!({
            "operator": view,
            "organization": organization_of(&op.name),
            "login_time": output::rfc3339(resp.login_time.as_ref()),
            "expire_time": output::rfc3339(resp.expire_time.as_ref()),
        })),
        Format::Table => {
            println!(
                "{} ({}, {}) of {}",
                view.login_id,
                view.display_name,
                view.role,
                organization_of(&op.name)
            );
            println!(
                "logged in at {}; the session ends at the latest at {}",
                output::local(resp.login_time.as_ref()),
                output::local(resp.expire_time.as_ref())
            );
            Ok(())
        }
    }
}

/// `admin password`: changes the logged-in operator's password (asked twice).
pub(crate) async fn change_password(ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let current = prompt::secret("Current password").await?;
    let new = prompt::secret("New password (13+ characters, three kinds)").await?;
    let again = prompt::secret("New password again").await?;
    if *new != *again {
        bail!("the two new passwords differ; nothing was changed");
    }
    let request = pb::ChangePasswordRequest {
        current_password: current.to_string(),
        new_password: new.to_string(),
    };
    call(|| {
        let mut c = api.sessions();
        let r = request.clone();
        async move { c.change_password(r).await }
    })
    .await
    .context("change password")?;
    println!("password changed");
    Ok(())
}

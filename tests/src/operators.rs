//! Operators in whole-suite tests: bootstrap an organization and its first org_admin through
//! the account crate (as `mynafleet admin bootstrap` does), log in with password + TOTP
//! computed at the suite clock's time, and build account clients that send the session token.

use crate::{As, DEADLINE, Suite, Target};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::service::Interceptor;
use mynafleet_proto::tonic::service::interceptor::InterceptedService;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_proto::tonic::{self, Request, Status};

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone, Debug)]
pub struct Bearer(pub String);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let value = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| Status::internal("token is not a header value"))?;
        req.metadata_mut().insert("authorization", value);
        Ok(req)
    }
}

/// A channel that carries an operator's token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// A logged-in operator.
#[derive(Clone, Debug)]
pub struct Operator {
    /// The bearer token.
    pub token: String,
    /// The login id.
    pub login_id: String,
    /// The password now in force.
    pub password: String,
    /// The TOTP URI the operator enrolled.
    pub totp_uri: String,
    /// `organizations/{org}`.
    pub organization: String,
    /// `organizations/{org}/operators/{id}`.
    pub name: String,
}

/// The password tests change initial passwords to.
pub const NEW_PASSWORD: &str = "Kaigi-Tsuika-2026!";

impl Suite {
    /// Returns the account service's configuration as `mynafleet admin bootstrap` would read it.
    pub fn account_config(&self) -> mynafleet_account::Config {
        let pki = mynafleet_kit::tls::dev::DevPki::in_memory().expect("throwaway CA");
        let id = pki.service_identity("account").expect("throwaway identity");
        let mut config = mynafleet_account::Config::for_tests(
            self.account_database_url().to_owned(),
            pki.server_tls(id, None),
        );
        config.clock = self.clock.clone();
        config.keys = mynafleet_account::Keys::load_or_create(self.dir()).expect("suite keys");
        config
    }

    /// Returns the current TOTP code of `uri` at the suite clock's time.
    pub fn totp_code(&self, uri: &str) -> String {
        let totp = totp_rs::Totp::from_url(uri).expect("parse otpauth uri");
        let now = u64::try_from(self.clock.now().unix_timestamp()).expect("time after 1970");
        totp.generate(now).to_string()
    }

    /// Returns an account-service channel that carries `token`.
    pub fn authed(&self, token: &str) -> Authed {
        InterceptedService::new(
            self.channel(Target::Account, As::Anonymous),
            Bearer(token.to_owned()),
        )
    }

    /// Logs in; the raw result, for tests of refusals.
    pub async fn login(
        &self,
        login_id: &str,
        password: &str,
        totp_code: &str,
    ) -> Result<pb::LoginResponse, Status> {
        let mut c = pb::session_service_client::SessionServiceClient::new(
            self.channel(Target::Account, As::Anonymous),
        );
        tokio::time::timeout(
            DEADLINE,
            c.login(pb::LoginRequest {
                login_id: login_id.to_owned(),
                password: password.to_owned(),
                totp_code: totp_code.to_owned(),
            }),
        )
        .await
        .map_err(|_| Status::deadline_exceeded("login took too long"))?
        .map(tonic::Response::into_inner)
    }

    /// Logs in with a fresh TOTP code (advancing the clock one step so the code is unused)
    /// and, when the password is still the initial one, changes it to [`NEW_PASSWORD`].
    pub async fn log_in(&self, login_id: &str, password: &str, totp_uri: &str) -> Operator {
        self.clock.advance(std::time::Duration::from_secs(30));
        let code = self.totp_code(totp_uri);
        let resp = self
            .login(login_id, password, &code)
            .await
            .unwrap_or_else(|e| panic!("login {login_id}: {e:?}"));
        let op = resp.operator.expect("login returns the operator");
        let mut password = password.to_owned();
        if op.must_change_password {
            let mut s = pb::session_service_client::SessionServiceClient::new(
                self.authed(&resp.session_token),
            );
            s.change_password(pb::ChangePasswordRequest {
                current_password: password.clone(),
                new_password: NEW_PASSWORD.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("change initial password of {login_id}: {e:?}"));
            password = NEW_PASSWORD.to_owned();
        }
        let organization = op
            .name
            .split("/operators/")
            .next()
            .unwrap_or_default()
            .to_owned();
        Operator {
            token: resp.session_token,
            login_id: login_id.to_owned(),
            password,
            totp_uri: totp_uri.to_owned(),
            organization,
            name: op.name,
        }
    }

    /// Bootstraps organization `org` with org_admin `login_id` and logs that admin in.
    pub async fn org_admin(&self, org: &str, login_id: &str) -> Operator {
        let b = mynafleet_account::bootstrap(&self.account_config(), org, login_id, "管理 太郎")
            .await
            .unwrap_or_else(|e| panic!("bootstrap {org}: {e:?}"));
        self.log_in(&b.login_id, &b.password, &b.totp_uri).await
    }

    /// Has `admin` create an operator with `role` (and `clinics` for clinic_admin), then logs
    /// the new operator in.
    pub async fn operator(
        &self,
        admin: &Operator,
        login_id: &str,
        role: pb::Role,
        clinics: &[String],
    ) -> Operator {
        let mut c =
            pb::operator_service_client::OperatorServiceClient::new(self.authed(&admin.token));
        let created = c
            .create_operator(pb::CreateOperatorRequest {
                parent: admin.organization.clone(),
                operator: Some(pb::Operator {
                    login_id: login_id.to_owned(),
                    display_name: format!("{login_id} さん"),
                    role: role as i32,
                    clinics: clinics.to_vec(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .unwrap_or_else(|e| panic!("create operator {login_id}: {e:?}"))
            .into_inner();
        self.log_in(login_id, &created.initial_password, &created.totp_uri)
            .await
    }
}

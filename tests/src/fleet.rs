//! Terminals in whole-suite tests: a clinic with device accounts, activation codes issued by
//! an operator, and activation done in-process the way `mynafleet-agent activate` does it
//! (a key made here, a CSR, the four items), so the activation service's rules can be
//! driven call by call. Channels to the proxy present the certificate activation issued.

use crate::operators::{Authed, Operator};
use crate::{As, Suite, Target};
use mynafleet_kit::tls::ClientTls;
use mynafleet_kit::tls::TlsIdentity;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::eligibility::v1 as eligibility_pb;
use mynafleet_proto::oqs::v1 as oqs_pb;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_proto::tonic::{Response, Status};
use std::time::Duration;

/// What terminals change their generated password to.
pub const DEVICE_PASSWORD: &str = "Uketsuke-Tanmatsu-2026";

/// A fresh request id.
pub fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A device key and its PKCS#10 request, as a terminal makes them.
#[derive(Debug)]
pub struct DeviceKey {
    /// The private key (PKCS#8 PEM).
    pub key_pem: String,
    /// The CSR (DER).
    pub csr_der: Vec<u8>,
}

impl DeviceKey {
    /// Makes a new ECDSA P-256 key and a CSR for it.
    pub fn generate() -> Self {
        let key = rcgen::KeyPair::generate().expect("generate device key");
        let csr = rcgen::CertificateParams::new(Vec::<String>::new())
            .expect("csr params")
            .serialize_request(&key)
            .expect("serialize csr");
        Self {
            key_pem: key.serialize_pem(),
            csr_der: csr.der().to_vec(),
        }
    }
}

/// A clinic with its 機関コード, as a test made it.
#[derive(Clone, Debug)]
pub struct TestClinic {
    /// `organizations/{org}/clinics/{clinic}`.
    pub name: String,
    /// 機関コード.
    pub institution_code: String,
}

impl From<account_pb::Clinic> for TestClinic {
    fn from(clinic: account_pb::Clinic) -> Self {
        Self {
            name: clinic.name,
            institution_code: clinic.institution_code,
        }
    }
}

/// A device account and the sheet it was issued with.
#[derive(Clone, Debug)]
pub struct TestAccount {
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub name: String,
    /// `W` + 7 digits.
    pub account_id: String,
    /// 機関コード.
    pub institution_code: String,
    /// The generated password from the sheet.
    pub password: String,
    /// The activation code on the sheet (may be empty when activation was unreachable).
    pub sheet_code: String,
}

impl Suite {
    /// Returns an activation-service channel carrying `op`'s session token.
    pub fn activation_authed(&self, op: &Operator) -> Authed {
        mynafleet_proto::tonic::service::interceptor::InterceptedService::new(
            self.channel(Target::Activation, As::Anonymous),
            crate::operators::Bearer(op.token.clone()),
        )
    }

    /// Creates a clinic (医科) named `name` with 機関コード `code`.
    pub async fn clinic(
        &self,
        admin: &Operator,
        code: &str,
        name: &str,
        home_visit: bool,
    ) -> TestClinic {
        let clinic = create_clinic(
            self.authed(&admin.token),
            &admin.organization,
            code,
            name,
            home_visit,
        )
        .await;
        TestClinic::from(clinic)
    }

    /// Issues a device account with `privilege` at `clinic`.
    pub async fn device_account(
        &self,
        admin: &Operator,
        clinic: &TestClinic,
        privilege: account_pb::Privilege,
    ) -> TestAccount {
        create_device_account(self.authed(&admin.token), clinic, privilege, "受付端末").await
    }

    /// Has `op` issue a new activation code for `account`; returns it as printed.
    pub async fn issue_code(&self, op: &Operator, account: &TestAccount) -> String {
        pb::activation_code_service_client::ActivationCodeServiceClient::new(
            self.activation_authed(op),
        )
        .issue_activation_code(pb::IssueActivationCodeRequest {
            account: account.name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap_or_else(|e| panic!("issue activation code: {e:?}"))
        .into_inner()
        .activation_code
        .expect("code in response")
        .code
    }

    /// Calls Activate with no client certificate, as a terminal that is not activated yet.
    pub async fn activate(&self, req: pb::ActivateRequest) -> Result<pb::ActivateResponse, Status> {
        pb::activation_service_client::ActivationServiceClient::new(
            self.channel(Target::Activation, As::Anonymous),
        )
        .activate(req)
        .await
        .map(Response::into_inner)
    }

    /// Returns a channel to `target` that presents a certificate activation issued.
    pub fn device_channel(&self, target: Target, cert_pem: &str, key: &DeviceKey) -> Channel {
        ClientTls {
            server_ca_pem: self.ca_pem().to_owned(),
            identity: Some(TlsIdentity {
                cert_pem: cert_pem.to_owned(),
                key_pem: key.key_pem.clone(),
            }),
        }
        .lazy_channel(&self.url(target), Duration::from_secs(10))
        .expect("build device channel")
    }
}

/// Creates a clinic (医科) named `name` with 機関コード `code` in `organization`, through
/// `account`: an account-service channel carrying an org_admin's session token; returns the
/// clinic as the service answered.
pub async fn create_clinic(
    account: Authed,
    organization: &str,
    code: &str,
    name: &str,
    home_visit: bool,
) -> account_pb::Clinic {
    account_pb::clinic_service_client::ClinicServiceClient::new(account)
        .create_clinic(account_pb::CreateClinicRequest {
            parent: organization.to_owned(),
            clinic: Some(account_pb::Clinic {
                kind: account_pb::ClinicKind::Medical as i32,
                institution_code: code.to_owned(),
                display_name: name.to_owned(),
                home_visit_enabled: home_visit,
                bank_account_last4: "7391".to_owned(),
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap_or_else(|e| panic!("create clinic {code}: {e:?}"))
        .into_inner()
        .clinic
        .expect("clinic in response")
}

/// Issues a device account with `privilege` and `note` at `clinic`, through `account`: an
/// account-service channel carrying an org_admin's session token.
pub async fn create_device_account(
    account: Authed,
    clinic: &TestClinic,
    privilege: account_pb::Privilege,
    note: &str,
) -> TestAccount {
    let made = account_pb::device_account_service_client::DeviceAccountServiceClient::new(account)
        .create_device_account(account_pb::CreateDeviceAccountRequest {
            parent: clinic.name.clone(),
            device_account: Some(account_pb::DeviceAccount {
                privilege: privilege as i32,
                note: note.to_owned(),
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap_or_else(|e| panic!("create device account: {e:?}"))
        .into_inner();
    let account = made.device_account.expect("account in response");
    let sheet = made.sheet.expect("sheet in response");
    TestAccount {
        name: account.name,
        account_id: account.account_id,
        institution_code: clinic.institution_code.clone(),
        password: sheet.password,
        sheet_code: sheet.activation_code,
    }
}

/// Returns an Activate request for `account` with `code`, `key` and `new_password`.
pub fn activate_request(
    account: &TestAccount,
    code: &str,
    key: &DeviceKey,
    new_password: &str,
) -> pb::ActivateRequest {
    pb::ActivateRequest {
        institution_code: account.institution_code.clone(),
        account_id: account.account_id.clone(),
        password: account.password.clone(),
        activation_code: code.to_owned(),
        csr_der: key.csr_der.clone(),
        facts: Some(pb::DeviceFacts {
            hostname: "uketsuke-01".to_owned(),
            os: "linux x86_64".to_owned(),
            agent_version: "test".to_owned(),
            readers: vec!["Virtual PCD 00 00".to_owned()],
        }),
        request_id: rid(),
        new_password: new_password.to_owned(),
    }
}

/// A terminal that activated: its key and what activation answered (certificate, names).
#[derive(Debug)]
pub struct Terminal {
    /// The device key.
    pub key: DeviceKey,
    /// Activation's reply.
    pub reply: pb::ActivateResponse,
}

impl Terminal {
    /// Returns a channel to `target` presenting this terminal's certificate.
    pub fn channel(&self, suite: &Suite, target: Target) -> Channel {
        suite.device_channel(target, &self.reply.certificate_pem, &self.key)
    }

    /// Returns an `AgentService` client at the proxy.
    pub fn proxy(
        &self,
        suite: &Suite,
    ) -> agent_pb::agent_service_client::AgentServiceClient<Channel> {
        agent_pb::agent_service_client::AgentServiceClient::new(
            self.channel(suite, Target::EligibilityProxy),
        )
    }

    /// Returns an `EligibilityService` client at the proxy.
    pub fn eligibility(
        &self,
        suite: &Suite,
    ) -> eligibility_pb::eligibility_service_client::EligibilityServiceClient<Channel> {
        eligibility_pb::eligibility_service_client::EligibilityServiceClient::new(
            self.channel(suite, Target::EligibilityProxy),
        )
    }

    /// Begins and completes a PIN check with `card`.
    pub async fn pin_check(
        &self,
        suite: &Suite,
        card: &crate::card::SoftwareCard,
        consents: eligibility_pb::ConsentAnswers,
    ) -> Result<eligibility_pb::CheckResult, Status> {
        let begun = self
            .eligibility(suite)
            .begin_card_check(eligibility_pb::BeginCardCheckRequest {})
            .await?
            .into_inner();
        self.eligibility(suite)
            .complete_card_check(eligibility_pb::CompleteCardCheckRequest {
                challenge_id: begun.challenge_id,
                auth_certificate: card.certificate_der.clone(),
                signature: card.sign(&begun.challenge),
                identity_method: eligibility_pb::IdentityMethod::Pin as i32,
                attesting_staff: String::new(),
                consents: Some(consents),
            })
            .await
            .map(|r| r.into_inner().check.expect("check in response"))
    }

    /// Calls WhoAmI at the proxy.
    pub async fn who_am_i(&self, suite: &Suite) -> Result<agent_pb::WhoAmIResponse, Status> {
        self.proxy(suite)
            .who_am_i(agent_pb::WhoAmIRequest {})
            .await
            .map(Response::into_inner)
    }

    /// Renews the certificate with a fresh key.
    pub async fn renew(&self, suite: &Suite) -> Result<pb::RenewResponse, Status> {
        let fresh = DeviceKey::generate();
        pb::activation_service_client::ActivationServiceClient::new(
            self.channel(suite, Target::Activation),
        )
        .renew(pb::RenewRequest {
            csr_der: fresh.csr_der,
            facts: None,
        })
        .await
        .map(Response::into_inner)
    }
}

impl Suite {
    /// Returns an oqs-sim client speaking as a service.
    pub fn oqs(&self) -> oqs_pb::oqs_service_client::OqsServiceClient<Channel> {
        oqs_pb::oqs_service_client::OqsServiceClient::new(
            self.channel(Target::OqsSim, As::Service("e2e-tests")),
        )
    }

    /// Returns simulated person `index` (docs/oqs-sim.md lists the well-known ones).
    pub async fn person(&self, index: u32) -> oqs_pb::Person {
        self.oqs()
            .get_person(oqs_pb::GetPersonRequest { index })
            .await
            .unwrap_or_else(|e| panic!("get person {index}: {e:?}"))
            .into_inner()
            .person
            .expect("person in response")
    }

    /// Returns every record of `admin`'s organization in the central audit log.
    pub async fn audit_records(
        &self,
        admin: &Operator,
    ) -> Vec<mynafleet_proto::audit::v1::AuditRecord> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = account_pb::audit_log_service_client::AuditLogServiceClient::new(
                self.authed(&admin.token),
            )
            .list_audit_records(account_pb::ListAuditRecordsRequest {
                parent: admin.organization.clone(),
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("list audit records: {e:?}"))
            .into_inner();
            out.extend(page.records);
            if page.next_page_token.is_empty() {
                return out;
            }
            token = page.next_page_token;
        }
    }

    /// Activates `account` with `code` the way a terminal does the first time: the generated
    /// password is refused with PASSWORD_CHANGE_REQUIRED, then changed on the way.
    pub async fn activate_terminal(&self, account: &TestAccount, code: &str) -> Terminal {
        let key = DeviceKey::generate();
        let first = self
            .activate(activate_request(account, code, &key, ""))
            .await
            .expect_err("a generated password must be changed first");
        assert_eq!(
            mynafleet_kit::status::reason_of(&first).as_deref(),
            Some("PASSWORD_CHANGE_REQUIRED"),
            "a generated password must be changed before the certificate: {first:?}"
        );
        let reply = self
            .activate(activate_request(account, code, &key, DEVICE_PASSWORD))
            .await
            .unwrap_or_else(|e| panic!("activate {}: {e:?}", account.account_id));
        Terminal { key, reply }
    }
}

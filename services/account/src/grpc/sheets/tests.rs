//! Activation codes on the sheets of issued accounts, driven through the handlers on SQLite
//! and PostgreSQL against an in-process activation stand-in (real TLS, real channel): codes
//! land on their sheets; a failing, refusing or absent activation service leaves the
//! accounts issued with their sheets named as missing a code; replays carry no codes.

use super::*;
use crate::config::{ActivationPeer, Config};
use crate::store::clinics::tests::Fixture;
use mynafleet_kit::auth::{AccessPolicy, Caller, CallerKind};
use mynafleet_kit::tls::dev::DevPki;
use mynafleet_proto::activation::v1 as act;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::device_account_service_server::DeviceAccountService as _;
use sqlx::AnyPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    issued_codes_land_on_their_sheets_and_replays_carry_none,
    a_failing_activation_service_leaves_sheets_named_as_missing,
    without_activation_every_sheet_is_named_as_missing,
    administrator_accounts_need_no_code,
    a_password_reset_prints_a_new_code,
    an_approval_prints_a_code_on_every_sheet,
);

#[test]
fn code_request_ids_follow_the_rpc_request_id() {
    let m = "/mynafleet.account.v1.DeviceAccountService/CreateDeviceAccount";
    let rid = "0190a000-0000-7000-8000-000000000001";
    let a = code_request_id("operator:x", m, Some(rid));
    assert_eq!(a, code_request_id("operator:x", m, Some(rid)));
    assert!(Uuid::parse_str(&a).is_ok());
    assert_ne!(a, code_request_id("operator:y", m, Some(rid)));
    assert_ne!(a, code_request_id("operator:x", "/other", Some(rid)));
    assert_ne!(
        a,
        code_request_id(
            "operator:x",
            m,
            Some("0190a000-0000-7000-8000-000000000002")
        )
    );
    assert_ne!(
        code_request_id("operator:x", m, None),
        code_request_id("operator:x", m, None)
    );
}

/// What the stand-in answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A code for every account.
    Codes,
    /// UNIMPLEMENTED, as before activation's handler exists.
    Unimplemented,
    /// No code, with a reason, for every account.
    Refuse,
}

/// The activation service's internal API, as far as these tests need it.
#[derive(Clone)]
struct Stand {
    answer: Answer,
    seen: Arc<Mutex<Vec<act::IssueActivationCodesRequest>>>,
}

#[tonic::async_trait]
impl act::activation_internal_service_server::ActivationInternalService for Stand {
    async fn report_presence(
        &self,
        _req: Request<act::ReportPresenceRequest>,
    ) -> Result<Response<act::ReportPresenceResponse>, Status> {
        Err(Status::unimplemented("not part of this stand-in"))
    }

    async fn issue_activation_codes(
        &self,
        req: Request<act::IssueActivationCodesRequest>,
    ) -> Result<Response<act::IssueActivationCodesResponse>, Status> {
        let r = req.into_inner();
        self.seen.lock().unwrap().push(r.clone());
        let codes = match self.answer {
            Answer::Unimplemented => return Err(Status::unimplemented("not yet")),
            Answer::Codes => r
                .accounts
                .iter()
                .enumerate()
                .map(|(i, s)| act::IssuedActivationCode {
                    account: s.account.clone(),
                    activation_code: Some(act::ActivationCode {
                        code: format!("1111-2222-{:04}", 3333 + i),
                        ..Default::default()
                    }),
                    reason: String::new(),
                })
                .collect(),
            Answer::Refuse => r
                .accounts
                .iter()
                .map(|s| act::IssuedActivationCode {
                    account: s.account.clone(),
                    activation_code: None,
                    reason: "ACCOUNT_NOT_AVAILABLE".into(),
                })
                .collect(),
        };
        Ok(Response::new(act::IssueActivationCodesResponse { codes }))
    }

    type WatchDeviceStatusStream =
        tokio_stream::Empty<Result<act::WatchDeviceStatusResponse, Status>>;

    async fn watch_device_status(
        &self,
        _req: Request<act::WatchDeviceStatusRequest>,
    ) -> Result<Response<Self::WatchDeviceStatusStream>, Status> {
        Err(Status::unimplemented("not in this stand-in"))
    }

    async fn get_device_status(
        &self,
        _req: Request<act::GetDeviceStatusRequest>,
    ) -> Result<Response<act::GetDeviceStatusResponse>, Status> {
        Err(Status::unimplemented("not in this stand-in"))
    }
}

/// A running stand-in and the account API that calls it.
struct Setup {
    api: Api,
    seen: Arc<Mutex<Vec<act::IssueActivationCodesRequest>>>,
    stop: CancellationToken,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn setup(pool: AnyPool, answer: Option<Answer>) -> Setup {
    let pki = DevPki::in_memory().unwrap();
    let tls = pki.server_tls(pki.service_identity("account").unwrap(), None);
    let mut config = Config::for_tests("sqlite::memory:".into(), tls);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    if let Some(answer) = answer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frame = mynafleet_kit::grpc::Frame {
            service: "activation",
            tls: pki.server_tls(pki.service_identity("activation").unwrap(), None),
            policy: AccessPolicy::new().allow(
                "/mynafleet.activation.v1.ActivationInternalService/*",
                &[CallerKind::Service],
            ),
            health_names: &["mynafleet.activation.v1.ActivationInternalService"],
            descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
        };
        let routes = tonic::service::Routes::new(
            act::activation_internal_service_server::ActivationInternalServiceServer::new(Stand {
                answer,
                seen: seen.clone(),
            }),
        );
        let stopped = stop.clone();
        tokio::spawn(async move {
            mynafleet_kit::grpc::serve(frame, routes, listener, async move {
                stopped.cancelled().await;
            })
            .await
        });
        config.activation = Some(ActivationPeer {
            url: format!("https://localhost:{port}"),
            client_tls: pki.client_tls(Some(pki.service_identity("account").unwrap())),
            call_timeout: Duration::from_secs(10),
        });
    }
    let activation = config
        .activation
        .as_ref()
        .map(|p| crate::client::ActivationClient::new(p).unwrap());
    Setup {
        api: Api {
            pool,
            config: Arc::new(config),
            activation,
            shutdown: CancellationToken::new(),
        },
        seen,
        stop,
    }
}

fn from_service<T>(msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(Caller::Service {
        name: "tests".into(),
    });
    req
}

async fn clinic(pool: &AnyPool) -> String {
    let f = Fixture::new(pool).await;
    f.create(pool, &f.clinic("1310000013", true))
        .await
        .name
        .name()
}

fn create(parent: &str, privilege: pb::Privilege, rid: &str) -> pb::CreateDeviceAccountRequest {
    pb::CreateDeviceAccountRequest {
        parent: parent.to_owned(),
        device_account: Some(pb::DeviceAccount {
            privilege: privilege.into(),
            ..Default::default()
        }),
        request_id: rid.to_owned(),
    }
}

const RID: &str = "0190a000-0000-7000-8000-00000000abcd";
const METHOD: &str = "/mynafleet.account.v1.DeviceAccountService/CreateDeviceAccount";

async fn issued_codes_land_on_their_sheets_and_replays_carry_none(pool: AnyPool) {
    let s = setup(pool.clone(), Some(Answer::Codes)).await;
    let parent = clinic(&pool).await;
    let first = s
        .api
        .create_device_account(from_service(create(&parent, pb::Privilege::General, RID)))
        .await
        .unwrap()
        .into_inner();
    let sheet = first.sheet.unwrap();
    assert_eq!(sheet.activation_code, "1111-2222-3333");
    assert!(!sheet.password.is_empty());
    assert!(first.sheets_missing_code.is_empty());
    {
        let seen = s.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].request_id,
            code_request_id("service:tests", METHOD, Some(RID))
        );
        let scope = &seen[0].accounts[0];
        assert_eq!(scope.account, sheet.account);
        assert_eq!(scope.institution_code, "1310000013");
        assert_eq!(scope.status, pb::DeviceAccountStatus::Available as i32);
    }
    // A retry of the same request replays the stored response: no password, no code, no
    // second call to activation, and the sheet named as lacking its code.
    let replay = s
        .api
        .create_device_account(from_service(create(&parent, pb::Privilege::General, RID)))
        .await
        .unwrap()
        .into_inner();
    let again = replay.sheet.unwrap();
    assert_eq!(again.account, sheet.account);
    assert!(again.password.is_empty() && again.activation_code.is_empty());
    assert_eq!(replay.sheets_missing_code, vec![sheet.account.clone()]);
    assert_eq!(s.seen.lock().unwrap().len(), 1);
    // Nothing stored holds the code.
    let stored: Vec<Option<Vec<u8>>> = sqlx::query_scalar("SELECT response FROM request_ids")
        .fetch_all(&pool)
        .await
        .unwrap();
    let code = b"1111-2222-3333";
    assert!(
        stored
            .iter()
            .flatten()
            .all(|r| !r.windows(code.len()).any(|w| w == code))
    );
}

async fn a_failing_activation_service_leaves_sheets_named_as_missing(pool: AnyPool) {
    let parent = clinic(&pool).await;
    for answer in [Answer::Unimplemented, Answer::Refuse] {
        let s = setup(pool.clone(), Some(answer)).await;
        let resp = s
            .api
            .create_device_account(from_service(create(&parent, pb::Privilege::General, "")))
            .await
            .unwrap()
            .into_inner();
        let sheet = resp.sheet.unwrap();
        assert!(sheet.activation_code.is_empty());
        assert!(!sheet.password.is_empty(), "the account is issued anyway");
        assert_eq!(resp.sheets_missing_code, vec![sheet.account]);
        assert_eq!(s.seen.lock().unwrap().len(), 1);
    }
}

async fn without_activation_every_sheet_is_named_as_missing(pool: AnyPool) {
    let s = setup(pool.clone(), None).await;
    let parent = clinic(&pool).await;
    let resp = s
        .api
        .create_device_account(from_service(create(&parent, pb::Privilege::General, RID)))
        .await
        .unwrap()
        .into_inner();
    let sheet = resp.sheet.unwrap();
    assert!(sheet.activation_code.is_empty());
    assert_eq!(resp.sheets_missing_code, vec![sheet.account]);
}

async fn administrator_accounts_need_no_code(pool: AnyPool) {
    let s = setup(pool.clone(), Some(Answer::Codes)).await;
    let parent = clinic(&pool).await;
    let resp = s
        .api
        .create_device_account(from_service(create(
            &parent,
            pb::Privilege::Administrator,
            "",
        )))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.sheet.unwrap().activation_code.is_empty());
    assert!(resp.sheets_missing_code.is_empty());
    assert!(s.seen.lock().unwrap().is_empty(), "activation is not asked");
}

async fn a_password_reset_prints_a_new_code(pool: AnyPool) {
    let s = setup(pool.clone(), Some(Answer::Codes)).await;
    let parent = clinic(&pool).await;
    let created = s
        .api
        .create_device_account(from_service(create(&parent, pb::Privilege::General, "")))
        .await
        .unwrap()
        .into_inner();
    let name = created.device_account.unwrap().name;
    let reset = s
        .api
        .reset_device_account_password(from_service(pb::ResetDeviceAccountPasswordRequest {
            name: name.clone(),
            request_id: RID.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reset.sheet.unwrap().activation_code, "1111-2222-3333");
    assert!(reset.sheets_missing_code.is_empty());
    let seen = s.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].request_id,
        code_request_id(
            "service:tests",
            "/mynafleet.account.v1.DeviceAccountService/ResetDeviceAccountPassword",
            Some(RID)
        )
    );
}

async fn an_approval_prints_a_code_on_every_sheet(pool: AnyPool) {
    use crate::application::{ApplicationInput, ApplicationKind, NewApplication};
    use crate::store::applications::submit_application;
    use pb::application_service_server::ApplicationService as _;
    let s = setup(pool.clone(), Some(Answer::Codes)).await;
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("1310000013", true)).await.name;
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Start),
        staff_count: 3,
        device_count: 2,
        bank_account_last4: "1234",
        ..Default::default()
    };
    let new = NewApplication::parse(clinic, &input, &f.key).unwrap();
    let app = match submit_application(
        &pool,
        crate::store::clinics::tests::NOW,
        &new,
        crate::store::clinics::tests::audit(),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap()
    {
        crate::store::Idempotent::Done(a) => a,
        crate::store::Idempotent::Replayed(_) => unreachable!("no request id"),
    };
    let approve = || {
        from_service(pb::ApproveApplicationRequest {
            name: app.name.name(),
            request_id: RID.into(),
        })
    };
    let resp = s
        .api
        .approve_application(approve())
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<&str> = resp
        .sheets
        .iter()
        .map(|s| s.activation_code.as_str())
        .collect();
    assert_eq!(codes, vec!["1111-2222-3333", "1111-2222-3334"]);
    assert!(resp.sheets_missing_code.is_empty());
    let replay = s
        .api
        .approve_application(approve())
        .await
        .unwrap()
        .into_inner();
    assert!(replay.sheets.iter().all(|s| s.activation_code.is_empty()));
    assert_eq!(
        replay.sheets_missing_code,
        resp.sheets
            .iter()
            .map(|s| s.account.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(s.seen.lock().unwrap().len(), 1);
}

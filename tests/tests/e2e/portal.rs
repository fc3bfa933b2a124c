//! Flow A end to end over gRPC on both backends (DESIGN.md §3.1, DOMAIN.md §5.2): an org
//! admin registers a clinic, a 利用開始申請 is filed and approved, accounts are issued with
//! their ユーザ設定情報 sheets, then a 追加申請 and a 解除申請 follow; 申請状況 lists all.

use mynafleet_kit::status::{reason_of, violated_fields};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::Code;
use mynafleet_tests::operators::{Authed, Operator};
use mynafleet_tests::{Backend, Suite, SuiteOptions};
use pb::application_service_client::ApplicationServiceClient;
use pb::clinic_service_client::ClinicServiceClient;
use pb::device_account_service_client::DeviceAccountServiceClient;

mynafleet_tests::on_both_backends!(
    flow_a_issues_adds_and_ends_accounts_with_sheets_and_dates,
    bad_input_gets_field_violations,
    facility_check_and_home_visit_rules_are_enforced,
    services_verify_terminal_credentials_and_watch_account_events,
);

/// The MHLW worked example of a 医療機関コード (DOMAIN.md §4.2).
pub(crate) const MHLW_CODE: &str = "3410712362";

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn clinics(suite: &Suite, op: &Operator) -> ClinicServiceClient<Authed> {
    ClinicServiceClient::new(suite.authed(&op.token))
}

pub(crate) fn applications(suite: &Suite, op: &Operator) -> ApplicationServiceClient<Authed> {
    ApplicationServiceClient::new(suite.authed(&op.token))
}

pub(crate) fn accounts(suite: &Suite, op: &Operator) -> DeviceAccountServiceClient<Authed> {
    DeviceAccountServiceClient::new(suite.authed(&op.token))
}

pub(crate) async fn create_clinic(
    suite: &Suite,
    admin: &Operator,
    code: &str,
    name: &str,
    home_visit: bool,
) -> pb::Clinic {
    mynafleet_tests::fleet::create_clinic(
        suite.authed(&admin.token),
        &admin.organization,
        code,
        name,
        home_visit,
    )
    .await
}

fn start(devices: i32, bank: &str) -> pb::Application {
    pb::Application {
        kind: pb::ApplicationKind::Start as i32,
        staff_count: 12,
        device_count: devices,
        bank_account_last4: bank.to_owned(),
        ..Default::default()
    }
}

pub(crate) async fn submit(
    suite: &Suite,
    op: &Operator,
    clinic: &str,
    app: pb::Application,
) -> Result<pb::Application, mynafleet_proto::tonic::Status> {
    applications(suite, op)
        .submit_application(pb::SubmitApplicationRequest {
            parent: clinic.to_owned(),
            application: Some(app),
            request_id: rid(),
        })
        .await
        .map(|r| r.into_inner().application.expect("application in response"))
}

async fn approve(
    suite: &Suite,
    admin: &Operator,
    name: &str,
    request_id: &str,
) -> pb::ApproveApplicationResponse {
    applications(suite, admin)
        .approve_application(pb::ApproveApplicationRequest {
            name: name.to_owned(),
            request_id: request_id.to_owned(),
        })
        .await
        .unwrap_or_else(|e| panic!("approve {name}: {e:?}"))
        .into_inner()
}

/// Today in Japan time by the suite clock, as the portal prints dates.
fn today(suite: &Suite) -> String {
    let jst = time::UtcOffset::from_hms(9, 0, 0).unwrap();
    let d = suite.clock.now().to_offset(jst).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn flow_a_issues_adds_and_ends_accounts_with_sheets_and_dates(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("さくら医療グループ", "sakura-admin").await;
    let clinic = create_clinic(&suite, &admin, MHLW_CODE, "さくら内科クリニック", false).await;
    assert_eq!(clinic.institution_code, MHLW_CODE);
    assert_eq!(clinic.prefecture, 34, "prefecture comes from the code");
    assert!(clinic.warnings.is_empty(), "{:?}", clinic.warnings);
    assert!(clinic.bank_account_registered);
    assert!(
        clinic.bank_account_last4.is_empty(),
        "bank digits are never returned"
    );

    // 利用開始申請 for three devices, approved by the org admin.
    let app = submit(&suite, &admin, &clinic.name, start(3, "７３９１"))
        .await
        .unwrap();
    assert_eq!(app.status, pb::ApplicationStatus::Submitted as i32);
    let approve_id = rid();
    let approved = approve(&suite, &admin, &app.name, &approve_id).await;
    let done = approved.application.clone().unwrap();
    assert_eq!(done.status, pb::ApplicationStatus::Completed as i32);
    assert!(done.review_time.is_some() && done.complete_time.is_some());
    let ids: Vec<&str> = approved
        .device_accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(ids, ["W0000001", "W0000002", "W0000003"]);
    assert_eq!(approved.sheets.len(), 3);
    for (sheet, account) in approved.sheets.iter().zip(&approved.device_accounts) {
        assert_eq!(sheet.institution_code, MHLW_CODE);
        assert_eq!(sheet.institution_name, "さくら内科クリニック");
        assert_eq!(sheet.account_id, account.account_id);
        assert!(sheet.password.chars().count() >= 12, "a generated password");
        assert!(!sheet.ca_fingerprint.is_empty());
        assert_eq!(account.status, pb::DeviceAccountStatus::Available as i32);
        assert_eq!(account.privilege, pb::Privilege::General as i32);
        assert_eq!(account.start_date, today(&suite));
        assert!(account.must_change_password);
    }
    // A retried approval gets the first answer back, but never the passwords again.
    let replay = approve(&suite, &admin, &app.name, &approve_id).await;
    assert_eq!(replay.device_accounts.len(), 3);
    assert!(replay.sheets.iter().all(|s| s.password.is_empty()));

    // 追加申請 for two more: the ids continue in order.
    let add = submit(
        &suite,
        &admin,
        &clinic.name,
        pb::Application {
            kind: pb::ApplicationKind::Addition as i32,
            device_count: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let added = approve(&suite, &admin, &add.name, &rid()).await;
    let ids: Vec<&str> = added
        .device_accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(ids, ["W0000004", "W0000005"]);

    // 解除申請 for W0000002 a day later (after a new login): it ends with its end date.
    suite.clock.advance(std::time::Duration::from_secs(86_400));
    let admin = suite
        .log_in(&admin.login_id, &admin.password, &admin.totp_uri)
        .await;
    let w2 = approved.device_accounts[1].name.clone();
    let release = submit(
        &suite,
        &admin,
        &clinic.name,
        pb::Application {
            kind: pb::ApplicationKind::Release as i32,
            accounts: vec![w2.clone()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let released = approve(&suite, &admin, &release.name, &rid()).await;
    assert!(released.sheets.is_empty());
    let ended = accounts(&suite, &admin)
        .get_device_account(pb::GetDeviceAccountRequest { name: w2.clone() })
        .await
        .unwrap()
        .into_inner()
        .device_account
        .unwrap();
    assert_eq!(ended.status, pb::DeviceAccountStatus::Ended as i32);
    assert_eq!(ended.end_date, today(&suite));
    assert!(!ended.start_date.is_empty());

    // An ended account cannot come back.
    let err = accounts(&suite, &admin)
        .resume_device_account(pb::ResumeDeviceAccountRequest {
            name: w2.clone(),
            request_id: rid(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&err).as_deref(), Some("ACCOUNT_STATE_CONFLICT"));

    // Suspension is reversible and dated.
    let w1 = approved.device_accounts[0].name.clone();
    let suspended = accounts(&suite, &admin)
        .suspend_device_account(pb::SuspendDeviceAccountRequest {
            name: w1.clone(),
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner()
        .device_account
        .unwrap();
    assert_eq!(suspended.status, pb::DeviceAccountStatus::Suspended as i32);
    assert_eq!(suspended.suspend_date, today(&suite));
    let resumed = accounts(&suite, &admin)
        .resume_device_account(pb::ResumeDeviceAccountRequest {
            name: w1,
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner()
        .device_account
        .unwrap();
    assert_eq!(resumed.status, pb::DeviceAccountStatus::Available as i32);

    // 申請状況: all three, newest first, filterable.
    let all = applications(&suite, &admin)
        .list_applications(pb::ListApplicationsRequest {
            parent: clinic.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .applications;
    let kinds: Vec<i32> = all.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            pb::ApplicationKind::Release as i32,
            pb::ApplicationKind::Addition as i32,
            pb::ApplicationKind::Start as i32
        ]
    );
    assert!(
        all.iter()
            .all(|a| a.status == pb::ApplicationStatus::Completed as i32)
    );
    let only_adds = applications(&suite, &admin)
        .list_applications(pb::ListApplicationsRequest {
            parent: format!("{}/clinics/-", admin.organization),
            kind: pb::ApplicationKind::Addition as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .applications;
    assert_eq!(only_adds.len(), 1);

    // The account list shows all five with their statuses, in ID order.
    let listed = accounts(&suite, &admin)
        .list_device_accounts(pb::ListDeviceAccountsRequest {
            parent: clinic.name.clone(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.device_accounts.len(), 2);
    assert!(!listed.next_page_token.is_empty());
}

async fn bad_input_gets_field_violations(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("検証グループ", "check-admin").await;
    let mut c = clinics(&suite, &admin);
    for (code, why) in [
        ("12345", "too short"),
        ("3410712362X", "not digits"),
        ("9910712362", "prefecture 99"),
    ] {
        let err = c
            .create_clinic(pb::CreateClinicRequest {
                parent: admin.organization.clone(),
                clinic: Some(pb::Clinic {
                    kind: pb::ClinicKind::Medical as i32,
                    institution_code: code.to_owned(),
                    display_name: "テスト医院".to_owned(),
                    ..Default::default()
                }),
                request_id: rid(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{why}");
        assert!(
            violated_fields(&err).contains(&"clinic.institution_code".to_owned()),
            "{why}: {:?}",
            violated_fields(&err)
        );
    }
    // A legacy code whose check digit does not match is accepted with a warning.
    let legacy = create_clinic(&suite, &admin, "3410712363", "旧コード医院", false).await;
    assert_eq!(legacy.warnings, ["CHECK_DIGIT_MISMATCH"]);

    // Dates that do not exist.
    let err = c
        .update_clinic(pb::UpdateClinicRequest {
            clinic: Some(pb::Clinic {
                name: legacy.name.clone(),
                operation_start_date: "2026-02-30".to_owned(),
                ..Default::default()
            }),
            update_mask: Some(mynafleet_proto::prost_types::FieldMask {
                paths: vec!["operation_start_date".to_owned()],
            }),
            request_id: rid(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(violated_fields(&err).contains(&"clinic.operation_start_date".to_owned()));

    // Account ids that are not W + 7 digits.
    for bad in ["X0000001", "W12", "W00000001"] {
        let err = accounts(&suite, &admin)
            .get_device_account(pb::GetDeviceAccountRequest {
                name: format!("{}/accounts/{bad}", legacy.name),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
        assert!(violated_fields(&err).contains(&"name".to_owned()), "{bad}");
    }

    // Counts out of range.
    for (devices, staff) in [(0, 3), (101, 3), (2, 0)] {
        let mut app = start(devices, "7391");
        app.staff_count = staff;
        let err = submit(&suite, &admin, &legacy.name, app).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let fields = violated_fields(&err);
        assert!(
            fields.contains(&"application.device_count".to_owned())
                || fields.contains(&"application.staff_count".to_owned()),
            "{fields:?}"
        );
    }
}

async fn facility_check_and_home_visit_rules_are_enforced(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("訪問診療グループ", "visit-admin").await;
    let plain = create_clinic(&suite, &admin, MHLW_CODE, "外来クリニック", false).await;
    let err = submit(&suite, &admin, &plain.name, start(1, "0000"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&err).as_deref(), Some("FACILITY_CHECK_FAILED"));

    // 医療情報閲覧 needs 訪問診療等機能.
    let err = accounts(&suite, &admin)
        .create_device_account(pb::CreateDeviceAccountRequest {
            parent: plain.name.clone(),
            device_account: Some(pb::DeviceAccount {
                privilege: pb::Privilege::MedicalInfo as i32,
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("HOME_VISIT_REQUIRED"));

    let visiting = create_clinic(&suite, &admin, "1310012347", "在宅クリニック", true).await;
    let made = accounts(&suite, &admin)
        .create_device_account(pb::CreateDeviceAccountRequest {
            parent: visiting.name.clone(),
            device_account: Some(pb::DeviceAccount {
                privilege: pb::Privilege::MedicalInfo as i32,
                note: "訪問用タブレット1".to_owned(),
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner();
    let account = made.device_account.unwrap();
    assert_eq!(account.privilege, pb::Privilege::MedicalInfo as i32);
    assert_eq!(account.note, "訪問用タブレット1");
    assert_eq!(account.account_id, "W0000001");
    assert!(!made.sheet.unwrap().password.is_empty());

    // A 機関コード is unique across the deployment, also for another organization.
    let other = suite.org_admin("別グループ", "other-admin").await;
    let err = clinics(&suite, &other)
        .create_clinic(pb::CreateClinicRequest {
            parent: other.organization.clone(),
            clinic: Some(pb::Clinic {
                kind: pb::ClinicKind::Medical as i32,
                institution_code: MHLW_CODE.to_owned(),
                display_name: "重複".to_owned(),
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason_of(&err).as_deref(), Some("INSTITUTION_CODE_TAKEN"));
}

async fn services_verify_terminal_credentials_and_watch_account_events(backend: Backend) {
    use mynafleet_tests::{As, DEADLINE, Target};
    use pb::account_internal_service_client::AccountInternalServiceClient;
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("連携テストグループ", "link-admin").await;
    let clinic = create_clinic(&suite, &admin, MHLW_CODE, "連携クリニック", false).await;
    let made = accounts(&suite, &admin)
        .create_device_account(pb::CreateDeviceAccountRequest {
            parent: clinic.name.clone(),
            device_account: Some(pb::DeviceAccount {
                privilege: pb::Privilege::General as i32,
                note: "受付PC".to_owned(),
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner();
    let account = made.device_account.unwrap();
    let password = made.sheet.unwrap().password;

    let mut internal = AccountInternalServiceClient::new(
        suite.channel(Target::Account, As::Service("activation")),
    );
    // The four items as staff type them: full-width digits are folded.
    let scope = internal
        .verify_device_credentials(pb::VerifyDeviceCredentialsRequest {
            institution_code: "３４１０７１２３６２".to_owned(),
            account_id: "W0000001".to_owned(),
            password: password.clone(),
            source_address: "192.0.2.7".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .scope
        .unwrap();
    assert_eq!(scope.account, account.name);
    assert_eq!(scope.institution_name, "連携クリニック");
    assert!(scope.must_change_password);
    let err = internal
        .verify_device_credentials(pb::VerifyDeviceCredentialsRequest {
            institution_code: MHLW_CODE.to_owned(),
            account_id: "W0000001".to_owned(),
            password: "Not-the-password-1".to_owned(),
            source_address: "192.0.2.7".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("CREDENTIALS_INVALID"));
    // Operators cannot reach the internal API.
    let err = AccountInternalServiceClient::new(suite.authed(&admin.token))
        .check_operator_token(pb::CheckOperatorTokenRequest {
            session_token: admin.token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let checked = internal
        .check_operator_token(pb::CheckOperatorTokenRequest {
            session_token: admin.token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(checked.organization, admin.organization);

    // A suspension reaches a watching service as an event with the account's new status.
    let mut stream = internal
        .watch_account_events(pb::WatchAccountEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    accounts(&suite, &admin)
        .suspend_device_account(pb::SuspendDeviceAccountRequest {
            name: account.name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap();
    let suspended = tokio::time::timeout(DEADLINE, async {
        loop {
            let msg = stream.message().await.unwrap().expect("stream stays open");
            if let Some(e) = msg.event
                && e.kind == pb::AccountEventKind::Suspended as i32
            {
                return (e, msg.resume_token);
            }
        }
    })
    .await
    .expect("suspension event within the deadline");
    let scope = suspended.0.scope.unwrap();
    assert_eq!(scope.account, account.name);
    assert_eq!(scope.status, pb::DeviceAccountStatus::Suspended as i32);
    // Resuming after that token starts after the suspension.
    accounts(&suite, &admin)
        .resume_device_account(pb::ResumeDeviceAccountRequest {
            name: account.name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap();
    let mut resumed = internal
        .watch_account_events(pb::WatchAccountEventsRequest {
            resume_token: suspended.1,
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(DEADLINE, async {
        loop {
            let msg = resumed.message().await.unwrap().expect("stream stays open");
            if let Some(e) = msg.event {
                return e;
            }
        }
    })
    .await
    .expect("resume event within the deadline");
    assert_eq!(first.kind, pb::AccountEventKind::Resumed as i32);
}

//! Operators end to end on both backends: the role × RPC matrix, clinic and organization
//! scope, login lockout and unlock, session idle expiry and absolute lifetime, logout and
//! disable taking effect at once.

use crate::portal::{MHLW_CODE, accounts, applications, clinics, create_clinic, submit};
use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::{Code, Status};
use mynafleet_tests::operators::{NEW_PASSWORD, Operator};
use mynafleet_tests::{Backend, Suite, SuiteOptions};
use pb::audit_log_service_client::AuditLogServiceClient;
use pb::operator_service_client::OperatorServiceClient;
use pb::organization_service_client::OrganizationServiceClient;
use pb::session_service_client::SessionServiceClient;
use std::time::Duration;

mynafleet_tests::on_both_backends!(
    each_role_may_call_exactly_its_rpcs,
    clinic_admins_see_only_their_clinics_and_organization,
    five_failed_logins_lock_until_an_admin_unlocks,
    idle_sessions_expire_and_activity_keeps_them_alive,
    logout_and_disable_end_sessions_at_once,
);

/// Returns a fresh valid 薬局 code in Tokyo (13 4 01 4xxx + check digit).
fn pharmacy_code() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(4000);
    let body = format!("13401{:04}", NEXT.fetch_add(1, Ordering::Relaxed));
    format!(
        "{body}{}",
        mynafleet_kit::guard::luhn_check_digit(&body).unwrap()
    )
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Returns Ok(()) when the call went through, or the refusal.
fn outcome<T>(r: Result<T, Status>) -> Result<(), Status> {
    r.map(|_| ())
}

struct World {
    suite: Suite,
    admin: Operator,
    clinic: pb::Clinic,
    other_clinic: pb::Clinic,
}

async fn world(backend: Backend) -> World {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite
        .org_admin("権限テスト医療グループ", "rbac-admin")
        .await;
    let clinic = create_clinic(&suite, &admin, MHLW_CODE, "本院", false).await;
    let other_clinic = create_clinic(&suite, &admin, "1310012347", "分院", false).await;
    World {
        suite,
        admin,
        clinic,
        other_clinic,
    }
}

/// Calls one RPC of each kind as `op` and returns each outcome by label.
async fn try_everything(w: &World, op: &Operator) -> Vec<(&'static str, Result<(), Status>)> {
    let s = &w.suite;
    let org = op.organization.clone();
    let clinic = w.clinic.name.clone();
    let mut out = Vec::new();
    let mut orgs = OrganizationServiceClient::new(s.authed(&op.token));
    out.push((
        "GetOrganization",
        outcome(
            orgs.get_organization(pb::GetOrganizationRequest { name: org.clone() })
                .await,
        ),
    ));
    out.push((
        "UpdateOrganization",
        outcome(
            orgs.update_organization(pb::UpdateOrganizationRequest {
                organization: Some(pb::Organization {
                    name: org.clone(),
                    display_name: "権限テスト医療グループ".to_owned(),
                    ..Default::default()
                }),
                update_mask: None,
                request_id: rid(),
            })
            .await,
        ),
    ));
    out.push((
        "ListClinics",
        outcome(
            clinics(s, op)
                .list_clinics(pb::ListClinicsRequest {
                    parent: org.clone(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    out.push((
        "UpdateClinic",
        outcome(
            clinics(s, op)
                .update_clinic(pb::UpdateClinicRequest {
                    clinic: Some(pb::Clinic {
                        name: clinic.clone(),
                        operation_start_date: "2026-04-01".to_owned(),
                        ..Default::default()
                    }),
                    update_mask: Some(mynafleet_proto::prost_types::FieldMask {
                        paths: vec!["operation_start_date".to_owned()],
                    }),
                    request_id: rid(),
                })
                .await,
        ),
    ));
    out.push((
        "CreateClinic",
        outcome(
            clinics(s, op)
                .create_clinic(pb::CreateClinicRequest {
                    parent: org.clone(),
                    clinic: Some(pb::Clinic {
                        kind: pb::ClinicKind::Pharmacy as i32,
                        institution_code: pharmacy_code(),
                        display_name: "新薬局".to_owned(),
                        ..Default::default()
                    }),
                    request_id: rid(),
                })
                .await,
        ),
    ));
    let mut operators = OperatorServiceClient::new(s.authed(&op.token));
    out.push((
        "ListOperators",
        outcome(
            operators
                .list_operators(pb::ListOperatorsRequest {
                    parent: org.clone(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    out.push((
        "CreateDeviceAccount",
        outcome(
            accounts(s, op)
                .create_device_account(pb::CreateDeviceAccountRequest {
                    parent: clinic.clone(),
                    device_account: Some(pb::DeviceAccount {
                        privilege: pb::Privilege::General as i32,
                        ..Default::default()
                    }),
                    request_id: rid(),
                })
                .await,
        ),
    ));
    out.push((
        "ListDeviceAccounts",
        outcome(
            accounts(s, op)
                .list_device_accounts(pb::ListDeviceAccountsRequest {
                    parent: clinic.clone(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    let submitted = submit(
        s,
        op,
        &clinic,
        pb::Application {
            kind: pb::ApplicationKind::Start as i32,
            staff_count: 3,
            device_count: 1,
            bank_account_last4: "7391".to_owned(),
            ..Default::default()
        },
    )
    .await;
    let app_name = submitted.as_ref().map(|a| a.name.clone()).ok();
    out.push(("SubmitApplication", submitted.map(|_| ())));
    out.push((
        "ListApplications",
        outcome(
            applications(s, op)
                .list_applications(pb::ListApplicationsRequest {
                    parent: clinic.clone(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    // Approve something that exists: this role's submission, or the admin's.
    let app_name = match app_name {
        Some(n) => n,
        None => submit(
            s,
            &w.admin,
            &w.other_clinic.name,
            pb::Application {
                kind: pb::ApplicationKind::Start as i32,
                staff_count: 3,
                device_count: 1,
                bank_account_last4: "7391".to_owned(),
                ..Default::default()
            },
        )
        .await
        .map(|a| a.name)
        .unwrap_or_default(),
    };
    out.push((
        "RejectApplication",
        outcome(
            applications(s, op)
                .reject_application(pb::RejectApplicationRequest {
                    name: app_name,
                    reason: "台数の確認が必要です".to_owned(),
                    request_id: rid(),
                })
                .await,
        ),
    ));
    out.push((
        "ListAuditRecords",
        outcome(
            AuditLogServiceClient::new(s.authed(&op.token))
                .list_audit_records(pb::ListAuditRecordsRequest {
                    parent: org.clone(),
                    ..Default::default()
                })
                .await,
        ),
    ));
    out.push((
        "GetCurrentSession",
        outcome(
            SessionServiceClient::new(s.authed(&op.token))
                .get_current_session(pb::GetCurrentSessionRequest {})
                .await,
        ),
    ));
    out
}

async fn each_role_may_call_exactly_its_rpcs(backend: Backend) {
    let w = world(backend).await;
    let s = &w.suite;
    let clinic_admin = s
        .operator(
            &w.admin,
            "clinic-admin",
            pb::Role::ClinicAdmin,
            std::slice::from_ref(&w.clinic.name),
        )
        .await;
    let auditor = s
        .operator(&w.admin, "auditor", pb::Role::Auditor, &[])
        .await;
    let viewer = s.operator(&w.admin, "viewer", pb::Role::Viewer, &[]).await;
    let allowed: &[(&Operator, &str, &[&str])] = &[
        (
            &w.admin,
            "org_admin",
            &[
                "GetOrganization",
                "UpdateOrganization",
                "ListClinics",
                "UpdateClinic",
                "CreateClinic",
                "ListOperators",
                "CreateDeviceAccount",
                "ListDeviceAccounts",
                "SubmitApplication",
                "ListApplications",
                "RejectApplication",
                "ListAuditRecords",
                "GetCurrentSession",
            ],
        ),
        (
            &clinic_admin,
            "clinic_admin",
            &[
                "GetOrganization",
                "ListClinics",
                "UpdateClinic",
                "CreateDeviceAccount",
                "ListDeviceAccounts",
                "SubmitApplication",
                "ListApplications",
                "GetCurrentSession",
            ],
        ),
        (
            &auditor,
            "auditor",
            &["GetOrganization", "ListAuditRecords", "GetCurrentSession"],
        ),
        (
            &viewer,
            "viewer",
            &[
                "GetOrganization",
                "ListClinics",
                "ListDeviceAccounts",
                "ListApplications",
                "GetCurrentSession",
            ],
        ),
    ];
    for (op, role, may) in allowed {
        for (rpc, result) in try_everything(&w, op).await {
            if may.contains(&rpc) {
                assert!(result.is_ok(), "{role} should be allowed {rpc}: {result:?}");
            } else {
                let err = result.expect_err(&format!("{role} must be refused {rpc}"));
                assert_eq!(err.code(), Code::PermissionDenied, "{role} {rpc}: {err:?}");
                assert_eq!(
                    reason_of(&err).as_deref(),
                    Some("ROLE_REFUSED"),
                    "{role} {rpc}"
                );
            }
        }
    }
    // Refusals are in the audit log.
    let records = AuditLogServiceClient::new(s.authed(&auditor.token))
        .list_audit_records(pb::ListAuditRecordsRequest {
            parent: w.admin.organization.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(
        records
            .iter()
            .any(|r| r.action == "access.denied" && r.reason == "ROLE_REFUSED")
    );
    assert!(records.iter().any(|r| r.action == "session.login"));
}

async fn clinic_admins_see_only_their_clinics_and_organization(backend: Backend) {
    let w = world(backend).await;
    let s = &w.suite;
    let ca = s
        .operator(
            &w.admin,
            "honin-admin",
            pb::Role::ClinicAdmin,
            std::slice::from_ref(&w.clinic.name),
        )
        .await;
    let listed = clinics(s, &ca)
        .list_clinics(pb::ListClinicsRequest {
            parent: ca.organization.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .clinics;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, w.clinic.name);

    let refused = |r: Result<(), Status>, what: &str| {
        let err = r.expect_err(what);
        assert_eq!(err.code(), Code::PermissionDenied, "{what}");
        assert_eq!(reason_of(&err).as_deref(), Some("OUT_OF_SCOPE"), "{what}");
    };
    refused(
        outcome(
            clinics(s, &ca)
                .get_clinic(pb::GetClinicRequest {
                    name: w.other_clinic.name.clone(),
                })
                .await,
        ),
        "get another clinic",
    );
    refused(
        outcome(
            accounts(s, &ca)
                .list_device_accounts(pb::ListDeviceAccountsRequest {
                    parent: w.other_clinic.name.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "list another clinic's accounts",
    );
    refused(
        outcome(
            submit(
                s,
                &ca,
                &w.other_clinic.name,
                pb::Application {
                    kind: pb::ApplicationKind::Addition as i32,
                    device_count: 1,
                    ..Default::default()
                },
            )
            .await,
        ),
        "apply for another clinic",
    );
    let other_org = s.org_admin("よその医療グループ", "elsewhere-admin").await;
    refused(
        outcome(
            OrganizationServiceClient::new(s.authed(&ca.token))
                .get_organization(pb::GetOrganizationRequest {
                    name: other_org.organization.clone(),
                })
                .await,
        ),
        "get another organization",
    );
    refused(
        outcome(
            clinics(s, &ca)
                .list_clinics(pb::ListClinicsRequest {
                    parent: other_org.organization.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "list another organization's clinics",
    );
    // Even an org_admin stays inside its organization.
    refused(
        outcome(
            clinics(s, &other_org)
                .get_clinic(pb::GetClinicRequest {
                    name: w.clinic.name.clone(),
                })
                .await,
        ),
        "org admin reads a clinic of another organization",
    );
    // The '-' wildcard lists only the clinic admin's own accounts.
    accounts(s, &w.admin)
        .create_device_account(pb::CreateDeviceAccountRequest {
            parent: w.other_clinic.name.clone(),
            device_account: Some(pb::DeviceAccount {
                privilege: pb::Privilege::General as i32,
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap();
    let mine = accounts(s, &ca)
        .list_device_accounts(pb::ListDeviceAccountsRequest {
            parent: format!("{}/clinics/-", ca.organization),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .device_accounts;
    assert!(
        mine.iter().all(|a| a.name.starts_with(&w.clinic.name)),
        "{mine:?}"
    );
}

async fn five_failed_logins_lock_until_an_admin_unlocks(backend: Backend) {
    let w = world(backend).await;
    let s = &w.suite;
    let viewer = s
        .operator(&w.admin, "forgetful", pb::Role::Viewer, &[])
        .await;
    for i in 0..5 {
        s.clock.advance(Duration::from_secs(30));
        let code = s.totp_code(&viewer.totp_uri);
        let err = s
            .login("forgetful", "Wrong-password-123", &code)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "attempt {i}");
        assert_eq!(reason_of(&err).as_deref(), Some("LOGIN_FAILED"));
    }
    // Locked: even the right password and code are refused.
    s.clock.advance(Duration::from_secs(30));
    let code = s.totp_code(&viewer.totp_uri);
    let err = s.login("forgetful", NEW_PASSWORD, &code).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason_of(&err).as_deref(), Some("OPERATOR_LOCKED"));
    // A wrong TOTP code counts as a failure too, and an unknown login says nothing more.
    let err = s
        .login("nobody-here", NEW_PASSWORD, "000000")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("LOGIN_FAILED"));

    OperatorServiceClient::new(s.authed(&w.admin.token))
        .unlock_operator(pb::UnlockOperatorRequest {
            name: viewer.name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(30));
    let code = s.totp_code(&viewer.totp_uri);
    s.login("forgetful", NEW_PASSWORD, &code).await.unwrap();
    // The same TOTP code cannot be used twice.
    let err = s.login("forgetful", NEW_PASSWORD, &code).await.unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("LOGIN_FAILED"));
}

async fn idle_sessions_expire_and_activity_keeps_them_alive(backend: Backend) {
    let w = world(backend).await;
    let s = &w.suite;
    let whoami = |op: &Operator| {
        let mut c = SessionServiceClient::new(s.authed(&op.token));
        async move {
            c.get_current_session(pb::GetCurrentSessionRequest {})
                .await
                .map(|r| r.into_inner())
        }
    };
    let op = s.operator(&w.admin, "idler", pb::Role::Viewer, &[]).await;
    // Active every 10 minutes for an hour: still logged in.
    for _ in 0..6 {
        s.clock.advance(Duration::from_secs(600));
        whoami(&op).await.expect("activity keeps the session");
    }
    // 15 minutes idle: gone.
    s.clock.advance(Duration::from_secs(15 * 60));
    let err = whoami(&op).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(reason_of(&err).as_deref(), Some("SESSION_EXPIRED"));

    // The absolute lifetime (8 h) ends even a busy session: active every 10 minutes, it
    // lasts exactly 48 steps.
    let busy = s.log_in("idler", NEW_PASSWORD, &op.totp_uri).await;
    let mut ended = None;
    for step in 1..=48 {
        s.clock.advance(Duration::from_secs(600));
        if let Err(e) = whoami(&busy).await {
            ended = Some((step, e));
            break;
        }
    }
    let (step, err) = ended.expect("the session outlived its absolute lifetime");
    assert_eq!(step, 48, "ended by the absolute lifetime, not before");
    assert_eq!(reason_of(&err).as_deref(), Some("SESSION_EXPIRED"));
}

async fn logout_and_disable_end_sessions_at_once(backend: Backend) {
    let w = world(backend).await;
    let s = &w.suite;
    let op = s.operator(&w.admin, "leaver", pb::Role::Viewer, &[]).await;
    SessionServiceClient::new(s.authed(&op.token))
        .logout(pb::LogoutRequest {})
        .await
        .unwrap();
    let err = SessionServiceClient::new(s.authed(&op.token))
        .get_current_session(pb::GetCurrentSessionRequest {})
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("SESSION_INVALID"));

    let again = s.log_in("leaver", NEW_PASSWORD, &op.totp_uri).await;
    OperatorServiceClient::new(s.authed(&w.admin.token))
        .disable_operator(pb::DisableOperatorRequest {
            name: op.name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap();
    let err = clinics(s, &again)
        .list_clinics(pb::ListClinicsRequest {
            parent: again.organization.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    s.clock.advance(Duration::from_secs(30));
    let code = s.totp_code(&op.totp_uri);
    let err = s.login("leaver", NEW_PASSWORD, &code).await.unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("OPERATOR_DISABLED"));
}

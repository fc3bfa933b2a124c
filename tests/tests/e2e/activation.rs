//! Activating terminals (issue #4): the four items and a CSR become a device certificate
//! that the proxy accepts; operators suspend, resume, revoke and replace devices and the proxy
//! follows within a second; a lost reply never strands a terminal; wrong codes lock; every
//! attempt is audited without the secret. Terminals are played in-process here (a key, a
//! CSR, the tonic client); `agent.rs` runs the real `mynafleet-agent`.

use mynafleet_kit::status::{reason_of, violated_fields};
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::tonic::{Code, Status};
use mynafleet_tests::fleet::{
    DEVICE_PASSWORD, DeviceKey, Terminal, TestAccount, activate_request, rid,
};
use mynafleet_tests::operators::{Authed, Operator};
use mynafleet_tests::{Backend, DEADLINE, Suite, SuiteOptions};
use pb::device_service_client::DeviceServiceClient;
use std::time::{Duration, Instant};

mynafleet_tests::on_both_backends!(
    operators_cut_and_restore_a_terminal_within_a_second,
    a_lost_reply_gets_the_same_certificate_and_another_key_is_refused,
    wrong_codes_lock_until_an_operator_unlocks_and_attempts_are_audited_without_secrets,
    bad_codes_and_accounts_get_distinct_errors,
);

/// 機関コード of the MHLW worked example, and a second valid one.
const CLINIC_A: &str = "3410712362";
const CLINIC_B: &str = "1310112345";

fn devices(suite: &Suite, op: &Operator) -> DeviceServiceClient<Authed> {
    DeviceServiceClient::new(suite.activation_authed(op))
}

fn codes(
    suite: &Suite,
    op: &Operator,
) -> pb::activation_code_service_client::ActivationCodeServiceClient<Authed> {
    pb::activation_code_service_client::ActivationCodeServiceClient::new(
        suite.activation_authed(op),
    )
}

/// Calls WhoAmI until it fails; returns the refusal and how long it took.
async fn refused_after(suite: &Suite, t: &Terminal, since: Instant) -> (Status, Duration) {
    loop {
        match t.who_am_i(suite).await {
            Err(e) => return (e, since.elapsed()),
            Ok(_) if since.elapsed() > DEADLINE => panic!("the proxy kept accepting the device"),
            Ok(_) => tokio::task::yield_now().await,
        }
    }
}

/// Calls WhoAmI until it succeeds (within the deadline).
async fn accepted(suite: &Suite, t: &Terminal) -> agent_pb::WhoAmIResponse {
    let since = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        match t.who_am_i(suite).await {
            Ok(r) => return r,
            Err(e) if since.elapsed() > DEADLINE => panic!("the proxy kept refusing: {e:?}"),
            Err(_) => {}
        }
    }
}

async fn start_clinic(
    suite: &Suite,
    admin: &Operator,
    devices: i32,
) -> account_pb::ApproveApplicationResponse {
    let clinic = suite
        .clinic(admin, CLINIC_A, "さくら内科クリニック", false)
        .await;
    let mut apps = account_pb::application_service_client::ApplicationServiceClient::new(
        suite.authed(&admin.token),
    );
    let app = apps
        .submit_application(account_pb::SubmitApplicationRequest {
            parent: clinic.name.clone(),
            application: Some(account_pb::Application {
                kind: account_pb::ApplicationKind::Start as i32,
                staff_count: 8,
                device_count: devices,
                bank_account_last4: "7391".to_owned(),
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    apps.approve_application(account_pb::ApproveApplicationRequest {
        name: app.name,
        request_id: rid(),
    })
    .await
    .unwrap()
    .into_inner()
}

fn test_account(sheet: &account_pb::UserSettingsSheet, name: &str) -> TestAccount {
    TestAccount {
        name: name.to_owned(),
        account_id: sheet.account_id.clone(),
        institution_code: sheet.institution_code.clone(),
        password: sheet.password.clone(),
        sheet_code: sheet.activation_code.clone(),
    }
}

fn is_printed_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

async fn operators_cut_and_restore_a_terminal_within_a_second(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("さくら医療グループ", "sakura-admin").await;
    let approved = start_clinic(&suite, &admin, 2).await;
    assert!(approved.sheets_missing_code.is_empty(), "{approved:?}");
    let accounts: Vec<TestAccount> = approved
        .sheets
        .iter()
        .zip(&approved.device_accounts)
        .map(|(s, a)| test_account(s, &a.name))
        .collect();
    assert!(
        accounts.iter().all(|a| is_printed_code(&a.sheet_code)),
        "every sheet carries a 1234-5678-9012 code"
    );

    // Staff type the code as printed: with hyphens, in full-width digits.
    let w1 = &accounts[0];
    let typed: String = w1
        .sheet_code
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0xFF10 + d).unwrap(),
            None => c,
        })
        .collect();
    let t1 = suite.activate_terminal(w1, &typed).await;
    assert_eq!(t1.reply.account, w1.name);
    assert_eq!(t1.reply.institution_code, CLINIC_A);
    assert!(!t1.reply.server_ca_pem.is_empty() && !t1.reply.proxy_urls.is_empty());
    let me = accepted(&suite, &t1).await;
    assert_eq!(me.device, t1.reply.device);
    assert_eq!(me.status, pb::DeviceStatus::Active as i32);

    // The registry shows it with its certificate and what it reported.
    let listed = devices(&suite, &admin)
        .list_devices(pb::ListDevicesRequest {
            parent: admin.organization.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .devices;
    let d = listed
        .iter()
        .find(|d| d.name == t1.reply.device)
        .expect("the device is listed");
    assert_eq!(d.status, pb::DeviceStatus::Active as i32);
    assert_eq!(d.account, w1.name);
    assert!(!d.certificate_serial.is_empty() && d.certificate_expire_time.is_some());
    assert_eq!(
        d.facts.as_ref().map(|f| f.hostname.as_str()),
        Some("uketsuke-01")
    );

    // Suspend: the next call is refused within a second, and so is renewal.
    devices(&suite, &admin)
        .suspend_device(pb::SuspendDeviceRequest {
            name: t1.reply.device.clone(),
            reason: "タブレット紛失".to_owned(),
            request_id: rid(),
        })
        .await
        .unwrap();
    let (refusal, took) = refused_after(&suite, &t1, Instant::now()).await;
    assert_eq!(refusal.code(), Code::PermissionDenied);
    assert_eq!(reason_of(&refusal).as_deref(), Some("DEVICE_SUSPENDED"));
    assert!(took <= Duration::from_secs(1), "refused after {took:?}");
    let renewal = t1.renew(&suite).await.unwrap_err();
    assert_eq!(reason_of(&renewal).as_deref(), Some("DEVICE_SUSPENDED"));

    // Resume works.
    devices(&suite, &admin)
        .resume_device(pb::ResumeDeviceRequest {
            name: t1.reply.device.clone(),
            request_id: rid(),
        })
        .await
        .unwrap();
    accepted(&suite, &t1).await;
    t1.renew(&suite).await.expect("an active device renews");

    // Revoke is for good: refused, renewal refused, resume refused.
    devices(&suite, &admin)
        .revoke_device(pb::RevokeDeviceRequest {
            name: t1.reply.device.clone(),
            reason: "端末廃棄".to_owned(),
            request_id: rid(),
        })
        .await
        .unwrap();
    let (refusal, took) = refused_after(&suite, &t1, Instant::now()).await;
    assert_eq!(reason_of(&refusal).as_deref(), Some("DEVICE_REVOKED"));
    assert!(took <= Duration::from_secs(1), "refused after {took:?}");
    let renewal = t1.renew(&suite).await.unwrap_err();
    assert_eq!(reason_of(&renewal).as_deref(), Some("DEVICE_REVOKED"));
    let resumed = devices(&suite, &admin)
        .resume_device(pb::ResumeDeviceRequest {
            name: t1.reply.device.clone(),
            request_id: rid(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&resumed).as_deref(), Some("DEVICE_REVOKED"));

    // The account's 解除 cuts its device too.
    let w2 = &accounts[1];
    let t2 = suite.activate_terminal(w2, &w2.sheet_code).await;
    accepted(&suite, &t2).await;
    let clinic = w2.name.split("/accounts/").next().unwrap().to_owned();
    let mut apps = account_pb::application_service_client::ApplicationServiceClient::new(
        suite.authed(&admin.token),
    );
    let release = apps
        .submit_application(account_pb::SubmitApplicationRequest {
            parent: clinic,
            application: Some(account_pb::Application {
                kind: account_pb::ApplicationKind::Release as i32,
                accounts: vec![w2.name.clone()],
                ..Default::default()
            }),
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    apps.approve_application(account_pb::ApproveApplicationRequest {
        name: release.name,
        request_id: rid(),
    })
    .await
    .unwrap();
    let (refusal, _) = refused_after(&suite, &t2, Instant::now()).await;
    assert_eq!(reason_of(&refusal).as_deref(), Some("DEVICE_REVOKED"));
    let d2 = devices(&suite, &admin)
        .get_device(pb::GetDeviceRequest {
            name: t2.reply.device.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .device
        .unwrap();
    assert_eq!(d2.status, pb::DeviceStatus::Revoked as i32);
    assert_eq!(d2.status_cause, pb::StatusCause::Account as i32);

    // Every step reached the central audit log.
    let wanted = [
        "activation.complete",
        "device.suspend",
        "device.resume",
        "device.revoke",
        "device.renew",
    ];
    let since = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let actions: Vec<String> = suite
            .audit_records(&admin)
            .await
            .into_iter()
            .map(|r| r.action)
            .collect();
        if wanted.iter().all(|w| actions.iter().any(|a| a == w)) {
            break;
        }
        assert!(
            since.elapsed() < DEADLINE,
            "audit log lacks some of {wanted:?}: {actions:?}"
        );
    }
}

async fn a_lost_reply_gets_the_same_certificate_and_another_key_is_refused(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("ひまわり会", "himawari-admin").await;
    let clinic = suite
        .clinic(&admin, CLINIC_A, "ひまわり診療所", false)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::General)
        .await;
    let code = suite.issue_code(&admin, &account).await;
    let key = DeviceKey::generate();
    // The server completes this one; the terminal never sees the reply.
    let request = activate_request(&account, &code, &key, DEVICE_PASSWORD);
    let lost = suite.activate(request.clone()).await.unwrap();
    // The terminal (maybe restarted) sends the same request again under a new request id.
    let retry = suite
        .activate(pb::ActivateRequest {
            request_id: rid(),
            ..request
        })
        .await
        .expect("the retry of a completed activation succeeds");
    assert_eq!(retry.certificate_pem, lost.certificate_pem);
    assert_eq!(retry.device, lost.device);
    // The same code with another key is refused with a stable reason.
    let other = DeviceKey::generate();
    let mut thief = activate_request(&account, &code, &other, "");
    thief.password = DEVICE_PASSWORD.to_owned();
    let err = suite.activate(thief).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&err).as_deref(), Some("CODE_BOUND_TO_OTHER_KEY"));
    // The device is one, and it works.
    let t = Terminal { key, reply: retry };
    accepted(&suite, &t).await;
}

async fn wrong_codes_lock_until_an_operator_unlocks_and_attempts_are_audited_without_secrets(
    backend: Backend,
) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("あおば会", "aoba-admin").await;
    let clinic = suite.clinic(&admin, CLINIC_A, "あおば医院", false).await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::General)
        .await;
    let code = suite.issue_code(&admin, &account).await;
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let key = DeviceKey::generate();
    let mut wrong_codes = Vec::new();
    for n in 0..5u64 {
        // Another 12-digit code: the right one with its last four digits changed.
        let wrong = format!(
            "{}{:04}",
            &digits[..8],
            (digits[8..].parse::<u64>().unwrap() + 1 + n) % 10_000
        );
        let err = suite
            .activate(activate_request(&account, &wrong, &key, DEVICE_PASSWORD))
            .await
            .unwrap_err();
        assert_eq!(reason_of(&err).as_deref(), Some("CODE_MISMATCH"), "{err:?}");
        wrong_codes.push(wrong);
    }
    // Locked: now even the right code is refused, with a hint when to retry.
    let err = suite
        .activate(activate_request(&account, &code, &key, DEVICE_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(
        reason_of(&err).as_deref(),
        Some("ACTIVATION_LOCKED"),
        "{err:?}"
    );
    {
        use tonic_types::StatusExt as _;
        assert!(err.get_details_retry_info().is_some(), "{err:?}");
    }
    // The operator sees the lock on the code and lifts it (for the account and the address).
    let listed = codes(&suite, &admin)
        .list_activation_codes(pb::ListActivationCodesRequest {
            parent: account.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .activation_codes;
    assert!(listed[0].account_locked_until.is_some(), "{listed:?}");
    assert!(listed[0].failed_attempts >= 5, "{listed:?}");
    for (account_name, source) in [
        (account.name.clone(), String::new()),
        (String::new(), "127.0.0.1".to_owned()),
    ] {
        codes(&suite, &admin)
            .unlock_activation(pb::UnlockActivationRequest {
                account: account_name,
                source_address: source,
                request_id: rid(),
            })
            .await
            .unwrap();
    }
    let reply = suite
        .activate(activate_request(&account, &code, &key, DEVICE_PASSWORD))
        .await
        .expect("the right code works after the unlock");
    accepted(&suite, &Terminal { key, reply }).await;

    // Every attempt is in the central audit log, and no record holds a secret.
    let since = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let records = loop {
        tick.tick().await;
        let records = suite.audit_records(&admin).await;
        let attempts = records
            .iter()
            .filter(|r| r.action == "activation.attempt" && r.reason == "CODE_MISMATCH")
            .count();
        if attempts >= 5 && records.iter().any(|r| r.action == "activation.unlock") {
            break records;
        }
        assert!(
            since.elapsed() < DEADLINE,
            "attempts not audited: {records:?}"
        );
    };
    let mut secrets = vec![
        digits.clone(),
        code.clone(),
        account.password.clone(),
        DEVICE_PASSWORD.to_owned(),
    ];
    secrets.extend(wrong_codes);
    for r in &records {
        let text = format!("{r:?}");
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "audit record {} holds a secret",
                r.action
            );
        }
    }
}

async fn bad_codes_and_accounts_get_distinct_errors(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let admin = suite.org_admin("つばき会", "tsubaki-admin").await;
    let a = suite.clinic(&admin, CLINIC_A, "つばき内科", false).await;
    let b = suite.clinic(&admin, CLINIC_B, "つばき外科", false).await;
    let mine = suite
        .device_account(&admin, &a, account_pb::Privilege::General)
        .await;
    let theirs = suite
        .device_account(&admin, &b, account_pb::Privilege::General)
        .await;
    let boss = suite
        .device_account(&admin, &a, account_pb::Privilege::Administrator)
        .await;
    let my_code = suite.issue_code(&admin, &mine).await;
    let their_code = suite.issue_code(&admin, &theirs).await;
    let key = DeviceKey::generate();
    let attempt = |code: &str| activate_request(&mine, code, &key, DEVICE_PASSWORD);

    let short = suite.activate(attempt("1234-5678-901")).await.unwrap_err();
    assert_eq!(short.code(), Code::InvalidArgument);
    assert_eq!(reason_of(&short).as_deref(), Some("CODE_MALFORMED"));
    assert_eq!(violated_fields(&short), ["activation_code"]);
    let letters = suite.activate(attempt("1234-5678-90AB")).await.unwrap_err();
    assert_eq!(reason_of(&letters).as_deref(), Some("CODE_MALFORMED"));
    assert_ne!(
        detail(&short),
        detail(&letters),
        "11 digits and letters are told apart"
    );
    let other = suite.activate(attempt(&their_code)).await.unwrap_err();
    assert_eq!(reason_of(&other).as_deref(), Some("CODE_MISMATCH"));

    // A code past its lifetime (7 days by default).
    suite.clock.advance(Duration::from_secs(8 * 24 * 3600));
    let expired = suite.activate(attempt(&my_code)).await.unwrap_err();
    assert_eq!(reason_of(&expired).as_deref(), Some("CODE_EXPIRED"));
    assert_eq!(expired.code(), Code::FailedPrecondition);

    // 管理者 accounts never go on a terminal; the refusal says so before any code check.
    let err = suite
        .activate(activate_request(
            &boss,
            "1234-5678-9012",
            &key,
            DEVICE_PASSWORD,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("ACCOUNT_ROLE_REFUSED"));
    // The operator's session outlived the clock jump no more than the code did.
    let admin = suite
        .log_in(&admin.login_id, &admin.password, &admin.totp_uri)
        .await;
    let err = codes(&suite, &admin)
        .issue_activation_code(pb::IssueActivationCodeRequest {
            account: boss.name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("ACCOUNT_ROLE_REFUSED"));
}

fn detail(s: &Status) -> String {
    use tonic_types::StatusExt as _;
    s.get_details_bad_request()
        .and_then(|b| b.field_violations.into_iter().next())
        .map(|v| v.description)
        .unwrap_or_default()
}

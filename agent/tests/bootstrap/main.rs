//! The agent's bootstrap against a fake activation service and proxy over real TLS: pinning
//! by CA fingerprint, the temporary-password change, a retry after a lost reply, refusals,
//! renewal of short-lived certificates under an open WatchDevice stream, and the
//! `mynafleet-agent` binary's `activate`, `status` and `run` commands.
//!
//! Nothing sleeps for readiness: the fake's listener is bound before the agent connects, and
//! what the agent did is observed through the fake's counters and the renewal counter, polled
//! inside deadlines.

mod cli;
mod fake;

use std::path::Path;
use std::time::Duration;

use fake::{ACCOUNT, CODE, DEVICE, EXPIRED_CODE, Fake, INSTITUTION, PASSWORD};
use mynafleet_agent::certificate::CertificateInfo;
use mynafleet_agent::facts::DeviceFacts;
use mynafleet_agent::fingerprint::Fingerprint;
use mynafleet_agent::pin::PinError;
use mynafleet_agent::server_url::ServerUrl;
use mynafleet_agent::watch::{WatchEnd, watch_device};
use mynafleet_agent::{
    ActivateParams, EnrollError, Identity, RenewalEnd, Trust, activate, spawn_renewal,
};
use mynafleet_proto::agent::v1::WatchDeviceRequest;
use mynafleet_proto::agent::v1::WhoAmIRequest;
use mynafleet_proto::agent::v1::agent_service_client::AgentServiceClient;
use zeroize::Zeroizing;

pub(crate) const DAY: Duration = Duration::from_secs(86_400);
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

fn params(fake: &Fake, dir: &Path, code: &str) -> ActivateParams {
    ActivateParams {
        state_dir: dir.to_owned(),
        server: ServerUrl::parse(&fake.activation_url()).unwrap(),
        trust: Trust::Fingerprint(Fingerprint::of_der(&fake.server_ca_der)),
        institution_code: INSTITUTION.into(),
        account_id: ACCOUNT.into(),
        password: Zeroizing::new(PASSWORD.into()),
        activation_code: Zeroizing::new(code.into()),
        new_password: None,
        facts: DeviceFacts::local(),
    }
}

#[tokio::test]
async fn activation_over_a_pinned_ca_fills_the_state_dir() {
    let fake = Fake::start(DAY).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let activated = activate(params(&fake, &dir, CODE)).await.unwrap();
    assert_eq!(activated.device, DEVICE);
    assert_eq!(activated.institution_name, "みなと診療所");
    assert_eq!(activated.proxy_urls, [fake.proxy_url()]);

    let identity = Identity::load(&dir).unwrap();
    let record = identity.record();
    assert_eq!(record.activation_url, fake.activation_url());
    assert_eq!(record.institution_code, INSTITUTION);
    assert_eq!(
        record.certificate_expire_time,
        activated.certificate.not_after
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("server-ca.pem")).unwrap(),
        fake.server_ca_pem
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The certificate works at once for an mTLS call to the proxy.
    let mut proxy = AgentServiceClient::new(identity.channel(&fake.proxy_url()).unwrap());
    let me = proxy.who_am_i(WhoAmIRequest {}).await.unwrap().into_inner();
    assert_eq!(me.device, DEVICE);

    // A second activation into the same directory is refused, naming it.
    let again = activate(params(&fake, &dir, CODE)).await.unwrap_err();
    assert!(matches!(again, EnrollError::AlreadyActivated(_)), "{again}");
}

#[tokio::test]
async fn a_wrong_fingerprint_names_both_and_sends_nothing() {
    let fake = Fake::start(DAY).await;
    let tmp = tempfile::tempdir().unwrap();
    let wrong = Fingerprint::of_der(b"not the ca");
    let mut p = params(&fake, tmp.path(), CODE);
    p.trust = Trust::Fingerprint(wrong);
    let err = activate(p).await.unwrap_err();
    let EnrollError::Pin(PinError::Mismatch {
        expected,
        presented,
    }) = &err
    else {
        panic!("{err}");
    };
    assert_eq!(*expected, wrong);
    let ca = Fingerprint::of_der(&fake.server_ca_der);
    assert!(presented.contains(&ca), "{presented:?}");
    let message = err.to_string();
    assert!(message.contains(&wrong.to_string()) && message.contains(&ca.to_string()));
    assert_eq!(fake.world.lock().unwrap().activate_calls, 0);
    assert!(!tmp.path().join("cert.pem").exists());
}

#[tokio::test]
async fn a_ca_file_is_trusted_as_given() {
    let fake = Fake::start(DAY).await;
    let tmp = tempfile::tempdir().unwrap();
    let ca_file = tmp.path().join("ca.pem");
    std::fs::write(&ca_file, &fake.server_ca_pem).unwrap();
    let mut p = params(&fake, &tmp.path().join("state"), CODE);
    p.trust = Trust::CaFile(ca_file);
    activate(p).await.unwrap();
}

#[tokio::test]
async fn a_temporary_password_is_changed_before_the_certificate_is_issued() {
    let fake = Fake::start(DAY).await;
    fake.world.lock().unwrap().must_change_password = true;
    let tmp = tempfile::tempdir().unwrap();
    let first = activate(params(&fake, tmp.path(), CODE)).await.unwrap_err();
    assert!(
        matches!(first, EnrollError::PasswordChangeRequired),
        "{first}"
    );
    assert_eq!(first.reason(), Some("PASSWORD_CHANGE_REQUIRED"));
    assert!(!tmp.path().join("cert.pem").exists());
    let key_before = std::fs::read_to_string(tmp.path().join("key.pem")).unwrap();

    let mut p = params(&fake, tmp.path(), CODE);
    p.new_password = Some(Zeroizing::new("A-Much-Better-Passw0rd".into()));
    let activated = activate(p).await.unwrap();
    assert_eq!(
        fake.world.lock().unwrap().password,
        "A-Much-Better-Passw0rd"
    );
    // The same key went out both times (the server bound the code to it the first time).
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("key.pem")).unwrap(),
        key_before
    );
    assert!(activated.certificate.matches_key(&key_before));
}

#[tokio::test]
async fn a_retry_after_a_lost_reply_presents_the_same_key() {
    let fake = Fake::start(DAY).await;
    let tmp = tempfile::tempdir().unwrap();
    let first = activate(params(&fake, tmp.path(), CODE)).await.unwrap();
    // The reply was lost: the terminal kept its key but wrote nothing else.
    for file in ["cert.pem", "server-ca.pem", "identity.json"] {
        std::fs::remove_file(tmp.path().join(file)).unwrap();
    }
    let again = activate(params(&fake, tmp.path(), CODE)).await.unwrap();
    assert_eq!(again.certificate.serial, first.certificate.serial);

    // A reinstalled agent (new key) is refused with a reason a person can act on.
    let other = tempfile::tempdir().unwrap();
    let err = activate(params(&fake, other.path(), CODE))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("CODE_BOUND_TO_OTHER_KEY"), "{err}");
    assert!(
        err.to_string().contains("already used by another terminal"),
        "{err}"
    );
}

#[tokio::test]
async fn refusals_carry_a_human_message_and_their_reason() {
    let fake = Fake::start(DAY).await;
    let tmp = tempfile::tempdir().unwrap();
    let err = activate(params(&fake, tmp.path(), EXPIRED_CODE))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), Some("CODE_EXPIRED"));
    let text = err.to_string();
    assert!(text.starts_with("activation code expired — ask your administrator for a new one"));
    assert!(text.ends_with("(CODE_EXPIRED)"), "{text}");
    assert!(
        !text.contains(EXPIRED_CODE) && !text.contains(PASSWORD),
        "{text}"
    );
}

async fn wait_for_renewals(identity: &Identity, n: u64) {
    let mut renewals = identity.renewals();
    tokio::time::timeout(DEADLINE, renewals.wait_for(|count| *count >= n))
        .await
        .unwrap_or_else(|_| panic!("fewer than {n} renewals within {DEADLINE:?}"))
        .unwrap();
}

#[tokio::test]
async fn short_certificates_renew_while_the_watch_stream_stays_open() {
    let fake = Fake::start(Duration::from_secs(3)).await;
    let tmp = tempfile::tempdir().unwrap();
    activate(params(&fake, tmp.path(), CODE)).await.unwrap();
    let identity = Identity::load(tmp.path()).unwrap();
    let first_serial = identity.certificate().serial;

    let mut proxy = AgentServiceClient::new(identity.channel(&fake.proxy_url()).unwrap());
    let mut stream = proxy
        .watch_device(WatchDeviceRequest {})
        .await
        .unwrap()
        .into_inner();
    // Only the stream keeps its connection now, as in `run`: the client and the identity's
    // cached channel both go away (the cache at the first renewal).
    drop(proxy);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let renewal = spawn_renewal(identity.clone(), async {
        let _ = stopped.await;
    });

    // Drain the stream while renewals happen; it must never break.
    let drain = async {
        let mut beats = 0u32;
        loop {
            match stream.message().await {
                Ok(Some(_)) => beats += 1,
                other => panic!("watch stream ended after {beats} beats: {other:?}"),
            }
        }
    };
    tokio::select! {
        () = wait_for_renewals(&identity, 3) => {}
        () = drain => unreachable!(),
    }
    // Still open, still on its first connection, well past the first certificate's expiry.
    assert!(stream.message().await.unwrap().is_some());
    assert_eq!(fake.world.lock().unwrap().watch_opens, 1);
    assert!(fake.world.lock().unwrap().renewals >= 3);

    // New calls present the newest certificate.
    let serial = identity.certificate().serial;
    assert_ne!(serial, first_serial);
    let mut fresh = AgentServiceClient::new(identity.channel(&fake.proxy_url()).unwrap());
    fresh.who_am_i(WhoAmIRequest {}).await.unwrap();
    assert_eq!(
        fake.world.lock().unwrap().who_am_i_serials.last(),
        Some(&serial)
    );
    // What is on disk is one consistent pair.
    let cert = std::fs::read_to_string(tmp.path().join("cert.pem")).unwrap();
    let key = std::fs::read_to_string(tmp.path().join("key.pem")).unwrap();
    assert!(CertificateInfo::from_pem(&cert).unwrap().matches_key(&key));

    stop.send(()).unwrap();
    assert_eq!(renewal.await.unwrap(), RenewalEnd::Shutdown);
}

#[tokio::test]
async fn a_suspended_device_stops_renewing() {
    // Renewal starts at about 70 % of the lifetime and the refusal must arrive while the
    // certificate is still valid (an expired one fails the handshake instead). X.509 times
    // have whole seconds and CI runs many tests at once: 2 s left too little (seen in CI).
    let fake = Fake::start(Duration::from_secs(8)).await;
    fake.world.lock().unwrap().refuse_renewal = Some("DEVICE_SUSPENDED");
    let tmp = tempfile::tempdir().unwrap();
    activate(params(&fake, tmp.path(), CODE)).await.unwrap();
    let identity = Identity::load(tmp.path()).unwrap();
    let end = tokio::time::timeout(
        DEADLINE,
        spawn_renewal(identity.clone(), std::future::pending()),
    )
    .await
    .unwrap()
    .unwrap();
    let RenewalEnd::Refused { reason, .. } = &end else {
        panic!("{end:?}");
    };
    assert_eq!(reason, "DEVICE_SUSPENDED");
    assert_eq!(*identity.renewals().borrow(), 0);
    assert!(!tmp.path().join("renew-key.pem").exists());
}

/// Returns an https URL on which nothing listens.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("https://127.0.0.1:{port}")
}

pub(crate) async fn wait_for_watch(fake: &Fake) {
    let opened = async {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if fake.world.lock().unwrap().watch_opens > 0 {
                return;
            }
        }
    };
    tokio::time::timeout(DEADLINE, opened)
        .await
        .expect("the device watch never opened");
}

#[tokio::test]
async fn the_watch_skips_an_unreachable_proxy_and_ends_when_revoked() {
    let fake = Fake::start(DAY).await;
    let dead = dead_url().await;
    fake.world.lock().unwrap().proxy_urls = Some(vec![dead.clone(), fake.proxy_url()]);
    let tmp = tempfile::tempdir().unwrap();
    activate(params(&fake, tmp.path(), CODE)).await.unwrap();
    let identity = Identity::load(tmp.path()).unwrap();
    assert_eq!(identity.record().proxy_urls, [dead, fake.proxy_url()]);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let watch = tokio::spawn(watch_device(identity.clone(), async {
        let _ = stopped.await;
    }));
    wait_for_watch(&fake).await;
    stop.send(()).unwrap();
    assert_eq!(watch.await.unwrap(), WatchEnd::Shutdown);

    fake.world.lock().unwrap().refuse_watch = Some("DEVICE_REVOKED");
    let end = tokio::time::timeout(DEADLINE, watch_device(identity, std::future::pending()))
        .await
        .unwrap();
    let WatchEnd::CutOff { reason, .. } = &end else {
        panic!("{end:?}");
    };
    assert_eq!(reason, "DEVICE_REVOKED");
    assert!(
        end.to_string()
            .contains("activate it again with a new code"),
        "{end}"
    );
}

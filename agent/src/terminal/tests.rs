use std::time::Duration;

use mynafleet_card_sim::Card;
use mynafleet_proto::terminal::v1 as pb;
use mynafleet_proto::terminal::v1::terminal_service_client::TerminalServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use super::client::{RemotePhase, TerminalClient};
use super::*;
use crate::client::{Consents, Verdict};
use crate::jpki::Pin;
use crate::scan::tests::{Harness, fixture, start};

#[test]
fn only_loopback_and_unix_sockets_are_accepted() {
    for text in ["0.0.0.0:7510", "192.168.1.5:7510", "[::]:7510"] {
        assert!(
            matches!(Listen::parse(text), Err(ListenError::NotLoopback(_))),
            "{text}"
        );
    }
    let refused = Listen::parse("0.0.0.0:7510").unwrap_err().to_string();
    assert!(refused.contains("not a loopback address"), "{refused}");
    assert!(matches!(
        Listen::parse("127.0.0.1:7510"),
        Ok(Listen::Tcp(_))
    ));
    assert!(matches!(Listen::parse("[::1]:7510"), Ok(Listen::Tcp(_))));
    assert_eq!(
        Listen::parse("unix:/run/mynafleet/terminal.sock"),
        Ok(Listen::Unix("/run/mynafleet/terminal.sock".into()))
    );
    for text in ["localhost", "unix:", "example.org:7510"] {
        assert!(
            matches!(Listen::parse(text), Err(ListenError::Malformed(_))),
            "{text}"
        );
    }
}

#[test]
fn the_token_is_made_once_private_and_random() {
    let dir = tempfile::tempdir().unwrap();
    let token = ensure_token(dir.path()).unwrap();
    assert_eq!(token.expose().len(), 64);
    assert!(token.expose().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        ensure_token(dir.path()).unwrap().expose(),
        token.expose(),
        "the second run keeps the token"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let other = tempfile::tempdir().unwrap();
    assert_ne!(ensure_token(other.path()).unwrap().expose(), token.expose());
    assert!(!format!("{token:?}").contains(token.expose()));
}

#[test]
fn the_token_compare_needs_every_byte() {
    let token = Token::new("abcd");
    assert!(token.matches(b"abcd"));
    assert!(!token.matches(b"abce"));
    assert!(!token.matches(b"abc"));
    assert!(!token.matches(b""));
}

/// Serves the harness's scan service on 127.0.0.1:0 and returns its URL.
async fn serve(h: &Harness, token: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let service = h.service.clone();
    let token = Token::new(token);
    tokio::spawn(server::serve_tcp(
        listener,
        service,
        token,
        std::future::pending(),
    ));
    url
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

fn with_bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn calls_over_tcp_need_the_token() {
    let h = start().await;
    let url = serve(&h, "secret-token").await;
    let mut raw = TerminalServiceClient::connect(url.clone()).await.unwrap();
    let missing = raw.get_state(pb::GetStateRequest {}).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert_eq!(reason(&missing), "TERMINAL_TOKEN_INVALID");
    let wrong = raw
        .get_state(with_bearer(pb::GetStateRequest {}, "secret-tokem"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let state = raw
        .get_state(with_bearer(pb::GetStateRequest {}, "secret-token"))
        .await
        .unwrap()
        .into_inner()
        .state
        .unwrap();
    assert!(state.pcsc_available);
}

#[tokio::test]
async fn refusals_carry_the_terminal_reasons() {
    let h = start().await;
    let url = serve(&h, "t").await;
    let mut raw = TerminalServiceClient::connect(url).await.unwrap();
    let no_scan = raw
        .submit_pin(with_bearer(
            pb::SubmitPinRequest {
                scan_id: "x".into(),
                pin: "1234".into(),
                ..Default::default()
            },
            "t",
        ))
        .await
        .unwrap_err();
    assert_eq!(no_scan.code(), Code::FailedPrecondition);
    assert_eq!(reason(&no_scan), "NO_SCAN_WAITING");
    let malformed = raw
        .submit_pin(with_bearer(
            pb::SubmitPinRequest {
                scan_id: "x".into(),
                pin: "12a4".into(),
                ..Default::default()
            },
            "t",
        ))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(reason(&malformed), "PIN_MALFORMED");
    assert!(!malformed.message().contains("12a4"));
    let no_staff = raw
        .choose_visual(with_bearer(
            pb::ChooseVisualRequest {
                scan_id: "x".into(),
                ..Default::default()
            },
            "t",
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&no_staff), "STAFF_ID_REQUIRED");
}

#[tokio::test]
async fn a_pin_check_over_the_terminal_api_returns_the_result() {
    let h = start().await;
    let url = serve(&h, "t").await;
    let mut client = TerminalClient::connect(&url, Some(Token::new("t")))
        .await
        .unwrap();
    let mut states = client.watch().await.unwrap();
    h.insert(Card::jpki(fixture())).await;
    let scan = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let state = states.next().await.unwrap().unwrap();
            if let Some(scan) = state.scan
                && scan.phase == RemotePhase::AwaitingIdentity
            {
                return scan;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(scan.tries_left, Some(3));
    let done = client
        .submit_pin(
            &scan.scan_id,
            &Pin::parse("1234").unwrap(),
            false,
            Consents::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.phase, RemotePhase::Done);
    assert_eq!(done.verdict, Some(Verdict::Eligible));
    assert_eq!(done.copy_text, "copy\ttext\r\n");
    let mut raw = TerminalServiceClient::connect(url).await.unwrap();
    let last = raw
        .get_last_result(with_bearer(pb::GetLastResultRequest {}, "t"))
        .await
        .unwrap()
        .into_inner()
        .scan
        .unwrap();
    assert_eq!(last.scan_id, scan.scan_id);
    assert_eq!(last.result.unwrap().check_id, "check-1");
}

#[cfg(unix)]
#[tokio::test]
async fn the_unix_socket_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let h = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terminal.sock");
    let listen = Listen::Unix(path.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let service = h.service.clone();
        async move {
            super::serve(&listen, service, Token::new("unused"), async move {
                let _ = stopped.await;
            })
            .await
        }
    });
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tokio::time::timeout(Duration::from_secs(5), async {
        while !path.exists() {
            tick.tick().await;
        }
    })
    .await
    .expect("the socket appears");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    tokio::net::UnixStream::connect(&path).await.unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(!path.exists(), "the socket is removed at shutdown");
}

//! The cable relays, drops open and new connections when cut, and carries again when
//! restored.

use super::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const DEADLINE: Duration = Duration::from_secs(10);

/// An echo server on `127.0.0.1:0`.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = socket.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(text).await?;
    let mut back = vec![0; text.len()];
    stream.read_exact(&mut back).await?;
    Ok(back)
}

/// Waits until the peer hangs up: end of stream or a reset.
async fn hung_up(stream: &mut TcpStream) {
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
        .await
        .expect("the cable hangs up within the deadline");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn a_cut_drops_open_and_new_connections_and_a_restore_carries_again() {
    let cable = Cable::start(echo().await).await;
    assert!(cable.is_up());
    let mut open = TcpStream::connect(cable.addr()).await.unwrap();
    assert_eq!(round_trip(&mut open, b"hello").await.unwrap(), b"hello");

    cable.cut();
    hung_up(&mut open).await;
    let mut refused = TcpStream::connect(cable.addr()).await.unwrap();
    hung_up(&mut refused).await;
    assert_eq!(cable.dropped(), 2);

    cable.restore();
    let mut again = TcpStream::connect(cable.addr()).await.unwrap();
    assert_eq!(round_trip(&mut again, b"again").await.unwrap(), b"again");
    assert!(cable.url().ends_with(&format!(":{}", cable.addr().port())));
}

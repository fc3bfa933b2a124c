//! The vpcd client over a real TCP connection, with the test playing vpcd on `127.0.0.1:0`.
//! No pcscd involved: this checks the socket path (framing, disconnect, errors) on its own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use mynafleet_card_sim::{Card, VpcdClient, VpcdError};

fn send(stream: &mut TcpStream, payload: &[u8]) {
    let len = u16::try_from(payload.len()).unwrap();
    stream.write_all(&len.to_be_bytes()).unwrap();
    stream.write_all(payload).unwrap();
}

fn receive(stream: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).unwrap();
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
    stream.read_exact(&mut payload).unwrap();
    payload
}

const JPKI_SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];

#[test]
fn serves_a_vpcd_peer_until_it_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = VpcdClient::connect("127.0.0.1", port, Card::my_number()).unwrap();
    let sim = thread::spawn(move || client.run());

    let (mut vpcd, _) = listener.accept().unwrap();
    send(&mut vpcd, &[0x04]);
    assert_eq!(receive(&mut vpcd), Card::my_number().atr());
    send(&mut vpcd, &[0x01]);
    send(&mut vpcd, &JPKI_SELECT);
    assert_eq!(receive(&mut vpcd), [0x90, 0x00]);
    drop(vpcd);

    let card = sim.join().unwrap().unwrap();
    assert_eq!(card.apdu_log(), [JPKI_SELECT.to_vec()]);
}

#[test]
fn a_disconnect_handle_ends_the_session_and_returns_the_card() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = VpcdClient::connect("127.0.0.1", port, Card::foreign()).unwrap();
    let disconnect = client.disconnect_handle().unwrap();
    let sim = thread::spawn(move || client.run());

    let (mut vpcd, _) = listener.accept().unwrap();
    send(&mut vpcd, &JPKI_SELECT);
    assert_eq!(receive(&mut vpcd), [0x6A, 0x82]);
    disconnect.disconnect().unwrap();

    let card = sim.join().unwrap().unwrap();
    assert_eq!(card.apdu_log().len(), 1);
    let mut rest = Vec::new();
    assert_eq!(
        vpcd.read_to_end(&mut rest).unwrap(),
        0,
        "vpcd sees the socket closed"
    );
}

#[test]
fn connection_refused_is_a_readable_error() {
    // Bind then release a port so nothing listens on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = VpcdClient::connect("127.0.0.1", port, Card::my_number()).unwrap_err();
    assert!(matches!(err, VpcdError::Connect { .. }), "{err:?}");
    let message = format!("{:#}", anyhow::Error::from(err));
    assert!(message.starts_with(&format!("could not connect to vpcd at 127.0.0.1:{port}")));
    assert!(message.contains("vsmartcard-vpcd"), "{message}");
}

//! The vpcd client over a real TCP connection, with the test playing vpcd on `127.0.0.1:0`.
//! No pcscd involved: this checks the socket path (framing, disconnect, re-insertion, the
//! removal quirk, errors) on its own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use mynafleet_card_sim::vpcd::{DEFAULT_PORT, SLOT_1_PORT, slot_port};
use mynafleet_card_sim::{Card, Quirks, SessionEnd, VpcdClient, VpcdError};

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

fn exchange(stream: &mut TcpStream, apdu: &[u8]) -> Vec<u8> {
    send(stream, apdu);
    receive(stream)
}

const JPKI_SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];
const SELECT_PIN: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];
const SELECT_CERT: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A];
const EMPTY_VERIFY: [u8; 4] = [0x00, 0x20, 0x00, 0x80];
const WRONG_PIN: [u8; 9] = [0x00, 0x20, 0x00, 0x80, 0x04, 0x39, 0x39, 0x39, 0x39];
const READ: [u8; 5] = [0x00, 0xB0, 0x00, 0x00, 0x00];

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
    assert_eq!(exchange(&mut vpcd, &JPKI_SELECT), [0x90, 0x00]);
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
    assert_eq!(exchange(&mut vpcd, &JPKI_SELECT), [0x6A, 0x82]);
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
fn a_removed_card_keeps_its_counter_when_inserted_again() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let card = Card::my_number();
    let log = card.apdu_log_handle();
    let counter = card.pin_counter();

    let inserted = VpcdClient::insert("127.0.0.1", port, card).unwrap();
    let (mut vpcd, _) = listener.accept().unwrap();
    exchange(&mut vpcd, &JPKI_SELECT);
    exchange(&mut vpcd, &SELECT_PIN);
    assert_eq!(exchange(&mut vpcd, &WRONG_PIN), [0x63, 0xC2]);
    // Readable while the card is still inserted and answering on its thread.
    assert_eq!(counter.tries_left(), 2);
    assert_eq!(log.len(), 3);
    assert!(!log.contains(b"9999"), "the pin is masked in the record");
    assert!(!inserted.is_finished());
    let card = inserted.remove().unwrap();

    let inserted = VpcdClient::insert("127.0.0.1", port, card).unwrap();
    let (mut vpcd, _) = listener.accept().unwrap();
    exchange(&mut vpcd, &JPKI_SELECT);
    exchange(&mut vpcd, &SELECT_PIN);
    assert_eq!(exchange(&mut vpcd, &EMPTY_VERIFY), [0x63, 0xC2]);
    let card = inserted.remove().unwrap();
    assert_eq!(card.tries_left(), 2);
    assert_eq!(log.len(), 6);
}

#[test]
fn the_removal_quirk_closes_the_connection_mid_read() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let quirks = Quirks {
        remove_after_reads: Some(1),
        ..Quirks::default()
    };
    let inserted =
        VpcdClient::insert("127.0.0.1", port, Card::my_number().with_quirks(quirks)).unwrap();
    let (mut vpcd, _) = listener.accept().unwrap();
    exchange(&mut vpcd, &JPKI_SELECT);
    exchange(&mut vpcd, &SELECT_CERT);
    assert_eq!(exchange(&mut vpcd, &READ).len(), 258);
    send(&mut vpcd, &[0x00, 0xB0, 0x01, 0x00, 0x00]);
    let mut rest = Vec::new();
    assert_eq!(
        vpcd.read_to_end(&mut rest).unwrap(),
        0,
        "no answer, socket closed"
    );
    let (card, end) = inserted.wait().unwrap();
    assert_eq!(end, SessionEnd::Pulled);

    // The next insertion works.
    let inserted = VpcdClient::insert("127.0.0.1", port, card).unwrap();
    let (mut vpcd, _) = listener.accept().unwrap();
    exchange(&mut vpcd, &JPKI_SELECT);
    exchange(&mut vpcd, &SELECT_CERT);
    assert_eq!(exchange(&mut vpcd, &READ).len(), 258);
    assert_eq!(
        exchange(&mut vpcd, &[0x00, 0xB0, 0x01, 0x00, 0x00]).len(),
        258
    );
    inserted.remove().unwrap();
}

#[test]
fn slot_ports_follow_vpcd() {
    assert_eq!((DEFAULT_PORT, SLOT_1_PORT), (35963, 35964));
    assert_eq!(slot_port(1), SLOT_1_PORT);
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

//! The `mynafleet-card-sim vpcd` binary against a fake vpcd on `127.0.0.1:0`: profile
//! loading, quirks from flags, the hex APDU log file and the count printed at exit.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

fn exchange(stream: &mut TcpStream, apdu: &[u8]) -> Vec<u8> {
    let len = u16::try_from(apdu.len()).unwrap();
    stream.write_all(&len.to_be_bytes()).unwrap();
    stream.write_all(apdu).unwrap();
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
fn vpcd_command_serves_a_profile_and_writes_a_masked_apdu_log() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::TempDir::new().unwrap();
    let log_path = dir.path().join("apdus.log");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profile");
    let child = Command::new(env!("CARGO_BIN_EXE_mynafleet-card-sim"))
        .args(["vpcd", "--port", &port.to_string(), "--token", "android"])
        .args(["--quirk", "blocked6984", "--pin-blocked"])
        .arg("--profile")
        .arg(&profile)
        .arg("--apdu-log")
        .arg(&log_path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let (mut vpcd, _) = listener.accept().unwrap();
    assert_eq!(exchange(&mut vpcd, &JPKI_SELECT), [0x90, 0x00]);
    let select_pin = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];
    assert_eq!(exchange(&mut vpcd, &select_pin), [0x90, 0x00]);
    let empty_verify = [0x00, 0x20, 0x00, 0x80];
    assert_eq!(
        exchange(&mut vpcd, &empty_verify),
        [0x69, 0x84],
        "blocked, 6984 quirk"
    );
    let verify = [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34];
    assert_eq!(exchange(&mut vpcd, &verify), [0x69, 0x84]);
    let read_label = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x06];
    exchange(&mut vpcd, &read_label);
    let label = exchange(&mut vpcd, &[0x00, 0xB0, 0x00, 0x00, 0x0F]);
    assert_eq!(&label[..15], b"JPKIAPGPSETOKEN");
    drop(vpcd);

    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("after 6 apdus"), "{stderr}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0], "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01");
    assert_eq!(lines[3], "00 20 00 80 04 2A 2A 2A 2A");
    assert!(!log.contains("31 32 33 34"), "{log}");
}

#[test]
fn a_bad_profile_fails_with_a_readable_message() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mynafleet-card-sim"))
        .args(["vpcd", "--port", "1", "--profile"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("could not load the card profile") && stderr.contains("profile.toml"),
        "{stderr}"
    );
}

use super::*;
use time::macros::datetime;

const DEVICE: &str = "organizations/o/clinics/c/devices/d1";
const OTHER: &str = "organizations/o/clinics/c/devices/d2";

fn challenges() -> (Challenges, Clock, SecretKey) {
    let clock = Clock::manual(datetime!(2026-04-01 09:00 UTC));
    let key = SecretKey::generate().unwrap();
    (
        Challenges::new(key.clone(), Duration::from_secs(30), clock.clone()),
        clock,
        key,
    )
}

#[test]
fn an_issued_challenge_opens_for_its_device_with_the_same_bytes() {
    let (c, _, _) = challenges();
    let issued = c.issue(DEVICE);
    assert_eq!(issued.expires, datetime!(2026-04-01 09:00:30 UTC));
    assert_ne!(issued.bytes, [0; 32]);
    let opened = c.open(&issued.id, DEVICE).unwrap();
    assert_eq!(opened, issued);
    assert_eq!(opened.claim_key(), issued.id);
}

#[test]
fn another_replica_sharing_the_key_opens_it() {
    let (c, clock, key) = challenges();
    let issued = c.issue(DEVICE);
    let replica = Challenges::new(key, Duration::from_secs(30), clock);
    assert_eq!(replica.open(&issued.id, DEVICE).unwrap(), issued);
}

#[test]
fn a_challenge_for_another_device_is_refused() {
    let (c, _, _) = challenges();
    let issued = c.issue(DEVICE);
    assert_eq!(c.open(&issued.id, OTHER), Err(ChallengeError::OtherDevice));
}

#[test]
fn a_challenge_expires_after_its_ttl() {
    let (c, clock, _) = challenges();
    let issued = c.issue(DEVICE);
    clock.advance(Duration::from_secs(29));
    assert!(c.open(&issued.id, DEVICE).is_ok());
    clock.advance(Duration::from_secs(1));
    assert_eq!(c.open(&issued.id, DEVICE), Err(ChallengeError::Expired));
}

#[test]
fn garbled_ids_are_unknown() {
    let (c, _, _) = challenges();
    let issued = c.issue(DEVICE);
    let mut flipped = issued.id.clone().into_bytes();
    // Change one character inside the expiry: the id tag no longer matches.
    flipped[30] = if flipped[30] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for id in [
        "",
        "not a challenge",
        &issued.id[1..],
        &format!("{}A", issued.id),
        &issued.id.replace(|ch: char| ch.is_ascii_alphabetic(), "="),
        &flipped,
    ] {
        assert_eq!(c.open(id, DEVICE), Err(ChallengeError::Unknown), "{id:?}");
    }
}

#[test]
fn an_extended_expiry_is_refused_as_unknown() {
    let (c, clock, _) = challenges();
    let issued = c.issue(DEVICE);
    let mut raw = URL_SAFE_NO_PAD.decode(&issued.id).unwrap();
    let later = (clock.now_micros() + 3_600_000_000).to_be_bytes();
    raw[1 + NONCE_LEN..1 + NONCE_LEN + 8].copy_from_slice(&later);
    let forged = URL_SAFE_NO_PAD.encode(raw);
    assert_eq!(c.open(&forged, DEVICE), Err(ChallengeError::Unknown));
}

#[test]
fn a_different_key_refuses_the_id() {
    let (c, clock, _) = challenges();
    let issued = c.issue(DEVICE);
    let stranger = Challenges::new(
        SecretKey::generate().unwrap(),
        Duration::from_secs(30),
        clock,
    );
    assert_eq!(
        stranger.open(&issued.id, DEVICE),
        Err(ChallengeError::Unknown)
    );
}

#[test]
fn ids_and_bytes_differ_each_time() {
    let (c, _, _) = challenges();
    let a = c.issue(DEVICE);
    let b = c.issue(DEVICE);
    assert_ne!(a.id, b.id);
    assert_ne!(a.bytes, b.bytes);
    assert_eq!(a.expires, b.expires);
}

use std::sync::{Arc, Mutex};

use super::{CardThread, ReadError, SignThreadError, memory_connector};
use crate::jpki::tests::fake::{FakeCard, PIN, certificate};
use crate::jpki::{Pin, PinCounter, SignError, TokenKind};
use crate::transport::{CardTransport, FnTransport, TransportError};

const READER: &str = "Reader 0";

/// A card thread over one shared fake card in [`READER`]; other readers are empty.
fn thread_over(card: FakeCard) -> (CardThread, Arc<Mutex<FakeCard>>) {
    let card = Arc::new(Mutex::new(card));
    let shared = Arc::clone(&card);
    let thread = CardThread::spawn(memory_connector(move |reader: &str| {
        if reader != READER {
            return Err(TransportError::NoCard);
        }
        let card = Arc::clone(&shared);
        Ok(Box::new(FnTransport(move |apdu: &[u8]| {
            card.lock().unwrap().transmit(apdu)
        })) as Box<dyn CardTransport>)
    }));
    (thread, card)
}

#[tokio::test]
async fn reads_and_signs_in_one_request_each() {
    let (thread, card) = thread_over(FakeCard::card(800));
    let read = thread.read(READER).await.unwrap();
    assert_eq!(
        read.auth_certificate.as_deref(),
        Some(&certificate(800)[..])
    );
    assert_eq!(read.pin, PinCounter::Tries(3));
    let signed = thread
        .clone()
        .sign(
            READER,
            read.token,
            Pin::parse(PIN).unwrap(),
            false,
            b"challenge".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(signed.signature.len(), 256);
    assert_eq!(card.lock().unwrap().verifies_with_pin(), 1);
}

#[tokio::test]
async fn a_card_pulled_mid_read_fails_as_card_removed_and_the_next_read_works() {
    let mut fake = FakeCard::card(1200);
    fake.remove_after = Some(7);
    let (thread, card) = thread_over(fake);
    let err = thread.read(READER).await.unwrap_err();
    assert!(
        matches!(err, ReadError::Transport(TransportError::CardRemoved)),
        "{err:?}"
    );
    assert_eq!(err.class(), "CARD_REMOVED");

    card.lock().unwrap().remove_after = None;
    let read = thread.read(READER).await.unwrap();
    assert_eq!(
        read.auth_certificate.as_deref(),
        Some(&certificate(1200)[..])
    );
}

#[tokio::test]
async fn an_empty_reader_fails_without_touching_a_card() {
    let (thread, card) = thread_over(FakeCard::card(300));
    let err = thread.read("Reader 1").await.unwrap_err();
    assert_eq!(err.class(), "CARD_REMOVED");
    assert!(card.lock().unwrap().log.is_empty());
}

#[tokio::test]
async fn pin_outcomes_reach_the_session_unchanged() {
    let (thread, card) = thread_over(FakeCard::card(300));
    let err = thread
        .sign(
            READER,
            TokenKind::Card,
            Pin::parse("0000").unwrap(),
            false,
            vec![1],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SignThreadError::Sign(SignError::PinRejected { tries_left: 2 })
        ),
        "{err:?}"
    );
    card.lock().unwrap().tries = 0;
    let err = thread
        .sign(
            READER,
            TokenKind::Card,
            Pin::parse(PIN).unwrap(),
            true,
            vec![1],
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), "PIN_BLOCKED");
    assert_eq!(card.lock().unwrap().verifies_with_pin(), 1);
}

#[tokio::test]
async fn a_card_pulled_mid_sign_fails_as_card_removed() {
    // SELECT AP, SELECT 0018, the counter, VERIFY, then the card is gone.
    let mut fake = FakeCard::card(300);
    fake.remove_after = Some(4);
    let (thread, card) = thread_over(fake);
    let err = thread
        .sign(
            READER,
            TokenKind::Card,
            Pin::parse(PIN).unwrap(),
            false,
            vec![1],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SignThreadError::Transport(TransportError::CardRemoved)),
        "{err:?}"
    );
    assert_eq!(card.lock().unwrap().verifies_with_pin(), 1);
}

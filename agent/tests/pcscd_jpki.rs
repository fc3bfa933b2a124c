//! The agent's layers 1–2 and its card thread against the real pcscd with the vsmartcard vpcd
//! driver and card-sim's card in slot 0 ("Virtual PCD 00 00", port 35963; TOOLCHAIN.md §8):
//! a full read and signature through [`PcscConnector`], the allow-list in front of the card,
//! a card pulled mid-read, and the reader watcher seeing insert and remove.
//!
//! Needs pcscd running with the vpcd reader configuration (`rm -rf /run/pcscd; pcscd
//! --foreground &`); without it the tests fail, they never skip. They share the daemon and
//! the vpcd port, so their names contain `pcscd` and nextest runs them one at a time.
//! Readiness is observed through `SCardGetStatusChange` or a channel with a deadline, never by
//! sleeping.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mynafleet_agent::card_thread::{CardThread, PcscConnector, ReadError, SignThreadError};
use mynafleet_agent::jpki::{
    JpkiCard, JpkiError, Pin, PinCounter, Refusal, SignError, StatusWord, TokenKind,
    digest_info_sha256,
};
use mynafleet_agent::transport::{PcscContext, ReaderEvent, SlotState, spawn_watcher};
use mynafleet_card_sim::{Card, Quirks, VpcdClient};
use rsa::Pkcs1v15Sign;

/// vpcd's slot 0, as named by the packaged `/etc/reader.conf.d/vpcd`.
const READER: &str = "Virtual PCD 00 00";
const VPCD_HOST: &str = "127.0.0.1";
const VPCD_PORT: u16 = 35963;
/// pcscd polls vpcd for presence; a change shows within about 0.5 s.
const DEADLINE: Duration = Duration::from_secs(10);

/// The 券面事項入力補助AP's AID, written out from DOMAIN.md §1.2.
const TEXT_AP: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Waits for `reader` to be listed and empty, then inserts `card` through vpcd's `port` and
/// waits for pcscd to see it.
fn insert(
    ctx: &PcscContext,
    reader: &str,
    port: u16,
    card: Card,
) -> anyhow::Result<mynafleet_card_sim::Inserted> {
    ctx.wait_for(reader, SlotState::Empty, DEADLINE)
        .with_context(|| {
            format!(
                "wait for {reader} to be listed and empty: is vsmartcard-vpcd installed, and \
                 is no other card simulator connected to port {port}?"
            )
        })?;
    let inserted = VpcdClient::insert(VPCD_HOST, port, card).context("insert card-sim")?;
    ctx.wait_for(reader, SlotState::Card, DEADLINE)
        .context("wait for pcscd to see the card")?;
    Ok(inserted)
}

fn remove(
    ctx: &PcscContext,
    reader: &str,
    inserted: mynafleet_card_sim::Inserted,
) -> anyhow::Result<Card> {
    let card = inserted.remove().context("remove the card")?;
    ctx.wait_for(reader, SlotState::Empty, DEADLINE)
        .context("wait for pcscd to see the card removed")?;
    Ok(card)
}

/// Returns whether `log` holds only commands the allow-list lets through to the JPKI AP.
fn only_jpki_commands(log: &[Vec<u8>]) -> bool {
    log.iter().all(|apdu| match apdu.get(..4) {
        Some([0x00, 0xA4, 0x04, 0x0C]) => {
            apdu[5..] == [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]
        }
        Some([0x00, 0xA4, 0x02, 0x0C]) => {
            matches!(apdu[5..], [0x00, 0x06 | 0x08 | 0x0A | 0x0B | 0x17 | 0x18])
        }
        Some([0x00, 0xB0 | 0x20 | 0xC0, ..] | [0x80, 0x2A | 0xFC, ..]) => true,
        _ => false,
    })
}

#[test]
fn pcscd_card_thread_reads_and_signs_a_card_sim_card() -> anyhow::Result<()> {
    let rt = runtime()?;
    let ctx = PcscContext::establish().context("establish a pc/sc context")?;
    let card = Card::my_number();
    let certificate = card
        .auth_certificate()
        .context("the fixture card has an auth certificate")?
        .to_vec();
    let public_key = card.public_key().context("the fixture card has a key")?;
    let inserted = insert(&ctx, READER, VPCD_PORT, card)?;

    let thread = CardThread::spawn(PcscConnector::new());
    let read = rt.block_on(thread.read(READER)).context("read the card")?;
    assert_eq!(read.token, TokenKind::Card);
    assert!(read.signature_certificate_available);
    assert_eq!(read.auth_certificate.as_deref(), Some(&certificate[..]));
    assert_eq!(read.pin, PinCounter::Tries(3));

    let challenge = b"challenge from the proxy".to_vec();
    let signed = rt
        .block_on(thread.sign(
            READER,
            read.token,
            Pin::parse("1234")?,
            false,
            challenge.clone(),
        ))
        .context("sign the challenge")?;
    assert_eq!(signed.signature.len(), 256);
    public_key
        .verify(
            Pkcs1v15Sign::new_unprefixed(),
            &digest_info_sha256(&challenge),
            &signed.signature,
        )
        .context("the signature verifies with the card's key")?;

    // A wrong PIN spends one try, and the next read reports it.
    let err = rt
        .block_on(thread.sign(READER, read.token, Pin::parse("9999")?, false, challenge))
        .unwrap_err();
    assert!(
        matches!(
            err,
            SignThreadError::Sign(SignError::PinRejected { tries_left: 2 })
        ),
        "{err:?}"
    );
    let read = rt.block_on(thread.read(READER))?;
    assert_eq!(read.pin, PinCounter::Tries(2));

    let card = remove(&ctx, READER, inserted)?;
    let log = card.apdu_log();
    assert!(
        only_jpki_commands(&log),
        "a command outside the allow-list reached the card"
    );
    let verifies = log
        .iter()
        .filter(|apdu| apdu.starts_with(&[0x00, 0x20]) && apdu.len() > 4)
        .count();
    assert_eq!(verifies, 2, "one VERIFY per sign request, never retried");
    Ok(())
}

#[test]
fn pcscd_allow_list_refuses_the_text_ap_before_the_card() -> anyhow::Result<()> {
    let ctx = PcscContext::establish().context("establish a pc/sc context")?;
    let card = Card::my_number();
    let log = card.apdu_log_handle();
    let inserted = insert(&ctx, READER, VPCD_PORT, card)?;
    {
        let mut card = ctx.connect(READER)?;
        let transaction = card.transaction()?;
        let mut jpki = JpkiCard::new(transaction);
        let mut select_text_ap = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
        select_text_ap.extend_from_slice(&TEXT_AP);
        let err = jpki.send_raw(&select_text_ap).unwrap_err();
        assert!(
            matches!(err, JpkiError::Refused(Refusal::Application)),
            "{err:?}"
        );
        assert_eq!(jpki.refusals(), 1);
        // The card is there and answers what the allow-list lets through.
        let response = jpki.send_raw(&mynafleet_agent::jpki::select_jpki_ap())?;
        assert_eq!(response.status(), StatusWord::Success);
    }
    remove(&ctx, READER, inserted)?;
    let log = log.snapshot();
    assert!(!log.is_empty(), "the card received nothing");
    assert!(
        !log.iter()
            .any(|apdu| apdu.windows(TEXT_AP.len()).any(|w| w == TEXT_AP)),
        "the 券面事項入力補助AP select reached the card"
    );
    assert!(only_jpki_commands(&log));
    Ok(())
}

#[test]
fn pcscd_card_pulled_mid_read_fails_cleanly_and_the_next_insert_reads() -> anyhow::Result<()> {
    let rt = runtime()?;
    let ctx = PcscContext::establish().context("establish a pc/sc context")?;
    let card = Card::my_number().with_quirks(Quirks {
        remove_after_reads: Some(3),
        ..Quirks::default()
    });
    let inserted = insert(&ctx, READER, VPCD_PORT, card)?;
    let thread = CardThread::spawn(PcscConnector::new());
    let err = rt.block_on(thread.read(READER)).unwrap_err();
    assert!(
        matches!(err, ReadError::Transport(ref e) if e.card_gone()),
        "{err:?}"
    );
    assert_eq!(err.class(), "CARD_REMOVED");
    inserted.wait().context("the pulled card's session ends")?;
    ctx.wait_for(READER, SlotState::Empty, DEADLINE)?;

    // The same card thread reads the next card in the same slot. (Disconnecting from the
    // pulled card with a reset used to leave the slot "no card" for this process.)
    let inserted = insert(&ctx, READER, VPCD_PORT, Card::my_number())?;
    let read = rt
        .block_on(thread.read(READER))
        .context("read the next card")?;
    assert!(read.auth_certificate.is_some());
    remove(&ctx, READER, inserted)?;
    Ok(())
}

#[test]
fn pcscd_watcher_reports_readers_and_card_insert_and_remove() -> anyhow::Result<()> {
    let ctx = PcscContext::establish().context("establish a pc/sc context")?;
    ctx.wait_for(READER, SlotState::Empty, DEADLINE)?;
    let (events, inbox) = mpsc::channel();
    let watcher = spawn_watcher(move |event| events.send(event).is_ok());
    let next = |want: &dyn Fn(&ReaderEvent) -> bool, what: &str| -> anyhow::Result<ReaderEvent> {
        let deadline = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(left) {
                Ok(event) if want(&event) => return Ok(event),
                Ok(event) => seen.push(event),
                Err(_) => bail!("no {what} within {DEADLINE:?}; saw {seen:?}"),
            }
        }
    };
    let ours = |event: &ReaderEvent| match event {
        ReaderEvent::Attached { reader }
        | ReaderEvent::Removed { reader }
        | ReaderEvent::CardInserted { reader, .. }
        | ReaderEvent::CardRemoved { reader } => reader == READER,
        ReaderEvent::ServiceLost | ReaderEvent::ServiceRestored => false,
    };
    next(
        &|e| ours(e) && matches!(e, ReaderEvent::Attached { .. }),
        "slot 0 attached",
    )?;

    let card = Card::my_number();
    let atr = card.atr().to_vec();
    let inserted = VpcdClient::insert(VPCD_HOST, VPCD_PORT, card)?;
    let event = next(
        &|e| ours(e) && matches!(e, ReaderEvent::CardInserted { .. }),
        "card inserted",
    )?;
    assert_eq!(
        event,
        ReaderEvent::CardInserted {
            reader: READER.to_owned(),
            atr
        }
    );
    inserted.remove()?;
    next(
        &|e| ours(e) && matches!(e, ReaderEvent::CardRemoved { .. }),
        "card removed",
    )?;
    let stopped = Instant::now();
    watcher.stop();
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "stopping the watcher took {:?}",
        stopped.elapsed()
    );
    Ok(())
}

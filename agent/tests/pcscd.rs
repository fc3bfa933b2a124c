//! The agent's PC/SC transport against the real pcscd with the vsmartcard vpcd driver, and
//! card-sim's in-memory card inserted through vpcd slot 0 (TOOLCHAIN.md §8).
//!
//! Needs pcscd running with the vpcd reader configuration (`rm -rf /run/pcscd; pcscd
//! --foreground &`); without it the test fails with the agent's "pcscd is not running" message,
//! it never skips. Tests here share the one daemon and its fixed vpcd port, so their names
//! contain `pcscd` and nextest runs them one at a time (`test(/pcscd/)` in the `pcsc` group).
//! Readiness is observed through `SCardGetStatusChange` with a deadline, never by sleeping.

use std::thread;
use std::time::Duration;

use anyhow::Context;
use mynafleet_agent::jpki::select_jpki_ap;
use mynafleet_agent::readers::{self, Finding};
use mynafleet_agent::transport::{CardTransport, PcscContext, SlotState};
use mynafleet_card_sim::{Card, VpcdClient};

/// vpcd's slot 0, as named by the packaged `/etc/reader.conf.d/vpcd`.
const READER: &str = "Virtual PCD 00 00";
const VPCD_HOST: &str = "127.0.0.1";
const VPCD_PORT: u16 = 35963;
/// pcscd polls vpcd for presence; a change shows within about 0.5 s.
const DEADLINE: Duration = Duration::from_secs(10);

/// SELECT of the JPKI AP written out from DOMAIN.md §1.5, independent of the agent's builder.
const JPKI_SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];

#[test]
fn pcscd_vpcd_card_selects_jpki_and_is_seen_removed() -> anyhow::Result<()> {
    let ctx = PcscContext::establish().context("establish a pc/sc context")?;
    // Waiting also covers a pcscd that has not listed its vpcd readers yet.
    ctx.wait_for(READER, SlotState::Empty, DEADLINE).context(
        "wait for vpcd slot 0 to be listed and empty: is vsmartcard-vpcd installed, and is no \
         other card simulator connected to port 35963?",
    )?;

    let client = VpcdClient::connect(VPCD_HOST, VPCD_PORT, Card::my_number())
        .context("connect card-sim to vpcd")?;
    let disconnect = client.disconnect_handle()?;
    let sim = thread::spawn(move || client.run());

    let inserted = ctx
        .wait_for(READER, SlotState::Card, DEADLINE)
        .context("wait for pcscd to see the card")?;
    assert_eq!(
        inserted.atr,
        Card::my_number().atr(),
        "vpcd passes card-sim's ATR on"
    );

    {
        let mut card = ctx.connect(READER).context("connect to the card")?;
        let response = card
            .transmit(&select_jpki_ap())
            .context("select the jpki ap")?;
        assert_eq!(response, [0x90, 0x00]);
    }

    // The `readers` diagnostic sees the same card the same way.
    let reports = readers::survey(&ctx).context("survey readers")?;
    let report = reports
        .iter()
        .find(|r| r.name == READER)
        .context("survey lists slot 0")?;
    assert!(matches!(report.finding, Finding::MyNumberCard), "{report}");

    disconnect.disconnect().context("remove the card")?;
    ctx.wait_for(READER, SlotState::Empty, DEADLINE).context(
        "wait for pcscd to see the card removed: a card that stays is another card \
             simulator's, connected to port 35963 before this test",
    )?;

    let card = sim
        .join()
        .map_err(|_| anyhow::anyhow!("card-sim thread panicked"))?
        .context("card-sim vpcd session")?;
    let log = card.apdu_log();
    assert!(!log.is_empty(), "the card received no apdu");
    for apdu in log {
        assert_eq!(
            apdu, &JPKI_SELECT,
            "the agent sent something other than the JPKI select"
        );
    }
    Ok(())
}

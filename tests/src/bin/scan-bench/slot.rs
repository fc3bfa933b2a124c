//! Putting the bench's card into a vpcd slot, two ways: card-sim's own [`VpcdClient`]
//! (what the e2e tests use), or the same card-sim session loop over a socket that
//! acknowledges every segment at once.
//!
//! Why the second: vpcd 3.3 (Debian 12) writes the 2-byte length and the body of each
//! message to the card as two sends without `TCP_NODELAY`, so the body waits for the
//! card's ACK of the length, which Linux delays by about 40 ms. Every APDU and control
//! message then costs ~40 ms in the test rig alone, the same for the agent and the replay,
//! which hides the agent's own cost. Setting `TCP_QUICKACK` around every read on the card's
//! side acknowledges at once. Nothing here interprets or prints APDUs.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::{self, JoinHandle};

use anyhow::Context as _;
use mynafleet_card_sim::vpcd::serve;
use mynafleet_card_sim::{Card, Inserted, VpcdClient};
use socket2::SockRef;

/// A card in a vpcd slot; [`CardInSlot::remove`] (or dropping it) takes it out.
pub(crate) struct CardInSlot(Option<Session>);

/// The session that keeps the card in the slot.
enum Session {
    /// Through card-sim's [`VpcdClient::insert`].
    Stock(Inserted),
    /// Through [`serve`] over a quick-ACK socket.
    QuickAck {
        /// A clone of the session's socket; shutting it down ends the session.
        socket: TcpStream,
        thread: JoinHandle<()>,
    },
}

impl CardInSlot {
    /// Inserts `card` with card-sim's own vpcd client.
    pub(crate) fn stock(host: &str, port: u16, card: Card) -> anyhow::Result<Self> {
        let inserted = VpcdClient::insert(host, port, card).context("insert the card via vpcd")?;
        Ok(Self(Some(Session::Stock(inserted))))
    }

    /// Inserts `card` over a socket that acknowledges every segment at once.
    pub(crate) fn quick_ack(host: &str, port: u16, mut card: Card) -> anyhow::Result<Self> {
        let stream = TcpStream::connect((host, port))
            .with_context(|| format!("connect to vpcd {host}:{port}"))?;
        stream.set_nodelay(true)?;
        let socket = stream.try_clone()?;
        let thread = thread::Builder::new()
            .name(format!("scan-bench-vpcd-{port}"))
            .spawn(move || {
                // The session ends with an error when the bench shuts the socket down; that
                // is the requested removal.
                let _ = serve(&mut QuickAckStream(stream), &mut card);
            })?;
        Ok(Self(Some(Session::QuickAck { socket, thread })))
    }

    /// Takes the card out of the slot and waits for its session to end.
    pub(crate) fn remove(&mut self) -> anyhow::Result<()> {
        match self.0.take() {
            Some(Session::Stock(inserted)) => {
                inserted.remove().context("remove the card from vpcd")?;
            }
            Some(Session::QuickAck { socket, thread }) => {
                // The peer may have closed first, which is the same outcome.
                let _ = socket.shutdown(Shutdown::Both);
                thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("the vpcd session thread panicked"))?;
            }
            None => {}
        }
        Ok(())
    }
}

impl Drop for CardInSlot {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// The card's socket to vpcd with `TCP_QUICKACK` set before and after every read: Linux
/// clears the flag by itself, and setting it sends any ACK still held back.
struct QuickAckStream(TcpStream);

impl QuickAckStream {
    fn quick_ack(&self) {
        // Only a speed-up: if the option cannot be set the session still works.
        let _ = SockRef::from(&self.0).set_tcp_quickack(true);
    }
}

impl Read for QuickAckStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.quick_ack();
        let n = self.0.read(buf)?;
        self.quick_ack();
        Ok(n)
    }
}

impl Write for QuickAckStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

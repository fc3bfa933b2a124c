//! A vpcd client: puts a [`Card`] into a pcscd reader slot of the vsmartcard `vpcd` driver.
//!
//! vpcd listens on TCP (slot 0 on port 35963 by default) and the card connects to it; the
//! connection being open is the card being inserted (DOMAIN.md §8, TOOLCHAIN.md §8). Both
//! directions frame each message as a 2-byte big-endian length and a payload. A 1-byte payload
//! from vpcd is a control code (power off, power on, reset, get ATR; only get ATR is answered,
//! with the ATR); a longer one is a command APDU, answered by [`Card::transmit`].
//!
//! [`VpcdClient::insert`] runs a session on its own thread and [`Inserted::remove`] ends it,
//! handing the same card back (PIN counters and APDU log included) to be inserted again, in
//! either slot ([`DEFAULT_PORT`], [`SLOT_1_PORT`]). The card's removal quirk closes the
//! connection mid-command; its delay quirk is applied here, before each APDU reply.
//!
//! The loop is a thin shell around the card: it never interprets APDUs, never prints, and
//! turns malformed network data into [`VpcdError`] values instead of panicking.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use crate::card::{Card, CardPulled};

#[cfg(test)]
mod tests;

/// The host vpcd is reached on by default (it binds all IPv4 interfaces).
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// vpcd's port for reader slot 0, "Virtual PCD 00 00" (channel `0x8C7B`).
pub const DEFAULT_PORT: u16 = 35963;

/// vpcd's port for reader slot 1, "Virtual PCD 00 01".
pub const SLOT_1_PORT: u16 = 35964;

/// Returns the port of vpcd reader slot `slot` on the default channel (35963 + slot).
pub fn slot_port(slot: u16) -> u16 {
    DEFAULT_PORT.saturating_add(slot)
}

const CONTROL_POWER_OFF: u8 = 0x00;
const CONTROL_POWER_ON: u8 = 0x01;
const CONTROL_RESET: u8 = 0x02;
const CONTROL_GET_ATR: u8 = 0x04;

/// Errors of a vpcd session.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// The TCP connection to vpcd could not be opened.
    #[error(
        "could not connect to vpcd at {addr} (is pcscd running with the vsmartcard-vpcd driver?)"
    )]
    Connect {
        /// The `host:port` tried.
        addr: String,
        /// The underlying socket error.
        #[source]
        source: io::Error,
    },
    /// Reading or writing the connection failed.
    #[error("vpcd connection failed while {action}")]
    Io {
        /// What the client was doing.
        action: &'static str,
        /// The underlying socket error.
        #[source]
        source: io::Error,
    },
    /// vpcd sent a message with no payload, which the protocol does not define.
    #[error("vpcd sent an empty message")]
    EmptyMessage,
    /// The thread answering for an inserted card panicked.
    #[error("the card thread stopped unexpectedly")]
    CardThread,
    /// A response does not fit the protocol's 2-byte length.
    #[error("response of {len} bytes does not fit vpcd's 2-byte length field")]
    ResponseTooLong {
        /// The response length.
        len: usize,
    },
}

impl VpcdError {
    fn io(action: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { action, source }
    }
}

/// A card connected to one vpcd reader slot.
#[derive(Debug)]
pub struct VpcdClient {
    stream: TcpStream,
    card: Card,
    disconnect_requested: Arc<AtomicBool>,
}

impl VpcdClient {
    /// Connects to vpcd at `host:port`; pcscd reports the card inserted once it polls the slot.
    pub fn connect(host: &str, port: u16, card: Card) -> Result<Self, VpcdError> {
        let connect_error = |source| VpcdError::Connect {
            addr: format!("{host}:{port}"),
            source,
        };
        let stream = TcpStream::connect((host, port)).map_err(connect_error)?;
        // Every exchange is a small request/response pair: don't let Nagle delay replies.
        stream
            .set_nodelay(true)
            .map_err(VpcdError::io("configuring the socket"))?;
        Ok(Self {
            stream,
            card,
            disconnect_requested: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Returns a handle that "removes" the card from another thread by closing the connection.
    pub fn disconnect_handle(&self) -> Result<Disconnect, VpcdError> {
        let stream = self
            .stream
            .try_clone()
            .map_err(VpcdError::io("cloning the socket"))?;
        Ok(Disconnect {
            stream,
            requested: Arc::clone(&self.disconnect_requested),
        })
    }

    /// Answers vpcd until it closes the connection, a [`Disconnect`] is used or the card is
    /// pulled, then returns the card (with its APDU log and PIN counters). Blocks the calling
    /// thread.
    pub fn run(self) -> Result<Card, VpcdError> {
        self.run_session().map(|(card, _)| card)
    }

    /// Like [`VpcdClient::run`], also saying how the session ended.
    pub fn run_session(mut self) -> Result<(Card, SessionEnd), VpcdError> {
        let result = serve(&mut self.stream, &mut self.card);
        match result {
            Ok(SessionEnd::Pulled) => {
                // Closing the socket is what vpcd reads as the card leaving the slot; an
                // error here means the peer already went, which is the same outcome.
                let _ = self.stream.shutdown(Shutdown::Both);
                Ok((self.card, SessionEnd::Pulled))
            }
            Ok(SessionEnd::Closed) => Ok((self.card, SessionEnd::Closed)),
            // A local disconnect can interrupt a reply half-way; that is the requested end.
            Err(VpcdError::Io { .. }) if self.disconnect_requested.load(Ordering::SeqCst) => {
                Ok((self.card, SessionEnd::Closed))
            }
            Err(e) => Err(e),
        }
    }

    /// Connects `card` to vpcd at `host:port` and answers on a new thread: the card is in the
    /// reader until [`Inserted::remove`] (or vpcd closing, or the removal quirk).
    pub fn insert(host: &str, port: u16, card: Card) -> Result<Inserted, VpcdError> {
        let client = Self::connect(host, port, card)?;
        let disconnect = client.disconnect_handle()?;
        let thread = thread::Builder::new()
            .name(format!("card-sim-vpcd-{port}"))
            .spawn(move || client.run_session())
            .map_err(VpcdError::io("starting the card thread"))?;
        Ok(Inserted { disconnect, thread })
    }
}

/// A card inserted into a vpcd slot, answering on its own thread ([`VpcdClient::insert`]).
#[derive(Debug)]
pub struct Inserted {
    disconnect: Disconnect,
    thread: JoinHandle<Result<(Card, SessionEnd), VpcdError>>,
}

impl Inserted {
    /// Returns whether the session already ended (vpcd closed, or the card was pulled).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Removes the card: closes the connection and returns the card with its counters and
    /// log, ready to be inserted again.
    pub fn remove(self) -> Result<Card, VpcdError> {
        let Self { disconnect, thread } = self;
        disconnect.disconnect()?;
        join(thread).map(|(card, _)| card)
    }

    /// Waits for the session to end by itself (vpcd closing, or the removal quirk).
    pub fn wait(self) -> Result<(Card, SessionEnd), VpcdError> {
        join(self.thread)
    }
}

fn join(
    thread: JoinHandle<Result<(Card, SessionEnd), VpcdError>>,
) -> Result<(Card, SessionEnd), VpcdError> {
    thread.join().map_err(|_| VpcdError::CardThread)?
}

/// Closes a [`VpcdClient`]'s connection from another thread, which vpcd reads as card removal.
#[derive(Debug)]
pub struct Disconnect {
    stream: TcpStream,
    requested: Arc<AtomicBool>,
}

impl Disconnect {
    /// Shuts the connection down; the client's [`VpcdClient::run`] then returns.
    pub fn disconnect(self) -> Result<(), VpcdError> {
        self.requested.store(true, Ordering::SeqCst);
        match self.stream.shutdown(Shutdown::Both) {
            // The peer may have closed first; the connection is gone either way.
            Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(VpcdError::Io {
                action: "closing the connection",
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

/// How a vpcd session ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// vpcd closed the connection (or a [`Disconnect`] did).
    Closed,
    /// The card's removal quirk pulled it in the middle of a command.
    Pulled,
}

/// Answers framed vpcd messages on `stream` until it reaches end of file between messages or
/// the card is pulled. Waits [`Quirks::delay`](crate::card::Quirks::delay) before each APDU
/// reply.
pub fn serve<S: Read + Write>(stream: &mut S, card: &mut Card) -> Result<SessionEnd, VpcdError> {
    while let Some(message) = read_frame(stream)? {
        match handle_message(card, &message)? {
            Handled::Reply(reply) => write_frame(stream, &reply)?,
            Handled::Silent => {}
            Handled::Pulled => return Ok(SessionEnd::Pulled),
        }
    }
    Ok(SessionEnd::Closed)
}

/// What one vpcd message asks of the card.
enum Handled {
    Reply(Vec<u8>),
    Silent,
    Pulled,
}

/// Returns the reply to one vpcd message, if the protocol expects one.
fn handle_message(card: &mut Card, message: &[u8]) -> Result<Handled, VpcdError> {
    match message {
        [] => Err(VpcdError::EmptyMessage),
        [CONTROL_POWER_OFF] => {
            card.power_off();
            Ok(Handled::Silent)
        }
        [CONTROL_POWER_ON] => {
            card.power_on();
            Ok(Handled::Silent)
        }
        [CONTROL_RESET] => {
            card.reset();
            Ok(Handled::Silent)
        }
        [CONTROL_GET_ATR] => Ok(Handled::Reply(card.atr().to_vec())),
        // vpcd 3.3 defines no other control code and waits for no reply to one; ignoring a
        // future code keeps the card inserted rather than failing a run over it.
        [_] => Ok(Handled::Silent),
        apdu => Ok(match card.transmit(apdu) {
            Ok(reply) => {
                // Only APDUs are slow: presence polling (get ATR) stays prompt.
                if let Some(delay) = card.quirks().delay {
                    thread::sleep(delay);
                }
                Handled::Reply(reply)
            }
            Err(CardPulled) => Handled::Pulled,
        }),
    }
}

/// Reads one framed message; returns `None` on a clean end of file before a new frame.
fn read_frame<R: Read>(reader: &mut R) -> Result<Option<Vec<u8>>, VpcdError> {
    let mut header = [0u8; 2];
    let first = loop {
        match reader.read(&mut header[..1]) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(VpcdError::io("reading a message length")(e)),
        }
    };
    if first == 0 {
        return Ok(None);
    }
    reader
        .read_exact(&mut header[1..])
        .map_err(VpcdError::io("reading a message length"))?;
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
    reader
        .read_exact(&mut payload)
        .map_err(VpcdError::io("reading a message"))?;
    Ok(Some(payload))
}

fn write_frame<W: Write>(writer: &mut W, payload: &[u8]) -> Result<(), VpcdError> {
    let len = u16::try_from(payload.len())
        .map_err(|_| VpcdError::ResponseTooLong { len: payload.len() })?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    writer
        .write_all(&frame)
        .and_then(|()| writer.flush())
        .map_err(VpcdError::io("writing a reply"))
}

//! A tiny in-memory JPKI card for the operation tests, written from DOMAIN.md §1.5–1.6 with
//! switchable quirks (`61xx` chaining, `6Cxx`, the end-of-file variants). It logs every APDU
//! that reaches it, so tests can assert what was (and was not) sent.

use std::collections::HashMap;

use crate::transport::{CardTransport, TransportError};

/// How the fake answers a READ BINARY whose Le runs past the end of the EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eof {
    /// The bytes up to the end with `9000`.
    Short,
    /// The bytes up to the end with `6282`.
    Warning,
    /// `6Cxx` with xx = the bytes left (a resend with that Le gets them).
    WrongLe,
}

pub(crate) struct FakeCard {
    pub(crate) log: Vec<Vec<u8>>,
    pub(crate) files: HashMap<u16, Vec<u8>>,
    pub(crate) jpki: bool,
    pub(crate) tries: u8,
    /// What VERIFY answers once the counter is at 0: `63C0` or `6984` (DOMAIN.md §1.5).
    pub(crate) blocked_sw: [u8; 2],
    /// Answer of the empty VERIFY instead of the counter, when set.
    pub(crate) query_override: Option<[u8; 2]>,
    pub(crate) pin: [u8; 4],
    pub(crate) eof: Eof,
    /// Answer every response with data as `61xx`, to be fetched with GET RESPONSE.
    pub(crate) chain: bool,
    /// Fail with `CardRemoved` once this many APDUs reached the card.
    pub(crate) remove_after: Option<usize>,
    current: Option<u16>,
    verified: bool,
    pending: Vec<u8>,
}

pub(crate) const PIN: &str = "1234";

impl FakeCard {
    /// A physical card (`JPKIAPICCTOKEN2`) with both certificates and an auth certificate of
    /// `cert_len` bytes.
    pub(crate) fn card(cert_len: usize) -> Self {
        Self::with_label(b"JPKIAPICCTOKEN2", certificate(cert_len))
    }

    pub(crate) fn with_label(label: &[u8], auth_certificate: Vec<u8>) -> Self {
        let mut token_info = label.to_vec();
        token_info.resize(32, b' ');
        token_info.resize(160, 0x00);
        let files = HashMap::from([
            (0x0006, token_info),
            (0x0008, vec![0x8F, 0x8F, 0x00]),
            (0x000A, auth_certificate),
            (0x000B, certificate(600)),
            (0x0017, Vec::new()),
            (0x0018, Vec::new()),
        ]);
        Self {
            log: Vec::new(),
            files,
            jpki: true,
            tries: 3,
            blocked_sw: [0x69, 0x84],
            query_override: None,
            pin: *b"1234",
            eof: Eof::Short,
            chain: false,
            remove_after: None,
            current: None,
            verified: false,
            pending: Vec::new(),
        }
    }

    /// Returns the APDUs received with INS `ins`.
    pub(crate) fn sent(&self, ins: u8) -> Vec<&Vec<u8>> {
        self.log.iter().filter(|apdu| apdu[1] == ins).collect()
    }

    /// Returns the VERIFY APDUs that carried a PIN.
    pub(crate) fn verifies_with_pin(&self) -> usize {
        self.sent(0x20).iter().filter(|apdu| apdu.len() > 4).count()
    }

    fn answer(&mut self, apdu: &[u8]) -> Vec<u8> {
        match (apdu[0], apdu[1], apdu.get(2..4)) {
            (0x00, 0xA4, Some([0x04, 0x0C])) => {
                self.current = None;
                self.verified = false;
                if self.jpki { ok(vec![]) } else { sw(0x6A82) }
            }
            (0x00, 0xA4, Some([0x02, 0x0C])) => {
                let ef = u16::from_be_bytes([apdu[5], apdu[6]]);
                if self.jpki && self.files.contains_key(&ef) {
                    self.current = Some(ef);
                    ok(vec![])
                } else {
                    sw(0x6A82)
                }
            }
            (0x00, 0xB0, Some(&[p1, p2])) => self.read(u16::from_be_bytes([p1, p2]), apdu[4]),
            (0x00, 0x20, _) if apdu.len() == 4 => {
                if let Some([a, b]) = self.query_override {
                    return vec![a, b];
                }
                if self.tries == 0 {
                    vec![self.blocked_sw[0], self.blocked_sw[1]]
                } else {
                    vec![0x63, 0xC0 | self.tries]
                }
            }
            (0x00, 0x20, _) => {
                if self.tries == 0 {
                    return sw(0x6984);
                }
                if apdu[5..] == self.pin {
                    self.tries = 3;
                    self.verified = true;
                    ok(vec![])
                } else {
                    self.tries -= 1;
                    vec![0x63, 0xC0 | self.tries]
                }
            }
            (0x00, 0xC0, _) => {
                let pending = std::mem::take(&mut self.pending);
                let le = usize::from(apdu[4]);
                if le != pending.len() % 256 {
                    let n = pending.len() as u8;
                    self.pending = pending;
                    return vec![0x6C, n];
                }
                let mut response = pending;
                response.extend_from_slice(&[0x90, 0x00]);
                response
            }
            (0x80, 0x2A, _) => {
                if self.current != Some(0x0017) {
                    return sw(0x6A82);
                }
                if !self.verified {
                    return sw(0x6982);
                }
                // A stand-in signature: filler, then the DigestInfo it was given.
                let digest_info = &apdu[5..apdu.len() - 1];
                let mut signature = vec![0x5A; 256 - digest_info.len()];
                signature.extend_from_slice(digest_info);
                ok(signature)
            }
            (0x80, 0xFC, _) => sw(0x6700),
            _ => sw(0x6D00),
        }
    }

    fn read(&mut self, offset: u16, le: u8) -> Vec<u8> {
        let Some(file) = self.current.and_then(|ef| self.files.get(&ef)) else {
            return sw(0x6986);
        };
        let offset = usize::from(offset);
        let le = if le == 0 { 256 } else { usize::from(le) };
        if offset >= file.len() {
            return sw(0x6B00);
        }
        let available = file.len() - offset;
        let data = file[offset..offset + le.min(available)].to_vec();
        if le <= available {
            return ok(data);
        }
        match self.eof {
            Eof::Short => ok(data),
            Eof::Warning => {
                let mut response = data;
                response.extend_from_slice(&[0x62, 0x82]);
                response
            }
            Eof::WrongLe => vec![0x6C, available as u8],
        }
    }
}

impl CardTransport for FakeCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.remove_after.is_some_and(|n| self.log.len() >= n) {
            return Err(TransportError::CardRemoved);
        }
        self.log.push(apdu.to_vec());
        let response = self.answer(apdu);
        if self.chain
            && apdu[1] != 0xC0
            && response.len() > 2
            && response[response.len() - 2..] == [0x90, 0x00]
        {
            let data = response[..response.len() - 2].to_vec();
            let n = data.len() as u8;
            self.pending = data;
            return Ok(vec![0x61, n]);
        }
        Ok(response)
    }
}

fn ok(mut data: Vec<u8>) -> Vec<u8> {
    data.extend_from_slice(&[0x90, 0x00]);
    data
}

fn sw(word: u16) -> Vec<u8> {
    word.to_be_bytes().to_vec()
}

/// A DER SEQUENCE of `total` bytes (header included) with recognisable content.
pub(crate) fn certificate(total: usize) -> Vec<u8> {
    let mut der = match total {
        0..=129 => vec![0x30, (total - 2) as u8],
        130..=258 => vec![0x30, 0x81, (total - 3) as u8],
        _ => {
            let [hi, lo] = ((total - 4) as u16).to_be_bytes();
            vec![0x30, 0x82, hi, lo]
        }
    };
    let content = total - der.len();
    der.extend((0..content).map(|i| (i % 251) as u8));
    der
}

/// Replies from a script, in order, and logs what it was sent.
pub(crate) struct Script {
    pub(crate) log: Vec<Vec<u8>>,
    replies: std::collections::VecDeque<Vec<u8>>,
}

impl Script {
    pub(crate) fn new(replies: &[&[u8]]) -> Self {
        Self {
            log: Vec::new(),
            replies: replies.iter().map(|r| r.to_vec()).collect(),
        }
    }
}

impl CardTransport for Script {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.log.push(apdu.to_vec());
        self.replies.pop_front().ok_or(TransportError::CardRemoved)
    }
}

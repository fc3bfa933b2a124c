//! Reading elementary files of the JPKI AP: SELECT by file id, a short read of a file's first
//! bytes, and the certificate read loop driven by the DER header (DOMAIN.md §1.5 read loop,
//! §10 rule 3). Short READ BINARY only, never the extended form; nothing read is logged.

use super::apdu::{MAX_READ_LE, read_binary, select_ef};
use super::card::{JpkiCard, JpkiError, Resend};
use super::status::StatusWord;
use crate::transport::CardTransport;

/// The largest total a certificate EF may announce: READ BINARY offsets are 15 bits
/// (DOMAIN.md §1.5 read loop, step 2).
pub(crate) const MAX_DER_TOTAL: usize = 0x7FFF;

impl<T: CardTransport> JpkiCard<T> {
    /// Selects `ef` of the current AP; anything but `9000` fails as `step`.
    pub(crate) fn select_file(&mut self, ef: u16, step: &'static str) -> Result<(), JpkiError> {
        let response = self.exchange(&select_ef(ef), step, Resend::Allowed)?;
        match response.status() {
            StatusWord::Success => Ok(()),
            status => Err(JpkiError::Unexpected { step, status }),
        }
    }

    /// Reads up to `le` bytes from offset 0 of the current EF. A shorter answer with `9000`
    /// or `6282`, and `6B00` (empty file), are the end of the file (DOMAIN.md §1.5 step 4).
    pub(crate) fn read_prefix(
        &mut self,
        le: u16,
        step: &'static str,
    ) -> Result<Vec<u8>, JpkiError> {
        let response = self.exchange(&read_binary(0, le), step, Resend::Allowed)?;
        match response.status() {
            StatusWord::Success | StatusWord::EndOfFileBeforeLe => {
                let mut data = response.data().to_vec();
                data.truncate(usize::from(le));
                Ok(data)
            }
            StatusWord::WrongOffset => Ok(Vec::new()),
            status => Err(JpkiError::Unexpected { step, status }),
        }
    }

    /// Selects `ef` and reads the DER object it holds (DOMAIN.md §1.5 read loop): 256 bytes at
    /// offset 0, the total from the header (tag `30`, short or long length; above `0x7FFF`
    /// rejected), then chunks of Le = min(remaining, 256) until exactly the total. Filler
    /// past the total is ignored; a file that ends before it fails.
    pub(crate) fn read_der_file(
        &mut self,
        ef: u16,
        select_step: &'static str,
        read_step: &'static str,
    ) -> Result<Vec<u8>, JpkiError> {
        self.select_file(ef, select_step)?;
        let mut data = self.read_chunk(0, MAX_READ_LE, read_step)?;
        let total = der_total(&data).map_err(|e| match e {
            HeaderError::Malformed => JpkiError::CertificateMalformed { ef },
            HeaderError::TooLong(total) => JpkiError::CertificateTooLong { ef, total },
        })?;
        let mut at_end = data.len() < usize::from(MAX_READ_LE);
        data.truncate(total);
        while data.len() < total && !at_end {
            let remaining = total - data.len();
            let le = remaining.min(usize::from(MAX_READ_LE));
            // `total` ≤ 0x7FFF, so the offset and Le fit their fields.
            let chunk = self.read_chunk(data.len() as u16, le as u16, read_step)?;
            at_end = chunk.len() < le;
            data.extend_from_slice(&chunk[..chunk.len().min(le)]);
        }
        if data.len() < total {
            return Err(JpkiError::CertificateTruncated {
                ef,
                read: data.len(),
                total,
            });
        }
        Ok(data)
    }

    /// Reads one chunk; the end of the file (`6B00`, `6282`, a short answer) gives what there
    /// is, possibly nothing.
    fn read_chunk(
        &mut self,
        offset: u16,
        le: u16,
        step: &'static str,
    ) -> Result<Vec<u8>, JpkiError> {
        let response = self.exchange(&read_binary(offset, le), step, Resend::Allowed)?;
        match response.status() {
            StatusWord::Success | StatusWord::EndOfFileBeforeLe => Ok(response.data().to_vec()),
            StatusWord::WrongOffset => Ok(Vec::new()),
            status => Err(JpkiError::Unexpected { step, status }),
        }
    }
}

/// Why a DER header could not give a total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Not tag `30` with a definite length, or cut short.
    Malformed,
    /// The total is above [`MAX_DER_TOTAL`].
    TooLong(usize),
}

/// Returns header plus content length of the DER SEQUENCE `chunk` starts with.
pub(crate) fn der_total(chunk: &[u8]) -> Result<usize, HeaderError> {
    let [0x30, first, rest @ ..] = chunk else {
        return Err(HeaderError::Malformed);
    };
    let (header, content) = match *first {
        short @ 0x00..=0x7F => (2, usize::from(short)),
        // 0x80 is the indefinite form, which DER forbids.
        0x80 => return Err(HeaderError::Malformed),
        long => {
            let n = usize::from(long & 0x7F);
            let bytes = rest.get(..n).ok_or(HeaderError::Malformed)?;
            let mut content: usize = 0;
            for &b in bytes {
                content = content
                    .checked_mul(256)
                    .and_then(|c| c.checked_add(usize::from(b)))
                    .ok_or(HeaderError::TooLong(usize::MAX))?;
            }
            (2 + n, content)
        }
    };
    let total = content
        .checked_add(header)
        .ok_or(HeaderError::TooLong(usize::MAX))?;
    if total > MAX_DER_TOTAL {
        return Err(HeaderError::TooLong(total));
    }
    Ok(total)
}

//! The vpcd loop over an in-memory connection: framing, control codes, errors, removal.

use std::io::{self, Cursor, Read, Write};

use super::{VpcdError, serve, write_frame};
use crate::card::{Card, MY_NUMBER_ATR};

/// An in-memory connection: vpcd's messages to read, and what the card wrote back.
struct Duplex {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Duplex {
    fn with_frames(frames: &[&[u8]]) -> Self {
        let mut input = Vec::new();
        for frame in frames {
            input.extend_from_slice(&u16::try_from(frame.len()).unwrap().to_be_bytes());
            input.extend_from_slice(frame);
        }
        Self::with_bytes(input)
    }

    fn with_bytes(input: Vec<u8>) -> Self {
        Self {
            input: Cursor::new(input),
            output: Vec::new(),
        }
    }

    /// Splits what the card wrote back into payloads.
    fn replies(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = self.output.as_slice();
        while let Some((&[hi, lo], tail)) = rest.split_first_chunk::<2>() {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            out.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
        out
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const JPKI_SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];
const SELECT_EF_000A: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A];

#[test]
fn answers_get_atr_and_apdus_but_not_other_control_codes() {
    let mut stream = Duplex::with_frames(&[
        &[0x04],
        &[0x01],
        &JPKI_SELECT,
        &SELECT_EF_000A,
        &[0x02], // reset: the JPKI AP is no longer current
        &SELECT_EF_000A,
        &[0x00],
        &[0x09], // undefined control code: ignored
        &[0x04],
    ]);
    let mut card = Card::my_number();
    serve(&mut stream, &mut card).unwrap();
    let expected: Vec<Vec<u8>> = vec![
        MY_NUMBER_ATR.to_vec(),
        vec![0x90, 0x00],
        vec![0x90, 0x00],
        vec![0x6A, 0x82],
        MY_NUMBER_ATR.to_vec(),
    ];
    assert_eq!(stream.replies(), expected);
    let log = vec![
        JPKI_SELECT.to_vec(),
        SELECT_EF_000A.to_vec(),
        SELECT_EF_000A.to_vec(),
    ];
    assert_eq!(
        card.apdu_log(),
        log.as_slice(),
        "control codes are not apdus"
    );
}

#[test]
fn ends_cleanly_at_end_of_file_between_frames() {
    let mut stream = Duplex::with_bytes(Vec::new());
    serve(&mut stream, &mut Card::my_number()).unwrap();
    assert!(stream.output.is_empty());
}

#[test]
fn a_truncated_frame_is_an_error_not_a_panic() {
    for bytes in [vec![0x00], vec![0x00, 0x05, 0x00, 0xA4]] {
        let mut stream = Duplex::with_bytes(bytes.clone());
        let err = serve(&mut stream, &mut Card::my_number()).unwrap_err();
        assert!(
            matches!(&err, VpcdError::Io { source, .. } if source.kind() == io::ErrorKind::UnexpectedEof),
            "{bytes:02X?}: {err:?}"
        );
    }
}

#[test]
fn an_empty_frame_is_an_error() {
    let mut stream = Duplex::with_bytes(vec![0x00, 0x00]);
    let err = serve(&mut stream, &mut Card::my_number()).unwrap_err();
    assert!(matches!(err, VpcdError::EmptyMessage), "{err:?}");
}

#[test]
fn refuses_to_frame_a_reply_longer_than_the_length_field() {
    let mut out = Vec::new();
    let err = write_frame(&mut out, &vec![0u8; 65_536]).unwrap_err();
    assert!(
        matches!(err, VpcdError::ResponseTooLong { len: 65_536 }),
        "{err:?}"
    );
    write_frame(&mut out, &vec![0u8; 65_535]).unwrap();
    assert_eq!(out[..2], [0xFF, 0xFF]);
}

#[test]
fn a_pulled_card_ends_the_session_without_answering() {
    const READ: [u8; 5] = [0x00, 0xB0, 0x00, 0x00, 0x00];
    let mut stream = Duplex::with_frames(&[&JPKI_SELECT, &SELECT_EF_000A, &READ, &READ, &[0x04]]);
    let quirks = crate::card::Quirks {
        remove_after_reads: Some(1),
        ..Default::default()
    };
    let mut card = Card::my_number().with_quirks(quirks);
    assert_eq!(
        serve(&mut stream, &mut card).unwrap(),
        super::SessionEnd::Pulled
    );
    let replies = stream.replies();
    assert_eq!(
        replies.len(),
        3,
        "select, select, first read; the second is unanswered"
    );
    assert_eq!(card.apdu_log().len(), 4);
}

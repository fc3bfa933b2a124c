//! Writing OQS XML: an indented element writer that escapes text, refuses characters XML
//! 1.0 cannot carry, and, for Shift_JIS, refuses characters Windows-31J cannot round-trip
//! (naming the element) instead of emitting `&#…;`. It writes only values that are set.

use super::XmlError;
use super::fields::Field;
use crate::config::XmlEncoding;

/// Builds one document.
pub(super) struct Writer {
    out: String,
    depth: usize,
    encoding: XmlEncoding,
}

impl Writer {
    /// Starts a document with the declaration matching `encoding`.
    pub(super) fn new(encoding: XmlEncoding) -> Self {
        let label = match encoding {
            XmlEncoding::Utf8 => "UTF-8",
            XmlEncoding::ShiftJis => "Shift_JIS",
        };
        Self {
            out: format!("<?xml version=\"1.0\" encoding=\"{label}\" standalone=\"no\"?>\n"),
            depth: 0,
            encoding,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// Opens `<name>`.
    pub(super) fn open(&mut self, name: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// Closes `</name>`.
    pub(super) fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Writes `<name>value</name>` (an empty value as `<name></name>`).
    pub(super) fn text(&mut self, name: &str, value: &str) -> Result<(), XmlError> {
        if let XmlEncoding::ShiftJis = self.encoding {
            check_shift_jis(name, value)?;
        }
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, name, value)?;
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
        Ok(())
    }

    /// Writes every field of `table` that is set on `value`, in the table's order.
    pub(super) fn fields<T>(&mut self, table: &[Field<T>], value: &T) -> Result<(), XmlError> {
        for field in table {
            if let Some(v) = (field.get)(value) {
                self.text(field.name(), v)?;
            }
        }
        Ok(())
    }

    /// Returns the document's bytes in the writer's encoding.
    pub(super) fn finish(self) -> Result<Vec<u8>, XmlError> {
        match self.encoding {
            XmlEncoding::Utf8 => Ok(self.out.into_bytes()),
            XmlEncoding::ShiftJis => {
                let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&self.out);
                // Every value was checked on the way in and the markup is ASCII.
                if unmappable {
                    return Err(XmlError::Unencodable {
                        element: "XmlMsg".to_owned(),
                    });
                }
                Ok(bytes.into_owned())
            }
        }
    }
}

/// Appends `value` escaped for element text. `\r` is written as a character reference so
/// it survives line-end normalisation; characters XML 1.0 forbids are refused.
pub(super) fn escape_into(out: &mut String, element: &str, value: &str) -> Result<(), XmlError> {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if allowed_in_xml(c) => out.push(c),
            c => {
                return Err(XmlError::InvalidCharacter {
                    element: element.to_owned(),
                    code_point: u32::from(c),
                });
            }
        }
    }
    Ok(())
}

fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Refuses a value Windows-31J cannot encode, or would not decode back to the same text.
fn check_shift_jis(element: &str, value: &str) -> Result<(), XmlError> {
    let encoding = encoding_rs::SHIFT_JIS;
    let (bytes, _, unmappable) = encoding.encode(value);
    let round_trips = !unmappable
        && encoding
            .decode_without_bom_handling_and_without_replacement(&bytes)
            .is_some_and(|back| back == value);
    if round_trips {
        return Ok(());
    }
    Err(XmlError::Unencodable {
        element: element.to_owned(),
    })
}

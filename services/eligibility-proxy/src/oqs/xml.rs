//! OQS XML (DOMAIN.md §3.2): results parsed by element name into
//! `eligibility.v1.QualificationResult`, card-number requests (`OQSsiquc01req`) and results
//! (for the hand-off) written, in UTF-8 or Shift_JIS (Windows-31J).
//!
//! Bytes are decoded by BOM, then by the XML declaration (none = UTF-8), never by
//! `CharacterCodeIdentifier`; bytes invalid in that encoding are refused, never turned into
//! mojibake. DTDs are refused. It never trims, reorders or normalises a value.

mod fields;
mod read;
mod write;

use crate::config::XmlEncoding;
use crate::upstream::NumberQuery;
use mynafleet_proto::eligibility::v1 as pb;
use write::Writer;

/// Why OQS XML could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum XmlError {
    /// The declaration names an encoding the proxy does not read.
    #[error("unsupported xml encoding {0:?}")]
    UnsupportedEncoding(String),
    /// The bytes are not valid in the encoding the file declares (or UTF-8 without one).
    #[error("the file is not valid {encoding}")]
    Undecodable {
        /// The encoding tried.
        encoding: &'static str,
    },
    /// Not well-formed XML, or a DTD.
    #[error("malformed xml: {0}")]
    Syntax(String),
    /// The root element is not `XmlMsg`.
    #[error("unexpected root element {0:?}")]
    UnexpectedRoot(String),
    /// A single-valued element appears twice (`Parent/Element`).
    #[error("duplicated element {0}")]
    Duplicate(String),
    /// A value has a character Windows-31J cannot encode. The character is kept out of
    /// the message: values are patient data.
    #[error("element {element} has a character shift_jis cannot encode")]
    Unencodable {
        /// The element holding it.
        element: String,
    },
    /// A value has a character XML 1.0 cannot carry.
    #[error("element {element} has a character xml cannot carry (U+{code_point:04X})")]
    InvalidCharacter {
        /// The element holding it.
        element: String,
        /// The character's code point.
        code_point: u32,
    },
}

/// Parses a result file's bytes.
pub(crate) fn parse_result(bytes: &[u8]) -> Result<pb::QualificationResult, XmlError> {
    let text = decode(bytes)?;
    read::result(&text)
}

/// Decodes `bytes` by BOM, then by the XML declaration (none = UTF-8).
pub(crate) fn decode(bytes: &[u8]) -> Result<String, XmlError> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .map(|t| t.into_owned())
            .ok_or(XmlError::Undecodable {
                encoding: encoding.name(),
            });
    }
    let encoding = match declared_encoding(bytes) {
        None => encoding_rs::UTF_8,
        Some(label) => match label.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => encoding_rs::UTF_8,
            "shift_jis" | "shift-jis" | "sjis" | "windows-31j" | "cp932" | "ms932" | "x-sjis" => {
                encoding_rs::SHIFT_JIS
            }
            _ => return Err(XmlError::UnsupportedEncoding(label)),
        },
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .ok_or(XmlError::Undecodable {
            encoding: encoding.name(),
        })
}

/// Returns the `encoding` pseudo-attribute of a leading `<?xml …?>` declaration. The
/// declaration is ASCII in every encoding the proxy reads.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let rest = bytes.strip_prefix(b"<?xml")?;
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..].trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    Some(value[..close].to_owned())
}

/// Writes an `OQSsiquc01req` card-number request, elements in the order public senders
/// use; 記号 and 枝番 are omitted when empty.
pub(crate) fn write_number_request(
    q: &NumberQuery,
    encoding: XmlEncoding,
) -> Result<Vec<u8>, XmlError> {
    let mut w = Writer::new(encoding);
    w.open("XmlMsg");
    w.open("MessageHeader");
    w.text("QualificationConfirmationDate", &q.header.confirmation_date)?;
    w.text("MedicalInstitutionCode", &q.header.institution_code)?;
    w.text("ArbitraryFileIdentifier", &q.header.file_identifier)?;
    w.close("MessageHeader");
    w.open("MessageBody");
    w.open("QualificationConfirmSearchInfo");
    w.text("InsurerNumber", &q.insurer_number)?;
    if !q.symbol.is_empty() {
        w.text("InsuredCardSymbol", &q.symbol)?;
    }
    w.text("InsuredIdentificationNumber", &q.number)?;
    if !q.branch.is_empty() {
        w.text("InsuredBranchNumber", &q.branch)?;
    }
    w.text("Birthdate", &q.birthdate)?;
    w.text(
        "LimitApplicationCertificateRelatedConsFlg",
        if q.limit_consent { "1" } else { "0" },
    )?;
    w.close("QualificationConfirmSearchInfo");
    w.close("MessageBody");
    w.close("XmlMsg");
    w.finish()
}

/// Writes a whole result; only fields that are set appear, so absent stays absent and an
/// empty value stays an empty element.
pub(crate) fn write_result(
    r: &pb::QualificationResult,
    encoding: XmlEncoding,
) -> Result<Vec<u8>, XmlError> {
    let mut w = Writer::new(encoding);
    w.open("XmlMsg");
    if let Some(h) = &r.header {
        w.open("MessageHeader");
        w.fields(fields::HEADER, h)?;
        w.close("MessageHeader");
    }
    w.open("MessageBody");
    if let Some(s) = &r.search_info {
        w.open("QualificationConfirmSearchInfo");
        w.fields(fields::SEARCH_INFO, s)?;
        w.close("QualificationConfirmSearchInfo");
    }
    if !r.results.is_empty() {
        w.open("ResultList");
        for q in &r.results {
            qualification(&mut w, q)?;
        }
        w.close("ResultList");
    }
    w.fields(fields::BODY, r)?;
    w.close("MessageBody");
    w.close("XmlMsg");
    w.finish()
}

fn qualification(w: &mut Writer, q: &pb::Qualification) -> Result<(), XmlError> {
    w.open("ResultOfQualificationConfirmation");
    w.fields(fields::QUALIFICATION_HEAD, q)?;
    if let Some(e) = &q.elderly_recipient_certificate_info {
        w.open("ElderlyRecipientCertificateInfo");
        w.fields(fields::ELDERLY, e)?;
        w.close("ElderlyRecipientCertificateInfo");
    }
    w.fields(fields::QUALIFICATION_LIMIT, q)?;
    if let Some(l) = &q.limit_application_certificate_related_info {
        w.open("LimitApplicationCertificateRelatedInfo");
        w.fields(fields::LIMIT_INFO, l)?;
        w.close("LimitApplicationCertificateRelatedInfo");
    }
    w.fields(fields::QUALIFICATION_DISEASES, q)?;
    if !q.specific_diseases_certificates.is_empty() {
        w.open("SpecificDiseasesCertificateList");
        for s in &q.specific_diseases_certificates {
            w.open("SpecificDiseasesCertificateInfo");
            w.fields(fields::SPECIFIC_DISEASES, s)?;
            w.close("SpecificDiseasesCertificateInfo");
        }
        w.close("SpecificDiseasesCertificateList");
    }
    if !q.medical_tickets.is_empty() {
        w.open("PublicExpenseResultList");
        for t in &q.medical_tickets {
            w.open("MedicalTicketInfo");
            w.fields(fields::MEDICAL_TICKET, t)?;
            w.close("MedicalTicketInfo");
        }
        w.close("PublicExpenseResultList");
    }
    w.fields(fields::QUALIFICATION_TAIL, q)?;
    w.fields(fields::CONSENTS, q)?;
    w.close("ResultOfQualificationConfirmation");
    Ok(())
}

#[cfg(test)]
mod tests;

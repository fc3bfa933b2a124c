//! Reading a decoded result document into `eligibility.v1.QualificationResult`: by element
//! name, never by position; a duplicated single-valued element is an error; `<X/>` and
//! `<X></X>` become `Some("")`, an absent element `None`; values are never trimmed; unknown
//! elements are skipped and never leave the proxy.

use super::XmlError;
use super::fields::{self, Field};
use mynafleet_proto::eligibility::v1 as pb;
use roxmltree::Node;

/// Parses `text` (already decoded) into a result.
pub(super) fn result(text: &str) -> Result<pb::QualificationResult, XmlError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| XmlError::Syntax(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "XmlMsg" {
        return Err(XmlError::UnexpectedRoot(root.tag_name().name().to_owned()));
    }
    let mut out = pb::QualificationResult::default();
    let mut seen_body = false;
    for child in elements(root) {
        match child.tag_name().name() {
            "MessageHeader" => {
                if out.header.is_some() {
                    return Err(duplicate("XmlMsg", child));
                }
                out.header = Some(texts(child, &[fields::HEADER])?);
            }
            "MessageBody" => {
                if seen_body {
                    return Err(duplicate("XmlMsg", child));
                }
                seen_body = true;
                body(child, &mut out)?;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn body(node: Node<'_, '_>, out: &mut pb::QualificationResult) -> Result<(), XmlError> {
    let mut seen_list = false;
    for child in elements(node) {
        let name = child.tag_name().name();
        match name {
            "QualificationConfirmSearchInfo" => {
                if out.search_info.is_some() {
                    return Err(duplicate("MessageBody", child));
                }
                out.search_info = Some(texts(child, &[fields::SEARCH_INFO])?);
            }
            "ResultList" => {
                if seen_list {
                    return Err(duplicate("MessageBody", child));
                }
                seen_list = true;
                for item in elements(child) {
                    if item.tag_name().name() == "ResultOfQualificationConfirmation" {
                        out.results.push(qualification(item)?);
                    }
                }
            }
            _ => set_text(fields::BODY, "MessageBody", out, child)?,
        }
    }
    Ok(())
}

fn qualification(node: Node<'_, '_>) -> Result<pb::Qualification, XmlError> {
    const PARENT: &str = "ResultOfQualificationConfirmation";
    let mut q = pb::Qualification::default();
    let (mut seen_diseases, mut seen_tickets) = (false, false);
    for child in elements(node) {
        match child.tag_name().name() {
            "ElderlyRecipientCertificateInfo" => {
                if q.elderly_recipient_certificate_info.is_some() {
                    return Err(duplicate(PARENT, child));
                }
                q.elderly_recipient_certificate_info = Some(texts(child, &[fields::ELDERLY])?);
            }
            "LimitApplicationCertificateRelatedInfo" => {
                if q.limit_application_certificate_related_info.is_some() {
                    return Err(duplicate(PARENT, child));
                }
                q.limit_application_certificate_related_info =
                    Some(texts(child, &[fields::LIMIT_INFO])?);
            }
            "SpecificDiseasesCertificateList" => {
                if seen_diseases {
                    return Err(duplicate(PARENT, child));
                }
                seen_diseases = true;
                for item in elements(child) {
                    if item.tag_name().name() == "SpecificDiseasesCertificateInfo" {
                        q.specific_diseases_certificates
                            .push(texts(item, &[fields::SPECIFIC_DISEASES])?);
                    }
                }
            }
            "PublicExpenseResultList" => {
                if seen_tickets {
                    return Err(duplicate(PARENT, child));
                }
                seen_tickets = true;
                for item in elements(child) {
                    if item.tag_name().name() == "MedicalTicketInfo" {
                        q.medical_tickets
                            .push(texts(item, &[fields::MEDICAL_TICKET])?);
                    }
                }
            }
            _ => {
                if let Some(field) =
                    fields::find(fields::QUALIFICATION_ALL, child.tag_name().name())
                {
                    set(field, PARENT, &mut q, child)?;
                }
            }
        }
    }
    Ok(q)
}

/// Reads a message whose children are all text elements.
fn texts<T: Default>(node: Node<'_, '_>, tables: &[&[Field<T>]]) -> Result<T, XmlError> {
    let parent = node.tag_name().name();
    let mut out = T::default();
    for child in elements(node) {
        if let Some(field) = fields::find(tables, child.tag_name().name()) {
            set(field, parent, &mut out, child)?;
        }
    }
    Ok(out)
}

fn set_text<T>(
    table: &[Field<T>],
    parent: &str,
    out: &mut T,
    node: Node<'_, '_>,
) -> Result<(), XmlError> {
    match fields::find(&[table], node.tag_name().name()) {
        Some(field) => set(field, parent, out, node),
        None => Ok(()),
    }
}

fn set<T>(field: &Field<T>, parent: &str, out: &mut T, node: Node<'_, '_>) -> Result<(), XmlError> {
    let slot = (field.get_mut)(out);
    if slot.is_some() {
        return Err(duplicate(parent, node));
    }
    // Direct text and CDATA children, untrimmed; child elements inside a value are ignored.
    let value: String = node
        .children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect();
    *slot = Some(value);
    Ok(())
}

fn elements<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(Node::is_element)
}

fn duplicate(parent: &str, node: Node<'_, '_>) -> XmlError {
    XmlError::Duplicate(format!("{parent}/{}", node.tag_name().name()))
}

//! The error reasons each proto lists in a comment block (DESIGN.md §4: reasons are listed in
//! the comments of their area's proto), read back into rows for the reference. It reads only
//! the layout the protos use:
//!
//! ```text
//! // Error reasons (ErrorInfo.domain "mynafleet.activation.v1"):
//! //
//! //   CODE_EXPIRED        the account's code expired; an operator issues a new one
//! //   ACTIVATION_LOCKED   too many failed activations for this account or address;
//! //                       an operator unlocks, or wait for the cool-down (RetryInfo)
//! ```
//!
//! An optional `(GRPC_CODE)` at the start of the meaning names the status code.

/// One error reason as its proto documents it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reason {
    /// The `ErrorInfo.reason`, for example `CODE_EXPIRED`.
    pub(crate) name: String,
    /// The `ErrorInfo.domain` the block names.
    pub(crate) domain: String,
    /// The gRPC status code when the comment names it, for example `UNAVAILABLE`.
    pub(crate) code: Option<String>,
    /// What it means, on one line.
    pub(crate) meaning: String,
}

/// Returns the reasons a comment lists, or nothing when it is not a reason block (it must
/// mention `ErrorInfo` and name a quoted domain).
pub(crate) fn from_comment(comment: &str) -> Vec<Reason> {
    if !comment.contains("ErrorInfo") {
        return Vec::new();
    }
    let Some(domain) = quoted_domain(comment) else {
        return Vec::new();
    };
    let mut reasons: Vec<Reason> = Vec::new();
    let mut entry_indent: Option<usize> = None;
    let mut open = false;
    for raw in comment.lines() {
        let line = raw.strip_prefix(' ').unwrap_or(raw).trim_end();
        let indent = line.len() - line.trim_start().len();
        let text = line.trim_start();
        if text.is_empty() || indent < 2 {
            open = false;
            continue;
        }
        let is_entry = entry_indent.is_none_or(|e| indent == e) && entry(text).is_some();
        if is_entry {
            if let Some((name, meaning)) = entry(text) {
                entry_indent = Some(indent);
                reasons.push(Reason {
                    name: name.to_owned(),
                    domain: domain.clone(),
                    code: None,
                    meaning: meaning.to_owned(),
                });
                open = true;
            }
        } else if open && entry_indent.is_some_and(|e| indent > e) {
            if let Some(last) = reasons.last_mut() {
                last.meaning.push(' ');
                last.meaning.push_str(text);
            }
        } else {
            open = false;
        }
    }
    for reason in &mut reasons {
        if let Some((code, rest)) = leading_code(&reason.meaning) {
            reason.code = Some(code.to_owned());
            reason.meaning = rest.to_owned();
        }
    }
    reasons
}

/// Returns the first double-quoted string after the word `domain`.
fn quoted_domain(comment: &str) -> Option<String> {
    let after = &comment[comment.find("domain")?..];
    let start = after.find('"')? + 1;
    let len = after[start..].find('"')?;
    Some(after[start..start + len].to_owned())
}

/// Splits `NAME   meaning` when NAME is an UPPER_SNAKE_CASE reason. A name without an
/// underscore (`INTERNAL`) must be followed by at least two spaces, as in the protos' tables.
fn entry(text: &str) -> Option<(&str, &str)> {
    let (name, rest) = text.split_once(' ')?;
    let is_upper = name.len() >= 3
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_uppercase());
    let is_reason = is_upper && (name.contains('_') || rest.starts_with(' '));
    let meaning = rest.trim();
    (is_reason && !meaning.is_empty()).then_some((name, meaning))
}

/// Splits `(CODE) rest` when CODE is an UPPER_SNAKE_CASE gRPC status code.
fn leading_code(meaning: &str) -> Option<(&str, &str)> {
    let inner = meaning.strip_prefix('(')?;
    let end = inner.find(')')?;
    let code = &inner[..end];
    let is_code = !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    is_code.then(|| (code, inner[end + 1..].trim_start()))
}

/// Returns every reason the files of `package` list, file by file in source order.
pub(crate) fn of_package(package: &super::model::Package) -> Vec<Reason> {
    package
        .files
        .iter()
        .flat_map(|file| {
            super::model::Comments::new(file)
                .all()
                .into_iter()
                .flat_map(from_comment)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Returns `comment` without its reason block (the reasons get a table of their own), or
/// the comment unchanged when it lists none.
pub(crate) fn without_reasons(comment: &str) -> String {
    if from_comment(comment).is_empty() {
        return comment.to_owned();
    }
    let lines: Vec<&str> = comment.lines().collect();
    let indent = |line: &str| {
        let line = line.strip_prefix(' ').unwrap_or(line);
        line.len() - line.trim_start().len()
    };
    let Some(header) = lines.iter().position(|l| l.contains("ErrorInfo")) else {
        return comment.to_owned();
    };
    let start = match header.checked_sub(1) {
        Some(before) if lines[before].to_lowercase().contains("reasons") => before,
        _ => header,
    };
    // The header paragraph runs to its first blank or indented line; the table follows.
    let mut end = header;
    while end + 1 < lines.len() && !lines[end + 1].trim().is_empty() && indent(lines[end + 1]) < 2 {
        end += 1;
    }
    for (i, line) in lines.iter().enumerate().skip(end + 1) {
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) < 2 {
            break;
        }
        end = i;
    }
    let kept: Vec<&str> = lines[..start]
        .iter()
        .chain(&lines[end + 1..])
        .copied()
        .collect();
    kept.join("\n")
}

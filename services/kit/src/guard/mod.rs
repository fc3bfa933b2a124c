//! String guards every ingress applies: digit normalisation, the modulus-10 (Luhn) check digit
//! of insurer numbers and 医療機関コード, and the My Number filter (DOMAIN.md §2, §4.1, §10.11).
//!
//! MynaFleet never handles a 12-digit 個人番号, so any field whose digits form a 12-digit value
//! with a valid My Number check digit is refused at the edge, before it is stored or logged.

/// Folds full-width digits to ASCII and drops spaces and hyphens (ASCII and full-width), so
/// `１２３４ー５６７８` and `1234-5678` compare equal. Other characters are kept as they are.
pub fn normalize_digits(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '\u{3000}' | '-' | '‐' | '−' | '－' | 'ー' | '\t'))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            other => other,
        })
        .collect()
}

/// Returns the modulus-10 weight 2-1 check digit (= Luhn) over `body`, or `None` when `body`
/// holds anything but ASCII digits or is empty (DOMAIN.md §4.1).
pub fn luhn_check_digit(body: &str) -> Option<u8> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            let p = if i % 2 == 0 { d * 2 } else { d };
            if p >= 10 { p - 9 } else { p }
        })
        .sum();
    Some(((10 - (sum % 10)) % 10) as u8)
}

/// Returns whether the last digit of `digits` is the modulus-10 check digit of the rest.
pub fn luhn_valid(digits: &str) -> bool {
    let Some((body, last)) = digits.len().checked_sub(1).map(|n| digits.split_at(n)) else {
        return false;
    };
    match (luhn_check_digit(body), last.bytes().next()) {
        (Some(cd), Some(l)) if l.is_ascii_digit() => cd == l - b'0',
        _ => false,
    }
}

/// Returns the My Number (modulus 11) check digit of an 11-digit body, or `None` when the
/// body is not 11 ASCII digits (DOMAIN.md §2).
pub fn my_number_check_digit(body: &str) -> Option<u8> {
    if body.len() != 11 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(b - b'0') * q
        })
        .sum();
    let r = sum % 11;
    Some(if r <= 1 { 0 } else { (11 - r) as u8 })
}

/// Returns whether `value`, once normalised, is 12 digits with a valid My Number check digit.
pub fn looks_like_my_number(value: &str) -> bool {
    let d = normalize_digits(value);
    if d.len() != 12 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (body, last) = d.split_at(11);
    my_number_check_digit(body) == last.bytes().next().map(|b| b - b'0')
}

/// Returns whether any run of digits in free text (names, notes), once normalised, looks like
/// a My Number. Separators inside a run are folded, so `1234 5678 9018` is caught too.
pub fn text_contains_my_number(value: &str) -> bool {
    let folded = normalize_digits(value);
    folded
        .split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() == 12 && looks_like_my_number(run))
}

#[cfg(test)]
mod tests;

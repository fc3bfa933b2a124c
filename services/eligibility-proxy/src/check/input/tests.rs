use super::*;

fn raw<'a>(insurer: &'a str, number: &'a str, branch: &'a str, birth: &'a str) -> RawNumbers<'a> {
    RawNumbers {
        insurer_number: insurer,
        symbol: "医国３４０",
        number,
        branch,
        birthdate: Some(birth),
    }
}

fn fields(e: Error) -> Vec<String> {
    match e {
        Error::Fields(v) => v.into_iter().map(|f| f.field).collect(),
        other => panic!("expected field violations, got {other:?}"),
    }
}

#[test]
fn six_digit_insurers_are_sent_right_aligned_and_values_kept_as_typed() {
    let ok = numbers(raw("06130488", "１２３", "01", "19800102")).expect("valid");
    assert_eq!(ok.insurer_number, "06130488");
    assert_eq!(ok.symbol, "医国３４０");
    assert_eq!(ok.number, "１２３");
    let body = "13800";
    let check = mynafleet_kit::guard::luhn_check_digit(body).expect("digits");
    let typed = format!("{body}{check}");
    let six = numbers(raw(&typed, "12", "", "19800102")).expect("valid");
    assert_eq!(six.insurer_number, format!("  {typed}"));
    let wrong = format!("{body}{}", (check + 1) % 10);
    let e = numbers(raw(&wrong, "12", "", "19800102")).expect_err("wrong check digit");
    assert_eq!(fields(e), ["insurer_number"]);
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let e = numbers(raw("06130487", "", "1", "19801302")).expect_err("invalid");
    assert_eq!(
        fields(e),
        [
            "insurer_number",
            "insured_identification_number",
            "insured_branch_number",
            "birthdate"
        ]
    );
}

#[test]
fn a_my_number_in_any_field_is_refused_with_its_own_reason() {
    // 12 digits with a valid My Number check digit (kit's guard tests use the same value).
    let my_number = "123456789018";
    assert!(looks_like_my_number(my_number));
    let e = numbers(raw("06130488", my_number, "01", "19800102")).expect_err("refused");
    assert!(matches!(e, Error::MyNumber(f) if f == "insured_identification_number"));
    let e = reference_number("reference_number", my_number).expect_err("refused");
    assert!(matches!(e, Error::MyNumber(_)));
}

#[test]
fn reference_numbers_are_bounded() {
    assert_eq!(
        reference_number("r", "診察券0012").expect("ok"),
        "診察券0012"
    );
    assert!(matches!(
        reference_number("r", ""),
        Err(Error::ReferenceNumber(_))
    ));
    let long = "1".repeat(51);
    assert!(matches!(
        reference_number("r", &long),
        Err(Error::ReferenceNumber(_))
    ));
}

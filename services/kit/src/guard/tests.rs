use super::*;

#[test]
fn luhn_matches_the_mhlw_worked_examples() {
    assert_eq!(luhn_check_digit("0613048"), Some(8));
    assert!(luhn_valid("06130488"));
    assert!(!luhn_valid("06130487"));
    assert_eq!(luhn_check_digit("341071236"), Some(2));
    assert!(luhn_valid("3410712362"));
}

#[test]
fn luhn_refuses_non_digits() {
    assert_eq!(luhn_check_digit("12a"), None);
    assert_eq!(luhn_check_digit(""), None);
    assert!(!luhn_valid("1"));
    assert!(!luhn_valid(""));
}

#[test]
fn my_number_sample_is_recognised_in_every_spelling() {
    assert_eq!(my_number_check_digit("12345678901"), Some(8));
    for s in [
        "123456789018",
        "1234-5678-9018",
        "１２３４ ５６７８ ９０１８",
    ] {
        assert!(looks_like_my_number(s), "{s}");
    }
    assert!(!looks_like_my_number("123456789017"));
    assert!(!looks_like_my_number("12345678901"));
}

#[test]
fn free_text_with_an_embedded_my_number_is_caught() {
    assert!(text_contains_my_number("患者 123456789018 の件"));
    assert!(text_contains_my_number(
        "メモ：１２３４－５６７８－９０１８"
    ));
    assert!(!text_contains_my_number("さくら医療グループ 2026"));
    assert!(!text_contains_my_number("1234567890180"));
}

use super::*;
use mynafleet_kit::guard::luhn_valid;

const SEED: u64 = 7;

#[test]
fn the_same_seed_gives_the_same_people_in_any_order() {
    let a = People::generate(SEED, 300);
    let b = People::generate(SEED, 300);
    assert_eq!(a.all(), b.all());
    // Access order does not matter: person 250 alone equals person 250 of the whole.
    assert_eq!(&person(SEED, 250), a.get(250).unwrap());
    let other = People::generate(SEED + 1, 300);
    assert_ne!(a.all(), other.all());
}

#[test]
fn every_insurer_number_has_a_valid_check_digit_and_eight_characters() {
    let people = People::generate(SEED, 2000);
    for p in people.all() {
        let n = &p.card.insurer_number;
        assert_eq!(n.chars().count(), 8, "{n:?}");
        let digits = n.trim_start_matches(' ');
        assert!(matches!(digits.len(), 6 | 8), "{n:?}");
        assert!(n.len() == 8 && (digits.len() == 8 || n.starts_with("  ")));
        assert!(luhn_valid(digits), "{n:?}");
        for e in &p.entries {
            let n = e.insurer_number.as_deref().unwrap();
            assert!(luhn_valid(n.trim_start_matches(' ')), "{n:?}");
        }
    }
    assert!(
        people
            .all()
            .iter()
            .any(|p| p.card.insurer_number.starts_with("  "))
    );
    assert!(
        people
            .all()
            .iter()
            .any(|p| p.card.insurer_number.starts_with("39"))
    );
}

#[test]
fn every_validity_value_and_full_width_numbers_are_present() {
    let people = People::generate(SEED, 2000);
    for v in ["1", "2", "3", "4", "5", "6"] {
        let n = people.all().iter().filter(|p| p.validity == v).count();
        assert!(n > 0, "validity {v} missing");
    }
    assert!(
        people
            .all()
            .iter()
            .any(|p| p.card.symbol.chars().any(|c| c > '\u{FF00}'))
    );
    assert!(
        people
            .all()
            .iter()
            .any(|p| p.card.number.contains('\u{2010}'))
    );
    assert!(people.all().iter().any(|p| p.limit_info.is_some()));
    assert!(people.all().iter().any(|p| p.notice.is_some()));
}

#[test]
fn numbers_and_subjects_never_collide() {
    let people = People::generate(SEED, 3000);
    for p in people.all() {
        let found = people
            .by_numbers(
                &p.card.insurer_number,
                &p.card.symbol,
                &p.card.number,
                &p.card.branch,
            )
            .unwrap();
        assert_eq!(found.index, p.index);
        assert_eq!(
            people.by_subject(&p.certificate_subject).unwrap().index,
            p.index
        );
    }
}

#[test]
fn numbers_are_found_after_full_width_folding_and_without_padding() {
    let people = People::generate(SEED, 10);
    let p = people.get(1).unwrap();
    let folded_symbol = fold(&p.card.symbol);
    assert_ne!(folded_symbol, p.card.symbol);
    let found = people
        .by_numbers(
            p.card.insurer_number.trim(),
            &folded_symbol,
            &fold(&p.card.number),
            &p.card.branch,
        )
        .unwrap();
    assert_eq!(found.index, 1);
}

#[test]
fn well_known_people_have_their_documented_shapes() {
    let people = People::generate(Population::DEFAULT_SEED, 10);
    let p = |i| people.get(i).unwrap();
    let e = |i: u32| &p(i).entries[0];

    assert_eq!(p(0).validity, "1");
    assert_eq!(p(0).card.insurer_number.len(), 8);
    assert!(p(0).card.insurer_number.starts_with("01"));
    assert_eq!(e(0).personal_family_classification.as_deref(), Some("1"));

    assert_eq!(p(1).validity, "1");
    assert!(p(1).card.insurer_number.starts_with("  "));
    assert!(p(1).card.symbol.chars().any(|c| ('０'..='９').contains(&c)));
    assert!(p(1).card.number.contains('\u{2010}'));

    assert_eq!(p(2).validity, "2");
    assert!(e(2).disqualification_date.is_some() && e(2).reason_of_loss.is_some());
    assert_eq!(p(3).validity, "3");
    assert_eq!(p(4).validity, "5");
    assert_eq!(p(4).entries.len(), 2);

    assert_eq!(p(5).validity, "1");
    assert!(p(5).card.insurer_number.starts_with("39"));
    assert!(e(5).insured_partial_contribution_ratio.is_some());
    assert!(p(5).limit_info.is_some());

    assert_eq!(p(6).validity, "4");
    assert!(p(6).entries.is_empty());
    assert_eq!(p(7).validity, "6");
    assert_eq!(e(7).insured_card_classification.as_deref(), Some("A1"));
    assert!(!e(7).medical_tickets.is_empty());

    assert_eq!(e(8).personal_family_classification.as_deref(), Some("2"));
    assert!(e(8).elderly_recipient_certificate_info.is_some());
    assert!(!e(8).specific_diseases_certificates.is_empty());
    assert!(p(9).notice.is_some());
}

use crate::config::Population;

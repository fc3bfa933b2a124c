use super::*;
use time::macros::datetime;

const ISSUED: OffsetDateTime = datetime!(2026-11-19 09:00:00 UTC);

#[test]
fn a_day_long_certificate_renews_about_seventeen_hours_after_it_arrived() {
    let not_after = ISSUED + time::Duration::hours(24);
    assert_eq!(
        renewal_due(ISSUED, not_after, 0.0),
        ISSUED + time::Duration::minutes(1008)
    );
    // ±10 % of the 70 % point: 63 % to 77 % of the lifetime.
    assert_eq!(
        renewal_due(ISSUED, not_after, -1.0),
        ISSUED + time::Duration::seconds(54_432)
    );
    assert_eq!(
        renewal_due(ISSUED, not_after, 1.0),
        ISSUED + time::Duration::seconds(66_528)
    );
}

#[test]
fn ten_second_certificates_renew_between_six_point_three_and_seven_point_seven_seconds() {
    let not_after = ISSUED + time::Duration::seconds(10);
    for jitter in [-1.0, -0.5, 0.0, 0.5, 1.0] {
        let after = renewal_due(ISSUED, not_after, jitter) - ISSUED;
        assert!(
            after >= time::Duration::milliseconds(6_300)
                && after <= time::Duration::milliseconds(7_700),
            "{jitter}: {after}"
        );
    }
}

#[test]
fn out_of_range_jitter_is_clamped() {
    let not_after = ISSUED + time::Duration::seconds(100);
    assert_eq!(
        renewal_due(ISSUED, not_after, 5.0),
        renewal_due(ISSUED, not_after, 1.0)
    );
    assert_eq!(
        renewal_due(ISSUED, not_after, -5.0),
        renewal_due(ISSUED, not_after, -1.0)
    );
}

#[test]
fn the_schedule_counts_from_receipt_not_from_the_certificate_start() {
    // A certificate back-dated an hour and received now renews at 70 % of what is left.
    let not_after = ISSUED + time::Duration::hours(10);
    assert_eq!(
        renewal_due(ISSUED, not_after, 0.0),
        ISSUED + time::Duration::hours(7)
    );
}

#[test]
fn a_certificate_with_no_lifetime_left_is_due_at_once() {
    assert_eq!(renewal_due(ISSUED, ISSUED, 0.0), ISSUED);
    assert_eq!(
        renewal_due(ISSUED, ISSUED - time::Duration::hours(1), 0.7),
        ISSUED
    );
}

#[test]
fn jitter_spreads_over_the_whole_range() {
    let draws: Vec<f64> = (0..200).map(|_| random_jitter()).collect();
    assert!(draws.iter().all(|j| (-1.0..=1.0).contains(j)), "{draws:?}");
    assert!(draws.iter().any(|j| *j < -0.5), "{draws:?}");
    assert!(draws.iter().any(|j| *j > 0.5), "{draws:?}");
}

#[test]
fn until_never_goes_negative() {
    assert_eq!(
        until(ISSUED, ISSUED - time::Duration::SECOND),
        Duration::ZERO
    );
    assert_eq!(
        until(ISSUED, ISSUED + time::Duration::milliseconds(1500)),
        Duration::from_millis(1500)
    );
}

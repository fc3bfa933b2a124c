//! The `[audit]` file section: defaults, parsing, and production's five-year floor.

use super::*;
use figment::Figment;
use figment::providers::{Format, Toml};

fn section(toml: &str) -> AuditSection {
    Figment::from(Toml::string(toml)).extract().unwrap()
}

#[test]
fn an_absent_section_means_every_thousand_records_or_every_minute_and_keep_all() {
    let s = section("").settings(true).unwrap();
    assert_eq!(s.checkpoint_every, 1_000);
    assert_eq!(s.checkpoint_interval, Duration::from_secs(60));
    assert_eq!(s.retention, None);
}

#[test]
fn the_file_sets_counts_intervals_and_retention_in_days() {
    let s = section(
        "checkpoint_every_records = 50\ncheckpoint_interval_seconds = 5\nretention_days = 2000",
    )
    .settings(true)
    .unwrap();
    assert_eq!(s.checkpoint_every, 50);
    assert_eq!(s.checkpoint_interval, Duration::from_secs(5));
    assert_eq!(s.retention, Some(Duration::from_secs(2_000 * 86_400)));
}

#[test]
fn production_refuses_less_than_five_years_and_names_the_field() {
    let short = section("retention_days = 365");
    let err = short.settings(true).unwrap_err().to_string();
    assert!(err.contains("retention_days"), "{err}");
    assert!(err.contains("1827"), "{err}");
    assert!(section("retention_days = 1827").settings(true).is_ok());
    // Outside production a short retention is allowed (trials, tests).
    assert_eq!(
        short.settings(false).unwrap().retention,
        Some(Duration::from_secs(365 * 86_400))
    );
}

#[test]
fn zero_counts_and_intervals_and_unknown_keys_are_refused() {
    let err = section("checkpoint_every_records = 0")
        .settings(false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint_every_records"), "{err}");
    let err = section("checkpoint_interval_seconds = 0")
        .settings(false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint_interval_seconds"), "{err}");
    let unknown: Result<AuditSection, _> =
        Figment::from(Toml::string("retention_years = 5")).extract();
    assert!(unknown.is_err());
}

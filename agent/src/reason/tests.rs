use super::*;

/// The reason lists of the protos this agent talks to, read at build time, so a reason added
/// to a proto without a message here fails this test.
const PROTOS: [(&str, &str); 5] = [
    (
        "activation.proto",
        include_str!("../../../proto/mynafleet/activation/v1/activation.proto"),
    ),
    (
        "agent.proto",
        include_str!("../../../proto/mynafleet/agent/v1/agent.proto"),
    ),
    (
        "eligibility.proto",
        include_str!("../../../proto/mynafleet/eligibility/v1/eligibility.proto"),
    ),
    (
        "terminal.proto",
        include_str!("../../../proto/mynafleet/terminal/v1/terminal.proto"),
    ),
    (
        "common.proto",
        include_str!("../../../proto/mynafleet/common/v1/common.proto"),
    ),
];

fn listed_reasons(proto: &str) -> Vec<&str> {
    proto
        .lines()
        .filter_map(|line| line.strip_prefix("//   "))
        .filter_map(|rest| {
            rest.split_whitespace()
                .next()
                .filter(|_| !rest.starts_with(' '))
        })
        .filter(|word| word.len() > 3 && word.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[test]
fn every_reason_the_protos_list_has_a_message() {
    for (file, proto) in PROTOS {
        let reasons = listed_reasons(proto);
        assert!(reasons.len() >= 5, "{file}: found only {reasons:?}");
        for reason in reasons {
            let explanation = explain(reason).unwrap_or_else(|| panic!("{file}: {reason}"));
            assert!(!explanation.en.is_empty() && !explanation.ja.is_empty());
            assert!(!explanation.en.ends_with('.'), "{reason}");
            assert!(
                !explanation.en.starts_with(|c: char| c.is_ascii_uppercase()),
                "{reason}: {}",
                explanation.en
            );
        }
    }
}

#[test]
fn a_known_reason_prints_its_message_and_name() {
    let text = Described {
        reason: "CODE_EXPIRED",
        message: "server text",
    }
    .to_string();
    assert!(text.starts_with("activation code expired — ask your administrator for a new one"));
    assert!(text.ends_with("(CODE_EXPIRED)"));
    assert!(!text.contains("server text"));
}

#[test]
fn an_unknown_reason_falls_back_to_the_server_message() {
    let text = Described {
        reason: "SOMETHING_NEW",
        message: "a new thing went wrong",
    }
    .to_string();
    assert_eq!(text, "a new thing went wrong (SOMETHING_NEW)");
}

#[test]
fn only_cut_off_devices_and_accounts_stop_renewal() {
    for reason in [
        "DEVICE_SUSPENDED",
        "DEVICE_REVOKED",
        "ACCOUNT_NOT_AVAILABLE",
        "DEVICE_NOT_FOUND",
    ] {
        assert!(stops_renewal(reason), "{reason}");
    }
    for reason in ["ACCOUNT_UNAVAILABLE", "INTERNAL", "CSR_INVALID", ""] {
        assert!(!stops_renewal(reason), "{reason}");
    }
}

#[test]
fn a_suspended_device_keeps_watching_a_revoked_one_stops() {
    assert!(!ends_watch("DEVICE_SUSPENDED"));
    assert!(!ends_watch("PROXY_SHUTTING_DOWN"));
    assert!(ends_watch("DEVICE_REVOKED"));
    assert!(ends_watch("DEVICE_NOT_FOUND"));
}

use super::markdown::{anchor, block, cell, summary};
use super::reasons::from_comment;

#[test]
fn anchors_follow_github() {
    assert_eq!(anchor("Organization.Sub"), "organizationsub");
    assert_eq!(anchor("Error reasons"), "error-reasons");
    assert_eq!(
        anchor("OrganizationService.CreateOrganization"),
        "organizationservicecreateorganization"
    );
}

#[test]
fn indented_comment_lines_stay_preformatted() {
    let text = block(" Intro line\n one more.\n\n   A_B   first\n         more\n Outro.\n");
    assert_eq!(
        text,
        "Intro line\none more.\n\n```text\n  A_B   first\n        more\n```\n\nOutro.\n"
    );
}

#[test]
fn cells_escape_pipes_and_join_paragraphs() {
    assert_eq!(cell(" a | b\n c\n\n d\n"), "a \\| b c<br>d");
    assert_eq!(
        summary(" First sentence. Second one.\n Third.\n"),
        "First sentence."
    );
}

#[test]
fn reason_blocks_are_read_with_codes_and_continuations() {
    let comment = " Error reasons (ErrorInfo.domain \"mynafleet.x.v1\"):\n\
                   \n\
                   \x20  CODE_EXPIRED        the code expired\n\
                   \x20  INTERNAL            details are in the server log\n\
                   \x20  ACTIVATION_LOCKED   (FAILED_PRECONDITION) too many failures;\n\
                   \x20                      wait for the cool-down\n\
                   \n\
                   Shared reasons are listed in mynafleet.common.v1.\n";
    let reasons = from_comment(comment);
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[1].name, "INTERNAL");
    assert_eq!(reasons[0].name, "CODE_EXPIRED");
    assert_eq!(reasons[0].domain, "mynafleet.x.v1");
    assert_eq!(reasons[0].code, None);
    assert_eq!(reasons[2].code.as_deref(), Some("FAILED_PRECONDITION"));
    assert_eq!(
        reasons[2].meaning,
        "too many failures; wait for the cool-down"
    );
}

#[test]
fn comments_without_error_info_list_no_reasons() {
    assert!(from_comment("   SOME_CONSTANT   a value\n").is_empty());
}

#[test]
fn element_docs_drop_the_reason_list_and_keep_the_rest() {
    let comment = " Error reasons (ErrorInfo.domain \"mynafleet.x.v1\"):\n\
                   \n\
                   \x20  CODE_EXPIRED   the code expired\n\
                   \x20                 for good\n\
                   \n\
                   Every call is refused for a device that is not ACTIVE.\n";
    let kept = super::reasons::without_reasons(comment);
    assert_eq!(
        kept.trim(),
        "Every call is refused for a device that is not ACTIVE."
    );
    assert_eq!(super::reasons::without_reasons(" Plain.\n"), " Plain.\n");
}

#[test]
fn a_header_paragraph_of_several_lines_goes_with_its_reasons() {
    let comment = " Reasons carried in google.rpc.ErrorInfo by the plumbing.\n\
                   ErrorInfo.domain is \"mynafleet.common.v1\" for these.\n\
                   \n\
                   \x20  INTERNAL     details are in the server log\n";
    assert_eq!(super::reasons::from_comment(comment).len(), 1);
    assert_eq!(super::reasons::without_reasons(comment).trim(), "");
}

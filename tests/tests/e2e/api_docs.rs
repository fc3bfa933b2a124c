//! The generated API reference (docs/api/, issue #8): it must be what the protos generate
//! today, so a proto change without `cargo run -p mynafleet-tests --bin api-docs -- docs/api`
//! fails CI, and it must cover every service and RPC the servers actually serve.

use mynafleet_proto::prost::Message as _;
use mynafleet_proto::prost_types::FileDescriptorSet;
use mynafleet_tests::api_docs;

#[test]
fn api_reference_is_current() {
    let pages = api_docs::generate(&api_docs::default_proto_dir()).expect("generate the reference");
    let stale = api_docs::stale_files(&api_docs::default_out_dir(), &pages);
    assert!(
        stale.is_empty(),
        "docs/api is stale ({}); regenerate with `{}`",
        stale.join(", "),
        api_docs::REGENERATE
    );
}

#[test]
fn api_reference_covers_every_served_rpc_and_reason() {
    let pages = api_docs::generate(&api_docs::default_proto_dir()).expect("generate the reference");
    // What reflection serves: the descriptor set compiled into the servers.
    let served = FileDescriptorSet::decode(mynafleet_proto::FILE_DESCRIPTOR_SET)
        .expect("decode the served descriptor set");
    let index = &pages["README.md"];
    // The served set includes the well-known types it imports; those are not ours.
    for file in served
        .file
        .iter()
        .filter(|f| f.package().starts_with("mynafleet."))
    {
        let page = pages
            .get(&format!("{}.md", file.package()))
            .unwrap_or_else(|| panic!("no page for package {}", file.package()));
        assert!(
            index.contains(&format!("]({}.md)", file.package())),
            "the index does not link {}",
            file.package()
        );
        for service in &file.service {
            assert!(
                page.contains(&format!("\n### {}\n", service.name())),
                "{} has no section for {}",
                file.package(),
                service.name()
            );
            for method in &service.method {
                assert!(
                    page.contains(&format!("\n#### {}.{}\n", service.name(), method.name())),
                    "{} has no section for {}.{}",
                    file.package(),
                    service.name(),
                    method.name()
                );
            }
        }
    }
    // Reasons clients program against, from several areas, are in the index's table.
    for reason in [
        "REQUEST_ID_REUSED",
        "CALLER_UNKNOWN",
        "CODE_EXPIRED",
        "ACTIVATION_LOCKED",
        "DEVICE_SUSPENDED",
        "UPSTREAM_CIRCUIT_OPEN",
        "PIN_BLOCKED",
        "LOGIN_FAILED",
    ] {
        assert!(
            index.contains(&format!("| `{reason}` |")),
            "the index lists no reason {reason}"
        );
    }
}

//! Compiles `mynafleet/**/*.proto` with protox (no system protoc) into `OUT_DIR`, and writes
//! the encoded descriptor set that reflection serves.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "mynafleet/common/v1/common.proto",
    "mynafleet/account/v1/account.proto",
    "mynafleet/account/v1/clinic.proto",
    "mynafleet/account/v1/operator.proto",
    "mynafleet/account/v1/device_account.proto",
    "mynafleet/account/v1/application.proto",
    "mynafleet/account/v1/internal.proto",
    "mynafleet/account/v1/audit_log.proto",
    "mynafleet/activation/v1/activation.proto",
    "mynafleet/eligibility/v1/eligibility.proto",
    "mynafleet/agent/v1/agent.proto",
    "mynafleet/audit/v1/audit.proto",
    "mynafleet/oqs/v1/oqs.proto",
    "mynafleet/terminal/v1/terminal.proto",
];

/// Packages whose server stubs only services compile (feature `server`).
const SERVICE_PACKAGES: &[&str] = &[
    "mynafleet.common.v1",
    "mynafleet.account.v1",
    "mynafleet.activation.v1",
    "mynafleet.eligibility.v1",
    "mynafleet.agent.v1",
    "mynafleet.audit.v1",
    "mynafleet.oqs.v1",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let fds = protox::compile(PROTOS, ["."])?;
    std::fs::write(
        out.join("mynafleet_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    let mut builder = tonic_prost_build::configure();
    for package in SERVICE_PACKAGES {
        builder = builder.server_mod_attribute(package, r#"#[cfg(feature = "server")]"#);
    }
    // The terminal API is the one server the agent runs (feature `terminal`).
    builder
        .server_mod_attribute(
            "mynafleet.terminal.v1",
            r#"#[cfg(any(feature = "server", feature = "terminal"))]"#,
        )
        .compile_fds(fds)?;
    println!("cargo::rerun-if-changed=mynafleet");
    println!("cargo::rerun-if-changed=build.rs");
    Ok(())
}

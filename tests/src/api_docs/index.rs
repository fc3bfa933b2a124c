//! The reference's `README.md`: the gRPC conventions every MynaFleet API follows (DESIGN.md
//! §4), the packages and services with links to their pages, and every error reason the
//! protos list. The conventions are prose kept here; everything else comes from the protos.

use std::fmt::Write as _;

use super::REGENERATE;
use super::markdown::{anchor, escape_cell, summary};
use super::model::{Comments, Package, path};
use super::reasons;

/// What every API has in common, written once for the index.
const CONVENTIONS: &str = r#"## Conventions

**Transport.** gRPC over TLS (rustls) on every port; one port per service takes devices,
services and operators alike. Every server also serves `grpc.health.v1` (one name per
service, plus `""` for the whole server) and server reflection v1 and v1alpha, and takes
W3C trace context (`traceparent`) from the request metadata.

**Callers.** Each RPC states who may call it. The caller's kind is decided before any handler
runs:

| Kind | How it authenticates |
|---|---|
| service | client certificate from the internal CA, SAN URI `spiffe://mynafleet/service/<name>` |
| device | client certificate from activation's device CA, SAN URI `spiffe://mynafleet/organizations/{org}/clinics/{clinic}/accounts/{W…}/devices/{uuid}`; the device's status is checked on every call |
| operator | `authorization: Bearer <session token>` from `Login` (no client certificate needed) |

No identity, or one the server does not trust, gets `UNAUTHENTICATED` (`CALLER_UNKNOWN`); the
wrong kind gets `PERMISSION_DENIED` (`CALLER_KIND_REFUSED`); an operator whose role or scope
does not allow the call gets `PERMISSION_DENIED` with the service's own reason (`ROLE_REFUSED`,
`OUT_OF_SCOPE`). Health and reflection need no identity. See [security.md](../security.md).

**Resource names.** Resources are named by path, not by number:
`organizations/{org}`, `organizations/{org}/clinics/{clinic}`,
`organizations/{org}/clinics/{clinic}/accounts/{W0000001}`,
`organizations/{org}/clinics/{clinic}/devices/{uuid}`. `{org}`, `{clinic}` and device ids are
UUIDv7s the server makes; a 機関コード is a field, never part of a name.

**Pagination.** Every `List…` RPC takes `page_size` (0 means 50; more than 1000 is refused
with `INVALID_FIELD`) and `page_token` (empty for the first page) and returns
`next_page_token`, empty after the last page. Tokens are opaque and belong to one list: a
token from another list, or a made-up one, is refused with `INVALID_PAGE_TOKEN`.

**Idempotency.** Every mutating RPC a client may retry carries `request_id`, a UUID the
client makes once per intended change. The same id from the same caller to the same RPC
returns the first response (the change happens once); the same id with a different request is
refused with `INVALID_ARGUMENT` / `REQUEST_ID_REUSED`.

<a id="errors"></a>
**Errors.** A failed call is a `grpc-status` with a message for people and, in
`grpc-status-details-bin`, a `google.rpc.Status` whose details hold:

- `google.rpc.ErrorInfo`: `reason`, a stable UPPER_SNAKE_CASE word to program against, and
  `domain`, the package that defines it (`mynafleet.activation.v1`; shared reasons use
  `mynafleet.common.v1`);
- `google.rpc.BadRequest` for bad input, one field violation per field at fault (`field` is
  the path in the request, `description` says what is wrong);
- `google.rpc.RetryInfo` where waiting helps (`ACTIVATION_LOCKED`, `UPSTREAM_CIRCUIT_OPEN`).

Internal failures say only `internal error` (`INTERNAL`); the details are in the server log.
Messages never echo secrets or patient data. Clients retry automatically only on
`UNAVAILABLE`, with jittered backoff; `INVALID_ARGUMENT` and `FAILED_PRECONDITION` are
permanent. Every call should carry a deadline (`grpc-timeout`). `mynafleet admin` prints the
message followed by the reason in parentheses, each field violation on its own line, and a
hint for reasons that have a next step.
"#;

/// Renders the index of `packages`.
pub(crate) fn render(packages: &[Package]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# MynaFleet gRPC API reference\n");
    let _ = writeln!(
        out,
        "<!-- Generated from proto/ by `{REGENERATE}`; do not edit. -->\n"
    );
    let _ = writeln!(
        out,
        "Generated from the `.proto` files under [`proto/mynafleet/`](../../proto/mynafleet) \
         and their comments. Regenerate after changing a proto with `{REGENERATE}`; the e2e \
         test `api_reference_is_current` fails while these pages are stale, and \
         `cargo run -p mynafleet-tests --bin api-docs -- --check docs/api` names the stale \
         files.\n"
    );
    let _ = writeln!(out, "{CONVENTIONS}");
    packages_table(&mut out, packages);
    services_table(&mut out, packages);
    reasons_table(&mut out, packages);
    super::page::tidy(&out)
}

fn packages_table(out: &mut String, packages: &[Package]) {
    let _ = writeln!(
        out,
        "## Packages\n\n| Package | About | Files |\n|---|---|---|"
    );
    for package in packages {
        let about = package
            .files
            .iter()
            .map(|f| summary(&Comments::new(f).of(&[path::PACKAGE])))
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        let files: Vec<String> = package
            .files
            .iter()
            .map(|f| {
                let base = f.name().rsplit('/').next().unwrap_or(f.name());
                format!("[`{base}`](../../proto/{})", f.name())
            })
            .collect();
        let _ = writeln!(
            out,
            "| [{0}]({0}.md) | {about} | {1} |",
            package.name,
            files.join(", ")
        );
    }
}

fn services_table(out: &mut String, packages: &[Package]) {
    let _ = writeln!(
        out,
        "\n## Services\n\n| Service | Package | RPCs | About |\n|---|---|---|---|"
    );
    for package in packages {
        for file in &package.files {
            let comments = Comments::new(file);
            for (s, service) in file.service.iter().enumerate() {
                let at = [path::SERVICE, i32::try_from(s).unwrap_or(i32::MAX)];
                let _ = writeln!(
                    out,
                    "| [{1}]({0}.md#{2}) | `{0}` | {3} | {4} |",
                    package.name,
                    service.name(),
                    anchor(service.name()),
                    service.method.len(),
                    summary(&comments.of(&at))
                );
            }
        }
    }
}

fn reasons_table(out: &mut String, packages: &[Package]) {
    let _ = writeln!(
        out,
        "\n## Error reasons\n\nEvery `ErrorInfo.reason` the protos document, by package (the \
         domain column is what the proto's comment says). Reasons of `mynafleet.common.v1` can \
         come from any service.\n\n| Reason | Domain | Code | Meaning | Package |\n|---|---|---|---|---|"
    );
    for package in packages {
        for r in reasons::of_package(package) {
            let code = r.code.as_deref().map(|c| format!("`{c}`"));
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} | {} | [{4}]({4}.md#error-reasons) |",
                r.name,
                r.domain,
                code.unwrap_or_default(),
                escape_cell(&r.meaning),
                package.name,
            );
        }
    }
}

//! One package's reference page: its files and overview, error reasons, services with each
//! RPC, messages with field tables and enums with their values, in declaration order (files
//! sorted by name). Links to types go to their section on this page or another package's
//! page. It never reads files; everything comes from the descriptors.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use prost_types::field_descriptor_proto::Label;
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, ServiceDescriptorProto,
};

use super::REGENERATE;
use super::markdown::{anchor, block, cell, escape_cell, summary};
use super::model::{Comments, Package, TypeIndex, field_type_name, path};
use super::reasons::{self, Reason};

mod enums;

use enums::has_nested_enum;

/// Renders the page of `package`; fails when two headings would share an anchor.
pub(crate) fn render(package: &Package, index: &TypeIndex) -> anyhow::Result<String> {
    let mut page = Page {
        package: &package.name,
        index,
        out: String::new(),
        anchors: BTreeSet::new(),
    };
    page.header(package);
    page.reasons(&reasons::of_package(package));
    page.services(package)?;
    page.messages(package)?;
    page.enums(package)?;
    Ok(tidy(&page.out))
}

struct Page<'a> {
    package: &'a str,
    index: &'a TypeIndex,
    out: String,
    anchors: BTreeSet<String>,
}

impl Page<'_> {
    /// Appends a heading and records its anchor, refusing duplicates.
    fn heading(&mut self, level: usize, text: &str) -> anyhow::Result<()> {
        let anchor = anchor(text);
        anyhow::ensure!(
            self.anchors.insert(anchor.clone()),
            "{}: two headings share the anchor #{anchor}",
            self.package
        );
        let _ = writeln!(self.out, "\n{} {text}\n", "#".repeat(level));
        Ok(())
    }

    fn header(&mut self, package: &Package) {
        let _ = writeln!(self.out, "# {}\n", package.name);
        let _ = writeln!(
            self.out,
            "<!-- Generated from proto/ by `{REGENERATE}`; do not edit. -->\n"
        );
        let _ = writeln!(
            self.out,
            "Part of the [API reference](README.md) (conventions, error model, every package).\n"
        );
        let _ = writeln!(self.out, "| File | About |\n|---|---|");
        for file in &package.files {
            let about = summary(&Comments::new(file).of(&[path::PACKAGE]));
            let _ = writeln!(
                self.out,
                "| [`{0}`](../../proto/{0}) | {about} |",
                file.name()
            );
        }
        for file in &package.files {
            let overview = block(&Comments::new(file).of(&[path::PACKAGE]));
            if overview.is_empty() {
                continue;
            }
            if package.files.len() > 1 {
                let _ = writeln!(self.out, "\n`{}`:", file.name());
            }
            let _ = write!(self.out, "\n{overview}");
        }
        let has = |f: fn(&FileDescriptorProto) -> bool| package.files.iter().any(f);
        let mut contents = Vec::new();
        if !reasons::of_package(package).is_empty() {
            contents.push("[Error reasons](#error-reasons)");
        }
        if has(|f| !f.service.is_empty()) {
            contents.push("[Services](#services)");
        }
        if has(|f| !f.message_type.is_empty()) {
            contents.push("[Messages](#messages)");
        }
        if has(|f| !f.enum_type.is_empty() || f.message_type.iter().any(has_nested_enum)) {
            contents.push("[Enums](#enums)");
        }
        let _ = writeln!(self.out, "\nContents: {}", contents.join(" · "));
    }

    fn reasons(&mut self, reasons: &[Reason]) {
        if reasons.is_empty() {
            return;
        }
        self.anchors.insert("error-reasons".to_owned());
        let _ = writeln!(self.out, "\n## Error reasons\n");
        let _ = writeln!(
            self.out,
            "Carried in `google.rpc.ErrorInfo` (see [the error model](README.md#errors)). \
             The status code is given where the proto names it.\n"
        );
        let _ = writeln!(
            self.out,
            "| Reason | Domain | Code | Meaning |\n|---|---|---|---|"
        );
        for r in reasons {
            let _ = writeln!(
                self.out,
                "| `{}` | `{}` | {} | {} |",
                r.name,
                r.domain,
                r.code
                    .as_deref()
                    .map(|c| format!("`{c}`"))
                    .unwrap_or_default(),
                escape_cell(&r.meaning)
            );
        }
    }

    fn services(&mut self, package: &Package) -> anyhow::Result<()> {
        if package.files.iter().all(|f| f.service.is_empty()) {
            return Ok(());
        }
        self.heading(2, "Services")?;
        for file in &package.files {
            let comments = Comments::new(file);
            for (s, service) in file.service.iter().enumerate() {
                self.service(service, &comments, &[path::SERVICE, to_i32(s)])?;
            }
        }
        Ok(())
    }

    fn service(
        &mut self,
        service: &ServiceDescriptorProto,
        comments: &Comments<'_>,
        at: &[i32],
    ) -> anyhow::Result<()> {
        self.heading(3, service.name())?;
        let _ = write!(self.out, "{}", block(&comments.of(at)));
        let _ = writeln!(
            self.out,
            "\n| RPC | Request | Response | Summary |\n|---|---|---|---|"
        );
        let rpc_path = |m: usize| [at, &[path::METHOD, to_i32(m)]].concat();
        for (m, method) in service.method.iter().enumerate() {
            let _ = writeln!(
                self.out,
                "| [{}](#{}) | {} | {} | {} |",
                method.name(),
                anchor(&format!("{}.{}", service.name(), method.name())),
                self.stream(method.client_streaming(), method.input_type()),
                self.stream(method.server_streaming(), method.output_type()),
                summary(&comments.of(&rpc_path(m)))
            );
        }
        for (m, method) in service.method.iter().enumerate() {
            self.heading(4, &format!("{}.{}", service.name(), method.name()))?;
            let kind = match (method.client_streaming(), method.server_streaming()) {
                (false, false) => "",
                (true, false) => " (client streaming)",
                (false, true) => " (server streaming)",
                (true, true) => " (bidirectional streaming)",
            };
            let _ = writeln!(
                self.out,
                "{} → {}{kind}\n",
                self.stream(method.client_streaming(), method.input_type()),
                self.stream(method.server_streaming(), method.output_type()),
            );
            let _ = write!(self.out, "{}", block(&comments.of(&rpc_path(m))));
        }
        Ok(())
    }

    fn stream(&self, streaming: bool, type_name: &str) -> String {
        let link = self.link(type_name);
        if streaming {
            format!("stream {link}")
        } else {
            link
        }
    }

    fn messages(&mut self, package: &Package) -> anyhow::Result<()> {
        if package.files.iter().all(|f| f.message_type.is_empty()) {
            return Ok(());
        }
        self.heading(2, "Messages")?;
        for file in &package.files {
            let comments = Comments::new(file);
            each_message(file, &mut |message, local, at| {
                self.message(message, local, &comments, at)
            })?;
        }
        Ok(())
    }

    fn message(
        &mut self,
        message: &DescriptorProto,
        local: &str,
        comments: &Comments<'_>,
        at: &[i32],
    ) -> anyhow::Result<()> {
        if message.options.as_ref().is_some_and(|o| o.map_entry()) {
            return Ok(());
        }
        self.heading(3, local)?;
        let _ = write!(self.out, "{}", block(&comments.of(at)));
        if message.field.is_empty() {
            let _ = writeln!(self.out, "\nNo fields.");
        } else {
            let _ = writeln!(
                self.out,
                "\n| Field | Number | Type | Label | Description |\n|---|---|---|---|---|"
            );
            for (f, field) in message.field.iter().enumerate() {
                let comment = comments.of(&[at, &[path::FIELD, to_i32(f)]].concat());
                let _ = writeln!(
                    self.out,
                    "| `{}` | {} | {} | {} | {} |",
                    field.name(),
                    field.number(),
                    self.field_type(field),
                    label(message, field),
                    cell(&comment)
                );
            }
        }
        for (o, oneof) in message.oneof_decl.iter().enumerate() {
            let comment = comments.of(&[at, &[path::ONEOF, to_i32(o)]].concat());
            let synthetic = message
                .field
                .iter()
                .any(|f| f.proto3_optional() && f.oneof_index == Some(to_i32(o)));
            if !synthetic && !comment.is_empty() {
                let _ = writeln!(self.out, "\nOneof `{}`: {}", oneof.name(), cell(&comment));
            }
        }
        reserved(
            &mut self.out,
            message
                .reserved_range
                .iter()
                .map(|r| (r.start(), r.end() - 1)),
            &message.reserved_name,
        );
        Ok(())
    }

    fn field_type(&self, field: &FieldDescriptorProto) -> String {
        let name = field_type_name(field);
        match self.index.get(&name).and_then(|t| t.map_entry.clone()) {
            Some((key, value)) => format!("map&lt;{}, {}&gt;", self.link(&key), self.link(&value)),
            None => self.link(&name),
        }
    }

    /// Links a fully qualified type name to its section; scalars come back as code.
    fn link(&self, full_name: &str) -> String {
        if let Some(t) = self.index.get(full_name) {
            return if t.package == self.package {
                format!("[{}](#{})", t.local, anchor(&t.local))
            } else {
                format!(
                    "[{0}.{1}]({0}.md#{2})",
                    t.package,
                    t.local,
                    anchor(&t.local)
                )
            };
        }
        match full_name.strip_prefix(".google.protobuf.") {
            Some(wkt) => format!(
                "[google.protobuf.{wkt}](https://protobuf.dev/reference/protobuf/google.protobuf/#{})",
                kebab(wkt)
            ),
            None => format!("`{}`", full_name.trim_start_matches('.')),
        }
    }
}

/// What [`each_message`] calls with a message, its local name and its source-info path.
type Visit<'a> = dyn FnMut(&DescriptorProto, &str, &[i32]) -> anyhow::Result<()> + 'a;

/// Calls `visit` with every message of `file`, each before the messages nested in it, with
/// its name local to the package (`Outer.Inner`) and its source-info path; stops at the
/// first error.
fn each_message(file: &FileDescriptorProto, visit: &mut Visit<'_>) -> anyhow::Result<()> {
    fn walk(
        message: &DescriptorProto,
        prefix: &str,
        at: &[i32],
        visit: &mut Visit<'_>,
    ) -> anyhow::Result<()> {
        let local = format!("{prefix}{}", message.name());
        visit(message, &local, at)?;
        for (n, nested) in message.nested_type.iter().enumerate() {
            let at = [at, &[path::NESTED, to_i32(n)]].concat();
            walk(nested, &format!("{local}."), &at, visit)?;
        }
        Ok(())
    }
    for (i, message) in file.message_type.iter().enumerate() {
        walk(message, "", &[path::MESSAGE, to_i32(i)], visit)?;
    }
    Ok(())
}

/// Returns a field's label column: repeated, optional, oneof, deprecated.
fn label(message: &DescriptorProto, field: &FieldDescriptorProto) -> String {
    let mut parts = Vec::new();
    if field.label() == Label::Repeated {
        let is_map = field.type_name().ends_with("Entry")
            && message.nested_type.iter().any(|n| {
                n.options.as_ref().is_some_and(|o| o.map_entry())
                    && field.type_name().ends_with(&format!(".{}", n.name()))
            });
        if !is_map {
            parts.push("repeated".to_owned());
        }
    }
    if field.proto3_optional() {
        parts.push("optional".to_owned());
    } else if let Some(oneof) = field
        .oneof_index
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| message.oneof_decl.get(i))
    {
        parts.push(format!("oneof `{}`", oneof.name()));
    }
    if field.options.as_ref().is_some_and(|o| o.deprecated()) {
        parts.push("deprecated".to_owned());
    }
    parts.join(", ")
}

/// Appends the reserved numbers (inclusive ranges) and names, if any.
fn reserved(out: &mut String, ranges: impl Iterator<Item = (i32, i32)>, names: &[String]) {
    let numbers: Vec<String> = ranges
        .map(|(start, end)| match start == end {
            true => start.to_string(),
            false => format!("{start} to {end}"),
        })
        .collect();
    if !numbers.is_empty() {
        let _ = writeln!(out, "\nReserved numbers: {}.", numbers.join(", "));
    }
    if !names.is_empty() {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let _ = writeln!(out, "\nReserved names: {}.", names.join(", "));
    }
}

/// Returns `FieldMask` as `field-mask`, the anchor protobuf.dev uses.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Collapses runs of blank lines into one and ends the page with one newline.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank < 2 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Converts a descriptor index into a source-info path element.
fn to_i32(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

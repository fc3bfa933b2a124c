//! The enum sections of a package page: top-level enums, then enums nested in messages, each
//! with its values, numbers and comments. It never renders anything but enums.

use prost_types::{DescriptorProto, EnumDescriptorProto};
use std::fmt::Write as _;

use super::super::markdown::{block, cell};
use super::super::model::{Comments, Package, path};
use super::{Page, each_message, reserved, to_i32};

impl Page<'_> {
    pub(super) fn enums(&mut self, package: &Package) -> anyhow::Result<()> {
        let any = package
            .files
            .iter()
            .any(|f| !f.enum_type.is_empty() || f.message_type.iter().any(has_nested_enum));
        if !any {
            return Ok(());
        }
        self.heading(2, "Enums")?;
        for file in &package.files {
            let comments = Comments::new(file);
            for (i, e) in file.enum_type.iter().enumerate() {
                self.enumeration(e, e.name(), &comments, &[path::ENUM, to_i32(i)])?;
            }
            each_message(file, &mut |message, local, at| {
                for (i, e) in message.enum_type.iter().enumerate() {
                    let at = [at, &[path::NESTED_ENUM, to_i32(i)]].concat();
                    self.enumeration(e, &format!("{local}.{}", e.name()), &comments, &at)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn enumeration(
        &mut self,
        e: &EnumDescriptorProto,
        local: &str,
        comments: &Comments<'_>,
        at: &[i32],
    ) -> anyhow::Result<()> {
        self.heading(3, local)?;
        let _ = write!(self.out, "{}", block(&comments.of(at)));
        let _ = writeln!(
            self.out,
            "\n| Value | Number | Description |\n|---|---|---|"
        );
        for (v, value) in e.value.iter().enumerate() {
            let comment = comments.of(&[at, &[path::ENUM_VALUE, to_i32(v)]].concat());
            let deprecated = value.options.as_ref().is_some_and(|o| o.deprecated());
            let note = if deprecated { "**Deprecated.** " } else { "" };
            let _ = writeln!(
                self.out,
                "| `{}` | {} | {note}{} |",
                value.name(),
                value.number(),
                cell(&comment)
            );
        }
        reserved(
            &mut self.out,
            e.reserved_range.iter().map(|r| (r.start(), r.end())),
            &e.reserved_name,
        );
        Ok(())
    }
}

/// Tells whether a message declares an enum, at any depth.
pub(super) fn has_nested_enum(message: &DescriptorProto) -> bool {
    !message.enum_type.is_empty() || message.nested_type.iter().any(has_nested_enum)
}

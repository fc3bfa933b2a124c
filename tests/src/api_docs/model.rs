//! What the reference is rendered from: the compiled files grouped by package, an index of
//! every message and enum (for links between pages), and the comments of each file's source
//! info looked up by descriptor path. It never renders Markdown itself.

use std::collections::{BTreeMap, HashMap};

use prost_types::source_code_info::Location;
use prost_types::{DescriptorProto, FileDescriptorProto};

/// Field numbers of descriptor fields, as they appear in source-info paths.
pub(crate) mod path {
    /// `FileDescriptorProto.package`.
    pub(crate) const PACKAGE: i32 = 2;
    /// `FileDescriptorProto.message_type`.
    pub(crate) const MESSAGE: i32 = 4;
    /// `FileDescriptorProto.enum_type`.
    pub(crate) const ENUM: i32 = 5;
    /// `FileDescriptorProto.service`.
    pub(crate) const SERVICE: i32 = 6;
    /// `DescriptorProto.field`.
    pub(crate) const FIELD: i32 = 2;
    /// `DescriptorProto.nested_type`.
    pub(crate) const NESTED: i32 = 3;
    /// `DescriptorProto.enum_type`.
    pub(crate) const NESTED_ENUM: i32 = 4;
    /// `DescriptorProto.oneof_decl`.
    pub(crate) const ONEOF: i32 = 8;
    /// `EnumDescriptorProto.value`.
    pub(crate) const ENUM_VALUE: i32 = 2;
    /// `ServiceDescriptorProto.method`.
    pub(crate) const METHOD: i32 = 2;
}

/// One proto package and the files that declare it, sorted by file name.
#[derive(Debug)]
pub(crate) struct Package {
    /// For example `mynafleet.account.v1`.
    pub(crate) name: String,
    /// The package's files, sorted by name.
    pub(crate) files: Vec<FileDescriptorProto>,
}

/// Groups compiled files by package (packages sorted by name).
pub(crate) fn packages(files: &[FileDescriptorProto]) -> anyhow::Result<Vec<Package>> {
    let mut by_name: BTreeMap<String, Vec<FileDescriptorProto>> = BTreeMap::new();
    for file in files {
        anyhow::ensure!(
            !file.package().is_empty(),
            "{} declares no package",
            file.name()
        );
        by_name
            .entry(file.package().to_owned())
            .or_default()
            .push(file.clone());
    }
    Ok(by_name
        .into_iter()
        .map(|(name, mut files)| {
            files.sort_by(|a, b| a.name().cmp(b.name()));
            Package { name, files }
        })
        .collect())
}

/// What a fully qualified type name (`.pkg.Outer.Inner`) refers to.
#[derive(Clone, Debug)]
pub(crate) struct TypeRef {
    /// The package declaring it.
    pub(crate) package: String,
    /// The name within the package, `Outer.Inner`.
    pub(crate) local: String,
    /// For a map entry: the key and value fields' types as fully qualified or scalar names.
    pub(crate) map_entry: Option<(String, String)>,
}

/// Every message and enum of the reference by fully qualified name.
#[derive(Debug, Default)]
pub(crate) struct TypeIndex {
    types: HashMap<String, TypeRef>,
}

impl TypeIndex {
    /// Indexes every message and enum (nested ones too) of `packages`.
    pub(crate) fn new(packages: &[Package]) -> Self {
        let mut index = Self::default();
        for package in packages {
            for file in &package.files {
                for message in &file.message_type {
                    index.add_message(&package.name, "", message);
                }
                for enumeration in &file.enum_type {
                    index.add(&package.name, enumeration.name(), None);
                }
            }
        }
        index
    }

    fn add(&mut self, package: &str, local: &str, map_entry: Option<(String, String)>) {
        self.types.insert(
            format!(".{package}.{local}"),
            TypeRef {
                package: package.to_owned(),
                local: local.to_owned(),
                map_entry,
            },
        );
    }

    fn add_message(&mut self, package: &str, prefix: &str, message: &DescriptorProto) {
        let local = format!("{prefix}{}", message.name());
        let map_entry = message
            .options
            .as_ref()
            .is_some_and(|o| o.map_entry())
            .then(|| {
                let type_of = |number: i32| {
                    message
                        .field
                        .iter()
                        .find(|f| f.number() == number)
                        .map(field_type_name)
                        .unwrap_or_default()
                };
                (type_of(1), type_of(2))
            });
        self.add(package, &local, map_entry);
        for nested in &message.nested_type {
            self.add_message(package, &format!("{local}."), nested);
        }
        for enumeration in &message.enum_type {
            self.add(package, &format!("{local}.{}", enumeration.name()), None);
        }
    }

    /// Returns what `full_name` (with its leading dot) refers to, if it is ours.
    pub(crate) fn get(&self, full_name: &str) -> Option<&TypeRef> {
        self.types.get(full_name)
    }
}

/// Returns a field's type as its fully qualified type name or its scalar keyword.
pub(crate) fn field_type_name(field: &prost_types::FieldDescriptorProto) -> String {
    use prost_types::field_descriptor_proto::Type;
    match field.r#type() {
        Type::Message | Type::Enum | Type::Group => field.type_name().to_owned(),
        Type::Double => "double".to_owned(),
        Type::Float => "float".to_owned(),
        Type::Int64 => "int64".to_owned(),
        Type::Uint64 => "uint64".to_owned(),
        Type::Int32 => "int32".to_owned(),
        Type::Fixed64 => "fixed64".to_owned(),
        Type::Fixed32 => "fixed32".to_owned(),
        Type::Bool => "bool".to_owned(),
        Type::String => "string".to_owned(),
        Type::Bytes => "bytes".to_owned(),
        Type::Uint32 => "uint32".to_owned(),
        Type::Sfixed32 => "sfixed32".to_owned(),
        Type::Sfixed64 => "sfixed64".to_owned(),
        Type::Sint32 => "sint32".to_owned(),
        Type::Sint64 => "sint64".to_owned(),
    }
}

/// The comments of one file, looked up by descriptor path.
pub(crate) struct Comments<'a> {
    locations: HashMap<&'a [i32], &'a Location>,
}

impl<'a> Comments<'a> {
    /// Indexes the source info of `file` (empty when it has none).
    pub(crate) fn new(file: &'a FileDescriptorProto) -> Self {
        let locations = file
            .source_code_info
            .iter()
            .flat_map(|info| info.location.iter())
            .map(|location| (location.path.as_slice(), location))
            .collect();
        Self { locations }
    }

    /// Returns the element's leading comment followed by its trailing one, without a list of
    /// error reasons (those get a table of their own), or "".
    pub(crate) fn of(&self, path: &[i32]) -> String {
        let Some(location) = self.locations.get(path) else {
            return String::new();
        };
        let parts: Vec<&str> = [location.leading_comments(), location.trailing_comments()]
            .into_iter()
            .map(|c| c.trim_end())
            .filter(|c| !c.trim().is_empty())
            .collect();
        super::reasons::without_reasons(&parts.join("\n\n"))
    }

    /// Returns every comment of the file, detached ones included, in source order.
    pub(crate) fn all(&self) -> Vec<&'a str> {
        let mut located: Vec<(&[i32], &'a Location)> =
            self.locations.iter().map(|(p, l)| (*p, *l)).collect();
        located.sort_by_key(|(_, location)| location.span.clone());
        located
            .into_iter()
            .flat_map(|(_, location)| {
                location
                    .leading_detached_comments
                    .iter()
                    .map(String::as_str)
                    .chain(location.leading_comments.as_deref())
                    .chain(location.trailing_comments.as_deref())
            })
            .collect()
    }
}

//! The API reference generator behind `api-docs` and the `api_reference_is_current` test:
//! compiles every `.proto` under `proto/` with protox (source info kept, so comments come
//! along) and renders one Markdown page per package plus `README.md` as the index.
//!
//! Output is a pure function of the proto files: packages and files are sorted, elements keep
//! their declaration order. It never writes anywhere but the directory it is given, and never
//! touches files there that it did not generate.

mod index;
mod markdown;
mod model;
mod page;
mod reasons;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use prost_types::FileDescriptorProto;

/// The command that regenerates the reference, printed in every page and in `--check` output.
pub const REGENERATE: &str = "cargo run -p mynafleet-tests --bin api-docs -- docs/api";

/// Returns the workspace's `proto/` directory.
pub fn default_proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto")
}

/// Returns the workspace's `docs/api/` directory.
pub fn default_out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api")
}

/// Compiles every `.proto` under `proto_dir` and returns the reference pages, keyed by file
/// name (`README.md`, `mynafleet.account.v1.md`, ...).
pub fn generate(proto_dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let files = compile(proto_dir)?;
    let packages = model::packages(&files)?;
    let index = model::TypeIndex::new(&packages);
    let mut pages = BTreeMap::new();
    for package in &packages {
        pages.insert(
            format!("{}.md", package.name),
            page::render(package, &index)?,
        );
    }
    pages.insert("README.md".to_owned(), index::render(&packages));
    Ok(pages)
}

/// Returns the pages that differ from what `out_dir` holds: missing or changed pages, and
/// generated-looking `*.md` files in `out_dir` that no package produces any more.
pub fn stale_files(out_dir: &Path, pages: &BTreeMap<String, String>) -> Vec<String> {
    let mut stale: Vec<String> = pages
        .iter()
        .filter(|(name, text)| {
            std::fs::read_to_string(out_dir.join(name)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(name, _)| name.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(out_dir) {
        let mut extra: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.starts_with("mynafleet.") && name.ends_with(".md"))
            .filter(|name| !pages.contains_key(name))
            .collect();
        extra.sort();
        stale.extend(extra);
    }
    stale
}

/// Writes `pages` into `out_dir` (created if missing) and removes package pages no package
/// produces any more.
pub fn write(out_dir: &Path, pages: &BTreeMap<String, String>) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    for name in stale_files(out_dir, pages) {
        let path = out_dir.join(&name);
        match pages.get(&name) {
            Some(text) => {
                std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?
            }
            None => {
                std::fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?
            }
        }
    }
    Ok(())
}

/// Compiles every `.proto` file under `proto_dir` (sorted by path) with source info.
fn compile(proto_dir: &Path) -> anyhow::Result<Vec<FileDescriptorProto>> {
    let root = proto_dir
        .canonicalize()
        .with_context(|| format!("find the proto directory {}", proto_dir.display()))?;
    let mut paths = Vec::new();
    collect_protos(&root, &mut paths)?;
    paths.sort();
    anyhow::ensure!(
        !paths.is_empty(),
        "no .proto files under {}",
        root.display()
    );
    let mut compiler = protox::Compiler::new([&root]).context("set up protox")?;
    compiler.include_source_info(true).include_imports(false);
    for path in &paths {
        compiler
            .open_file(path)
            .map_err(|e| anyhow::anyhow!("compile {}: {e}", path.display()))?;
    }
    let mut files = compiler.file_descriptor_set().file;
    files.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(files)
}

/// Pushes every `.proto` file under `dir` onto `out`, skipping hidden and `target` dirs.
fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            collect_protos(&path, out)?;
        } else if name.ends_with(".proto") {
            out.push(path);
        }
    }
    Ok(())
}

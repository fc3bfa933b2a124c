//! `api-docs`: writes the API reference generated from `proto/` into OUT_DIR (Markdown, one
//! page per package and `README.md`), or with `--check` writes nothing and exits 1 naming
//! every stale page. `cargo run -p mynafleet-tests --bin api-docs -- [--check] docs/api`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use mynafleet_tests::api_docs;

#[derive(Debug, Parser)]
#[command(about = "Generate the gRPC API reference from proto/")]
struct Args {
    /// Compare OUT_DIR with what would be generated; exit 1 naming stale files.
    #[arg(long)]
    check: bool,
    /// The directory holding the .proto files (default: the workspace's proto/).
    #[arg(long)]
    proto: Option<PathBuf>,
    /// Where the Markdown pages go, for example docs/api.
    out_dir: PathBuf,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let proto = args.proto.unwrap_or_else(api_docs::default_proto_dir);
    let pages = api_docs::generate(&proto).context("generate the API reference")?;
    if args.check {
        let stale = api_docs::stale_files(&args.out_dir, &pages);
        if stale.is_empty() {
            println!(
                "{}: up to date ({} pages)",
                args.out_dir.display(),
                pages.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        for name in &stale {
            eprintln!("stale: {}", args.out_dir.join(name).display());
        }
        eprintln!("regenerate with `{}`", api_docs::REGENERATE);
        return Ok(ExitCode::FAILURE);
    }
    api_docs::write(&args.out_dir, &pages).context("write the API reference")?;
    println!("wrote {} pages to {}", pages.len(), args.out_dir.display());
    Ok(ExitCode::SUCCESS)
}

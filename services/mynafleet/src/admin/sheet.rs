//! ユーザ設定情報 sheets: what a terminal's staff type in (機関コード, ID, password, activation
//! code). The server hands each one out once; the CLI prints them and writes them to an HTML
//! file (0600, one A4 page per account, Japanese text) that a browser prints. A sheet whose
//! code could not be issued says how to complete it; `codes issue --sheet` writes a sheet
//! with the new code and without a password. Every value is HTML-escaped.

use super::output::{self, Format};
use anyhow::Context as _;
use mynafleet_proto::account::v1 as pb;
use serde::Serialize;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The sheet's title, as on the 支払基金's PDF.
const TITLE: &str = "マイナ資格確認アプリ ユーザ設定情報";
/// What the activation-code line of a 管理者 account says: it never runs on a terminal.
const NO_CODE_APPLIES: &str = "対象外 (管理者アカウントは端末で使用できません)";
/// What the password line says in a replayed response, which carries no password.
const NO_PASSWORD: &str = "表示済み (再表示できません: mynafleet admin accounts reset-password)";
/// What the password line of a code-only sheet says.
const PASSWORD_NOT_ON_SHEET: &str = "記載なし (交付済みのパスワードを使用してください)";

/// Flag of the commands that issue sheets.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct SheetArgs {
    /// Where the sheet file (sheets-<time>.html) is written.
    #[arg(long, default_value = ".")]
    pub(crate) sheet_dir: PathBuf,
}

/// One sheet as printed.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SheetView {
    pub(crate) institution_code: String,
    pub(crate) institution_name: String,
    pub(crate) account_id: String,
    pub(crate) password: String,
    pub(crate) activation_code: String,
    pub(crate) activation_endpoint: String,
    pub(crate) ca_fingerprint: String,
    pub(crate) issue_date: String,
    pub(crate) account: String,
    /// Whether an activation code applies (not to 管理者 accounts).
    #[serde(skip)]
    pub(crate) code_applies: bool,
    /// Whether the sheet leaves the password out on purpose (`codes issue --sheet`).
    #[serde(skip)]
    pub(crate) code_only: bool,
}

impl From<&pb::UserSettingsSheet> for SheetView {
    fn from(s: &pb::UserSettingsSheet) -> Self {
        Self {
            institution_code: s.institution_code.clone(),
            institution_name: s.institution_name.clone(),
            account_id: s.account_id.clone(),
            password: s.password.clone(),
            activation_code: s.activation_code.clone(),
            activation_endpoint: s.activation_endpoint.clone(),
            ca_fingerprint: s.ca_fingerprint.clone(),
            issue_date: s.issue_date.clone(),
            account: s.account.clone(),
            code_applies: true,
            code_only: false,
        }
    }
}

impl SheetView {
    fn password_shown(&self) -> &str {
        if self.code_only {
            PASSWORD_NOT_ON_SHEET
        } else if self.password.is_empty() {
            NO_PASSWORD
        } else {
            &self.password
        }
    }

    fn code_shown(&self) -> String {
        if !self.activation_code.is_empty() {
            activation_code_4_4_4(&self.activation_code)
        } else if !self.code_applies {
            NO_CODE_APPLIES.to_owned()
        } else {
            format!("未発行 — mynafleet admin codes issue {}", self.account_id)
        }
    }
}

/// Returns a 12-digit activation code as `1234-5678-9012` (other shapes unchanged).
pub(crate) fn activation_code_4_4_4(code: &str) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 12 {
        format!("{}-{}-{}", &digits[..4], &digits[4..8], &digits[8..])
    } else {
        code.to_owned()
    }
}

/// Prints `sheets` (table: one line each) and writes them to a new HTML file in `dir`;
/// returns the file's path. Does nothing when there are no sheets.
pub(crate) fn issue(
    format: Format,
    dir: &Path,
    sheets: &[SheetView],
) -> anyhow::Result<Option<PathBuf>> {
    if sheets.is_empty() {
        return Ok(None);
    }
    let path = write(dir, sheets)?;
    if format == Format::Table {
        println!("{TITLE}:");
        output::print_table(
            [
                "機関コード",
                "機関名",
                "ID",
                "パスワード",
                "アクティベーションコード",
            ],
            sheets
                .iter()
                .map(|s| {
                    [
                        s.institution_code.clone(),
                        s.institution_name.clone(),
                        s.account_id.clone(),
                        s.password_shown().to_owned(),
                        s.code_shown(),
                    ]
                })
                .collect(),
        );
    }
    eprintln!(
        "sheets written to {} (print on A4; the passwords are shown only this once — keep the \
         file safe and delete it after handing the sheets over)",
        path.display()
    );
    Ok(Some(path))
}

/// Creates `path` readable by its owner only (0600) and writes `html`; `Ok(false)` when the
/// file already exists (it is never overwritten).
fn create_private(path: &Path, html: &str) -> anyhow::Result<bool> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(html.as_bytes())
                .with_context(|| format!("write {}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("create {}", path.display())),
    }
}

/// Writes `sheets` to `dir/sheets-<UTC time>.html`, created 0600 and never overwriting.
pub(crate) fn write(dir: &Path, sheets: &[SheetView]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let html = zeroize::Zeroizing::new(render(sheets));
    for n in 1u32.. {
        let name = if n == 1 {
            format!("sheets-{stamp}.html")
        } else {
            format!("sheets-{stamp}-{n}.html")
        };
        let path = dir.join(name);
        if create_private(&path, &html)? {
            return Ok(path);
        }
    }
    unreachable!("u32 names run out only after four billion sheet files in one second")
}

/// Refuses a sheet file name that is taken, before anything is issued for it.
pub(crate) fn check_new(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        anyhow::bail!(
            "{} already exists; name a new file (sheets are never overwritten)",
            path.display()
        );
    }
    Ok(())
}

/// Writes `sheets` to the new file `path` (0600); refuses to overwrite an existing file.
pub(crate) fn write_to(path: &Path, sheets: &[SheetView]) -> anyhow::Result<()> {
    let html = zeroize::Zeroizing::new(render(sheets));
    if create_private(path, &html)? {
        Ok(())
    } else {
        anyhow::bail!(
            "{} already exists; name a new file (sheets are never overwritten)",
            path.display()
        )
    }
}

/// Returns the HTML of `sheets`: one A4 page each.
pub(crate) fn render(sheets: &[SheetView]) -> String {
    let mut out = String::from(concat!(
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<title>マイナ資格確認アプリ ユーザ設定情報</title>\n<style>\n",
        "@page { size: A4; margin: 20mm; }\n",
        "body { font-family: \"Noto Sans JP\", \"Hiragino Kaku Gothic ProN\", \"Yu Gothic\", ",
        "\"Meiryo\", sans-serif; color: #000; }\n",
        "section.sheet { page-break-after: always; break-after: page; }\n",
        "section.sheet:last-child { page-break-after: auto; break-after: auto; }\n",
        "h1 { font-size: 18pt; text-align: center; margin: 0 0 8mm; }\n",
        ".meta { display: flex; justify-content: space-between; margin-bottom: 6mm; }\n",
        "table { border-collapse: collapse; width: 100%; font-size: 12pt; }\n",
        "th, td { border: 1px solid #000; padding: 3mm 4mm; text-align: left; ",
        "vertical-align: top; }\n",
        "th { width: 32%; background: #eee; font-weight: normal; }\n",
        "td.secret { font-family: \"Courier New\", monospace; font-size: 15pt; ",
        "letter-spacing: 0.08em; }\n",
        "td.small { font-size: 9pt; word-break: break-all; }\n",
        ".note { margin-top: 8mm; font-size: 10pt; }\n",
        "</style>\n</head>\n<body>\n",
    ));
    for s in sheets {
        out.push_str(&format!(
            concat!(
                "<section class=\"sheet\">\n<h1>{title}</h1>\n",
                "<div class=\"meta\"><span>{name} 御中</span><span>発行日 {date}</span></div>\n",
                "<table>\n",
                "<tr><th>機関コード</th><td class=\"secret\">{code}</td></tr>\n",
                "<tr><th>機関名</th><td>{name}</td></tr>\n",
                "<tr><th>ID</th><td class=\"secret\">{id}</td></tr>\n",
                "<tr><th>パスワード</th><td class=\"secret\">{password}</td></tr>\n",
                "<tr><th>アクティベーションコード</th><td class=\"secret\">{activation}</td></tr>\n",
                "<tr><th>接続先 (activation endpoint)</th><td>{endpoint}</td></tr>\n",
                "<tr><th>CA フィンガープリント (SHA-256)</th><td class=\"small\">{fingerprint}</td></tr>\n",
                "</table>\n",
                "<p class=\"note\">初期登録では 機関コード・ID・パスワード・アクティベーションコード の4項目を",
                "入力してください。パスワードは初回利用時に変更が必要です。",
                "この用紙は第三者の目に触れない場所に保管し、不要になったら確実に廃棄してください。</p>\n",
                "</section>\n"
            ),
            title = TITLE,
            name = escape(&s.institution_name),
            date = escape(&s.issue_date),
            code = escape(&s.institution_code),
            id = escape(&s.account_id),
            password = escape(s.password_shown()),
            activation = escape(&s.code_shown()),
            endpoint = escape(&s.activation_endpoint),
            fingerprint = escape(&s.ca_fingerprint),
        ));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Escapes the characters HTML gives a meaning to.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;

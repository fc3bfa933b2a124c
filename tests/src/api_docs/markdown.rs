//! Markdown helpers of the reference: proto comments as paragraphs or table cells, heading
//! anchors as GitHub computes them, and one-line summaries. Pure string functions; they never
//! look at descriptors.

/// Returns the anchor GitHub gives a heading with this text: lowercase, spaces as hyphens,
/// punctuation other than `-` and `_` dropped.
pub(crate) fn anchor(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Returns a comment's lines without the one space that follows `//` and without trailing
/// blanks.
fn lines(comment: &str) -> Vec<&str> {
    comment
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect()
}

/// Tells whether a comment line is laid out by hand (a table or list indented by two or more
/// spaces), so it must keep its line breaks and spacing.
fn is_preformatted(line: &str) -> bool {
    line.starts_with("  ")
}

/// Renders a comment as Markdown paragraphs; indented blocks become fenced text blocks.
/// Returns "" for an empty comment.
pub(crate) fn block(comment: &str) -> String {
    let lines = lines(comment);
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].is_empty() {
            i += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        if is_preformatted(lines[i]) {
            out.push_str("```text\n");
            while i < lines.len() {
                let next_indented = lines[i..]
                    .iter()
                    .find(|l| !l.is_empty())
                    .is_some_and(|l| is_preformatted(l));
                if !next_indented {
                    break;
                }
                out.push_str(lines[i]);
                out.push('\n');
                i += 1;
            }
            out.push_str("```\n");
        } else {
            while i < lines.len() && !lines[i].is_empty() && !is_preformatted(lines[i]) {
                out.push_str(lines[i]);
                out.push('\n');
                i += 1;
            }
        }
    }
    out
}

/// Renders a comment for one table cell: paragraphs joined by `<br>`, pipes escaped.
pub(crate) fn cell(comment: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in lines(comment) {
        if line.is_empty() || is_preformatted(line) {
            if !current.is_empty() {
                paragraphs.push(current.join(" "));
                current.clear();
            }
            if !line.is_empty() {
                paragraphs.push(line.trim().to_owned());
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current.join(" "));
    }
    escape_cell(&paragraphs.join("<br>"))
}

/// Escapes text for a table cell: pipes and line breaks.
pub(crate) fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Returns the first sentence of a comment on one line (up to the first ". " or the end of
/// the first paragraph), for summaries in lists.
pub(crate) fn summary(comment: &str) -> String {
    let paragraph: Vec<&str> = lines(comment)
        .into_iter()
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !is_preformatted(l))
        .collect();
    let text = paragraph.join(" ");
    let sentence = match text.find(". ") {
        Some(end) => &text[..=end],
        None => text.as_str(),
    };
    escape_cell(sentence.trim())
}

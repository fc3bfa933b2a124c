//! Scraping a metrics endpoint the way Prometheus does (`GET /metrics` over plain HTTP) and
//! reading the text exposition format into samples, so tests look series up by name and
//! labels instead of matching lines. Only what the exporter writes is read: `# HELP` /
//! `# TYPE` comments, `name{label="value",…} value` lines, escaped label values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// One sample: a series and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The metric name (histograms' `_bucket`, `_sum`, `_count` included).
    pub name: String,
    /// The labels, unescaped.
    pub labels: BTreeMap<String, String>,
    /// The value (`NaN` and `±Inf` read as such).
    pub value: f64,
}

/// Everything one scrape returned.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    /// The samples, in the order the endpoint wrote them.
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Reads the text format; an error names the line it could not read.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut samples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            samples.push(sample(line).map_err(|why| format!("line {}: {why}: {line}", i + 1))?);
        }
        Ok(Self { samples })
    }

    /// Returns the samples of `name` whose labels include every pair of `labels`.
    pub fn find<'a>(&'a self, name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// Returns the sum of the samples [`Scrape::find`] returns, or `None` when there are none.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.find(name, labels);
        (!found.is_empty()).then(|| found.iter().map(|s| s.value).sum())
    }

    /// Returns the one sample of `name` with exactly the labels [`Scrape::find`] matches;
    /// panics when there is none or several (naming what there is).
    #[track_caller]
    pub fn one(&self, name: &str, labels: &[(&str, &str)]) -> &Sample {
        match self.find(name, labels).as_slice() {
            [one] => one,
            found => panic!(
                "expected one sample of {name} with {labels:?}, found {}: {found:#?}\nall of {name}: {:#?}",
                found.len(),
                self.find(name, &[])
            ),
        }
    }
}

/// Reads one sample line.
fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = line[..name_end].to_owned();
    if name.is_empty() {
        return Err("no metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = label_set(after)?;
        labels = parsed;
        rest = tail;
    }
    // A timestamp may follow the value; the exporter writes none, but it is legal.
    let value = rest.split_whitespace().next().ok_or("no value")?;
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|e| format!("value {v:?}: {e}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// Reads `k="v",…}` and returns the labels and what follows the closing brace.
fn label_set(mut s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(tail) = s.strip_prefix('}') {
            return Ok((labels, tail));
        }
        let eq = s.find('=').ok_or("a label without =")?;
        let key = s[..eq].trim().to_owned();
        s = s[eq + 1..]
            .strip_prefix('"')
            .ok_or("a label value without quotes")?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("an unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("an unterminated escape".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.insert(key, value);
        s = &s[end + 1..];
    }
}

/// Fetches `GET /metrics` from `addr` and reads it; panics on any HTTP or format problem.
pub async fn scrape(addr: SocketAddr) -> Scrape {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect to the metrics endpoint {addr}: {e}"));
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .expect("send the scrape request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .expect("read the scrape answer");
    let raw = String::from_utf8(raw).expect("the scrape answer is UTF-8");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP answer: {raw}"));
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "GET /metrics answered {head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "the Prometheus text format: {head}"
    );
    Scrape::parse(body).unwrap_or_else(|e| panic!("{e}"))
}

/// Scrapes `addr` every 100 ms until `ready` holds, and returns that scrape; panics with
/// `what` and the last scrape's `mynafleet_` series when `deadline` passes.
pub async fn scrape_until(
    addr: SocketAddr,
    deadline: Duration,
    what: &str,
    ready: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last = Scrape::default();
    let waited = tokio::time::timeout(deadline, async {
        loop {
            tick.tick().await;
            last = scrape(addr).await;
            if ready(&last) {
                return;
            }
        }
    })
    .await;
    if waited.is_err() {
        let ours: Vec<&Sample> = last
            .samples
            .iter()
            .filter(|s| s.name.starts_with("mynafleet_"))
            .collect();
        panic!("metrics never showed {what} within {deadline:?}; last scrape: {ours:#?}");
    }
    last
}

#[cfg(test)]
mod tests;

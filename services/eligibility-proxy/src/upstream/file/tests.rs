use super::FileUpstream;
use crate::config::{FileInterfaceConfig, XmlEncoding};
use crate::oqs::xml;
use crate::upstream::{NumberQuery, QueryHeader, Upstream, UpstreamError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const CLINIC: &str = "1310000019";

/// What the in-test terminal does with a request.
#[derive(Clone, Debug)]
enum Reply {
    /// Writes this result (built from the request) in `encoding`, in `subfolder`, in
    /// `chunks` pieces appended 10 ms apart (1 = at once).
    Result {
        encoding: XmlEncoding,
        subfolder: Option<&'static str>,
        chunks: usize,
        file_identifier: Option<&'static str>,
    },
    /// Moves the request into the result folder beside a `.err` with these bytes.
    Err(Vec<u8>),
    /// Takes the request and never answers.
    Silent,
}

fn result_reply(encoding: XmlEncoding) -> Reply {
    Reply::Result {
        encoding,
        subfolder: None,
        chunks: 1,
        file_identifier: None,
    }
}

/// Values of the request's text elements, by name.
fn element(doc: &roxmltree::Document<'_>, name: &str) -> String {
    doc.descendants()
        .find(|n| n.tag_name().name() == name)
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_owned()
}

fn result_xml(request: &[u8], encoding: XmlEncoding, identifier: Option<&str>) -> Vec<u8> {
    let text = xml::decode(request).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let e = |n: &str| element(&doc, n);
    let identifier = identifier.map_or_else(|| e("ArbitraryFileIdentifier"), str::to_owned);
    let label = match encoding {
        XmlEncoding::Utf8 => "UTF-8",
        XmlEncoding::ShiftJis => "Shift_JIS",
    };
    let body = format!(
        r#"<?xml version="1.0" encoding="{label}" standalone="no"?>
<XmlMsg>
  <MessageHeader>
    <ProcessExecutionTime>20250401093015</ProcessExecutionTime>
    <SegmentOfResult>1</SegmentOfResult>
    <QualificationConfirmationDate>{date}</QualificationConfirmationDate>
    <ReferenceClassification>2</ReferenceClassification>
    <ArbitraryFileIdentifier>{identifier}</ArbitraryFileIdentifier>
    <MedicalInstitutionCode>{clinic}</MedicalInstitutionCode>
  </MessageHeader>
  <MessageBody>
    <ResultList>
      <ResultOfQualificationConfirmation>
        <InsuredCardClassification>01</InsuredCardClassification>
        <InsurerNumber>{insurer}</InsurerNumber>
        <InsuredCardSymbol>{symbol}</InsuredCardSymbol>
        <InsuredIdentificationNumber>{number}</InsuredIdentificationNumber>
        <Name>見本　花子</Name>
      </ResultOfQualificationConfirmation>
    </ResultList>
    <ProcessingResultStatus>1</ProcessingResultStatus>
    <QualificationValidity>1</QualificationValidity>
  </MessageBody>
</XmlMsg>
"#,
        date = e("QualificationConfirmationDate"),
        clinic = e("MedicalInstitutionCode"),
        insurer = e("InsurerNumber"),
        symbol = e("InsuredCardSymbol"),
        number = e("InsuredIdentificationNumber"),
    );
    match encoding {
        XmlEncoding::Utf8 => body.into_bytes(),
        XmlEncoding::ShiftJis => encoding_rs::SHIFT_JIS.encode(&body).0.into_owned(),
    }
}

/// The in-test terminal: takes each complete request out of `req` and answers per `reply`.
/// Returns the bytes of each result it wrote (over a channel).
fn terminal(
    req: PathBuf,
    res: PathBuf,
    reply: Reply,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        loop {
            tick.tick().await;
            for entry in std::fs::read_dir(&req).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                let Some(suffix) = name
                    .strip_prefix("OQSsiquc01req_")
                    .and_then(|s| s.strip_suffix(".xml"))
                else {
                    continue;
                };
                assert_eq!(suffix.len(), 12, "{name}");
                assert!(suffix.bytes().all(|b| b.is_ascii_digit()), "{name}");
                let request = std::fs::read(req.join(&name)).unwrap();
                match &reply {
                    Reply::Silent => {
                        std::fs::remove_file(req.join(&name)).unwrap();
                    }
                    Reply::Err(text) => {
                        std::fs::rename(req.join(&name), res.join(&name)).unwrap();
                        std::fs::write(res.join(format!("OQSsiquc01req_{suffix}.err")), text)
                            .unwrap();
                    }
                    Reply::Result {
                        encoding,
                        subfolder,
                        chunks,
                        file_identifier,
                    } => {
                        std::fs::remove_file(req.join(&name)).unwrap();
                        let bytes = result_xml(&request, *encoding, *file_identifier);
                        let dir = match subfolder {
                            Some(sub) => res.join(sub),
                            None => res.clone(),
                        };
                        std::fs::create_dir_all(&dir).unwrap();
                        let path = dir.join(format!("OQSsiquc01res_{suffix}.xml"));
                        write_slowly(&path, &bytes, *chunks).await;
                        // Tests that do not look at the bytes dropped the receiver.
                        let _ = tx.send(bytes);
                    }
                }
            }
        }
    });
    (task, rx)
}

/// Creates the file empty, then appends `chunks` pieces 10 ms apart, as a slow writer does.
async fn write_slowly(path: &Path, bytes: &[u8], chunks: usize) {
    use std::io::Write as _;
    if chunks <= 1 {
        std::fs::write(path, bytes).unwrap();
        return;
    }
    let mut file = std::fs::File::create(path).unwrap();
    let size = bytes.len().div_ceil(chunks);
    for piece in bytes.chunks(size) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        file.write_all(piece).unwrap();
        file.flush().unwrap();
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    req: PathBuf,
    res: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (req, res) = (dir.path().join("req"), dir.path().join("res"));
    std::fs::create_dir_all(&req).unwrap();
    std::fs::create_dir_all(&res).unwrap();
    Setup {
        _dir: dir,
        req,
        res,
    }
}

fn upstream(s: &Setup, encoding: XmlEncoding, deadline: Duration) -> Arc<FileUpstream> {
    let config = FileInterfaceConfig {
        req_dir: s.req.clone(),
        res_dir: s.res.clone(),
        encoding,
        poll_interval: Duration::from_millis(5),
    };
    // Longer than the slow writer's 10 ms pauses, so a growing file never looks stable.
    Arc::new(FileUpstream::new(config, deadline).with_stable_interval(Duration::from_millis(100)))
}

fn query(file_identifier: &str) -> NumberQuery {
    NumberQuery {
        header: QueryHeader {
            institution_code: CLINIC.to_owned(),
            confirmation_date: "20250401".to_owned(),
            file_identifier: file_identifier.to_owned(),
        },
        insurer_number: "  123456".to_owned(),
        symbol: "医国３４０".to_owned(),
        number: "１２‐３４".to_owned(),
        branch: "01".to_owned(),
        birthdate: "19800102".to_owned(),
        limit_consent: false,
    }
}

const LONG: Duration = Duration::from_secs(10);

async fn answered(encoding: XmlEncoding, reply: Reply) {
    let s = setup();
    let (task, mut written) = terminal(s.req.clone(), s.res.clone(), reply);
    let answer = upstream(&s, encoding, LONG)
        .query_by_numbers(&query("MF-0001"))
        .await
        .unwrap();
    task.abort();
    let q = &answer.result.results[0];
    assert_eq!(q.insurer_number.as_deref(), Some("  123456"));
    assert_eq!(q.insured_card_symbol.as_deref(), Some("医国３４０"));
    assert_eq!(
        q.insured_identification_number.as_deref(),
        Some("１２‐３４")
    );
    assert!(
        written.recv().await.is_some(),
        "the responder wrote the result"
    );
}

#[tokio::test]
async fn utf8_round_trip() {
    answered(XmlEncoding::Utf8, result_reply(XmlEncoding::Utf8)).await;
}

#[tokio::test]
async fn shift_jis_round_trip_keeps_full_width_symbol() {
    answered(XmlEncoding::ShiftJis, result_reply(XmlEncoding::ShiftJis)).await;
}

#[tokio::test]
async fn a_result_still_growing_is_not_read_early() {
    let reply = Reply::Result {
        encoding: XmlEncoding::Utf8,
        subfolder: None,
        chunks: 12,
        file_identifier: None,
    };
    answered(XmlEncoding::Utf8, reply).await;
}

#[tokio::test]
async fn a_result_in_a_subfolder_is_found() {
    let reply = Reply::Result {
        encoding: XmlEncoding::ShiftJis,
        subfolder: Some("20250401/sub"),
        chunks: 1,
        file_identifier: None,
    };
    answered(XmlEncoding::Utf8, reply).await;
}

#[tokio::test]
async fn an_err_reply_is_rejected_with_its_text() {
    let s = setup();
    let text = encoding_rs::SHIFT_JIS
        .encode("E1001 要求ファイル不正\r\n")
        .0
        .into_owned();
    let (task, _) = terminal(s.req.clone(), s.res.clone(), Reply::Err(text));
    let err = upstream(&s, XmlEncoding::Utf8, LONG)
        .query_by_numbers(&query("MF-0002"))
        .await
        .unwrap_err();
    task.abort();
    assert_eq!(
        err,
        UpstreamError::Rejected("E1001 要求ファイル不正\r\n".to_owned())
    );
}

#[tokio::test]
async fn a_long_err_text_is_capped() {
    let s = setup();
    let (task, _) = terminal(s.req.clone(), s.res.clone(), Reply::Err(vec![b'x'; 5000]));
    let err = upstream(&s, XmlEncoding::Utf8, LONG)
        .query_by_numbers(&query("MF-0003"))
        .await
        .unwrap_err();
    task.abort();
    let UpstreamError::Rejected(text) = err else {
        panic!("{err:?}")
    };
    assert!(text.len() <= 1024 + '…'.len_utf8(), "{}", text.len());
}

#[tokio::test]
async fn no_answer_times_out_and_withdraws_the_request() {
    let s = setup();
    let deadline = Duration::from_millis(200);
    let err = upstream(&s, XmlEncoding::Utf8, deadline)
        .query_by_numbers(&query("MF-0004"))
        .await
        .unwrap_err();
    assert_eq!(err, UpstreamError::Timeout(deadline));
    assert_eq!(std::fs::read_dir(&s.req).unwrap().count(), 0);

    // Taken by the terminal but never answered: also a timeout.
    let (task, _) = terminal(s.req.clone(), s.res.clone(), Reply::Silent);
    let err = upstream(&s, XmlEncoding::Utf8, deadline)
        .query_by_numbers(&query("MF-0005"))
        .await
        .unwrap_err();
    task.abort();
    assert_eq!(err, UpstreamError::Timeout(deadline));
}

#[tokio::test]
async fn a_result_for_another_request_is_refused() {
    let s = setup();
    let reply = Reply::Result {
        encoding: XmlEncoding::Utf8,
        subfolder: None,
        chunks: 1,
        file_identifier: Some("SOMEONE-ELSE"),
    };
    let (task, _) = terminal(s.req.clone(), s.res.clone(), reply);
    let err = upstream(&s, XmlEncoding::Utf8, LONG)
        .query_by_numbers(&query("MF-0006"))
        .await
        .unwrap_err();
    task.abort();
    assert!(matches!(err, UpstreamError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn concurrent_requests_get_their_own_names() {
    let s = setup();
    let (task, _) = terminal(
        s.req.clone(),
        s.res.clone(),
        result_reply(XmlEncoding::Utf8),
    );
    let up = upstream(&s, XmlEncoding::Utf8, LONG);
    let calls = (0..8).map(|i| {
        let up = up.clone();
        async move { up.query_by_numbers(&query(&format!("MF-1{i:03}"))).await }
    });
    let answers = futures::future::join_all(calls).await;
    task.abort();
    for (i, answer) in answers.into_iter().enumerate() {
        let answer = answer.unwrap();
        let header = answer.result.header.unwrap();
        assert_eq!(
            header.arbitrary_file_identifier,
            Some(format!("MF-1{i:03}"))
        );
    }
}

#[tokio::test]
async fn the_file_interface_does_numbers_only() {
    let s = setup();
    let up = upstream(&s, XmlEncoding::Utf8, LONG);
    let caps = up.capabilities();
    assert!(caps.numbers && !caps.card && !caps.requery && !caps.register);
}

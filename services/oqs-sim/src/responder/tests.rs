use super::*;
use crate::config::Faults;
use crate::testing;
use encoding_rs::SHIFT_JIS;
use mynafleet_kit::clock::Clock;

struct Folders {
    _tmp: tempfile::TempDir,
    responder: Responder,
}

fn folders(encoding: ResponderEncoding) -> Folders {
    let tmp = tempfile::tempdir().unwrap();
    let (req_dir, res_dir) = (tmp.path().join("req"), tmp.path().join("res"));
    std::fs::create_dir(&req_dir).unwrap();
    std::fs::create_dir(&res_dir).unwrap();
    Folders {
        _tmp: tmp,
        responder: Responder {
            req_dir,
            res_dir,
            encoding,
        },
    }
}

fn request(declared: &str, symbol: &str, p: &crate::population::Person) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"{declared}\" standalone=\"no\"?>\n<XmlMsg>\
         <MessageHeader><QualificationConfirmationDate>20260401</QualificationConfirmationDate>\
         <MedicalInstitutionCode>1310000017</MedicalInstitutionCode>\
         <ArbitraryFileIdentifier>MF-42</ArbitraryFileIdentifier></MessageHeader>\
         <MessageBody><QualificationConfirmSearchInfo>\
         <InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{symbol}</InsuredCardSymbol>\
         <InsuredIdentificationNumber>{}</InsuredIdentificationNumber>\
         <InsuredBranchNumber>{}</InsuredBranchNumber><Birthdate>{}</Birthdate>\
         <LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>\
         </QualificationConfirmSearchInfo></MessageBody></XmlMsg>\n",
        p.card.insurer_number, p.card.number, p.card.branch, p.card.birthdate
    )
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn element(doc: &roxmltree::Document<'_>, name: &str) -> String {
    doc.descendants()
        .find(|n| n.tag_name().name() == name)
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_utf8_request_is_answered_with_full_width_values_unchanged() {
    let f = folders(ResponderEncoding::Utf8);
    let sim = testing::sim(Clock::system(), &Faults::default());
    let p = sim.people().get(1).unwrap().clone();
    let name = "OQSsiquc01req_202604010001.xml";
    let body = request("UTF-8", &p.card.symbol, &p);
    std::fs::write(f.responder.req_dir.join(name), body).unwrap();
    // A temporary name is left alone.
    std::fs::write(f.responder.req_dir.join(".OQSsiquc01req_x.tmp"), "partial").unwrap();
    sweep(&f.responder, &sim).unwrap();

    assert_eq!(files(&f.responder.req_dir), vec![".OQSsiquc01req_x.tmp"]);
    assert_eq!(
        files(&f.responder.res_dir),
        vec!["OQSsiquc01res_202604010001.xml"]
    );
    let text = std::fs::read_to_string(f.responder.res_dir.join("OQSsiquc01res_202604010001.xml"))
        .unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\""));
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(element(&doc, "CharacterCodeIdentifier"), "0");
    assert_eq!(element(&doc, "ArbitraryFileIdentifier"), "MF-42");
    assert_eq!(element(&doc, "ReferenceClassification"), "2");
    assert_eq!(element(&doc, "QualificationValidity"), "1");
    assert_eq!(element(&doc, "InsurerNumber"), p.card.insurer_number);
    assert!(p.card.insurer_number.starts_with("  "));
    let symbols: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "InsuredCardSymbol")
        .map(|n| n.text().unwrap().to_owned())
        .collect();
    assert_eq!(symbols, vec![p.card.symbol.clone(), p.card.symbol.clone()]);
    assert!(p.card.symbol.chars().any(|c| c > '\u{FF00}'));
}

#[test]
fn a_shift_jis_request_is_answered_in_shift_jis() {
    let f = folders(ResponderEncoding::ShiftJis);
    let sim = testing::sim(Clock::system(), &Faults::default());
    let p = sim.people().get(1).unwrap().clone();
    let name = "OQSsiquc01req_202604010002.xml";
    let body = request("Shift_JIS", &p.card.symbol, &p);
    let (bytes, _, bad) = SHIFT_JIS.encode(&body);
    assert!(!bad);
    std::fs::write(f.responder.req_dir.join(name), &bytes).unwrap();
    sweep(&f.responder, &sim).unwrap();

    let raw = std::fs::read(f.responder.res_dir.join("OQSsiquc01res_202604010002.xml")).unwrap();
    assert!(
        std::str::from_utf8(&raw).is_err(),
        "expected shift_jis bytes"
    );
    let (text, _, bad) = SHIFT_JIS.decode(&raw);
    assert!(!bad);
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\""));
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(element(&doc, "CharacterCodeIdentifier"), "1");
    assert_eq!(element(&doc, "InsuredCardSymbol"), p.card.symbol);
    assert_eq!(element(&doc, "InsuredIdentificationNumber"), p.card.number);
    assert!(p.card.number.contains('\u{2010}'));
    assert_eq!(element(&doc, "Name"), p.entries[0].name.clone().unwrap());
}

#[test]
fn err_and_malformed_requests_come_back_with_an_err_file() {
    let f = folders(ResponderEncoding::Utf8);
    let sim = testing::sim(Clock::system(), &Faults::default());
    let p = sim.people().get(0).unwrap().clone();
    std::fs::write(
        f.responder.req_dir.join("OQSsiquc01req_000000000001.xml"),
        request("UTF-8", "ERR", &p),
    )
    .unwrap();
    std::fs::write(
        f.responder.req_dir.join("OQSsiquc01req_000000000002.xml"),
        "<XmlMsg><MessageHeader>",
    )
    .unwrap();
    std::fs::write(
        f.responder.req_dir.join("OQSsiquc01req_000000000003.xml"),
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"x\">]><XmlMsg/>",
    )
    .unwrap();
    sweep(&f.responder, &sim).unwrap();
    assert!(files(&f.responder.req_dir).is_empty());
    assert_eq!(
        files(&f.responder.res_dir),
        vec![
            "OQSsiquc01req_000000000001.err",
            "OQSsiquc01req_000000000001.xml",
            "OQSsiquc01req_000000000002.err",
            "OQSsiquc01req_000000000002.xml",
            "OQSsiquc01req_000000000003.err",
            "OQSsiquc01req_000000000003.xml",
        ]
    );
    let why = std::fs::read_to_string(f.responder.res_dir.join("OQSsiquc01req_000000000001.err"));
    assert!(why.unwrap().contains("ERR"));
}

#[test]
fn a_silent_request_is_consumed_and_never_answered() {
    let f = folders(ResponderEncoding::Utf8);
    let sim = testing::sim(Clock::system(), &Faults::default());
    let p = sim.people().get(0).unwrap().clone();
    std::fs::write(
        f.responder.req_dir.join("OQSsiquc01req_000000000009.xml"),
        request("UTF-8", "SILENT", &p),
    )
    .unwrap();
    sweep(&f.responder, &sim).unwrap();
    assert!(files(&f.responder.req_dir).is_empty());
    assert!(files(&f.responder.res_dir).is_empty());
}

#[tokio::test]
async fn the_running_responder_answers_until_stopped() {
    let f = folders(ResponderEncoding::Utf8);
    let sim = Arc::new(testing::sim(Clock::system(), &Faults::default()));
    let p = sim.people().get(0).unwrap().clone();
    let stop = CancellationToken::new();
    let task = tokio::spawn(run(f.responder.clone(), sim, stop.clone()));
    std::fs::write(
        f.responder.req_dir.join("OQSsiquc01req_000000000010.xml"),
        request("UTF-8", &p.card.symbol, &p),
    )
    .unwrap();
    let res = f.responder.res_dir.join("OQSsiquc01res_000000000010.xml");
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(Duration::from_secs(10), async {
        while !res.exists() {
            tick.tick().await;
        }
    })
    .await
    .expect("no result within 10 s");
    stop.cancel();
    task.await.unwrap();
}

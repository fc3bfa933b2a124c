//! One simulated person: the shape (well-known or drawn), then the 資格情報 drawn for it.
//! Values follow DOMAIN.md §3.3 and §4: Luhn check digits, 6-digit 国保 numbers right-aligned
//! with two spaces, full-width 記号・番号 for some, `YYYYMMDD` dates. It never reads the clock.

use super::names::{self, Place};
use mynafleet_kit::guard::luhn_check_digit;
use mynafleet_proto::eligibility::v1 as el;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Ages are counted against this year (January 1st), so a seed means the same people forever.
const REFERENCE_YEAR: u32 = 2026;

/// A simulated person.
#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    /// Index in the population.
    pub index: u32,
    /// What is printed on their card (and sent in a number query).
    pub card: CardNumbers,
    /// Raw 資格有効性 their queries answer with.
    pub validity: &'static str,
    /// The `ResultOfQualificationConfirmation`s OQS returns (none for 該当資格なし; two for
    /// 複数該当), without the 限度額 and consent elements, which depend on the query.
    pub entries: Vec<el::Qualification>,
    /// 限度額適用認定証, returned only when the query carries the 限度額 consent.
    pub limit_info: Option<el::LimitApplicationCertificateRelatedInfo>,
    /// ProcessingResultMessage sent with a successful answer.
    pub notice: Option<&'static str>,
    /// PrescriptionIssueSelect.
    pub prescription: &'static str,
    /// The auth certificate's subject CN (opaque, no name).
    pub certificate_subject: String,
}

/// Card identifiers as OQS returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardNumbers {
    /// 8 characters: 8 digits, or two spaces and 6 digits.
    pub insurer_number: String,
    /// 記号 (empty when the card has none).
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番 (empty when the card has none).
    pub branch: String,
    /// 生年月日 `YYYYMMDD`.
    pub birthdate: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// 協会けんぽ, 法別 01.
    Kyokai,
    /// 組合管掌健保, 法別 06.
    Kumiai,
    /// 市町村国保, 6 digits.
    Kokuho,
    /// 共済 (31 国家公務員, 34 公立学校).
    Kyosai,
    /// 後期高齢者医療, 法別 39.
    Koki,
    /// 医療扶助 (公費 12), `A1`.
    Fujo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Age {
    Child,
    Adult,
    Senior70,
    Elder75,
}

#[derive(Clone, Copy, Debug)]
struct Shape {
    plan: Plan,
    validity: &'static str,
    family: bool,
    age: Age,
    full_width: bool,
    limit: bool,
    disease: bool,
    notice: bool,
}

const fn shape(plan: Plan, validity: &'static str, age: Age) -> Shape {
    Shape {
        plan,
        validity,
        family: false,
        age,
        full_width: false,
        limit: false,
        disease: false,
        notice: false,
    }
}

/// The well-known people (docs/oqs-sim.md keeps this table).
const WELL_KNOWN: [Shape; 10] = [
    shape(Plan::Kyokai, "1", Age::Adult),
    Shape {
        full_width: true,
        ..shape(Plan::Kokuho, "1", Age::Adult)
    },
    shape(Plan::Kumiai, "2", Age::Adult),
    shape(Plan::Kyosai, "3", Age::Adult),
    shape(Plan::Kyokai, "5", Age::Adult),
    Shape {
        limit: true,
        ..shape(Plan::Koki, "1", Age::Elder75)
    },
    shape(Plan::Kokuho, "4", Age::Adult),
    shape(Plan::Fujo, "6", Age::Adult),
    Shape {
        family: true,
        disease: true,
        ..shape(Plan::Kumiai, "1", Age::Senior70)
    },
    Shape {
        notice: true,
        ..shape(Plan::Kyokai, "1", Age::Adult)
    },
];

/// Draws from one person's stream.
struct Dice(ChaCha8Rng);

impl Dice {
    fn new(seed: u64, index: u32) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        s[8..12].copy_from_slice(&index.to_le_bytes());
        s[12..32].copy_from_slice(b"mynafleet-oqs-sim/p1");
        Self(ChaCha8Rng::from_seed(s))
    }

    fn below(&mut self, n: u32) -> u32 {
        u32::try_from(self.0.next_u64() % u64::from(n.max(1))).unwrap_or(0)
    }

    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(u32::try_from(xs.len()).unwrap_or(1)) as usize]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// Returns the certificate subject CN of person `index`: 32 hex digits from (seed, index).
fn subject_cn(seed: u64, index: u32) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"mynafleet-oqs-sim/auth-cn");
    h.update(seed.to_be_bytes());
    h.update(index.to_be_bytes());
    hex::encode_upper(&h.finalize()[..16])
}

/// Folds full-width ASCII to half-width, U+3000 to a space and hyphen-like characters to
/// `-`, so printed and typed 記号・番号 compare equal; everything else is kept.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' => '-',
            other => other,
        })
        .collect()
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            '-' => '\u{2010}',
            other => other,
        })
        .collect()
}

/// Returns `body` followed by its check digit (DOMAIN.md §4.1).
fn with_check(body: &str) -> String {
    let cd = luhn_check_digit(body).unwrap_or(0);
    format!("{body}{cd}")
}

fn date(y: u32, m: u32, d: u32) -> String {
    format!("{y:04}{m:02}{d:02}")
}

fn draw_shape(d: &mut Dice) -> Shape {
    let age = match d.below(100) {
        0..10 => Age::Child,
        10..70 => Age::Adult,
        70..82 => Age::Senior70,
        _ => Age::Elder75,
    };
    let fujo = d.chance(2);
    let plan = if fujo {
        Plan::Fujo
    } else if age == Age::Elder75 {
        Plan::Koki
    } else {
        match d.below(100) {
            0..35 => Plan::Kyokai,
            35..60 => Plan::Kumiai,
            60..90 => Plan::Kokuho,
            _ => Plan::Kyosai,
        }
    };
    let validity = if fujo {
        "6"
    } else {
        match d.below(100) {
            0..82 => "1",
            82..88 => "2",
            88..92 => "3",
            92..96 => "4",
            _ => "5",
        }
    };
    let family = matches!(plan, Plan::Kyokai | Plan::Kumiai | Plan::Kyosai)
        && (age == Age::Child || d.chance(30));
    Shape {
        plan,
        validity,
        family,
        age,
        full_width: d.chance(if plan == Plan::Kokuho { 50 } else { 10 }),
        limit: validity == "1" && d.chance(15),
        disease: validity == "1" && d.chance(3),
        notice: validity == "1" && d.chance(5),
    }
}

/// Returns person `index` of the population made from `seed`.
pub fn person(seed: u64, index: u32) -> Person {
    let mut d = Dice::new(seed, index);
    let s = match usize::try_from(index).ok().and_then(|i| WELL_KNOWN.get(i)) {
        Some(s) => *s,
        None => draw_shape(&mut d),
    };
    let place: &Place = d.pick(names::PLACES);
    let (year_lo, year_hi) = match s.age {
        Age::Child => (REFERENCE_YEAR - 12, REFERENCE_YEAR - 1),
        Age::Adult => (REFERENCE_YEAR - 68, REFERENCE_YEAR - 19),
        Age::Senior70 => (REFERENCE_YEAR - 74, REFERENCE_YEAR - 71),
        Age::Elder75 => (REFERENCE_YEAR - 95, REFERENCE_YEAR - 76),
    };
    let birth_year = d.range(year_lo, year_hi);
    let birthdate = date(birth_year, d.range(1, 12), d.range(1, 28));
    let sex = if d.chance(50) { "1" } else { "2" };
    let (family_kanji, family_kana) = *d.pick(names::FAMILY);
    let (given_kanji, given_kana) = *d.pick(if sex == "1" {
        names::MALE
    } else {
        names::FEMALE
    });
    let (insured_given, _) = *d.pick(names::MALE);
    let name = format!("{family_kanji}\u{3000}{given_kanji}");
    let kana = format!("{family_kana} {given_kana}");
    let insured_name = if s.family {
        format!("{family_kanji}\u{3000}{insured_given}")
    } else {
        name.clone()
    };

    // Card identifiers: the index is part of every 番号, so numbers never collide.
    let insurer_body = match s.plan {
        Plan::Kyokai => format!("01{}{}", place.code, d.digits(3)),
        Plan::Kumiai => format!("06{}{}", place.code, d.digits(3)),
        Plan::Kyosai => format!("{}{}{}", d.pick(&["31", "34"]), place.code, d.digits(3)),
        Plan::Koki => format!("39{}{}", place.code, d.digits(3)),
        Plan::Fujo => format!("12{}{}", place.code, d.digits(3)),
        Plan::Kokuho => format!("{}{}", place.code, d.digits(3)),
    };
    let insurer_digits = with_check(&insurer_body);
    let insurer_number = format!("{insurer_digits:>8}");
    let plain_number = format!("{}{index:06}", d.range(1, 9));
    let (symbol, number) = match s.plan {
        Plan::Kyokai => (d.digits(8), plain_number),
        Plan::Kumiai => (d.range(1, 9999).to_string(), plain_number),
        Plan::Kyosai => (format!("{}-{}", d.digits(2), d.digits(3)), plain_number),
        Plan::Koki => (String::new(), with_check(&format!("{index:07}"))),
        Plan::Fujo => (String::new(), with_check(&format!("{index:06}"))),
        Plan::Kokuho => {
            let symbol = format!("{}{}", d.pick(names::KOKUHO_SYMBOLS), d.range(1, 999));
            let (head, tail) = plain_number.split_at(3);
            (symbol, format!("{head}-{tail}"))
        }
    };
    let (symbol, number) = if s.full_width {
        (full_width(&symbol), full_width(&number))
    } else {
        (symbol, number)
    };
    let branch = match s.plan {
        Plan::Koki | Plan::Fujo => String::new(),
        _ if s.family => format!("{:02}", d.range(1, 3)),
        _ => "00".to_owned(),
    };
    let card = CardNumbers {
        insurer_number: insurer_number.clone(),
        symbol: symbol.clone(),
        number: number.clone(),
        branch: branch.clone(),
        birthdate: birthdate.clone(),
    };

    let insurer_name = match s.plan {
        Plan::Kyokai => format!("全国健康保険協会{}支部", place.short),
        Plan::Kumiai => format!("{}健康保険組合", d.pick(names::COMPANIES)),
        Plan::Kyosai => "公立学校共済組合".to_owned(),
        Plan::Koki => format!("{}後期高齢者医療広域連合", place.name),
        Plan::Fujo => format!("{}福祉事務所", place.city),
        Plan::Kokuho => format!("{}国民健康保険", place.city),
    };
    let qualified = date(d.range(2005, 2025), d.range(1, 12), 1);
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let mut entry = el::Qualification {
        insured_card_classification: Some(if s.plan == Plan::Fujo { "A1" } else { "01" }.into()),
        insurer_number: Some(insurer_number),
        insured_card_symbol: opt(&symbol),
        insured_identification_number: Some(number),
        insured_branch_number: opt(&branch),
        personal_family_classification: Some(if s.family { "2" } else { "1" }.into()),
        insured_name: Some(insured_name),
        name: Some(name),
        name_kana: Some(kana),
        sex1: Some(sex.into()),
        birthdate: Some(birthdate),
        address: Some(format!(
            "{}{}{}{}丁目{}番{}号",
            place.name,
            place.city,
            d.pick(names::TOWNS),
            full_width(&d.range(1, 9).to_string()),
            full_width(&d.range(1, 30).to_string()),
            full_width(&d.range(1, 20).to_string()),
        )),
        post_number: Some(format!("{}-{}", place.post, d.digits(4))),
        qualification_date: Some(qualified.clone()),
        insured_certificate_issuance_date: Some(qualified.clone()),
        insured_card_valid_date: Some(qualified),
        insurer_name: Some(insurer_name),
        ..Default::default()
    };
    if matches!(s.plan, Plan::Koki | Plan::Kokuho) {
        entry.insured_card_expiration_date = Some(date(REFERENCE_YEAR + 1, 7, 31));
    }
    if s.plan == Plan::Koki {
        entry.insured_partial_contribution_ratio =
            Some((*d.pick(&["010", "010", "020", "030"])).to_owned());
    }
    if s.age == Age::Child && birth_year >= REFERENCE_YEAR - 6 {
        entry.preschool_classification = Some("1".into());
    }
    if s.age == Age::Senior70 {
        entry.elderly_recipient_certificate_info = Some(el::ElderlyRecipientCertificateInfo {
            elderly_recipient_certificate_date: Some(date(REFERENCE_YEAR - 1, 8, 1)),
            elderly_recipient_valid_start_date: Some(date(REFERENCE_YEAR - 1, 8, 1)),
            elderly_recipient_valid_end_date: Some(date(REFERENCE_YEAR, 7, 31)),
            elderly_recipient_contribution_ratio: Some((*d.pick(&["020", "030"])).to_owned()),
        });
    }
    if matches!(s.validity, "2" | "3") {
        entry.disqualification_date = Some(date(REFERENCE_YEAR - 1, d.range(1, 12), 1));
        entry.reason_of_loss = Some(
            if s.validity == "3" {
                "03"
            } else {
                *d.pick(&["02", "03", "99"])
            }
            .to_owned(),
        );
    }
    if s.disease {
        entry.specific_diseases_certificates = vec![el::SpecificDiseasesCertificateInfo {
            specific_diseases_disease_category: Some(d.range(1, 3).to_string()),
            specific_diseases_certificate_date: Some(date(REFERENCE_YEAR - 1, 4, 1)),
            specific_diseases_valid_start_date: Some(date(REFERENCE_YEAR - 1, 4, 1)),
            specific_diseases_valid_end_date: None,
            specific_diseases_self_pay: Some((*d.pick(&["10000", "20000"])).to_owned()),
        }];
    }
    if s.plan == Plan::Fujo {
        entry.medical_tickets = vec![el::MedicalTicketInfo {
            ticket_type: Some("01".into()),
            medical_ticket_valid_date: Some(date(REFERENCE_YEAR, 1, 1)),
            medical_ticket_expiration_date: Some(date(REFERENCE_YEAR, 1, 31)),
            issue_number: Some(d.digits(8)),
            medical_treatment_month: Some(format!("{REFERENCE_YEAR}01")),
            designated_medical_institution_flag: Some("0".into()),
            medical_treatment_type: Some("02".into()),
            self_pay_amount: Some("0".into()),
            single_or_combined_use: Some("01".into()),
            status_of_social_insurance: Some("02".into()),
            ..Default::default()
        }];
    }
    let limit_info = s.limit.then(|| {
        let flags: &[&str] = if matches!(s.age, Age::Senior70 | Age::Elder75) {
            &["B01", "B02", "B03", "B04", "B05", "B06", "B09", "B10"]
        } else {
            &["A01", "A02", "A03", "A04", "A05"]
        };
        el::LimitApplicationCertificateRelatedInfo {
            limit_application_certificate_classification: Some((*d.pick(&["01", "02"])).into()),
            limit_application_certificate_classification_flag: Some((*d.pick(flags)).into()),
            limit_application_certificate_date: Some(date(REFERENCE_YEAR - 1, 8, 1)),
            limit_application_certificate_valid_start_date: Some(date(REFERENCE_YEAR - 1, 8, 1)),
            limit_application_certificate_valid_end_date: Some(date(REFERENCE_YEAR, 7, 31)),
            limit_application_certificate_long_term_date: None,
        }
    });

    let mut entries = vec![entry];
    match s.validity {
        "4" => entries.clear(),
        "5" => {
            // The same person under a second insurer: both qualifications come back.
            let mut second = entries[0].clone();
            let body = format!("01{}{}", place.code, d.digits(3));
            second.insurer_number = Some(with_check(&body));
            second.insured_card_symbol = Some(d.digits(8));
            second.insured_identification_number = Some(format!("9{index:06}"));
            second.insured_branch_number = Some("00".into());
            second.insurer_name = Some(format!("全国健康保険協会{}支部", place.short));
            second.qualification_date = Some(date(REFERENCE_YEAR - 1, 10, 1));
            entries.push(second);
        }
        _ => {}
    }
    Person {
        index,
        card,
        validity: s.validity,
        entries,
        limit_info,
        notice: s.notice.then(|| *d.pick(names::NOTICES)),
        prescription: if d.chance(30) { "1" } else { "2" },
        certificate_subject: subject_cn(seed, index),
    }
}

//! Made-up building blocks for the simulated people: name parts, places, insurer names.
//! Every string here is encodable in Shift_JIS (CP932), so any result can be written in
//! either encoding the file responder offers. It never holds a real person's data.

/// Family names: (kanji, half-width kana).
pub(super) const FAMILY: &[(&str, &str)] = &[
    ("見本", "ﾐﾎﾝ"),
    ("佐藤", "ｻﾄｳ"),
    ("鈴木", "ｽｽﾞｷ"),
    ("高橋", "ﾀｶﾊｼ"),
    ("田中", "ﾀﾅｶ"),
    ("伊藤", "ｲﾄｳ"),
    ("渡辺", "ﾜﾀﾅﾍﾞ"),
    ("山本", "ﾔﾏﾓﾄ"),
    ("中村", "ﾅｶﾑﾗ"),
    ("小林", "ｺﾊﾞﾔｼ"),
    ("加藤", "ｶﾄｳ"),
    ("吉田", "ﾖｼﾀﾞ"),
    ("山田", "ﾔﾏﾀﾞ"),
    ("佐々木", "ｻｻｷ"),
    ("松本", "ﾏﾂﾓﾄ"),
    ("井上", "ｲﾉｳｴ"),
    ("木村", "ｷﾑﾗ"),
    ("清水", "ｼﾐｽﾞ"),
];

/// Given names of men: (kanji, half-width kana).
pub(super) const MALE: &[(&str, &str)] = &[
    ("太郎", "ﾀﾛｳ"),
    ("一郎", "ｲﾁﾛｳ"),
    ("健太", "ｹﾝﾀ"),
    ("大輔", "ﾀﾞｲｽｹ"),
    ("翔", "ｼｮｳ"),
    ("誠", "ﾏｺﾄ"),
    ("浩", "ﾋﾛｼ"),
    ("修", "ｵｻﾑ"),
];

/// Given names of women: (kanji, half-width kana).
pub(super) const FEMALE: &[(&str, &str)] = &[
    ("花子", "ﾊﾅｺ"),
    ("陽子", "ﾖｳｺ"),
    ("美咲", "ﾐｻｷ"),
    ("さくら", "ｻｸﾗ"),
    ("恵", "ﾒｸﾞﾐ"),
    ("由美", "ﾕﾐ"),
    ("和子", "ｶｽﾞｺ"),
    ("結衣", "ﾕｲ"),
];

/// A prefecture the population lives in.
#[derive(Debug)]
pub(super) struct Place {
    /// 都道府県番号, two digits.
    pub(super) code: &'static str,
    /// Prefecture name.
    pub(super) name: &'static str,
    /// Short name for 協会けんぽ branches.
    pub(super) short: &'static str,
    /// A city (with ward) in it.
    pub(super) city: &'static str,
    /// First three digits of its post numbers.
    pub(super) post: &'static str,
}

/// The prefectures people live in.
pub(super) const PLACES: &[Place] = &[
    Place {
        code: "01",
        name: "北海道",
        short: "北海道",
        city: "札幌市中央区",
        post: "060",
    },
    Place {
        code: "13",
        name: "東京都",
        short: "東京",
        city: "新宿区",
        post: "160",
    },
    Place {
        code: "14",
        name: "神奈川県",
        short: "神奈川",
        city: "横浜市港北区",
        post: "222",
    },
    Place {
        code: "23",
        name: "愛知県",
        short: "愛知",
        city: "名古屋市中区",
        post: "460",
    },
    Place {
        code: "27",
        name: "大阪府",
        short: "大阪",
        city: "大阪市北区",
        post: "530",
    },
    Place {
        code: "34",
        name: "広島県",
        short: "広島",
        city: "広島市中区",
        post: "730",
    },
    Place {
        code: "40",
        name: "福岡県",
        short: "福岡",
        city: "福岡市博多区",
        post: "812",
    },
];

/// Made-up town names for addresses.
pub(super) const TOWNS: &[&str] = &["見本町", "試験台", "架空通", "模擬が丘", "仮設本町"];

/// Made-up companies whose 健康保険組合 insure people.
pub(super) const COMPANIES: &[&str] = &["見本産業", "架空電機", "模擬商事", "試験製作所"];

/// Prefixes of 国保 記号 as printed.
pub(super) const KOKUHO_SYMBOLS: &[&str] = &["医国", "国", "一般", "退"];

/// ProcessingResultMessage texts sent on success for a few people.
pub(super) const NOTICES: &[&str] = &[
    "電子証明書の有効期限が３か月以内に切れます。更新手続きをご案内ください。",
    "資格確認書の有効期限が近づいています。",
];

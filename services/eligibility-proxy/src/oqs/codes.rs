//! OQS code tables (DOMAIN.md §3.4, a subset of 別紙5-1) as enums with an `Unknown` arm
//! holding the raw string, so a value from another spec version or client never fails
//! parsing. Labels are for display (the hand-off TSV); the raw string stays in the result.
//! Nothing here decides eligibility: that is [`super::read`].

/// Declares a code table: the enum, `parse` (never fails), `code` and `label`.
macro_rules! code_table {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $label:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this table does not know, as received.
            Unknown(String),
        }

        #[allow(dead_code, reason = "every table has the same interface; not every one is used")]
        impl $name {
            /// Reads `raw` exactly (no trimming); unknown values land in `Unknown`.
            pub(crate) fn parse(raw: &str) -> Self {
                match raw {
                    $( $code => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// Returns the code as sent upstream.
            pub(crate) fn code(&self) -> &str {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Unknown(raw) => raw,
                }
            }

            /// Returns the table's label, or `None` for a value the table does not know.
            pub(crate) fn label(&self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($label), )*
                    Self::Unknown(_) => None,
                }
            }

            /// Returns the label, or the raw value when the table does not know it.
            pub(crate) fn display(&self) -> &str {
                match self.label() {
                    Some(label) => label,
                    None => self.code(),
                }
            }
        }
    };
}

code_table! {
    /// 照会区分 (OQSCD002, `ReferenceClassification`).
    #[allow(dead_code, reason = "the table is complete; the proxy passes the value through")]
    ReferenceClassification {
        /// `1` マイナンバーカード.
        Card = "1" => "マイナンバーカード",
        /// `2` 被保険者証情報.
        InsuranceCard = "2" => "被保険者証情報",
    }
}

code_table! {
    /// 処理結果区分 (OQSCD003, `SegmentOfResult`). Sources disagree on the error value
    /// (`9` in the code table, `3` in one comment): only `1` counts as normal.
    SegmentOfResult {
        /// `1` 正常終了.
        Normal = "1" => "正常終了",
        /// `2` 処理中.
        Processing = "2" => "処理中",
        /// `9` 異常終了.
        Abnormal = "9" => "異常終了",
    }
}

code_table! {
    /// 処理結果状況 (OQSCD004, `ProcessingResultStatus`).
    ProcessingResultStatus {
        /// `1` 正常終了.
        Normal = "1" => "正常終了",
        /// `2` エラー.
        Error = "2" => "エラー",
    }
}

code_table! {
    /// 資格有効性 (OQSCD006, `QualificationValidity`).
    QualificationValidity {
        /// `1` 有効.
        Valid = "1" => "有効",
        /// `2` 無効.
        Invalid = "2" => "無効",
        /// `3` 無効（新しい資格あり）.
        InvalidNewerExists = "3" => "無効（新しい資格あり）",
        /// `4` 該当資格なし.
        NotFound = "4" => "該当資格なし",
        /// `5` 複数該当 (医療保険 only).
        Multiple = "5" => "複数該当",
        /// `6` 有効（未登録） (医療扶助 only).
        ValidUnregistered = "6" => "有効（未登録）",
    }
}

code_table! {
    /// 性別 (OQSCD007, `Sex1` / `Sex2`).
    Sex {
        /// `1` 男.
        Male = "1" => "男",
        /// `2` 女.
        Female = "2" => "女",
        /// `3` 未設定.
        Unset = "3" => "未設定",
    }
}

code_table! {
    /// 資格喪失事由 (OQSCD008, `ReasonOfLoss`).
    ReasonOfLoss {
        /// `01` 死亡.
        Death = "01" => "死亡",
        /// `02` 生活保護受給開始.
        PublicAssistance = "02" => "生活保護受給開始",
        /// `03` 医療保険等の資格取得.
        OtherInsurance = "03" => "医療保険等の資格取得",
        /// `99` その他.
        Other = "99" => "その他",
    }
}

code_table! {
    /// 本人・家族の別 (OQSCD009, `PersonalFamilyClassification`).
    PersonalFamilyClassification {
        /// `1` 本人.
        Insured = "1" => "本人",
        /// `2` 家族.
        Family = "2" => "家族",
    }
}

code_table! {
    /// 被保険者証区分 (OQSCD010, `InsuredCardClassification`). `05` is left `Unknown`:
    /// sources disagree on its meaning, so it is shown raw.
    InsuredCardClassification {
        /// `01` 一般.
        General = "01" => "一般",
        /// `02` 退職.
        Retired = "02" => "退職",
        /// `03` 短期（一般）.
        ShortTermGeneral = "03" => "短期（一般）",
        /// `04` 短期（退職）.
        ShortTermRetired = "04" => "短期（退職）",
        /// `06` 特例退職.
        SpecialRetired = "06" => "特例退職",
        /// `07` 自衛官.
        SelfDefenseForces = "07" => "自衛官",
        /// `A1` 医療扶助.
        MedicalAssistance = "A1" => "医療扶助",
    }
}

code_table! {
    /// 限度額適用認定証同意フラグ (OQSCD001).
    LimitConsent {
        /// `0` 未同意.
        NotGiven = "0" => "未同意",
        /// `1` 同意.
        Given = "1" => "同意",
    }
}

code_table! {
    /// 限度額適用認定証区分 (OQSCD011).
    LimitCertificateClassification {
        /// `01` 限度額適用認定証.
        Limit = "01" => "限度額適用認定証",
        /// `02` 限度額適用・標準負担額減額認定証.
        LimitAndReduction = "02" => "限度額適用・標準負担額減額認定証",
        /// `03` 標準負担額減額認定証.
        Reduction = "03" => "標準負担額減額認定証",
    }
}

code_table! {
    /// 限度額 適用区分 (OQSCD012).
    LimitCategory {
        /// `A01` ア.
        A01 = "A01" => "ア",
        /// `A02` イ.
        A02 = "A02" => "イ",
        /// `A03` ウ.
        A03 = "A03" => "ウ",
        /// `A04` エ.
        A04 = "A04" => "エ",
        /// `A05` オ.
        A05 = "A05" => "オ",
        /// `A06` オ（境）.
        A06 = "A06" => "オ（境）",
        /// `B01` 現役並みⅢ.
        B01 = "B01" => "現役並みⅢ",
        /// `B02` 現役並みⅡ.
        B02 = "B02" => "現役並みⅡ",
        /// `B03` 現役並みⅠ.
        B03 = "B03" => "現役並みⅠ",
        /// `B04` 一般.
        B04 = "B04" => "一般",
        /// `B05` 低所得Ⅱ.
        B05 = "B05" => "低所得Ⅱ",
        /// `B06` 低所得Ⅰ.
        B06 = "B06" => "低所得Ⅰ",
        /// `B07` 低所得Ⅰ（老福）.
        B07 = "B07" => "低所得Ⅰ（老福）",
        /// `B08` 低所得Ⅰ（境）.
        B08 = "B08" => "低所得Ⅰ（境）",
        /// `B09` 一般Ⅱ.
        B09 = "B09" => "一般Ⅱ",
        /// `B10` 一般Ⅰ.
        B10 = "B10" => "一般Ⅰ",
    }
}

code_table! {
    /// 未就学区分 (OQSCD015).
    PreschoolClassification {
        /// `1` 未就学該当.
        Preschool = "1" => "未就学",
    }
}

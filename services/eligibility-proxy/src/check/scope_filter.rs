//! What a result may carry for an account (DESIGN.md §3.3 *Scope*, DOMAIN.md §3.6, §10.15):
//! every account gets the 資格情報; only a 医療情報閲覧 account at a clinic with 訪問診療等機能
//! gets the 閲覧同意 consent fields. Elements DOMAIN.md does not name never reach the typed
//! result in the first place.

use crate::scope::{AccountScope, Privilege};
use mynafleet_proto::eligibility::v1 as pb;

/// Returns the scope results for `account` are filtered to.
pub(crate) fn scope_of(account: &AccountScope) -> pb::ResultScope {
    if account.privilege == Privilege::MedicalInformation && account.home_visit {
        pb::ResultScope::WithConsent
    } else {
        pb::ResultScope::Qualification
    }
}

/// Removes from `result` what `scope` may not see.
pub(crate) fn filter(result: &mut pb::QualificationResult, scope: pb::ResultScope) {
    if scope == pb::ResultScope::WithConsent {
        return;
    }
    for q in &mut result.results {
        q.specific_health_checkups_info = None;
        q.pharmacists_info = None;
        q.diagnosis_info = None;
        q.operation_info = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(privilege: Privilege, home_visit: bool) -> AccountScope {
        AccountScope {
            account: "organizations/o/clinics/c/accounts/W0000001".to_owned(),
            organization: "organizations/o".to_owned(),
            clinic: "organizations/o/clinics/c".to_owned(),
            institution_code: "1310000019".to_owned(),
            privilege,
            available: true,
            home_visit,
        }
    }

    fn consented() -> pb::QualificationResult {
        let consent = || pb::ConsentInfo {
            cons_flg: Some("1".to_owned()),
            cons_time: Some("20261121093000".to_owned()),
            available_time: Some("20261122093000".to_owned()),
        };
        pb::QualificationResult {
            results: vec![pb::Qualification {
                name: Some("見本　花子".to_owned()),
                limit_application_certificate_related_cons_flg: Some("1".to_owned()),
                specific_health_checkups_info: Some(consent()),
                pharmacists_info: Some(consent()),
                diagnosis_info: Some(consent()),
                operation_info: Some(consent()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn only_medical_information_accounts_at_home_visit_clinics_see_consent_fields() {
        let cases = [
            (Privilege::General, false, pb::ResultScope::Qualification),
            (Privilege::General, true, pb::ResultScope::Qualification),
            (
                Privilege::MedicalInformation,
                false,
                pb::ResultScope::Qualification,
            ),
            (
                Privilege::MedicalInformation,
                true,
                pb::ResultScope::WithConsent,
            ),
            (
                Privilege::Administrator,
                true,
                pb::ResultScope::Qualification,
            ),
            (Privilege::Other, true, pb::ResultScope::Qualification),
        ];
        for (privilege, home_visit, expected) in cases {
            let scope = scope_of(&account(privilege, home_visit));
            assert_eq!(scope, expected, "{privilege:?} home_visit={home_visit}");
            let mut result = consented();
            filter(&mut result, scope);
            let q = &result.results[0];
            let has_consent = q.specific_health_checkups_info.is_some()
                || q.pharmacists_info.is_some()
                || q.diagnosis_info.is_some()
                || q.operation_info.is_some();
            assert_eq!(has_consent, expected == pb::ResultScope::WithConsent);
            // 資格情報, including the 限度額 provision consent, always stays.
            assert_eq!(q.name.as_deref(), Some("見本　花子"));
            assert_eq!(
                q.limit_application_certificate_related_cons_flg.as_deref(),
                Some("1")
            );
        }
    }
}

use super::*;

const ALL: &[Permission] = &[
    Permission::ReadOrganization,
    Permission::WriteOrganization,
    Permission::ReadClinics,
    Permission::CreateClinics,
    Permission::UpdateClinics,
    Permission::ManageOperators,
    Permission::ReadAccounts,
    Permission::WriteAccounts,
    Permission::ReadApplications,
    Permission::SubmitApplications,
    Permission::ReviewApplications,
    Permission::ReadAudit,
    Permission::OwnSession,
];

#[test]
fn only_org_admins_manage_operators_review_and_create_clinics() {
    for role in [Role::ClinicAdmin, Role::Auditor, Role::Viewer] {
        for p in [
            Permission::ManageOperators,
            Permission::ReviewApplications,
            Permission::CreateClinics,
            Permission::WriteOrganization,
        ] {
            assert!(!role_allows(role, p), "{role:?} must not have {p:?}");
        }
    }
    assert!(ALL.iter().all(|p| role_allows(Role::OrgAdmin, *p)));
}

#[test]
fn auditors_read_audit_and_viewers_do_not() {
    assert!(role_allows(Role::Auditor, Permission::ReadAudit));
    assert!(!role_allows(Role::Auditor, Permission::ReadAccounts));
    assert!(!role_allows(Role::Viewer, Permission::ReadAudit));
    assert!(!role_allows(Role::ClinicAdmin, Permission::ReadAudit));
    assert!(!role_allows(Role::Viewer, Permission::WriteAccounts));
}

#[test]
fn clinic_admins_are_held_to_their_clinics() {
    let org = OrganizationId::new();
    let mine = Uuid::now_v7();
    let actor = Actor::Operator(Principal {
        operator: Uuid::now_v7(),
        login_id: "ca".into(),
        organization: org,
        role: Role::ClinicAdmin,
        clinics: vec![mine],
        session_id: "s".into(),
        must_change_password: false,
    });
    assert!(actor.require_clinic(org, mine).is_ok());
    assert!(matches!(
        actor.require_clinic(org, Uuid::now_v7()),
        Err(Error::OutOfScope)
    ));
    assert!(matches!(
        actor.require_clinic(OrganizationId::new(), mine),
        Err(Error::OutOfScope)
    ));
    assert!(
        Actor::Service("activation".into())
            .require_clinic(org, Uuid::now_v7())
            .is_ok()
    );
}

#[test]
fn roles_round_trip_through_their_stored_names() {
    for r in [
        Role::OrgAdmin,
        Role::ClinicAdmin,
        Role::Auditor,
        Role::Viewer,
    ] {
        assert_eq!(Role::from_stored(r.as_str()), Some(r));
    }
    assert_eq!(Role::from_stored("root"), None);
}

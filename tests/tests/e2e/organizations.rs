//! The one real resource of the foundation, end to end on both backends: organizations in
//! the account service, and activation's call to the account service over service mTLS.

use mynafleet_kit::status::{reason_of, violated_fields};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::activation::v1 as act;
use mynafleet_proto::tonic::Code;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_tests::{As, Backend, Suite, SuiteOptions, Target};
use pb::organization_service_client::OrganizationServiceClient;

mynafleet_tests::on_both_backends!(
    created_organization_reads_back_and_lists_in_pages,
    duplicate_create_with_one_request_id_returns_the_first_result,
    malformed_input_gets_invalid_argument_with_field_violations,
    update_applies_the_mask_and_refuses_a_stale_etag,
    activation_checks_the_organization_with_account_over_mtls,
);

async fn suite(backend: Backend) -> Suite {
    Suite::start_with(SuiteOptions::on(backend)).await
}

fn orgs(suite: &Suite) -> OrganizationServiceClient<Channel> {
    OrganizationServiceClient::new(suite.channel(Target::Account, As::Service("e2e-tests")))
}

fn create_req(name: &str, request_id: &str) -> pb::CreateOrganizationRequest {
    pb::CreateOrganizationRequest {
        organization: Some(pb::Organization {
            display_name: name.to_owned(),
            ..Default::default()
        }),
        request_id: request_id.to_owned(),
    }
}

async fn create(client: &mut OrganizationServiceClient<Channel>, name: &str) -> pb::Organization {
    client
        .create_organization(create_req(name, &uuid::Uuid::new_v4().to_string()))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap()
}

async fn created_organization_reads_back_and_lists_in_pages(backend: Backend) {
    let suite = suite(backend).await;
    let mut client = orgs(&suite);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(create(&mut client, &format!("医療法人 さくら会 {i}")).await);
    }
    let got = client
        .get_organization(pb::GetOrganizationRequest {
            name: made[2].name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert_eq!(got, made[2]);
    assert_eq!(got.display_name, "医療法人 さくら会 2");
    assert!(got.create_time.is_some() && !got.etag.is_empty());

    let mut listed = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_organizations(pb::ListOrganizationsRequest {
                page_size: 2,
                page_token: page_token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.organizations.len() <= 2);
        listed.extend(page.organizations);
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(listed, made, "every organization once, in creation order");
}

async fn duplicate_create_with_one_request_id_returns_the_first_result(backend: Backend) {
    let suite = suite(backend).await;
    let mut client = orgs(&suite);
    let rid = uuid::Uuid::new_v4().to_string();
    let first = client
        .create_organization(create_req("ひまわりクリニックグループ", &rid))
        .await
        .unwrap()
        .into_inner();
    // Time passes and the client retries after a lost reply.
    suite.clock.advance(std::time::Duration::from_secs(30));
    let again = client
        .create_organization(create_req("ひまわりクリニックグループ", &rid))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, first);

    let err = client
        .create_organization(create_req("another group", &rid))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason_of(&err).as_deref(), Some("REQUEST_ID_REUSED"));
    assert_eq!(violated_fields(&err), ["request_id"]);

    let all = client
        .list_organizations(pb::ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        all.organizations.len(),
        1,
        "one organization, whatever was retried"
    );
}

async fn malformed_input_gets_invalid_argument_with_field_violations(backend: Backend) {
    let suite = suite(backend).await;
    let mut client = orgs(&suite);
    let rid = || uuid::Uuid::new_v4().to_string();

    let cases: Vec<(&str, tonic::Status, &str)> = vec![
        (
            "empty display name",
            client
                .create_organization(create_req("  ", &rid()))
                .await
                .unwrap_err(),
            "organization.display_name",
        ),
        (
            "missing organization",
            client
                .create_organization(pb::CreateOrganizationRequest {
                    organization: None,
                    request_id: rid(),
                })
                .await
                .unwrap_err(),
            "organization",
        ),
        (
            "request id not a uuid",
            client
                .create_organization(create_req("x", "retry-1"))
                .await
                .unwrap_err(),
            "request_id",
        ),
        (
            "name not organizations/{uuid}",
            client
                .get_organization(pb::GetOrganizationRequest {
                    name: "organizations/42".into(),
                })
                .await
                .unwrap_err(),
            "name",
        ),
        (
            "page size too large",
            client
                .list_organizations(pb::ListOrganizationsRequest {
                    page_size: 5000,
                    page_token: String::new(),
                })
                .await
                .unwrap_err(),
            "page_size",
        ),
        (
            "forged page token",
            client
                .list_organizations(pb::ListOrganizationsRequest {
                    page_size: 0,
                    page_token: "bm90LW91cnM".into(),
                })
                .await
                .unwrap_err(),
            "page_token",
        ),
    ];
    for (what, err, field) in cases {
        assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err:?}");
        assert!(reason_of(&err).is_some(), "{what}: no reason");
        assert_eq!(violated_fields(&err), [field], "{what}");
    }

    let err = client
        .create_organization(create_req("グループ 1234-5678-9018", &rid()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason_of(&err).as_deref(), Some("MY_NUMBER_REFUSED"));
    assert_eq!(violated_fields(&err), ["organization.display_name"]);

    let all = client
        .list_organizations(pb::ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(all.organizations.is_empty(), "nothing refused was stored");
}

async fn update_applies_the_mask_and_refuses_a_stale_etag(backend: Backend) {
    let suite = suite(backend).await;
    let mut client = orgs(&suite);
    let made = create(&mut client, "旧名称").await;
    suite.clock.advance(std::time::Duration::from_secs(60));
    let updated = client
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "新名称".into(),
                ..made.clone()
            }),
            update_mask: Some(mynafleet_proto::prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert_eq!(updated.display_name, "新名称");
    assert_ne!(updated.etag, made.etag);
    assert_eq!(updated.create_time, made.create_time);
    assert_eq!(
        updated.update_time.unwrap().seconds - made.update_time.unwrap().seconds,
        60
    );

    let stale = client
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "lost update".into(),
                ..made.clone()
            }),
            update_mask: None,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason_of(&stale).as_deref(), Some("ETAG_MISMATCH"));

    let bad_mask = client
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(updated.clone()),
            update_mask: Some(mynafleet_proto::prost_types::FieldMask {
                paths: vec!["create_time".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_mask.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad_mask), ["update_mask"]);
}

async fn activation_checks_the_organization_with_account_over_mtls(backend: Backend) {
    let suite = suite(backend).await;
    let made = create(&mut orgs(&suite), "あおば在宅医療グループ").await;
    let mut devices = act::device_service_client::DeviceServiceClient::new(
        suite.channel(Target::Activation, As::Service("e2e-tests")),
    );
    let listed = devices
        .list_devices(act::ListDevicesRequest {
            parent: made.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.organization_display_name, "あおば在宅医療グループ");
    assert!(listed.devices.is_empty());

    let missing = devices
        .list_devices(act::ListDevicesRequest {
            parent: format!("organizations/{}", uuid::Uuid::now_v7()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    assert_eq!(
        reason_of(&missing).as_deref(),
        Some("ORGANIZATION_NOT_FOUND")
    );
}

use mynafleet_proto::tonic;

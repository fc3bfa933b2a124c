//! The suite's conventions: TLS health, reflection, caller identity.

use mynafleet_kit::auth::DeviceIdentity;
use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as account;
use mynafleet_proto::agent::v1 as agent;
use mynafleet_proto::tonic::{Code, transport::Channel};
use mynafleet_tests::{As, Suite, Target, health};
use std::collections::BTreeSet;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_reflection::pb::{v1, v1alpha};

fn own_apis(target: Target) -> &'static [&'static str] {
    match target {
        Target::Account => &[
            "mynafleet.account.v1.OrganizationService",
            "mynafleet.account.v1.ClinicService",
            "mynafleet.account.v1.OperatorService",
            "mynafleet.account.v1.SessionService",
            "mynafleet.account.v1.DeviceAccountService",
            "mynafleet.account.v1.ApplicationService",
            "mynafleet.account.v1.AccountInternalService",
            "mynafleet.account.v1.AuditLogService",
        ],
        Target::Activation => &[
            "mynafleet.activation.v1.ActivationService",
            "mynafleet.activation.v1.ActivationCodeService",
            "mynafleet.activation.v1.DeviceService",
            "mynafleet.activation.v1.ActivationInternalService",
        ],
        Target::EligibilityProxy => &[
            "mynafleet.agent.v1.AgentService",
            "mynafleet.eligibility.v1.EligibilityService",
        ],
        Target::OqsSim => &["mynafleet.oqs.v1.OqsService"],
    }
}

fn device() -> DeviceIdentity {
    DeviceIdentity {
        organization: "0190f0d2-1111-7000-8000-000000000001".into(),
        clinic: "0190f0d2-2222-7000-8000-000000000002".into(),
        account: "W0000001".into(),
        device: "0190f0d2-3333-7000-8000-000000000003".into(),
    }
}

#[tokio::test]
async fn all_four_services_report_serving_over_tls() {
    let suite = Suite::start().await;
    for target in Target::ALL {
        for service in std::iter::once("").chain(own_apis(target).iter().copied()) {
            let status = health::check(suite.channel(target, As::Anonymous), service)
                .await
                .unwrap_or_else(|s| panic!("{target:?} health of {service:?}: {s}"));
            assert_eq!(status, ServingStatus::Serving, "{target:?} {service:?}");
        }
    }
}

async fn list_v1(channel: Channel) -> BTreeSet<String> {
    use v1::server_reflection_client::ServerReflectionClient;
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    match stream
        .message()
        .await
        .unwrap()
        .and_then(|r| r.message_response)
    {
        Some(MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

async fn list_v1alpha(channel: Channel) -> BTreeSet<String> {
    use v1alpha::server_reflection_client::ServerReflectionClient;
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    match stream
        .message()
        .await
        .unwrap()
        .and_then(|r| r.message_response)
    {
        Some(MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_exactly_each_servers_services() {
    let suite = Suite::start().await;
    for target in Target::ALL {
        let expected: BTreeSet<String> = own_apis(target)
            .iter()
            .chain(&[
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ])
            .map(|s| String::from(*s))
            .collect();
        assert_eq!(
            list_v1(suite.channel(target, As::Anonymous)).await,
            expected,
            "{target:?} v1"
        );
        assert_eq!(
            list_v1alpha(suite.channel(target, As::Anonymous)).await,
            expected,
            "{target:?} v1alpha"
        );
    }
}

#[tokio::test]
async fn internal_rpcs_without_a_client_certificate_are_unauthenticated() {
    let suite = Suite::start().await;
    let mut orgs = account::organization_service_client::OrganizationServiceClient::new(
        suite.channel(Target::Account, As::Anonymous),
    );
    let err = orgs
        .list_organizations(account::ListOrganizationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert_eq!(reason_of(&err).as_deref(), Some("CALLER_UNKNOWN"));

    let mut devices =
        mynafleet_proto::activation::v1::device_service_client::DeviceServiceClient::new(
            suite.channel(Target::Activation, As::Anonymous),
        );
    let err = devices
        .list_devices(mynafleet_proto::activation::v1::ListDevicesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
}

#[tokio::test]
async fn a_bearer_token_is_not_admitted_to_service_apis() {
    let suite = Suite::start().await;
    fn bearer<T>(msg: T) -> mynafleet_proto::tonic::Request<T> {
        let mut req = mynafleet_proto::tonic::Request::new(msg);
        req.metadata_mut()
            .insert("authorization", "Bearer made-up".parse().unwrap());
        req
    }
    // A bearer token makes the caller an operator: the internal API admits services only.
    let mut internal = account::account_internal_service_client::AccountInternalServiceClient::new(
        suite.channel(Target::Account, As::Anonymous),
    );
    let err = internal
        .check_operator_token(bearer(account::CheckOperatorTokenRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(reason_of(&err).as_deref(), Some("CALLER_KIND_REFUSED"));
    // On an operator API a made-up token names no session.
    let mut orgs = account::organization_service_client::OrganizationServiceClient::new(
        suite.channel(Target::Account, As::Anonymous),
    );
    let err = orgs
        .list_organizations(bearer(account::ListOrganizationsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert_eq!(reason_of(&err).as_deref(), Some("SESSION_INVALID"));
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let suite = Suite::start().await;
    let mut orgs = account::organization_service_client::OrganizationServiceClient::new(
        suite.channel(Target::Account, As::Stranger),
    );
    let err = orgs
        .list_organizations(account::ListOrganizationsRequest::default())
        .await
        .unwrap_err();
    // The TLS handshake fails before any RPC: the server trusts neither that CA nor the
    // service name the certificate claims.
    assert_ne!(err.code(), Code::Ok);
    assert_ne!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_device_is_told_who_it_is_and_kept_out_of_service_apis() {
    let suite = Suite::start().await;
    let d = device();
    let mut agents = agent::agent_service_client::AgentServiceClient::new(
        suite.channel(Target::EligibilityProxy, As::Device(d.clone())),
    );
    // The device CA vouches for the certificate, so the identity layer lets it through; the
    // proxy then finds no such device in activation's registry and refuses it. (Activated
    // devices are told who they are: see the activation module.)
    let err = agents.who_am_i(agent::WhoAmIRequest {}).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(reason_of(&err).as_deref(), Some("DEVICE_NOT_FOUND"));

    let mut orgs = account::organization_service_client::OrganizationServiceClient::new(
        suite.channel(Target::Account, As::Device(d)),
    );
    let err = orgs
        .list_organizations(account::ListOrganizationsRequest::default())
        .await
        .unwrap_err();
    // The account service does not trust the device CA: the handshake itself fails.
    assert_ne!(err.code(), Code::Ok, "{err:?}");
    assert_ne!(err.code(), Code::PermissionDenied, "{err:?}");
}

#[tokio::test]
async fn a_service_may_not_call_the_device_api() {
    let suite = Suite::start().await;
    let mut agents = agent::agent_service_client::AgentServiceClient::new(
        suite.channel(Target::EligibilityProxy, As::Service("e2e-tests")),
    );
    let err = agents.who_am_i(agent::WhoAmIRequest {}).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(reason_of(&err).as_deref(), Some("CALLER_KIND_REFUSED"));
    assert!(
        health::check(suite.channel(Target::EligibilityProxy, As::Anonymous), "")
            .await
            .is_ok(),
        "health stays public"
    );
}

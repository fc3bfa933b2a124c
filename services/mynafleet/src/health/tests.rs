use super::{Failure, classify};
use mynafleet_proto::tonic::Code;

#[test]
fn refused_connections_read_as_unreachable() {
    assert_eq!(
        classify(
            Code::Unavailable,
            "tcp connect error: Connection refused (os error 111)"
        ),
        Failure::Unreachable
    );
}

#[test]
fn certificate_errors_read_as_tls_failures() {
    assert_eq!(
        classify(
            Code::Unavailable,
            "transport error: invalid peer certificate: UnknownIssuer"
        ),
        Failure::Tls
    );
}

#[test]
fn unknown_services_and_deadlines_are_told_apart() {
    assert_eq!(
        classify(Code::NotFound, "service not registered"),
        Failure::UnknownService
    );
    assert_eq!(
        classify(Code::DeadlineExceeded, "deadline"),
        Failure::Timeout
    );
    assert_eq!(
        classify(Code::Unavailable, "connect: operation timed out"),
        Failure::Timeout
    );
}

#[test]
fn plaintext_answers_read_as_not_tls() {
    assert_eq!(
        classify(
            Code::Unavailable,
            "received corrupt message of type InvalidContentType: transport error"
        ),
        Failure::NotTls
    );
}

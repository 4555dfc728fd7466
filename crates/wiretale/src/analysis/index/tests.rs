//! The folded index against what the events say, on every capture we have: the streaming
//! recorder (flow summaries after their events, one or two shards) tells the same story and
//! finds the same things as the analysis that keeps every event.

use super::*;
use crate::analysis::{Analysis, StoryColumns, StoryOptions, StoryRecorder};
use crate::pipeline::{analyze_path, AnalyzerConfig};
use crate::proto::tls::TlsMessage;
use crate::tcp::{ConnEvent, FlowSummary};
use crate::test_support::{capture_files, shared_capture_files};
use crate::timeline::{Detail, Event, EventSink, Frames};
use std::path::{Path, PathBuf};

fn every_capture() -> Vec<PathBuf> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut all = capture_files(&testdata);
    all.extend(shared_capture_files());
    assert!(!all.is_empty());
    all
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

/// An NTLM Type 3: request frame, response frame, status and reason.
type Type3 = (u64, Option<(u64, u16, String)>);

#[test]
fn the_recorder_tells_what_the_collected_analysis_tells() {
    let mut quiet = 0;
    let mut quiet_tls = 0;
    let mut quiet_ntlm = 0;
    for path in every_capture() {
        let collected = Analysis::of_path(&path, &AnalyzerConfig::default()).unwrap();
        let story = collected.story(&StoryOptions::default());
        for threads in [1, 2] {
            let config = AnalyzerConfig {
                threads,
                ..AnalyzerConfig::default()
            };
            let mut recorder = StoryRecorder::default();
            let report = analyze_path(&path, &config, &mut recorder).unwrap();
            let told = recorder.finish(report, &StoryOptions::default());
            let what = format!("{} with {threads} thread(s)", path.display());
            assert_eq!(json(&told.lines()), json(&story), "story of {what}");
            assert_eq!(
                json(&told.diagnosis),
                json(&collected.diagnosis),
                "diagnosis of {what}"
            );
            assert_eq!(told.flows, collected.flows.len(), "{what}");
            // Connections are kept whole, as in the collected index, or retired to their
            // endpoints.
            for (stream, conn) in &collected.index.conns {
                match (told.index.conns.get(stream), told.index.quiet_conn(*stream)) {
                    (Some(kept), None) => assert_eq!(
                        format!("{kept:?}"),
                        format!("{conn:?}"),
                        "stream {stream} of {what}"
                    ),
                    (None, Some(q)) => {
                        assert_eq!(
                            (q.client, q.server, q.is_proxy),
                            (conn.client, conn.server, conn.is_proxy),
                            "quiet stream {stream} of {what}"
                        );
                        // The final summary's, late packets included, though most are
                        // retired as they close.
                        let last = conn.flow.as_ref().map(|f| f.last_frame);
                        assert_eq!(Some(q.last_frame), last, "stream {stream} of {what}");
                        quiet += 1;
                        // A retired TLS connection keeps what the revocation detector reads.
                        let certificate = (conn.tls_progress.as_ref())
                            .and_then(|p| Some((p.certificate?, p.cert_urls.clone())))
                            .filter(|(_, urls)| !urls.is_empty());
                        let retired = (told.index.certificates.iter())
                            .find(|c| c.stream == *stream)
                            .map(|c| (c.frame, c.urls.to_vec()));
                        assert_eq!(retired, certificate, "certificate of {stream} of {what}");
                        if conn.tls {
                            quiet_tls += 1;
                        }
                        // An authenticated one keeps its Type 3 messages.
                        let type3: Vec<Type3> = (conn.exchanges.iter())
                            .filter(|x| x.ntlm_request == Some(3))
                            .map(|x| {
                                let r = x.response.as_ref();
                                (
                                    x.request_frame,
                                    r.map(|r| (r.frame, r.status, r.reason.clone())),
                                )
                            })
                            .collect();
                        let retired: Vec<Type3> = (told.index.ntlm_answers.iter())
                            .filter(|a| a.stream == *stream)
                            .map(|a| {
                                let r = a.response.as_ref();
                                (
                                    a.request_frame,
                                    r.map(|(f, s, why)| (*f, *s, why.to_string())),
                                )
                            })
                            .collect();
                        assert_eq!(retired, type3, "NTLM answers of {stream} of {what}");
                        if !type3.is_empty() {
                            quiet_ntlm += 1;
                        }
                    }
                    other => panic!("stream {stream} of {what}: {other:?}"),
                }
            }
            assert_eq!(
                told.index.conns.len() + told.index.quiet.len(),
                collected.index.conns.len(),
                "{what}"
            );
        }
    }
    // The retirement is exercised (plain HTTP connections of the corpus).
    assert!(quiet > 10, "only {quiet} connections retired");
    assert!(quiet_tls > 4, "only {quiet_tls} TLS connections retired");
    assert!(
        quiet_ntlm > 2,
        "only {quiet_ntlm} NTLM-authenticated connections retired"
    );
}

#[test]
fn forgetting_closed_streams_idle_clocks_changes_no_line() {
    let mut idle_lines = 0;
    for path in every_capture() {
        for idle_secs in [5.0, 0.5, 0.0] {
            let opts = StoryOptions { idle_secs };
            let mut recorder = StoryRecorder::default().memory_steps(7);
            let report = analyze_path(&path, &AnalyzerConfig::default(), &mut recorder).unwrap();
            let told = recorder.finish(report, &opts);
            let remembering = told.story.lines_remembering_every_stream(&told.index);
            assert_eq!(told.columns(), StoryColumns::of_lines(&remembering));
            assert_eq!(
                json(&told.lines()),
                json(&remembering),
                "{} idle {idle_secs}",
                path.display()
            );
            idle_lines += (remembering.iter())
                .filter(|l| l.kind == crate::analysis::LineKind::Idle)
                .count();
        }
    }
    assert!(idle_lines > 10, "only {idle_lines} idle lines");
}

#[test]
fn a_story_of_more_streams_than_the_role_cache_holds_is_told_as_without_it() {
    // 2 100 short connections, 256 open at a time: streams N and N + 1 024 share a slot of the
    // resolver's cache of recent streams (and have different clients and last frames), and
    // every step after a connection's first opens an idle line at `idle 0`, which is lost if
    // a stream is given another's last frame (its clock forgotten too early).
    use wiretale_fixtures::workload::{write_workload, Format, Shape, Size};
    let mut file = Vec::new();
    write_workload(
        Shape::ManyConns,
        Size::Connections(2_100),
        Format::Pcap,
        &mut file,
    )
    .unwrap();
    let mut reader = crate::capture::CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    let mut recorder = StoryRecorder::default().memory_steps(1_000);
    let report = crate::pipeline::analyze(&mut reader, &AnalyzerConfig::default(), &mut recorder);
    let told = recorder.finish(report, &StoryOptions { idle_secs: 0.0 });
    let lines = told.lines();
    let remembering = told.story.lines_remembering_every_stream(&told.index);
    assert_eq!(json(&lines), json(&remembering));
    assert_eq!(told.columns(), StoryColumns::of_lines(&remembering));
    let idle_streams: std::collections::BTreeSet<u64> = (lines.iter())
        .filter(|l| l.kind == crate::analysis::LineKind::Idle)
        .filter_map(|l| l.stream)
        .collect();
    assert!(
        idle_streams.len() >= 2_000,
        "{} streams idle",
        idle_streams.len()
    );
    assert!(idle_streams.contains(&1_024) && idle_streams.contains(&2_048));
}

/// The directional facts of a connection's TLS, computed the plain way: from each event's
/// sender compared with the final client.
fn directional_reference(conn: &ConnIndex, events: &[&Event]) -> String {
    let mut ccs = [None; 2];
    let mut finished = [None; 2];
    let mut app = [None; 2];
    let mut alerts = Vec::new();
    let mut kept_alerts: Vec<(bool, bool)> = Vec::new();
    let mut last = None;
    let mut certificate = None;
    for e in events {
        let Detail::Tls(m) = &e.detail else { continue };
        let from_client = e.src == Some(conn.client);
        let side = usize::from(!from_client);
        match m {
            TlsMessage::ChangeCipherSpec { .. } => {
                ccs[side].get_or_insert(e.frame);
            }
            TlsMessage::EncryptedHandshake(_) => {
                finished[side].get_or_insert(e.frame);
            }
            TlsMessage::ApplicationData(_) => {
                app[side].get_or_insert(e.frame);
            }
            TlsMessage::Alert(a) => {
                // The cap, spelled out: close_notify while fewer than MAX_ALERTS are kept;
                // other alerts while fewer than MAX_ALERTS of them are kept, or the first
                // fatal one.
                let close = a.description_name == "close_notify";
                let reported = kept_alerts.iter().filter(|(c, _)| !c).count();
                let fatal_kept = kept_alerts.iter().any(|(c, fatal)| !c && *fatal);
                let keep = if close {
                    kept_alerts.len() < MAX_ALERTS
                } else {
                    reported < MAX_ALERTS || (a.level == 2 && !fatal_kept)
                };
                if keep {
                    kept_alerts.push((close, a.level == 2));
                    alerts.push((e.frame, from_client));
                }
            }
            TlsMessage::Handshake(h) if h.handshake_type == 11 && !from_client => {
                certificate = Some(e.frame)
            }
            _ => {}
        }
        if !matches!(m, TlsMessage::ApplicationData(_)) {
            last = Some((e.frame, from_client));
        }
    }
    format!("{ccs:?} {finished:?} {app:?} {alerts:?} {last:?} {certificate:?}")
}

fn directional_folded(p: &TlsProgress) -> String {
    let app = p.app_data.map(|a| a.map(|(first, _, _)| first));
    let alerts: Vec<(u64, bool)> = p.alerts.iter().map(|a| (a.0, a.1)).collect();
    let last = p.last.as_ref().map(|l| (l.0, l.1));
    format!(
        "{:?} {:?} {app:?} {alerts:?} {last:?} {:?}",
        p.ccs, p.finished, p.certificate
    )
}

#[test]
fn tls_sides_are_named_by_the_final_client_whoever_spoke_first() {
    let mut checked = 0;
    for path in every_capture() {
        let a = Analysis::of_path(&path, &AnalyzerConfig::default()).unwrap();
        for conn in a.index.conns.values() {
            let Some(progress) = &conn.tls_progress else {
                continue;
            };
            let events: Vec<&Event> = (a.events.iter())
                .filter(|e| e.stream == Some(conn.stream))
                .collect();
            assert_eq!(
                directional_folded(progress),
                directional_reference(conn, &events),
                "stream {} of {}",
                conn.stream,
                path.display()
            );
            // Start the connection at the server's first TLS message: the fold's first sender
            // is then the server.
            let Some(server_first) = events
                .iter()
                .position(|e| matches!(e.detail, Detail::Tls(_)) && e.src == Some(conn.server))
            else {
                continue;
            };
            let late = &events[server_first..];
            let mut builder = IndexBuilder::default();
            if let Some(flow) = a.flows.iter().find(|f| f.stream == conn.stream) {
                builder.flow(flow);
            }
            for e in late {
                builder.event(e);
            }
            let index = builder.finish(None);
            let folded = index
                .conn(conn.stream)
                .and_then(|c| c.tls_progress.as_ref());
            assert_eq!(
                folded.map(|p| directional_folded(p)),
                Some(directional_reference(conn, late)),
                "stream {} of {} picked up at the server",
                conn.stream,
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} TLS connections checked");
}

fn tcp_event(frame: u64, src: SocketAddr, dst: SocketAddr, c: ConnEvent) -> Event {
    Event {
        frame,
        frames: Frames::one(frame),
        time: Timestamp {
            secs: frame as i64,
            nanos: 0,
        },
        stream: Some(0),
        src: Some(src),
        dst: Some(dst),
        tunnel: None,
        detail: Detail::Tcp(c),
    }
}

#[test]
fn tcp_facts_are_capped_and_named_by_sender() {
    let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let mut b = IndexBuilder::default();
    let rst = |dir| ConnEvent::Rst {
        dir,
        idle_secs: 7.0,
    };
    b.event(&tcp_event(1, client, server, ConnEvent::Syn));
    for frame in 2..2 + MAX_RESETS as u64 + 10 {
        b.event(&tcp_event(frame, server, client, rst(Dir::ToClient)));
    }
    for frame in 1000..1000 + MAX_GAPS as u64 + 5 {
        let gap = ConnEvent::Gap {
            dir: Dir::ToServer,
            offset: 0,
            len: 10,
            cause: GapCause::Snaplen,
        };
        b.event(&tcp_event(frame, client, server, gap));
    }
    let index = b.finish(None);
    let tcp = &index.conn(0).unwrap().tcp;
    assert_eq!(tcp.resets.len(), MAX_RESETS);
    assert_eq!(tcp.resets_not_kept, 10);
    assert!(tcp.resets.iter().all(|r| r.by == Dir::ToClient));
    assert_eq!(tcp.ends.len(), MAX_ENDS);
    assert_eq!(
        tcp.first_close.map(|c| (c.frame, c.by, c.rst)),
        Some((2, Dir::ToClient, true))
    );
    assert_eq!(tcp.gaps.count, MAX_GAPS as u64 + 5);
    assert_eq!(tcp.gaps.first.len(), MAX_GAPS);
    assert_eq!(tcp.gaps.bytes, 10 * (MAX_GAPS as u64 + 5));
    assert!(tcp.gaps.all_snaplen);
    // The detector tells the first MAX_RESETS and says how many more there were.
    let findings = crate::analysis::findings::detect(&index, &Default::default());
    let resets: Vec<_> = findings
        .iter()
        .filter(|f| f.id == "tcp-reset-after-idle")
        .collect();
    assert_eq!(resets.len(), MAX_RESETS);
    let noted: Vec<_> = resets
        .iter()
        .filter(|f| f.evidence.iter().any(|e| e.contains("10 later RSTs")))
        .collect();
    assert_eq!(noted.len(), 1);
}

#[test]
fn the_sender_is_resolved_when_the_flow_summary_names_the_client() {
    // The first event comes from the side the flow summary later calls the server (e.g. a
    // capture picked up mid-connection): closes are named from the final roles.
    let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let b_addr: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let mut b = IndexBuilder::default();
    b.event(&tcp_event(
        5,
        b_addr,
        a,
        ConnEvent::Fin { dir: Dir::ToServer },
    ));
    b.event(&tcp_event(
        6,
        a,
        b_addr,
        ConnEvent::Fin { dir: Dir::ToClient },
    ));
    let index = b.finish(None);
    let conn = index.conn(0).unwrap();
    // Without a summary the first sender is taken as the client.
    assert_eq!(conn.client, b_addr);
    assert_eq!(conn.first_close().map(|c| c.by), Some(Dir::ToServer));
}

#[test]
fn a_story_spilled_to_disk_is_told_the_same() {
    for path in every_capture() {
        let collected = Analysis::of_path(&path, &AnalyzerConfig::default()).unwrap();
        let story = json(&collected.story(&StoryOptions::default()));
        for memory_steps in [1, 7, 1000] {
            let mut recorder = StoryRecorder::default().memory_steps(memory_steps);
            let report = analyze_path(&path, &AnalyzerConfig::default(), &mut recorder).unwrap();
            let told = recorder.finish(report, &StoryOptions::default());
            let mut lines = Vec::new();
            told.for_each_line(|l| lines.push(l.clone())).unwrap();
            assert_eq!(
                json(&lines),
                story,
                "{} with {memory_steps} steps in memory",
                path.display()
            );
            // Measured while the steps were put in order, as the told lines measure.
            assert_eq!(
                told.columns(),
                StoryColumns::of_lines(&lines),
                "{} with {memory_steps} steps in memory",
                path.display()
            );
        }
    }
}

#[test]
fn the_close_after_the_last_tls_message_is_found_whatever_the_order() {
    // A server message held behind a hole is released last with an early frame: the close
    // that counts is the first one, in event order, at or after that message's frame.
    let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let tls = |frame, src, dst| Event {
        detail: Detail::Tls(TlsMessage::ChangeCipherSpec {
            record_version: 0x0303,
        }),
        ..tcp_event(frame, src, dst, ConnEvent::Syn)
    };
    let mut b = IndexBuilder::default();
    b.event(&tcp_event(1, client, server, ConnEvent::Syn));
    b.event(&tcp_event(
        30,
        server,
        client,
        ConnEvent::Fin { dir: Dir::ToClient },
    ));
    b.event(&tls(35, client, server));
    b.event(&tcp_event(
        36,
        client,
        server,
        ConnEvent::Fin { dir: Dir::ToServer },
    ));
    b.event(&tls(15, server, client));
    let index = b.finish(None);
    let conn = index.conn(0).unwrap();
    let first = conn.tcp.ends.first().map(|e| (e.frame, e.by));
    assert_eq!(first, Some((30, Dir::ToClient)));
}

/// A connection still open at the end of the capture: the note that it is still open, and
/// the request the capture's end left unanswered, are told at its last frame and at that
/// frame's time (the note says how long the capture went on), so the story's times never run
/// backwards and no idle line stands before them; the teller, which forgets a stream's clock
/// past its last frame, tells the same as one that remembers every stream.
#[test]
fn an_open_connection_is_told_at_its_last_frame_and_that_frames_time() {
    use crate::capture::CaptureReader;
    use wiretale_fixtures::{AckPolicy, Capture, Dir as FDir, LinkType, PcapOptions, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let mut open = TcpSession::new(([10, 0, 0, 1], 40_000).into(), ([10, 0, 0, 2], 80).into())
        .ack_policy(AckPolicy::Never);
    open.handshake(&mut cap);
    open.send(
        &mut cap,
        FDir::ToServer,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    cap.advance(std::time::Duration::from_secs(30));
    let mut later = TcpSession::new(([10, 0, 0, 1], 40_001).into(), ([10, 0, 0, 2], 80).into());
    later.handshake(&mut cap);
    let file = cap.to_pcap(&PcapOptions::default()).unwrap();
    let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    let mut recorder = StoryRecorder::default();
    let report = crate::pipeline::analyze(&mut reader, &AnalyzerConfig::default(), &mut recorder);
    let told = recorder.finish(report, &StoryOptions::default());
    let lines = told.lines();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let at = |text: &str| {
        lines
            .iter()
            .find(|l| l.text == text)
            .map(|l| (l.frame, l.time))
    };
    let request = at("GET / HTTP/1.1").expect("request");
    assert_eq!(
        at("connection still open at end of capture (30.0 s idle)"),
        Some(request),
        "{texts:#?}"
    );
    assert_eq!(at("capture ended with GET / unanswered"), Some(request));
    assert!(
        !texts.iter().any(|t| t.contains("idle on stream 0")),
        "{texts:#?}"
    );
    for pair in lines.windows(2) {
        assert!(pair[0].time <= pair[1].time, "{texts:#?}");
    }
    assert_eq!(
        json(&lines),
        json(&told.story.lines_remembering_every_stream(&told.index))
    );
}

/// The index of `events` and their story, recorded by `story`.
fn index_and_story(
    events: &[Event],
    mut story: crate::analysis::StoryBuilder,
) -> (Index, crate::analysis::Story) {
    let mut b = IndexBuilder::default();
    for e in events {
        b.event(e);
        story.event(e);
    }
    let index = b.finish(None);
    let told = story.into_story(&index, &StoryOptions::default());
    (index, told)
}

#[test]
fn a_step_merged_into_a_line_does_not_widen_the_columns() {
    // Two steps of one frame, stream, sender and protocol make one line: the second's receiver
    // (longer than the first's) is not shown, so it must not widen the receiver column.
    let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let far: SocketAddr = "192.168.200.200:44443".parse().unwrap();
    let events = [
        tcp_event(1, client, server, ConnEvent::Syn),
        tcp_event(2, client, server, ConnEvent::Fin { dir: Dir::ToServer }),
        tcp_event(2, client, far, ConnEvent::Fin { dir: Dir::ToServer }),
    ];
    let (index, told) = index_and_story(&events, crate::analysis::StoryBuilder::default());
    let lines = told.lines(&index);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let columns = told.columns();
    assert_eq!(columns, StoryColumns::of_lines(&lines));
    assert_eq!(columns.last_frame, 2);
    assert_eq!(columns.to, "server 10.0.0.2:443".len());
    assert_eq!(columns.from, "client 10.0.0.1:5000".len());
}

#[test]
fn a_spilled_story_whose_steps_name_other_parties_is_measured_from_its_steps() {
    // A spilling builder's columns are measured as its steps are recorded, from each
    // connection's two endpoints, whether the steps were spilled or all stayed in memory; a
    // step that names another pair on its connection, or has no connection, is not one the
    // pipeline makes, and the steps are measured one by one instead. Here the third step's
    // receiver, on a line of its own, is the widest.
    let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let far: SocketAddr = "192.168.200.200:44443".parse().unwrap();
    let no_stream = |mut e: Event| {
        e.stream = None;
        e
    };
    let cases: [Vec<Event>; 3] = [
        vec![
            tcp_event(1, client, server, ConnEvent::Syn),
            tcp_event(2, client, server, ConnEvent::Fin { dir: Dir::ToServer }),
        ],
        vec![
            tcp_event(1, client, server, ConnEvent::Syn),
            tcp_event(2, client, server, ConnEvent::Fin { dir: Dir::ToServer }),
            tcp_event(3, client, far, ConnEvent::Fin { dir: Dir::ToServer }),
        ],
        vec![
            tcp_event(1, client, server, ConnEvent::Syn),
            no_stream(tcp_event(
                3,
                client,
                far,
                ConnEvent::Fin { dir: Dir::ToServer },
            )),
        ],
    ];
    for (case, events, memory_steps) in (cases.iter().enumerate())
        .flat_map(|(case, events)| [1, 1000].map(|steps| (case, events, steps)))
    {
        let builder = crate::analysis::StoryBuilder::spilling(memory_steps);
        let (index, told) = index_and_story(events, builder);
        let lines = told.lines(&index);
        assert_eq!(lines.len(), events.len(), "{case}: {lines:?}");
        let columns = told.columns();
        assert_eq!(columns, StoryColumns::of_lines(&lines), "{case}");
        let to = if case == 0 {
            "server 10.0.0.2:443"
        } else {
            "client 192.168.200.200:44443"
        };
        assert_eq!(columns.to, to.len(), "{case}");
        assert_eq!(columns.from, "client 10.0.0.1:5000".len(), "{case}");
        assert_eq!(columns.last_frame, events[events.len() - 1].frame, "{case}");
    }
}

#[test]
fn a_step_merged_into_a_line_of_another_run_does_not_widen_the_columns() {
    // Recorded 5, 9, then 5 again: with one step in memory each goes to a run of its own,
    // and the third, naming another receiver, merges into the first step's line (same
    // frame, stream, sender and protocol), so its receiver is not shown. The steps' columns
    // are measured in told order, not run by run.
    let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:443".parse().unwrap();
    let far: SocketAddr = "192.168.200.200:44443".parse().unwrap();
    let events = [
        tcp_event(5, client, server, ConnEvent::Syn),
        tcp_event(9, client, server, ConnEvent::Syn),
        tcp_event(5, client, far, ConnEvent::Fin { dir: Dir::ToServer }),
    ];
    let (index, told) = index_and_story(&events, crate::analysis::StoryBuilder::spilling(1));
    let lines = told.lines(&index);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(told.columns(), StoryColumns::of_lines(&lines));
    assert_eq!(told.columns().to, "server 10.0.0.2:443".len());
    // Told with another index, a spilled story names no role from it.
    let mut told_lines = 0;
    let other = told.for_each_line(&Index::default(), |_| told_lines += 1);
    assert!(other.is_err());
    assert_eq!(told_lines, 0);
}

#[test]
fn a_spilled_story_measures_a_proxy_as_the_index_names_it() {
    // The widest party is a proxy ("proxy", one letter shorter than "server" or "client"):
    // the columns measured as the steps came take the role from the finished index, as the
    // telling does.
    let client: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let proxy: SocketAddr = "192.168.200.200:44443".parse().unwrap();
    let mut b = IndexBuilder::default();
    let events = [
        tcp_event(1, client, proxy, ConnEvent::Syn),
        tcp_event(2, proxy, client, ConnEvent::Fin { dir: Dir::ToClient }),
    ];
    for e in &events {
        b.event(e);
    }
    let mut index = b.finish(None);
    for is_proxy in [true, false] {
        index.conns.get_mut(&0).unwrap().is_proxy = is_proxy;
        let mut story = crate::analysis::StoryBuilder::spilling(1);
        for e in &events {
            story.event(e);
        }
        let told = story.into_story(&index, &StoryOptions::default());
        let lines = told.lines(&index);
        let columns = told.columns();
        assert_eq!(columns, StoryColumns::of_lines(&lines), "{is_proxy}");
        let role = if is_proxy { "proxy" } else { "server" };
        assert_eq!(lines[0].to.as_ref().unwrap().role, role);
        assert_eq!(columns.to, format!("{role} {proxy}").len());
        assert_eq!(columns.from, format!("{role} {proxy}").len());
    }
}

/// Hands a retiring builder the connections' closings, as the pipeline does, and their final
/// summaries moved `late` frames on, as if late packets had come.
struct LateSummaries {
    builder: IndexBuilder,
    late: u64,
    closings: usize,
    retired_at_close: usize,
}

impl EventSink for LateSummaries {
    fn event(&mut self, event: &Event) {
        self.builder.event(event);
    }
    fn flow(&mut self, flow: &FlowSummary) {
        let mut flow = flow.clone();
        flow.last_frame += self.late;
        self.builder.flow(&flow);
    }
    fn closing(&mut self, flow: FlowSummary) {
        let before = self.builder.len();
        self.builder.closing(&flow);
        self.closings += 1;
        self.retired_at_close += before - self.builder.len();
    }
    fn wants_closing(&self) -> bool {
        self.builder.wants_closing()
    }
}

#[test]
fn a_connection_retired_as_it_closes_takes_its_last_frame_from_the_final_summary() {
    let file = crate::test_support::short_connections_file(300);
    let path = file.path();
    let run = |late: u64, threads: usize| {
        let mut sink = LateSummaries {
            builder: IndexBuilder::retiring_quiet(),
            late,
            closings: 0,
            retired_at_close: 0,
        };
        let config = AnalyzerConfig {
            threads,
            ..AnalyzerConfig::default()
        };
        analyze_path(path, &config, &mut sink).unwrap();
        let (closings, retired) = (sink.closings, sink.retired_at_close);
        (sink.builder.finish(None), closings, retired)
    };
    let (plain, _, _) = run(0, 1);
    for threads in [1, 2] {
        let (index, closings, retired) = run(1000, threads);
        // Every connection closes, and each, being quiet, is retired as it does.
        assert_eq!((closings, retired), (300, 300), "{threads} thread(s)");
        assert!(index.conns.is_empty());
        assert_eq!(index.quiet.len(), 300);
        for q in plain.quiet.iter() {
            let late = index.quiet_conn(q.stream).unwrap();
            assert_eq!(late.last_frame, q.last_frame + 1000, "stream {}", q.stream);
            assert_eq!((late.client, late.server), (q.client, q.server));
        }
    }
    // A builder that keeps every connection is not asked.
    assert!(!IndexBuilder::default().wants_closing());
}

fn write_capture(cap: &wiretale_fixtures::Capture) -> tempfile::NamedTempFile {
    let bytes = cap
        .to_pcap(&wiretale_fixtures::PcapOptions::default())
        .unwrap();
    let file = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    file
}

/// Restarts (the client's same SYN on a closed connection: the same stream), found by a
/// review of the closing hint. A connection retired as it closed and then restarted is
/// folded anew from the restart's events (its retired part is not read back: keeping every
/// fold until its final summary cost 9 % of `story` on short connections and 13 MiB); the
/// story and the diagnosis are those of the collected analysis, and the restart's facts are.
#[test]
fn a_connection_restarted_after_a_quiet_close_tells_the_same_story() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, TcpSession};
    let mut cap = Capture::new(LinkType::Ethernet);
    let (c, s) = (([10, 0, 0, 1], 40_000).into(), ([10, 0, 0, 2], 80).into());
    let mut one = TcpSession::new(c, s).isns(1000, 2000);
    one.handshake(&mut cap);
    one.send(
        &mut cap,
        FDir::ToServer,
        b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    one.send(
        &mut cap,
        FDir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    one.close(&mut cap);
    // The restart is reset: not quiet, so its fold is kept.
    let mut two = TcpSession::new(c, s).isns(1000, 2000);
    two.handshake(&mut cap);
    two.send(
        &mut cap,
        FDir::ToServer,
        b"GET /two HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    two.rst(&mut cap, FDir::ToClient);
    let file = write_capture(&cap);
    let collected = Analysis::of_path(file.path(), &AnalyzerConfig::default()).unwrap();
    let want = collected.index.conns.get(&0).unwrap();
    assert_eq!(want.exchanges.len(), 2);
    for threads in [1, 2] {
        let config = AnalyzerConfig {
            threads,
            ..AnalyzerConfig::default()
        };
        let mut recorder = StoryRecorder::default();
        let report = analyze_path(file.path(), &config, &mut recorder).unwrap();
        let told = recorder.finish(report, &StoryOptions::default());
        let what = format!("{threads} thread(s)");
        assert_eq!(
            json(&told.lines()),
            json(&collected.story(&StoryOptions::default())),
            "{what}"
        );
        assert_eq!(json(&told.diagnosis), json(&collected.diagnosis), "{what}");
        let got = told.index.conns.get(&0).unwrap();
        assert_eq!(
            (got.client, got.server),
            (want.client, want.server),
            "{what}"
        );
        assert_eq!(
            got.flow.as_ref().map(|f| f.last_frame),
            want.flow.as_ref().map(|f| f.last_frame)
        );
        // The restart's exchange and its reset are there; the first run's exchange, retired
        // as it closed, is not.
        let targets: Vec<&str> = got.exchanges.iter().map(|x| x.target.as_str()).collect();
        assert_eq!(targets, ["/two"], "{what}");
        assert!(!got.tcp.resets.is_empty(), "{what}");
    }
}

/// Wraps a recorder without asking for closings (the pipeline as it was before the hint).
struct NoClosing(StoryRecorder<'static>);

impl EventSink for NoClosing {
    fn event(&mut self, e: &Event) {
        self.0.event(e)
    }
    fn take_event(&mut self, e: Event) {
        self.0.take_event(e)
    }
    fn flow(&mut self, f: &FlowSummary) {
        self.0.flow(f)
    }
    fn take_flow(&mut self, f: FlowSummary) {
        self.0.take_flow(f)
    }
}

#[test]
fn the_closing_hint_keeps_the_flow_table_to_its_caps_through_restarts() {
    use wiretale_fixtures::{Capture, Dir as FDir, LinkType, TcpSession};
    // Refused connections retried with the same SYN, the retries unanswered: each retry
    // restarts its connection, which must still count against `max_flows`.
    let mut cap = Capture::new(LinkType::Ethernet);
    for port in 0..50u16 {
        let client = ([10, 0, 0, 1], 40_000 + port).into();
        let mut s = TcpSession::new(client, ([10, 0, 0, 2], 80).into()).isns(1000, 2000);
        s.syn(&mut cap);
        s.refuse(&mut cap);
        s.syn(&mut cap);
    }
    let refused = write_capture(&cap);
    let mut config = AnalyzerConfig::default();
    config.tcp.max_flows = 8;
    let mut with = StoryRecorder::default();
    let a = analyze_path(refused.path(), &config, &mut with).unwrap();
    let mut without = NoClosing(StoryRecorder::default());
    let b = analyze_path(refused.path(), &config, &mut without).unwrap();
    assert!(
        a.stats.tcp.peak_flows <= 8,
        "{} flows",
        a.stats.tcp.peak_flows
    );
    assert_eq!(format!("{:?}", a.stats.tcp), format!("{:?}", b.stats.tcp));

    // A restarted connection closes again, one more closes (two closed ones kept), then a
    // late packet of the first: where the table let it go, the stream numbers must be the
    // same with and without the hint, and as the collected analysis has them.
    let mut cap = Capture::new(LinkType::Ethernet);
    let (c, s) = (([10, 0, 0, 1], 40_000).into(), ([10, 0, 0, 2], 80).into());
    let mut one = TcpSession::new(c, s).isns(1000, 2000);
    one.handshake(&mut cap);
    one.close(&mut cap);
    let mut two = TcpSession::new(c, s).isns(1000, 2000);
    two.handshake(&mut cap);
    two.close(&mut cap);
    let mut other = TcpSession::new(([10, 0, 0, 3], 40_001).into(), s);
    other.handshake(&mut cap);
    other.close(&mut cap);
    two.ack(&mut cap, FDir::ToServer);
    let late = write_capture(&cap);
    let mut config = AnalyzerConfig::default();
    config.tcp.max_closed_flows = 2;
    let collected = Analysis::of_path(late.path(), &config).unwrap();
    let mut with = StoryRecorder::default();
    let a = analyze_path(late.path(), &config, &mut with).unwrap();
    let mut without = NoClosing(StoryRecorder::default());
    let b = analyze_path(late.path(), &config, &mut without).unwrap();
    assert_eq!(a.stats.tcp.streams, collected.report.stats.tcp.streams);
    assert_eq!(format!("{:?}", a.stats.tcp), format!("{:?}", b.stats.tcp));
}

/// One password, one fingerprint, within the process; two passwords, two.
#[test]
fn password_fingerprints_tell_passwords_apart() {
    use crate::analysis::index::password_fingerprint as fp;
    assert_eq!(fp("fail"), fp("fail"));
    assert_ne!(fp("fail"), fp("fail2"));
    let from_threads: Vec<u64> = (0..2)
        .map(|_| std::thread::spawn(|| fp("test")).join().unwrap())
        .collect();
    assert_eq!(from_threads, [fp("test"), fp("test")]);
}

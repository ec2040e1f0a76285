//! Idle polling (`server.idlePollMicros`, `src/spin.rs`): a worker polls through the short gaps
//! between requests instead of sleeping, and sleeps when the work stops.
//!
//! Its own test binary: the figures are the CPU time and context switches of the gateway's
//! worker threads, read from `/proc`, and no other test's gateway may run meanwhile.

#![cfg(target_os = "linux")]

use archway_testkit::TestGateway;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

/// One test at a time: each reads every worker thread of the process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A gateway answering 204 to everything; `None` leaves `idlePollMicros` to its default.
fn yaml(idle_poll_micros: Option<u64>) -> String {
    let server = idle_poll_micros.map_or(String::new(), |us| {
        format!("server:\n  idlePollMicros: {us}\n")
    });
    format!(
        r#"{server}apis:
  - name: a
    protocol: HTTP
    stages: {{ $default: {{}} }}
    routes:
      $default:
        integration: {{ type: MOCK, responses: {{ default: {{ statusCode: "204" }} }} }}
"#
    )
}

/// Voluntary context switches and CPU ticks (user + system) of this process's worker threads.
fn workers() -> (u64, u64) {
    let mut switches = 0;
    let mut ticks = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("archway-worker") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        switches += status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .map_or(0, |v| v.trim().parse::<u64>().unwrap());
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is the 3rd field, utime the 14th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    (switches, ticks)
}

/// `n` requests one after another on one connection, each sent as soon as the last answer is in.
fn requests(gw: &TestGateway, n: usize) {
    let mut s = TcpStream::connect(gw.addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        s.write_all(b"GET /x HTTP/1.1\r\nhost: t\r\n\r\n").unwrap();
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "the gateway closed the connection");
            got.extend_from_slice(&buf[..k]);
        }
        assert!(
            got.starts_with(b"HTTP/1.1 204"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
}

/// Voluntary context switches of the workers per request, over `n` back-to-back requests.
fn switches_per_request(gw: &TestGateway, n: usize) -> f64 {
    requests(gw, 200); // connection set up, and the poller's window learnt
    let (before, _) = workers();
    requests(gw, n);
    let (after, _) = workers();
    (after - before) as f64 / n as f64
}

#[test]
fn a_worker_polls_through_the_gaps_between_requests_instead_of_sleeping() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = 2000;
    // Without polling, the default, the worker sleeps after each answer and is woken by the
    // next request.
    let off = switches_per_request(&TestGateway::start(&yaml(None)), n);
    assert!(off > 0.5, "{off} sleeps per request without polling");
    // With it, the next request comes within the window (a loopback round trip, tens of
    // microseconds), so the worker seldom sleeps.
    let on = switches_per_request(&TestGateway::start(&yaml(Some(1000))), n);
    eprintln!("sleeps per request: {off:.3} without polling, {on:.3} with");
    assert!(
        on < off / 4.0,
        "{on} sleeps per request with polling, {off} without"
    );
}

#[test]
fn a_worker_stops_polling_when_the_work_stops() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let gw = TestGateway::start(&yaml(Some(1000)));
    requests(&gw, 2000);
    let (_, before) = workers();
    std::thread::sleep(Duration::from_millis(1000));
    let (_, after) = workers();
    // A worker that kept polling would use the whole second (100 ticks), each of two workers.
    let ticks = after - before;
    eprintln!("idle workers: {ticks} ticks of CPU in a second");
    assert!(
        ticks <= 10,
        "idle workers used {ticks} ticks of CPU in a second"
    );
}

//! `scoreboard-fanout`: how long one server takes to get a broadcast to every one of many WebSocket
//! watchers, and how much memory each connection costs it.
//!
//! Two servers speak to the same watcher client:
//! - `--server scoreboard`: a notifier. A broadcast is one `ScoreUpdated` event published to its exchange
//!   with publisher confirms, exactly as the outbox relay publishes; the notifier applies it to the Redis
//!   board, re-reads the top 10 and pushes the snapshot.
//! - `--server pusher`: a Pusher-protocol server (Sockudo). A broadcast is one signed
//!   `POST /apps/{id}/events` on the channel every watcher subscribed to, with a payload padded to the
//!   notifier's snapshot size (`--frame-bytes`).
//!
//! Each broadcast carries a marker (`fo-000017`: a user id on the board, or the start of the payload), so a
//! watcher knows which broadcast a frame answers. For every watcher count in `--watchers` (ascending; more
//! watchers connect afresh at each step), it waits until all are connected and the server's memory has
//! settled, then sends `--broadcasts` broadcasts one at a time: the next goes out once every watcher has
//! the previous one (or after `--timeout`) plus `--gap`. Per broadcast it records the time from the trigger
//! to the first, the median and the last watcher; per step it reports percentiles of those over the
//! broadcasts, the watchers that missed one, and the server's resident memory (`--pid`) before any watcher
//! and after connecting them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use scoreboard_bench::net::{authority, open_socket, source_address};
use scoreboard_bench::procs::status_kib;
use scoreboard_bench::stats::{hist, hist_json, hist_row, micros, Res};
use scoreboard_domain::{ScoreUpdated, UserId, SCORE_UPDATED_EVENT_TYPE, SCORE_UPDATED_SCHEMA_VERSION};
use scoreboard_messaging::lapin::Connection;
use scoreboard_messaging::{ConfirmedPublisher, OutgoingEvent, Topology};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const USAGE: &str = "usage: scoreboard-fanout --server scoreboard|pusher --ws-url URL --watchers N[,N...]
  [--broadcasts 20] [--gap-ms 100] [--timeout-ms 10000] [--pid PID] [--baseline-rss-kib N] [--json FILE]
  [--label NAME]
  scoreboard: --amqp-url URL --amqp-prefix PREFIX [--origin ORIGIN]
  pusher:     --rest-url URL --app-id ID --app-secret SECRET [--channel board] --frame-bytes N";

/// Connections opened at once while connecting watchers.
const CONNECTS_IN_FLIGHT: usize = 256;
/// Marks the broadcast a frame answers: `fo-` and six digits.
const MARKER: &str = "fo-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Scoreboard,
    Pusher,
}

#[derive(Debug, Clone)]
struct Args {
    server: Server,
    ws_url: String,
    watchers: Vec<usize>,
    broadcasts: usize,
    gap: Duration,
    timeout: Duration,
    pid: Option<u32>,
    /// The server's resident memory before it had any watcher; read at start when not given.
    baseline_rss_kib: Option<u64>,
    json: Option<String>,
    label: String,
    amqp_url: String,
    amqp_prefix: String,
    origin: String,
    rest_url: String,
    app_id: String,
    app_secret: String,
    channel: String,
    frame_bytes: usize,
}

fn parse_args() -> Res<Args> {
    let mut args = Args {
        server: Server::Scoreboard,
        ws_url: String::new(),
        watchers: Vec::new(),
        broadcasts: 20,
        gap: Duration::from_millis(100),
        timeout: Duration::from_secs(10),
        pid: None,
        baseline_rss_kib: None,
        json: None,
        label: String::new(),
        amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
        amqp_prefix: String::new(),
        origin: "http://127.0.0.1:8080".into(),
        rest_url: String::new(),
        app_id: String::new(),
        app_secret: String::new(),
        channel: "board".into(),
        frame_bytes: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--server" => {
                args.server = match value()?.as_str() {
                    "scoreboard" => Server::Scoreboard,
                    "pusher" => Server::Pusher,
                    other => return Err(format!("unknown server {other:?}\n{USAGE}").into()),
                }
            }
            "--ws-url" => args.ws_url = value()?,
            "--watchers" => {
                args.watchers = value()?
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()?;
            }
            "--broadcasts" => args.broadcasts = value()?.parse()?,
            "--gap-ms" => args.gap = Duration::from_millis(value()?.parse()?),
            "--timeout-ms" => args.timeout = Duration::from_millis(value()?.parse()?),
            "--pid" => args.pid = Some(value()?.parse()?),
            "--baseline-rss-kib" => args.baseline_rss_kib = Some(value()?.parse()?),
            "--json" => args.json = Some(value()?),
            "--label" => args.label = value()?,
            "--amqp-url" => args.amqp_url = value()?,
            "--amqp-prefix" => args.amqp_prefix = value()?,
            "--origin" => args.origin = value()?,
            "--rest-url" => args.rest_url = value()?.trim_end_matches('/').to_owned(),
            "--app-id" => args.app_id = value()?,
            "--app-secret" => args.app_secret = value()?,
            "--channel" => args.channel = value()?,
            "--frame-bytes" => args.frame_bytes = value()?.parse()?,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other}\n{USAGE}").into()),
        }
    }
    if args.ws_url.is_empty() || args.watchers.is_empty() || args.broadcasts == 0 {
        return Err(USAGE.into());
    }
    if !args.watchers.windows(2).all(|w| w[0] < w[1]) {
        return Err("--watchers must be ascending".into());
    }
    match args.server {
        Server::Scoreboard if args.amqp_prefix.is_empty() => {
            return Err(format!("--amqp-prefix is required\n{USAGE}").into())
        }
        Server::Pusher if args.rest_url.is_empty() || args.app_id.is_empty() || args.app_secret.is_empty() => {
            return Err(format!("--rest-url, --app-id and --app-secret are required\n{USAGE}").into())
        }
        _ => {}
    }
    if args.label.is_empty() {
        args.label = match args.server {
            Server::Scoreboard => "notifier".into(),
            Server::Pusher => "sockudo".into(),
        };
    }
    Ok(args)
}

/// The markers of one step start with `fo-<run>-`, so a frame left from an earlier step (the snapshot a
/// notifier sends on connect) is never taken for a broadcast of this one.
fn run_prefix(run: u64) -> String {
    format!("{MARKER}{run}-")
}

fn marker(run: u64, seq: usize) -> String {
    format!("{}{seq:06}", run_prefix(run))
}

/// The broadcast of this step a frame answers, from its first marker.
fn marker_of(text: &str, prefix: &str) -> Option<usize> {
    let at = text.find(prefix)? + prefix.len();
    text.get(at..at + 6)?.parse().ok()
}

/// What the watchers share with the driver: how many have each broadcast, and the largest frame seen.
struct Progress {
    received: Vec<AtomicUsize>,
    connected: AtomicUsize,
    failed: AtomicUsize,
    frame_bytes: AtomicUsize,
}

/// One watcher's record: when it first saw each broadcast (`None`: never).
type Arrivals = Vec<Option<Instant>>;

async fn handshake(args: &Args, index: usize) -> Res<WsStream> {
    let mut request = args.ws_url.as_str().into_client_request()?;
    if args.server == Server::Scoreboard {
        let headers = request.headers_mut();
        headers.insert("sec-websocket-protocol", HeaderValue::from_static("scoreboard.v1"));
        headers.insert("origin", HeaderValue::from_str(&args.origin)?);
    }
    let stream = open_socket(authority(&args.ws_url), source_address(&args.ws_url, index)).await?;
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream).await?;
    if args.server == Server::Pusher {
        // Pusher: wait for the connection, subscribe, wait for the subscription to be confirmed.
        let mut subscribed = false;
        while !subscribed {
            let Some(message) = socket.next().await else {
                return Err("closed during the Pusher handshake".into());
            };
            if let Message::Text(text) = message? {
                let event: Value = serde_json::from_str(text.as_str())?;
                match event["event"].as_str() {
                    Some("pusher:connection_established") => {
                        let subscribe = json!({"event": "pusher:subscribe", "data": {"channel": args.channel}});
                        socket.send(Message::text(subscribe.to_string())).await?;
                    }
                    Some("pusher_internal:subscription_succeeded") => subscribed = true,
                    Some("pusher:error") => return Err(format!("pusher error: {text}").into()),
                    _ => {}
                }
            }
        }
    }
    Ok(socket)
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects, then records the first arrival of every broadcast until told to stop.
async fn watcher(
    args: Arc<Args>,
    index: usize,
    progress: Arc<Progress>,
    prefix: Arc<str>,
    connects: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) -> Arrivals {
    let mut arrivals: Arrivals = vec![None; args.broadcasts];
    let socket = {
        let _permit = connects.acquire().await;
        handshake(&args, index).await
    };
    let mut socket = match socket {
        Ok(socket) => socket,
        Err(error) => {
            if progress.failed.fetch_add(1, Ordering::AcqRel) < 3 {
                eprintln!("watcher {index}: {error}");
            }
            return arrivals;
        }
    };
    progress.connected.fetch_add(1, Ordering::AcqRel);
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = socket.close(None).await;
                return arrivals;
            }
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    let text = text.as_str();
                    if text.contains("pusher:ping") {
                        let _ = socket.send(Message::text(r#"{"event":"pusher:pong","data":{}}"#)).await;
                        continue;
                    }
                    let Some(seq) = marker_of(text, &prefix) else { continue };
                    progress.frame_bytes.fetch_max(text.len(), Ordering::AcqRel);
                    // A frame answers its broadcast and, if the server coalesced, any earlier one missed.
                    for (earlier, slot) in arrivals.iter_mut().enumerate().take(seq + 1) {
                        if slot.is_none() {
                            *slot = Some(at);
                            progress.received[earlier].fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
                Some(Ok(Message::Ping(payload))) => {
                    let _ = socket.send(Message::Pong(payload)).await;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return arrivals,
            }
        }
    }
}

/// Sends the broadcasts.
#[expect(clippy::large_enum_variant, reason = "one value for the whole run")]
enum Trigger {
    Scoreboard {
        publisher: ConfirmedPublisher,
        /// Kept open for the publisher's channel.
        _connection: Connection,
    },
    Pusher(reqwest::Client),
}

impl Trigger {
    async fn open(args: &Args) -> Res<Self> {
        Ok(match args.server {
            Server::Scoreboard => {
                let connection = scoreboard_messaging::connect(&args.amqp_url, "scoreboard-fanout").await?;
                let topology = Topology::new(&args.amqp_prefix, 5, Duration::from_secs(300));
                let publisher = ConfirmedPublisher::open(&connection, topology).await?;
                Self::Scoreboard {
                    publisher,
                    _connection: connection,
                }
            }
            Server::Pusher => Self::Pusher(reqwest::Client::new()),
        })
    }

    /// Sends broadcast `seq` of step `run`; returns when it went out (just before the publish or request).
    async fn send(&self, args: &Args, run: u64, seq: usize) -> Res<Instant> {
        match self {
            Self::Scoreboard { publisher, .. } => {
                let event = ScoreUpdated {
                    event_id: Uuid::new_v4(),
                    schema_version: SCORE_UPDATED_SCHEMA_VERSION,
                    user_id: UserId::parse(&marker(run, seq))?,
                    // Above any real score, and above every earlier step's: each broadcast tops the board.
                    score: i64::try_from(run)? * 1_000 + i64::try_from(seq)?,
                    delta: 1,
                    reached_at: Utc::now(),
                    version: 1,
                };
                let payload = serde_json::to_vec(&event)?;
                let outgoing = OutgoingEvent {
                    id: event.event_id,
                    event_type: SCORE_UPDATED_EVENT_TYPE,
                    schema_version: SCORE_UPDATED_SCHEMA_VERSION,
                    payload: &payload,
                    traceparent: None,
                };
                let sent = Instant::now();
                let acked = publisher.publish_all(&[outgoing]).await?;
                if acked != [true] {
                    return Err("the broker refused the event".into());
                }
                Ok(sent)
            }
            Self::Pusher(client) => {
                let overhead = format!(r#"{{"event":"snapshot","channel":"{}","data":""}}"#, args.channel).len();
                let mut data = marker(run, seq);
                data.push(' ');
                while data.len() + overhead < args.frame_bytes {
                    data.push('x');
                }
                let body = json!({"name": "snapshot", "channel": args.channel, "data": data}).to_string();
                let path = format!("/apps/{}/events", args.app_id);
                let query = format!(
                    "auth_key={}&auth_timestamp={}&auth_version=1.0&body_md5={}",
                    app_key(args),
                    SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
                    hex::encode(Md5::digest(body.as_bytes()))
                );
                let mut mac = Hmac::<Sha256>::new_from_slice(args.app_secret.as_bytes())?;
                mac.update(format!("POST\n{path}\n{query}").as_bytes());
                let signature = hex::encode(mac.finalize().into_bytes());
                let url = format!("{}{path}?{query}&auth_signature={signature}", args.rest_url);
                let request = client.post(url).header("content-type", "application/json").body(body);
                let sent = Instant::now();
                let response = request.send().await?;
                if !response.status().is_success() {
                    return Err(format!("trigger refused: {} {}", response.status(), response.text().await?).into());
                }
                Ok(sent)
            }
        }
    }
}

/// The app key is the part of the WebSocket path after `/app/`.
fn app_key(args: &Args) -> String {
    args.ws_url
        .split("/app/")
        .nth(1)
        .and_then(|rest| rest.split(['?', '/']).next())
        .unwrap_or_default()
        .to_owned()
}

/// Resident and peak memory of `pid` in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let [rss, hwm] = status_kib(pid, ["VmRSS", "VmHWM"]);
    (rss, hwm)
}

async fn wait_until(deadline: Instant, done: impl Fn() -> bool) -> bool {
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// One step: `watchers` connected, `broadcasts` sent one after another.
async fn step(args: &Args, trigger: &Trigger, watchers: usize, rss_before_kib: u64) -> Res<Value> {
    // Milliseconds since the epoch: distinct and growing across steps and invocations on one board.
    let run = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let progress = Arc::new(Progress {
        received: (0..args.broadcasts).map(|_| AtomicUsize::new(0)).collect(),
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        frame_bytes: AtomicUsize::new(0),
    });
    let shared = Arc::new(args.clone());
    let prefix: Arc<str> = Arc::from(run_prefix(run));
    let connects = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let (stop, stopped) = watch::channel(false);
    let connecting = Instant::now();
    let tasks: Vec<_> = (0..watchers)
        .map(|index| {
            tokio::spawn(watcher(
                shared.clone(),
                index,
                progress.clone(),
                prefix.clone(),
                connects.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    let settled = wait_until(Instant::now() + Duration::from_secs(120), || {
        progress.connected.load(Ordering::Acquire) + progress.failed.load(Ordering::Acquire) == watchers
    })
    .await;
    let connected = progress.connected.load(Ordering::Acquire);
    let connect_secs = connecting.elapsed().as_secs_f64();
    eprintln!(
        "{}: {connected}/{watchers} watchers connected in {connect_secs:.1} s{}",
        args.label,
        if settled { "" } else { " (gave up waiting)" }
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_connected_kib, _) = args.pid.map_or((0, 0), memory_kib);

    let mut triggered = Vec::with_capacity(args.broadcasts);
    for seq in 0..args.broadcasts {
        let sent = trigger.send(args, run, seq).await?;
        triggered.push(sent);
        wait_until(sent + args.timeout, || {
            progress.received[seq].load(Ordering::Acquire) >= connected
        })
        .await;
        tokio::time::sleep(args.gap).await;
    }
    let (rss_after_kib, hwm_kib) = args.pid.map_or((0, 0), memory_kib);
    let _ = stop.send(true);
    let mut arrivals = Vec::with_capacity(watchers);
    for task in tasks {
        arrivals.push(task.await?);
    }

    let (mut first, mut median, mut last) = (hist()?, hist()?, hist()?);
    let mut missed = 0u64;
    for (seq, sent) in triggered.iter().enumerate() {
        let mut times: Vec<u64> = arrivals
            .iter()
            .filter_map(|a| a.get(seq).copied().flatten())
            .map(|at| micros(at.saturating_duration_since(*sent)))
            .collect();
        missed += (connected - times.len().min(connected)) as u64;
        times.sort_unstable();
        if let (Some(&lo), Some(&hi)) = (times.first(), times.last()) {
            first.record(lo)?;
            median.record(times[times.len() / 2])?;
            last.record(hi)?;
        }
    }
    let per_connection_kib = if connected > 0 {
        rss_connected_kib.saturating_sub(rss_before_kib) as f64 / connected as f64
    } else {
        f64::NAN
    };
    println!(
        "{}",
        hist_row(&format!("{} {watchers}: first watcher", args.label), &first)
    );
    println!(
        "{}",
        hist_row(&format!("{} {watchers}: median watcher", args.label), &median)
    );
    println!(
        "{}",
        hist_row(&format!("{} {watchers}: last watcher", args.label), &last)
    );
    println!(
        "{} {watchers}: {connected} connected, {missed} missed arrivals, frame {} bytes, RSS {:.1} MiB idle -> {:.1} MiB connected ({per_connection_kib:.1} KiB per connection), {:.1} MiB after the broadcasts, peak {:.1} MiB",
        args.label,
        progress.frame_bytes.load(Ordering::Acquire),
        rss_before_kib as f64 / 1024.0,
        rss_connected_kib as f64 / 1024.0,
        rss_after_kib as f64 / 1024.0,
        hwm_kib as f64 / 1024.0,
    );
    Ok(json!({
        "watchers": watchers,
        "connected": connected,
        "connect_seconds": connect_secs,
        "broadcasts": args.broadcasts,
        "missed_arrivals": missed,
        "frame_bytes": progress.frame_bytes.load(Ordering::Acquire),
        "first": hist_json(&first),
        "median": hist_json(&median),
        "last": hist_json(&last),
        "rss_idle_kib": rss_before_kib,
        "rss_connected_kib": rss_connected_kib,
        "rss_after_kib": rss_after_kib,
        "peak_rss_kib": hwm_kib,
        "per_connection_kib": per_connection_kib,
    }))
}

async fn run(args: Args) -> Res<bool> {
    let trigger = Trigger::open(&args).await?;
    // The server's memory before any watcher, taken once: every step's figure is against it.
    let rss_idle_kib = args
        .baseline_rss_kib
        .unwrap_or_else(|| args.pid.map_or(0, |pid| memory_kib(pid).0));
    println!(
        "{:<38} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "time to reach watchers (ms)", "count", "p50", "p95", "p99", "max"
    );
    let mut steps = Vec::new();
    let mut complete = true;
    for &watchers in &args.watchers {
        let result = step(&args, &trigger, watchers, rss_idle_kib).await?;
        complete &= result["connected"] == watchers && result["missed_arrivals"] == 0;
        steps.push(result);
    }
    if let Some(path) = &args.json {
        let report =
            json!({"label": args.label, "server": format!("{:?}", args.server).to_lowercase(), "steps": steps});
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(complete)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    match run(args).await {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("some watchers did not connect or missed a broadcast");
            std::process::exit(1);
        }
        Err(error) => {
            eprintln!("fan-out benchmark failed: {error}");
            std::process::exit(1);
        }
    }
}

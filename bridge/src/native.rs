//! `native`: the native-messaging host the browser starts for the extension.
//!
//! It speaks browser frames on stdin/stdout and listens on the runtime socket for `mcp`
//! processes, relaying each request as a `call` and each `reply` back to the connection
//! that asked, under that connection's own id (`PROTOCOL.md`).
//!
//! One relay at a time: when the socket already answers, the newcomer logs that another
//! relay serves and exits 0 without touching it (the first browser that turned Agents on
//! keeps them; the extension sees its port close). A socket that does not answer is
//! stale (a relay that was killed) and is replaced.
//!
//! It holds no key and writes nothing but the socket; its log lines name tools, clients
//! and counts, never a query, a title or a text.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};

use crate::endpoint;
use crate::frame::{self, ByteOrder, Event, FrameReader};
use crate::log;
use crate::protocol::{self, code, Call, ErrorBody, Reply, Request, Response, VERSION};
use crate::tools;

/// The extension's id in the Chrome Web Store (and so in Chromium-based browsers).
pub const CHROMIUM_EXTENSION_ID: &str = "dnkhjlpnghhlbdehmmjghobipbgbafcm";
/// The add-on id in Firefox (`browser_specific_settings.gecko.id`).
pub const FIREFOX_EXTENSION_ID: &str = "threadkeeper@threadkeeper.app";
/// An extra id accepted for development (an unpacked extension has its own id).
pub const DEV_ID_ENV: &str = "THREADKEEPER_EXTENSION_ID";

/// Exit code when the caller is not our extension.
pub const EXIT_WRONG_CALLER: i32 = 2;

/// Who started the host, as the browser said on the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Caller {
    /// Started by hand (`threadkeeper-bridge native`) or by a browser that said nothing.
    Unnamed,
    /// Chromium-based: the first argument is `chrome-extension://<id>/`.
    Chromium(String),
    /// Firefox: the manifest's path, then the add-on id.
    Firefox(String),
}

/// True when the browser started us: Chrome's origin or Firefox's manifest path first.
pub fn started_by_browser(first: &str) -> bool {
    first.starts_with("chrome-extension://") || first.ends_with(".json")
}

/// Reads the caller from the arguments after the program name.
pub fn caller(args: &[String]) -> Caller {
    match args.first() {
        Some(origin) if origin.starts_with("chrome-extension://") => {
            Caller::Chromium(origin["chrome-extension://".len()..].trim_end_matches('/').to_string())
        }
        // Firefox passes the manifest path and then the add-on id (Windows Chrome adds
        // `--parent-window=N` after the origin, which is ignored above).
        Some(manifest) if manifest.ends_with(".json") => match args.get(1) {
            Some(id) => Caller::Firefox(id.clone()),
            None => Caller::Unnamed,
        },
        _ => Caller::Unnamed,
    }
}

/// Checks the caller is Threadkeeper.
///
/// # Errors
/// A sentence naming the refused id.
pub fn check_caller(caller: &Caller, dev_id: Option<&str>) -> Result<(), String> {
    let dev = dev_id.filter(|id| !id.is_empty());
    match caller {
        Caller::Unnamed => Ok(()),
        Caller::Chromium(id) if id == CHROMIUM_EXTENSION_ID || Some(id.as_str()) == dev => Ok(()),
        Caller::Firefox(id) if id == FIREFOX_EXTENSION_ID || Some(id.as_str()) == dev => Ok(()),
        Caller::Chromium(id) | Caller::Firefox(id) => Err(format!(
            "refusing to serve the extension `{}`: only Threadkeeper may start this host (set {DEV_ID_ENV} to allow a development id).",
            id.chars().take(80).collect::<String>()
        )),
    }
}

/// A socket connection from an `mcp` process.
struct Conn {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    in_flight: AtomicUsize,
}

impl Conn {
    /// Sends a response; a reply too large for the socket becomes a `too_large` error.
    async fn send(&self, response: &Response) -> bool {
        let frame = frame::encode(ByteOrder::Little, response).or_else(|| {
            frame::encode(
                ByteOrder::Little,
                &Response::error(
                    response.id,
                    code::TOO_LARGE,
                    "Threadkeeper's answer was too large to pass on; ask for less (a smaller limit or budget).",
                ),
            )
        });
        let Some(frame) = frame else { return false };
        frame::write_frame(&mut *self.writer.lock().await, &frame).await.is_ok()
    }
}

/// A request waiting for the browser.
struct Pending {
    conn: Arc<Conn>,
    client_id: u64,
}

struct Relay {
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    stdout: tokio::sync::Mutex<tokio::io::Stdout>,
    timeout: Duration,
}

impl Relay {
    /// Takes a request off the waiting list (reply, timeout or shutdown: whichever first).
    fn finish(&self, id: u64) -> Option<Pending> {
        let pending = self.pending.lock().expect("pending lock").remove(&id)?;
        pending.conn.in_flight.fetch_sub(1, Ordering::SeqCst);
        Some(pending)
    }

    /// Sends `response` to a finished request's connection without holding up the caller.
    fn answer(pending: Pending, mut response: Response) {
        response.id = pending.client_id;
        tokio::spawn(async move { pending.conn.send(&response).await });
    }

    async fn serve_connection(self: Arc<Self>, stream: UnixStream) {
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == endpoint::uid() => {}
            Ok(cred) => {
                log(&format!("refused a connection from uid {} (not this user)", cred.uid()));
                return;
            }
            Err(e) => {
                log(&format!("refused a connection whose user cannot be read: {e}"));
                return;
            }
        }
        let (read, write) = stream.into_split();
        let conn = Arc::new(Conn { writer: tokio::sync::Mutex::new(write), in_flight: AtomicUsize::new(0) });
        let mut reader = FrameReader::new(read, ByteOrder::Little);
        loop {
            let payload = match reader.next().await {
                Ok(Some(Event::Frame(payload))) => payload,
                Ok(Some(Event::Oversized(_))) => {
                    refuse(&conn, "The request is larger than 1 MiB.").await;
                    return;
                }
                Ok(None) | Err(_) => return,
            };
            let request = match frame::parse_object(&payload) {
                Err(e) => Err(format!("The request is not a protocol object: {e}.")),
                Ok(map) => serde_json::from_value::<Request>(Value::Object(map))
                    .map_err(|_| "The request does not have the fields of protocol version 1.".to_string()),
            };
            let request = match request {
                Ok(request) if request.v == VERSION => request,
                Ok(_) => {
                    refuse(&conn, "This bridge speaks protocol version 1.").await;
                    return;
                }
                Err(message) => {
                    refuse(&conn, &message).await;
                    return;
                }
            };
            self.clone().relay(&conn, request).await;
        }
    }

    async fn relay(self: Arc<Self>, conn: &Arc<Conn>, request: Request) {
        let args = match tools::validate(&request.tool, &request.args) {
            Ok(args) => args,
            Err(message) => {
                conn.send(&Response::error(request.id, code::BAD_REQUEST, &message)).await;
                return;
            }
        };
        if conn.in_flight.load(Ordering::SeqCst) >= protocol::MAX_IN_FLIGHT {
            let message = "Too many requests are waiting for the browser; wait for an answer before asking again.";
            conn.send(&Response::error(request.id, code::BUSY, message)).await;
            return;
        }
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let call = Call { v: VERSION, kind: "call".into(), id, client: request.client, tool: request.tool, args };
        let Some(bytes) = frame::encode(ByteOrder::Native, &call) else {
            conn.send(&Response::error(request.id, code::BAD_REQUEST, "The request is larger than 1 MiB.")).await;
            return;
        };
        conn.in_flight.fetch_add(1, Ordering::SeqCst);
        self.pending.lock().expect("pending lock").insert(id, Pending { conn: conn.clone(), client_id: request.id });
        log(&format!("call {id}: {} for {}", call.tool, short(&call.client.name)));

        let relay = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(relay.timeout).await;
            if let Some(pending) = relay.finish(id) {
                log(&format!("call {id}: no answer from the browser in {} s", relay.timeout.as_secs()));
                let message = format!(
                    "Threadkeeper did not answer within {} seconds (the browser may be waiting for the person to allow it); try again.",
                    relay.timeout.as_secs()
                );
                Relay::answer(pending, Response::error(0, code::TIMEOUT, &message));
            }
        });

        let written = frame::write_frame(&mut *self.stdout.lock().await, &bytes).await;
        if written.is_err() {
            if let Some(pending) = self.finish(id) {
                Relay::answer(pending, Response::error(0, code::CLOSED, protocol::CLOSED_MESSAGE));
            }
        }
    }

    fn on_browser_frame(&self, payload: &[u8]) {
        let map = match frame::parse_object(payload) {
            Ok(map) => map,
            Err(e) => return log(&format!("ignored a frame from the browser: {e}")),
        };
        let reply = match serde_json::from_value::<Reply>(Value::Object(map)) {
            Ok(reply) if reply.v == VERSION && reply.kind == "reply" => reply,
            _ => return log("ignored a message from the browser that is not a version 1 reply"),
        };
        let Some(pending) = self.finish(reply.id) else {
            return log(&format!("dropped a reply for unknown call {}", reply.id));
        };
        let response = match (reply.ok, reply.result, reply.error) {
            (true, result, _) => Response::ok(0, result.unwrap_or(Value::Null)),
            (false, _, Some(ErrorBody { code, message })) => Response::error(0, &code, &message),
            (false, _, None) => Response::error(0, "failed", "Threadkeeper could not answer."),
        };
        log(&format!("call {}: answered ({})", reply.id, if response.ok { "ok" } else { "error" }));
        Relay::answer(pending, response);
    }

    /// The browser is gone: every waiting request gets [`code::CLOSED`], each send given a
    /// second at most.
    async fn close_all(&self) {
        let waiting: Vec<Pending> = self.pending.lock().expect("pending lock").drain().map(|(_, p)| p).collect();
        let mut sends = Vec::new();
        for pending in waiting {
            let response = Response::error(pending.client_id, code::CLOSED, protocol::CLOSED_MESSAGE);
            sends.push(tokio::spawn(async move { pending.conn.send(&response).await }));
        }
        for send in sends {
            let _ = tokio::time::timeout(Duration::from_secs(1), send).await;
        }
    }
}

async fn refuse(conn: &Conn, message: &str) {
    conn.send(&Response::error(0, code::BAD_REQUEST, message)).await;
}

fn short(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(60).collect()
}

/// The reply timeout: 150 s, or `THREADKEEPER_BRIDGE_TIMEOUT_MS` (for tests).
pub fn reply_timeout() -> Duration {
    std::env::var("THREADKEEPER_BRIDGE_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(protocol::REPLY_TIMEOUT_SECS))
}

/// What to do about a socket file already in place.
enum Existing {
    None,
    Alive,
    Stale,
}

fn existing(path: &Path) -> Existing {
    if std::fs::symlink_metadata(path).is_err() {
        return Existing::None;
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Existing::Alive,
        Err(_) => Existing::Stale,
    }
}

fn bind(path: &Path) -> std::io::Result<UnixListener> {
    // The folder is already 0700; the umask makes the socket 0600 from its first moment.
    // SAFETY: umask has no preconditions; nothing else in this process creates files.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = listener?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Runs the relay until the browser closes stdin (or a signal); returns the exit code.
pub async fn run() -> i32 {
    let dir = endpoint::runtime_dir();
    if let Err(e) = endpoint::prepare_dir(&dir) {
        log(&e.0);
        return 1;
    }
    let path = endpoint::socket_path(&dir);
    match existing(&path) {
        Existing::None => {}
        Existing::Alive => {
            log(&format!("another relay already serves agents at {}; this one stops.", path.display()));
            return 0;
        }
        Existing::Stale => {
            log("removed a stale socket left by a relay that stopped");
            let _ = std::fs::remove_file(&path);
        }
    }
    let listener = match bind(&path) {
        Ok(listener) => listener,
        Err(e) => {
            log(&format!("cannot listen at {}: {e}", path.display()));
            return 1;
        }
    };
    let identity = std::fs::symlink_metadata(&path).map(|m| (m.dev(), m.ino())).ok();
    log(&format!("listening for agents at {}", path.display()));

    let relay = Arc::new(Relay {
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        stdout: tokio::sync::Mutex::new(tokio::io::stdout()),
        timeout: reply_timeout(),
    });
    let acceptor = relay.clone();
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(acceptor.clone().serve_connection(stream));
                }
                Err(e) => {
                    log(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });

    read_browser(&relay).await;
    relay.close_all().await;
    remove_socket(&path, identity);
    0
}

/// Reads the browser's frames until stdin ends or a stop signal arrives.
async fn read_browser(relay: &Relay) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut reader = FrameReader::new(tokio::io::stdin(), ByteOrder::Native);
    loop {
        tokio::select! {
            event = reader.next() => match event {
                Ok(Some(Event::Frame(payload))) => relay.on_browser_frame(&payload),
                Ok(Some(Event::Oversized(len))) => log(&format!("skipped a frame of {len} bytes from the browser (over the 1 MiB cap)")),
                Ok(None) => return log("the browser closed the connection; stopping"),
                Err(e) => return log(&format!("the browser's stream ended ({e}); stopping")),
            },
            Some(()) = recv(&mut term) => return log("stopped by SIGTERM"),
            Some(()) = recv(&mut int) => return log("stopped by SIGINT"),
        }
    }
}

async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

/// Removes the socket when it is still the one this relay made.
fn remove_socket(path: &PathBuf, identity: Option<(u64, u64)>) {
    let now = std::fs::symlink_metadata(path).map(|m| (m.dev(), m.ino())).ok();
    if now.is_some() && now == identity {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chrome_and_firefox_callers_are_read_from_their_arguments() {
        assert_eq!(
            caller(&args(&["chrome-extension://dnkhjlpnghhlbdehmmjghobipbgbafcm/", "--parent-window=0"])),
            Caller::Chromium(CHROMIUM_EXTENSION_ID.into())
        );
        assert_eq!(
            caller(&args(&[
                "/home/a/.mozilla/native-messaging-hosts/app.threadkeeper.bridge.json",
                FIREFOX_EXTENSION_ID
            ])),
            Caller::Firefox(FIREFOX_EXTENSION_ID.into())
        );
        assert_eq!(caller(&args(&["/x/app.json"])), Caller::Unnamed);
        assert!(started_by_browser("chrome-extension://abc/") && started_by_browser("/a/b.json"));
        assert!(!started_by_browser("native"));
    }

    #[test]
    fn only_threadkeeper_or_the_development_id_may_call() {
        assert!(check_caller(&Caller::Chromium(CHROMIUM_EXTENSION_ID.into()), None).is_ok());
        assert!(check_caller(&Caller::Firefox(FIREFOX_EXTENSION_ID.into()), None).is_ok());
        assert!(check_caller(&Caller::Chromium("aaaa".into()), None).is_err());
        assert!(check_caller(&Caller::Chromium("aaaa".into()), Some("aaaa")).is_ok());
        assert!(check_caller(&Caller::Firefox("evil@x".into()), Some("")).is_err());
        assert!(check_caller(&Caller::Unnamed, None).is_ok());
    }
}

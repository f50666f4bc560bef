//! End to end: the built binary as the browser starts it (`native`, the test plays the
//! browser on its stdin/stdout) and as an agent starts it (`mcp`, spoken to by rmcp's own
//! client over a child process), with a real socket in a temporary runtime folder.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{Peer, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const BIN: &str = env!("CARGO_BIN_EXE_threadkeeper-bridge");
const WAIT: Duration = Duration::from_secs(10);

fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tk-bridge-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test as the browser: it owns the relay's stdin and stdout.
struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

impl Browser {
    async fn start(runtime: &Path) -> Browser {
        Browser::start_with(runtime, &[]).await
    }

    async fn start_with(runtime: &Path, env: &[(&str, &str)]) -> Browser {
        let mut command = Command::new(BIN);
        command
            .arg("chrome-extension://dnkhjlpnghhlbdehmmjghobipbgbafcm/")
            .env("THREADKEEPER_RUNTIME_DIR", runtime)
            .env_remove("THREADKEEPER_EXTENSION_ID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let socket = runtime.join("bridge.sock");
        let start = Instant::now();
        // Until the socket answers (a stale one left by a killed relay exists but refuses).
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(start.elapsed() < WAIT, "the relay never made its socket");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Browser { child, stdin, stdout }
    }

    async fn next_call(&mut self) -> Value {
        let read = async {
            let mut len = [0u8; 4];
            self.stdout.read_exact(&mut len).await.unwrap();
            let mut payload = vec![0; u32::from_ne_bytes(len) as usize];
            self.stdout.read_exact(&mut payload).await.unwrap();
            serde_json::from_slice::<Value>(&payload).unwrap()
        };
        tokio::time::timeout(WAIT, read).await.expect("no call reached the browser")
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).await.unwrap();
        stdin.flush().await.unwrap();
    }

    async fn reply(&mut self, reply: Value) {
        let payload = serde_json::to_vec(&reply).unwrap();
        let mut bytes = (payload.len() as u32).to_ne_bytes().to_vec();
        bytes.extend(payload);
        self.send_raw(&bytes).await;
    }

    async fn reply_ok(&mut self, id: &Value, result: Value) {
        self.reply(json!({"v": 1, "kind": "reply", "id": id, "ok": true, "result": result})).await;
    }

    /// Answers the `tools` question the agent's tool list asks.
    async fn answer_tools(&mut self, remember: bool) -> Value {
        let call = self.next_call().await;
        assert_eq!(call["tool"], "tools");
        self.reply_ok(&call["id"], json!({"remember": remember})).await;
        call
    }

    async fn close(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        tokio::time::timeout(WAIT, self.child.wait()).await.expect("the relay did not stop").unwrap()
    }
}

type Agent = RunningService<RoleClient, ClientConfig>;

async fn agent(runtime: &Path, env: &[(&str, &str)]) -> Agent {
    let command = Command::new(BIN).configure(|cmd| {
        cmd.arg("mcp").env("THREADKEEPER_RUNTIME_DIR", runtime);
        for (key, value) in env {
            cmd.env(key, value);
        }
    });
    let info = ClientConfig::new(ClientCapabilities::default(), Implementation::new("test-agent", "9.8.7"));
    info.serve(TokioChildProcess::new(command).unwrap()).await.unwrap()
}

async fn call_tool(peer: &Peer<RoleClient>, tool: &'static str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool).with_arguments(args.as_object().unwrap().clone());
    tokio::time::timeout(Duration::from_secs(30), peer.call_tool(params)).await.expect("the tool call hung").unwrap()
}

fn text(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<Vec<_>>().join("\n")
}

fn tool_names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_a_browser_sees_the_three_read_tools_and_is_told_to_open_it() {
    let runtime = temp_dir("none").join("rt");
    let agent = agent(&runtime, &[]).await;
    let tools = agent.list_all_tools().await.unwrap();
    assert_eq!(tool_names(&tools), ["search_chats", "get_context", "list_recent"]);
    assert!(tools[0].description.as_deref().unwrap().starts_with("Search the person's saved AI chats"));
    let result = call_tool(&agent, "search_chats", json!({"query": "anything"})).await;
    assert_eq!(result.is_error, Some(true));
    assert_eq!(
        text(&result),
        "Threadkeeper is not reachable: open your browser with Threadkeeper, and turn on Agents in its vault page."
    );
    agent.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_is_listed_only_when_the_extension_allows_it() {
    let runtime = temp_dir("tools").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    let peer = agent.peer().clone();

    let listing = tokio::spawn(async move { peer.list_all_tools().await.unwrap() });
    let asked = browser.answer_tools(false).await;
    assert_eq!(asked["client"], json!({"name": "test-agent", "version": "9.8.7"}));
    assert_eq!(asked["args"], json!({}));
    assert_eq!(asked["kind"], "call");
    assert_eq!(tool_names(&listing.await.unwrap()), ["search_chats", "get_context", "list_recent"]);

    let peer = agent.peer().clone();
    let listing = tokio::spawn(async move { peer.list_all_tools().await.unwrap() });
    browser.answer_tools(true).await;
    assert_eq!(tool_names(&listing.await.unwrap()), ["search_chats", "get_context", "list_recent", "remember"]);

    agent.cancel().await.unwrap();
    assert!(browser.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_reaches_the_browser_with_its_arguments_and_client_and_comes_back_numbered() {
    let runtime = temp_dir("search").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    let peer = agent.peer().clone();

    let searching = tokio::spawn(async move {
        call_tool(&peer, "search_chats", json!({"query": "borrow checker", "site": "claude"})).await
    });
    let call = browser.next_call().await;
    assert_eq!(call["v"], 1);
    assert_eq!(call["tool"], "search_chats");
    assert_eq!(call["client"]["name"], "test-agent");
    assert_eq!(call["args"], json!({"query": "borrow checker", "site": "claude", "limit": 10}));
    browser
        .reply_ok(
            &call["id"],
            json!({"total": 1, "hits": [{"conversation": "c-42", "site": "claude", "title": "Lifetimes in Rust",
                "date": "2026-11-30", "url": "https://claude.ai/chat/42", "role": "assistant", "snippet": "The borrow checker wants..."}]}),
        )
        .await;
    let result = searching.await.unwrap();
    assert_ne!(result.is_error, Some(true));
    assert_eq!(
        text(&result),
        "1 saved chat matched:\n\n1. Lifetimes in Rust (claude, 2026-11-30)\n   url: https://claude.ai/chat/42\n   \
conversation: c-42\n   assistant: The borrow checker wants...\n\nCall get_context with a conversation id to read that conversation."
    );

    // get_context gives the block itself.
    let peer = agent.peer().clone();
    let reading = tokio::spawn(async move { call_tool(&peer, "get_context", json!({"conversation": "c-42"})).await });
    let call = browser.next_call().await;
    assert_eq!(call["args"], json!({"conversation": "c-42"}));
    browser
        .reply_ok(&call["id"], json!({"conversation": "c-42", "title": "T", "block": "# Lifetimes\n\nuser: ..."}))
        .await;
    assert_eq!(text(&reading.await.unwrap()), "# Lifetimes\n\nuser: ...");

    agent.cancel().await.unwrap();
    assert!(browser.close().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_from_the_extension_is_a_tool_error_in_its_own_words() {
    let runtime = temp_dir("error").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    let peer = agent.peer().clone();
    let listing = tokio::spawn(async move { call_tool(&peer, "list_recent", json!({"limit": 3})).await });
    let call = browser.next_call().await;
    assert_eq!(call["args"], json!({"limit": 3}));
    let message = "The vault is locked: unlock Threadkeeper in the browser, then ask again.";
    browser.reply(json!({"v": 1, "kind": "reply", "id": call["id"], "ok": false, "error": {"code": "locked", "message": message}})).await;
    let result = listing.await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert_eq!(text(&result), message);
    agent.cancel().await.unwrap();
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_arguments_never_reach_the_browser() {
    let runtime = temp_dir("invalid").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    for (tool, args, says) in [
        ("search_chats", json!({"query": "x", "limit": 99}), "`limit` must be a whole number from 1 to 50."),
        ("search_chats", json!({"query": ""}), "`query` must be 1 to 512 characters long"),
        ("list_recent", json!({"site": "myspace"}), "`site` must be one of: chatgpt, claude"),
        (
            "get_context",
            json!({"conversation": "c", "budget_tokens": 50}),
            "`budget_tokens` must be a whole number from 200",
        ),
        ("remember", json!({"title": "t"}), "remember needs the argument `text`."),
        ("delete_everything", json!({}), "There is no tool named `delete_everything`."),
    ] {
        let result = call_tool(&agent, tool, args).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        assert!(text(&result).starts_with(says), "{tool}: {}", text(&result));
    }
    // The first thing the browser sees is the valid call made after them all.
    let peer = agent.peer().clone();
    let valid = tokio::spawn(async move { call_tool(&peer, "list_recent", json!({})).await });
    let call = browser.next_call().await;
    assert_eq!(call["tool"], "list_recent");
    browser.reply_ok(&call["id"], json!({"conversations": []})).await;
    assert_eq!(text(&valid.await.unwrap()), "No saved chats yet.");
    agent.cancel().await.unwrap();
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_relay_mid_request_tells_the_agent_the_connection_was_lost() {
    let runtime = temp_dir("kill").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    let peer = agent.peer().clone();
    let searching = tokio::spawn(async move { call_tool(&peer, "search_chats", json!({"query": "plans"})).await });
    browser.next_call().await;
    browser.child.kill().await.unwrap();
    let result = searching.await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert_eq!(text(&result), "The connection to the browser was lost while Threadkeeper was answering; try again.");

    // The killed relay left its socket; the next one sees it is stale and takes its place.
    assert!(runtime.join("bridge.sock").exists());
    let mut browser = Browser::start(&runtime).await;
    let peer = agent.peer().clone();
    let searching = tokio::spawn(async move { call_tool(&peer, "list_recent", json!({})).await });
    let call = browser.next_call().await;
    browser.reply_ok(&call["id"], json!({"conversations": []})).await;
    assert_ne!(searching.await.unwrap().is_error, Some(true));
    agent.cancel().await.unwrap();
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_browser_answers_waiting_requests_and_removes_the_socket() {
    let runtime = temp_dir("eof").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    let peer = agent.peer().clone();
    let searching = tokio::spawn(async move { call_tool(&peer, "search_chats", json!({"query": "plans"})).await });
    browser.next_call().await;
    let status = browser.close().await;
    assert_eq!(status.code(), Some(0));
    let result = searching.await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert_eq!(text(&result), "The browser closed the connection to Threadkeeper.");
    assert!(!runtime.join("bridge.sock").exists(), "the socket must be removed");
    agent.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_folder_is_private_and_a_folder_open_to_others_is_refused() {
    let runtime = temp_dir("perm").join("rt");
    let browser = Browser::start(&runtime).await;
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&runtime), 0o700);
    assert_eq!(mode(&runtime.join("bridge.sock")), 0o600);
    browser.close().await;

    let open = temp_dir("open");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = std::process::Command::new(BIN)
        .arg("native")
        .env("THREADKEEPER_RUNTIME_DIR", &open)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is open to other users (mode 755)"));
    assert!(!open.join("bridge.sock").exists());

    // The agent side refuses the same folder with a sentence saying why.
    let agent = agent(&open, &[]).await;
    let result = call_tool(&agent, "list_recent", json!({})).await;
    assert!(text(&result).starts_with("Threadkeeper's bridge refused to connect: The folder"), "{}", text(&result));
    agent.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_extension_cannot_start_the_relay() {
    let runtime = temp_dir("origin").join("rt");
    for args in [
        vec!["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"],
        vec!["/home/x/.mozilla/native-messaging-hosts/app.threadkeeper.bridge.json", "evil@example.org"],
    ] {
        let output = std::process::Command::new(BIN)
            .args(&args)
            .env("THREADKEEPER_RUNTIME_DIR", &runtime)
            .env_remove("THREADKEEPER_EXTENSION_ID")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("only Threadkeeper may start this host"));
        assert!(!runtime.exists(), "a refused caller must not create anything");
    }
    // A development id is accepted when named in the environment.
    let output = std::process::Command::new(BIN)
        .args(["/x/app.threadkeeper.bridge.json", "dev@example.org"])
        .env("THREADKEEPER_RUNTIME_DIR", &runtime)
        .env("THREADKEEPER_EXTENSION_ID", "dev@example.org")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The test as a raw socket client, for what rmcp's side never sends.
struct Raw(UnixStream);

impl Raw {
    async fn connect(runtime: &Path) -> Raw {
        Raw(UnixStream::connect(runtime.join("bridge.sock")).await.unwrap())
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).await.unwrap();
    }

    async fn send(&mut self, value: Value) {
        let payload = serde_json::to_vec(&value).unwrap();
        let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
        bytes.extend(payload);
        self.send_bytes(&bytes).await;
    }

    /// The next response, or None when the relay closed the connection.
    async fn receive(&mut self) -> Option<Value> {
        let read = async {
            let mut len = [0u8; 4];
            self.0.read_exact(&mut len).await.ok()?;
            let mut payload = vec![0; u32::from_le_bytes(len) as usize];
            self.0.read_exact(&mut payload).await.ok()?;
            Some(serde_json::from_slice(&payload).unwrap())
        };
        tokio::time::timeout(WAIT, read).await.expect("no response from the relay")
    }
}

fn request(id: u64, tool: &str, args: Value) -> Value {
    json!({"v": 1, "id": id, "client": {"name": "raw", "version": "0"}, "tool": tool, "args": args})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_malformed_requests_are_refused_and_their_connection_closed() {
    let runtime = temp_dir("raw").join("rt");
    let browser = Browser::start(&runtime).await;
    let cases: [(&str, Vec<u8>); 4] = [
        ("oversized", ((1u32 << 20) + 1).to_le_bytes().to_vec()),
        ("not JSON", [&5u32.to_le_bytes()[..], b"{nope"].concat()),
        ("not an object", [&2u32.to_le_bytes()[..], b"[]"].concat()),
        ("wrong version", {
            let p = serde_json::to_vec(
                &json!({"v": 2, "id": 1, "client": {"name": "a", "version": "1"}, "tool": "tools", "args": {}}),
            )
            .unwrap();
            [&(p.len() as u32).to_le_bytes()[..], &p].concat()
        }),
    ];
    for (what, bytes) in cases {
        let mut raw = Raw::connect(&runtime).await;
        raw.send_bytes(&bytes).await;
        let response = raw.receive().await.unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(response["id"], 0, "{what}");
        assert_eq!(response["ok"], false);
        assert_eq!(response["error"]["code"], "bad_request", "{what}");
        assert!(raw.receive().await.is_none(), "{what}: the connection must be closed");
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seventeenth_waiting_request_is_refused_as_busy() {
    let runtime = temp_dir("busy").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let mut raw = Raw::connect(&runtime).await;
    for id in 1..=16 {
        raw.send(request(id, "list_recent", json!({}))).await;
    }
    let mut calls = Vec::new();
    for _ in 0..16 {
        calls.push(browser.next_call().await);
    }
    raw.send(request(17, "list_recent", json!({}))).await;
    let refused = raw.receive().await.unwrap();
    assert_eq!(refused["id"], 17);
    assert_eq!(refused["error"]["code"], "busy");
    // One answer frees a place; ids come back as the connection's own.
    browser.reply_ok(&calls[4]["id"], json!({"conversations": []})).await;
    let answered = raw.receive().await.unwrap();
    assert_eq!(answered, json!({"v": 1, "id": 5, "ok": true, "result": {"conversations": []}}));
    raw.send(request(18, "list_recent", json!({}))).await;
    assert_eq!(browser.next_call().await["tool"], "list_recent");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_from_the_browser_is_skipped_and_the_relay_stays_in_step() {
    let runtime = temp_dir("junk").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let mut raw = Raw::connect(&runtime).await;
    raw.send(request(7, "search_chats", json!({"query": "q"}))).await;
    let call = browser.next_call().await;

    // An oversized frame (2 MiB of '{'), a frame that is not JSON, one not UTF-8, an empty
    // one, a reply for an id nobody asked: each skipped, then the real reply still lands.
    let big = vec![b'{'; 2 << 20];
    browser.send_raw(&[&(big.len() as u32).to_ne_bytes()[..], &big].concat()).await;
    browser.send_raw(&[&3u32.to_ne_bytes()[..], b"{{{"].concat()).await;
    browser.send_raw(&[&2u32.to_ne_bytes()[..], b"\xff\xfe"].concat()).await;
    browser.send_raw(&0u32.to_ne_bytes()).await;
    browser.reply(json!({"v": 1, "kind": "reply", "id": 999_999, "ok": true, "result": "not yours"})).await;
    browser.reply_ok(&call["id"], json!({"total": 0, "hits": []})).await;
    assert_eq!(raw.receive().await.unwrap(), json!({"v": 1, "id": 7, "ok": true, "result": {"total": 0, "hits": []}}));
    let status = browser.close().await;
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_browser_never_answers_times_out() {
    let runtime = temp_dir("timeout").join("rt");
    let mut browser = Browser::start_with(&runtime, &[("THREADKEEPER_BRIDGE_TIMEOUT_MS", "300")]).await;
    let agent = agent(&runtime, &[("THREADKEEPER_BRIDGE_TIMEOUT_MS", "300")]).await;
    let peer = agent.peer().clone();
    let searching = tokio::spawn(async move { call_tool(&peer, "search_chats", json!({"query": "plans"})).await });
    let call = browser.next_call().await;
    let result = searching.await.unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).starts_with("Threadkeeper did not answer within 0 seconds"), "{}", text(&result));
    // A late reply is dropped; the relay carries on.
    browser.reply_ok(&call["id"], json!({"total": 0, "hits": []})).await;
    let mut raw = Raw::connect(&runtime).await;
    raw.send(request(1, "tools", json!({}))).await;
    let call = browser.next_call().await;
    browser.reply_ok(&call["id"], json!({"remember": false})).await;
    assert_eq!(raw.receive().await.unwrap()["result"], json!({"remember": false}));
    agent.cancel().await.unwrap();
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_relay_leaves_the_first_one_serving() {
    let runtime = temp_dir("second").join("rt");
    let mut first = Browser::start(&runtime).await;
    let output = std::process::Command::new(BIN)
        .arg("native")
        .env("THREADKEEPER_RUNTIME_DIR", &runtime)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("another relay already serves agents"));
    let mut raw = Raw::connect(&runtime).await;
    raw.send(request(3, "tools", json!({}))).await;
    let call = first.next_call().await;
    first.reply_ok(&call["id"], json!({"remember": true})).await;
    assert_eq!(raw.receive().await.unwrap()["id"], 3);
    first.close().await;
}

#[test]
fn install_writes_the_manifest_where_each_browser_reads_it() {
    let home = temp_dir("home");
    let profile = home.join("chromium-profile");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(BIN).arg("install").args(args).env("HOME", &home).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let exe = std::fs::canonicalize(BIN).unwrap();

    let printed = run(&["--browser", "chromium", "--profile", profile.to_str().unwrap()]);
    let path = profile.join("NativeMessagingHosts/app.threadkeeper.bridge.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        manifest,
        json!({"name": "app.threadkeeper.bridge", "description": manifest["description"], "path": exe.to_str().unwrap(),
            "type": "stdio", "allowed_origins": ["chrome-extension://dnkhjlpnghhlbdehmmjghobipbgbafcm/"]})
    );
    assert!(printed.contains(&path.display().to_string()));
    assert!(printed.contains(&format!("claude mcp add threadkeeper -- {} mcp", exe.display())));
    assert!(printed.contains("\"mcpServers\""));

    run(&["--browser", "firefox"]);
    let path = home.join(".mozilla/native-messaging-hosts/app.threadkeeper.bridge.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(manifest["allowed_extensions"], json!(["threadkeeper@threadkeeper.app"]));
    assert_eq!(manifest["type"], "stdio");
    assert!(manifest.get("allowed_origins").is_none());

    run(&["--browser", "chrome", "--extension-id", &"b".repeat(32)]);
    let path = home.join(".config/google-chrome/NativeMessagingHosts/app.threadkeeper.bridge.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(manifest["allowed_origins"], json!([format!("chrome-extension://{}/", "b".repeat(32))]));

    let refused =
        std::process::Command::new(BIN).args(["install", "--browser", "safari"]).env("HOME", &home).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn help_says_how_to_use_each_command() {
    let output = std::process::Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in
        ["threadkeeper-bridge mcp", "install --browser chromium|chrome|firefox", "make install-bridge", "native"]
    {
        assert!(help.contains(needle), "{needle}");
    }
}

/// Not a check but a figure: agent tool call -> relay -> test browser -> formatted text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_timing_over_200_calls() {
    let runtime = temp_dir("timing").join("rt");
    let mut browser = Browser::start(&runtime).await;
    let agent = agent(&runtime, &[]).await;
    let hits: Vec<Value> = (0..10)
        .map(|i| json!({"conversation": format!("c{i}"), "site": "chatgpt", "title": "A title", "date": "2026-11-30", "url": "https://chatgpt.com/c/1", "role": "user", "snippet": "a snippet of text"}))
        .collect();
    let answerer = tokio::spawn(async move {
        for _ in 0..200 {
            let call = browser.next_call().await;
            browser.reply_ok(&call["id"], json!({"total": 10, "hits": hits})).await;
        }
        browser
    });
    let mut times = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let result = call_tool(&agent, "search_chats", json!({"query": "title"})).await;
        times.push(start.elapsed());
        assert_ne!(result.is_error, Some(true));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "round trip over 200 calls: p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        ms(times[99]),
        ms(times[189]),
        ms(times[199])
    );
    let browser = answerer.await.unwrap();
    agent.cancel().await.unwrap();
    browser.close().await;
}

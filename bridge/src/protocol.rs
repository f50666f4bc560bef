//! The objects carried in frames, version 1 (schema and rules: `PROTOCOL.md`).
//!
//! ```text
//! mcp ──Request──▶ native ──Call──▶ browser
//! mcp ◀─Response── native ◀─Reply── browser
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version, in every object as `v`.
pub const VERSION: u64 = 1;

/// Requests a socket connection may have waiting at once; more get `busy`.
pub const MAX_IN_FLIGHT: usize = 16;

/// How long a request waits for the browser before it gets `timeout`.
pub const REPLY_TIMEOUT_SECS: u64 = 150;

/// The agent program on the other side of MCP, as it named itself in `initialize`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Client {
    pub name: String,
    pub version: String,
}

/// mcp -> native, on the socket.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub v: u64,
    pub id: u64,
    pub client: Client,
    /// One of the four tool names, or `tools` (which tools this client may see).
    pub tool: String,
    pub args: Map<String, Value>,
}

/// native -> browser, on stdout. `kind` is always `"call"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Call {
    pub v: u64,
    pub kind: String,
    pub id: u64,
    pub client: Client,
    pub tool: String,
    pub args: Map<String, Value>,
}

/// browser -> native, on stdin. `kind` is always `"reply"`; `result` when `ok`,
/// `error` when not.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Reply {
    pub v: u64,
    pub kind: String,
    pub id: u64,
    pub ok: bool,
    #[serde(default)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// native -> mcp, on the socket: the reply under the connection's own id.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Response {
    pub v: u64,
    pub id: u64,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// An error for a person to read: a stable `code` and a sentence.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl Response {
    pub fn ok(id: u64, result: Value) -> Self {
        Response { v: VERSION, id, ok: true, result: Some(result), error: None }
    }

    pub fn error(id: u64, code: &str, message: &str) -> Self {
        Response {
            v: VERSION,
            id,
            ok: false,
            result: None,
            error: Some(ErrorBody { code: code.into(), message: message.into() }),
        }
    }
}

/// The error codes the bridge itself produces (the extension has its own: `locked`,
/// `denied`, `disabled`, `limit`, `not_found`, ...).
pub mod code {
    pub const BAD_REQUEST: &str = "bad_request";
    pub const BUSY: &str = "busy";
    pub const TIMEOUT: &str = "timeout";
    pub const CLOSED: &str = "closed";
    pub const TOO_LARGE: &str = "too_large";
}

/// The sentence sent with [`code::CLOSED`].
pub const CLOSED_MESSAGE: &str = "The browser closed the connection to Threadkeeper.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_reads_from_its_documented_form() {
        let text = r#"{"v":1,"id":7,"client":{"name":"Claude Code","version":"2.1"},"tool":"search_chats","args":{"query":"rust"}}"#;
        let request: Request = serde_json::from_str(text).unwrap();
        assert_eq!(request.id, 7);
        assert_eq!(request.client.name, "Claude Code");
        assert_eq!(serde_json::to_string(&request).unwrap(), text, "pinned: field order and names");
    }

    #[test]
    fn a_call_and_a_response_write_their_documented_form() {
        let call = Call {
            v: VERSION,
            kind: "call".into(),
            id: 3,
            client: Client { name: "a".into(), version: "1".into() },
            tool: "tools".into(),
            args: Map::new(),
        };
        assert_eq!(
            serde_json::to_string(&call).unwrap(),
            r#"{"v":1,"kind":"call","id":3,"client":{"name":"a","version":"1"},"tool":"tools","args":{}}"#
        );
        assert_eq!(
            serde_json::to_string(&Response::ok(4, json!({"remember": true}))).unwrap(),
            r#"{"v":1,"id":4,"ok":true,"result":{"remember":true}}"#
        );
        assert_eq!(
            serde_json::to_string(&Response::error(0, "bad_request", "No.")).unwrap(),
            r#"{"v":1,"id":0,"ok":false,"error":{"code":"bad_request","message":"No."}}"#
        );
    }

    #[test]
    fn a_reply_reads_both_shapes() {
        let ok: Reply = serde_json::from_str(r#"{"v":1,"kind":"reply","id":9,"ok":true,"result":[1]}"#).unwrap();
        assert_eq!(ok.result, Some(json!([1])));
        let err: Reply = serde_json::from_str(
            r#"{"v":1,"kind":"reply","id":9,"ok":false,"error":{"code":"locked","message":"Unlock it."}}"#,
        )
        .unwrap();
        assert_eq!(err.error.unwrap().code, "locked");
    }
}

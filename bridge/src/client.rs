//! The `mcp` side of the socket: one connection per request, to the relay of this user.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::net::UnixStream;

use crate::endpoint;
use crate::frame::{self, ByteOrder, Event, FrameReader};
use crate::protocol::{Request, Response};

/// Why a request got no answer from the extension. Each has a sentence for a person.
#[derive(Debug, PartialEq, Eq)]
pub enum CallError {
    /// No relay: the browser is closed, or Agents is off in the vault page.
    Unreachable,
    /// The runtime folder or the socket's owner is wrong; the sentence says which.
    Unsafe(String),
    /// The relay went away before answering.
    Lost,
    /// No answer in time.
    Timeout(Duration),
    /// The relay answered something that is not a version 1 response.
    Garbled,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unreachable => f.write_str(
                "Threadkeeper is not reachable: open your browser with Threadkeeper, and turn on Agents in its vault page.",
            ),
            CallError::Unsafe(why) => write!(f, "Threadkeeper's bridge refused to connect: {why}"),
            CallError::Lost => {
                f.write_str("The connection to the browser was lost while Threadkeeper was answering; try again.")
            }
            CallError::Timeout(after) => write!(
                f,
                "Threadkeeper did not answer within {} seconds (the browser may be waiting for the person to allow it); try again.",
                after.as_secs()
            ),
            CallError::Garbled => {
                f.write_str("Threadkeeper's browser side answered something this bridge cannot read; update both.")
            }
        }
    }
}

/// Sends one request to the relay whose runtime folder is `dir` and waits for its answer.
///
/// # Errors
/// [`CallError`]: the extension's own refusals (locked, denied, ...) are not errors here
/// but a [`Response`] with `ok: false`.
pub async fn call(dir: &Path, request: &Request, timeout: Duration) -> Result<Response, CallError> {
    if let Err(e) = endpoint::check_dir(dir) {
        return Err(if e.0.starts_with("No folder") { CallError::Unreachable } else { CallError::Unsafe(e.0) });
    }
    let stream = UnixStream::connect(endpoint::socket_path(dir)).await.map_err(|_| CallError::Unreachable)?;
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == endpoint::uid() => {}
        _ => return Err(CallError::Unsafe("the socket is served by another user.".into())),
    }
    let bytes = frame::encode(ByteOrder::Little, request).ok_or(CallError::Garbled)?;
    let (read, mut write) = stream.into_split();
    frame::write_frame(&mut write, &bytes).await.map_err(|_| CallError::Lost)?;
    let mut reader = FrameReader::new(read, ByteOrder::Little);
    let event = match tokio::time::timeout(timeout, reader.next()).await {
        Err(_) => return Err(CallError::Timeout(timeout)),
        Ok(Ok(Some(event))) => event,
        Ok(Ok(None)) | Ok(Err(_)) => return Err(CallError::Lost),
    };
    let Event::Frame(payload) = event else { return Err(CallError::Garbled) };
    let map = frame::parse_object(&payload).map_err(|_| CallError::Garbled)?;
    let response: Response = serde_json::from_value(Value::Object(map)).map_err(|_| CallError::Garbled)?;
    // Id 0 is the relay refusing the frame itself; anything else must be ours.
    if response.id != request.id && response.id != 0 {
        return Err(CallError::Garbled);
    }
    Ok(response)
}

//! Threadkeeper's native bridge: lets AI agents (MCP clients) ask the Threadkeeper browser
//! extension about the person's saved chats, with the extension deciding what to answer.
//!
//! ```text
//! agent ──MCP stdio──▶ `mcp` ──Unix socket──▶ `native` ──native messaging──▶ extension
//! ```
//!
//! Reading order: `frame` (the byte format), `protocol` (the objects, see PROTOCOL.md),
//! `tools` (names, descriptions, argument rules), `endpoint` (where the socket lives and
//! its checks), `native` (the relay), `client` + `mcp` + `format` (the agent side),
//! `install` (the browser manifests). The bridge holds no key and stores nothing.

pub mod format;
pub mod frame;
pub mod install;
pub mod protocol;
pub mod tools;

#[cfg(unix)]
pub mod client;
#[cfg(unix)]
pub mod endpoint;
#[cfg(unix)]
pub mod mcp;
#[cfg(unix)]
pub mod native;

#[cfg(not(unix))]
pub mod native {
    //! Windows: designed in `endpoint`'s docs (a named pipe), not built yet.
    pub const CHROMIUM_EXTENSION_ID: &str = "dnkhjlpnghhlbdehmmjghobipbgbafcm";
    pub const FIREFOX_EXTENSION_ID: &str = "threadkeeper@threadkeeper.app";
}

/// One line on stderr: what happened, never what was asked.
pub fn log(message: &str) {
    eprintln!("threadkeeper-bridge: {message}");
}

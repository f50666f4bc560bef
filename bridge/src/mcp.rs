//! `mcp`: the MCP server an agent starts on stdio (rmcp). Each tool call is checked here,
//! then sent over the socket to the relay, and the extension's answer comes back as text.
//!
//! The tool list asks the extension which tools this client may see (`tools`); when the
//! browser cannot be reached within a few seconds it lists the three read tools.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Map, Value};

use crate::client::{self, CallError};
use crate::protocol::{Client, Request, VERSION};
use crate::{endpoint, format, log, native, tools};

/// How long the tool list waits for the extension before listing the read tools.
const TOOLS_TIMEOUT: Duration = Duration::from_secs(5);

const INSTRUCTIONS: &str = "Threadkeeper keeps the person's AI chats (ChatGPT, Claude, Gemini and others) in an \
encrypted vault in their browser. Use search_chats or list_recent to find earlier conversations and get_context to \
read one. The person's browser must be open with Threadkeeper unlocked and Agents turned on.";

pub struct Bridge {
    dir: PathBuf,
    next_id: AtomicU64,
    /// The relay's own timeout plus a margin, so its `timeout` answer normally comes first.
    timeout: Duration,
}

impl Bridge {
    pub fn new(dir: PathBuf) -> Self {
        Bridge { dir, next_id: AtomicU64::new(1), timeout: native::reply_timeout() + Duration::from_secs(5) }
    }

    async fn ask(
        &self,
        peer: &Peer<RoleServer>,
        tool: &str,
        args: Map<String, Value>,
        timeout: Duration,
    ) -> Result<crate::protocol::Response, CallError> {
        let request = Request {
            v: VERSION,
            id: self.next_id.fetch_add(1, Ordering::SeqCst),
            client: client_of(peer),
            tool: tool.into(),
            args,
        };
        client::call(&self.dir, &request, timeout).await
    }
}

/// The agent's name and version from its `initialize` (`clientInfo`).
fn client_of(peer: &Peer<RoleServer>) -> Client {
    match peer.peer_info() {
        Some(info) => Client { name: info.client_info.name.clone(), version: info.client_info.version.clone() },
        None => Client { name: "unknown".into(), version: String::new() },
    }
}

fn tool(spec: &tools::ToolSpec) -> Tool {
    let Value::Object(schema) = (spec.schema)() else { unreachable!("schemas are objects") };
    let annotations = ToolAnnotations::new().read_only(spec.read_only).destructive(false).open_world(false);
    Tool::new(spec.name, spec.description, Arc::new(schema)).with_annotations(annotations)
}

fn error(message: impl Into<String>) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(message.into())]).into()
}

impl ServerHandler for Bridge {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("threadkeeper", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let remember = match self.ask(&context.peer, tools::TOOLS, Map::new(), TOOLS_TIMEOUT).await {
            Ok(response) if response.ok => {
                response.result.as_ref().and_then(|r| r.get("remember")).and_then(Value::as_bool).unwrap_or(false)
            }
            _ => false,
        };
        let listed = tools::SPECS.iter().filter(|spec| spec.read_only || (spec.name == tools::REMEMBER && remember));
        // The list depends on the extension's settings: not to be cached.
        Ok(ListToolsResult::with_all_items(listed.map(tool).collect()).with_ttl_ms(0))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.as_ref();
        if tools::spec(name).is_none() {
            return Ok(error(format!("There is no tool named `{}`.", name.chars().take(40).collect::<String>())));
        }
        let args = match tools::validate(name, &request.arguments.unwrap_or_default()) {
            Ok(args) => args,
            Err(message) => return Ok(error(message)),
        };
        match self.ask(&context.peer, name, args, self.timeout).await {
            Ok(response) if response.ok => {
                let text = format::result(name, response.result.as_ref().unwrap_or(&Value::Null));
                Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
            }
            Ok(response) => {
                let message = response
                    .error
                    .map(|e| e.message)
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| "Threadkeeper could not answer.".into());
                Ok(error(message))
            }
            Err(e) => {
                log(&format!("{name}: {e}"));
                Ok(error(e.to_string()))
            }
        }
    }
}

/// Serves MCP on stdin/stdout until the agent closes it; returns the exit code.
pub async fn run() -> i32 {
    let bridge = Bridge::new(endpoint::runtime_dir());
    let service = match bridge.serve(rmcp::transport::stdio()).await {
        Ok(service) => service,
        Err(e) => {
            log(&format!("the MCP session did not start: {e}"));
            return 1;
        }
    };
    match service.waiting().await {
        Ok(_) => 0,
        Err(e) => {
            log(&format!("the MCP session ended with an error: {e}"));
            1
        }
    }
}

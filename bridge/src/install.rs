//! `install`: writes the native-messaging manifest that lets the browser start this
//! binary for Threadkeeper, then prints how to add the MCP server to common agents.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::native::{CHROMIUM_EXTENSION_ID, FIREFOX_EXTENSION_ID};

/// The host name the extension connects to (`connectNative`).
pub const HOST_NAME: &str = "app.threadkeeper.bridge";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Chrome,
    Firefox,
}

impl Browser {
    pub fn parse(name: &str) -> Option<Browser> {
        match name {
            "chromium" => Some(Browser::Chromium),
            "chrome" | "google-chrome" => Some(Browser::Chrome),
            "firefox" => Some(Browser::Firefox),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Chrome => "Google Chrome",
            Browser::Firefox => "Firefox",
        }
    }
}

pub struct Options {
    pub browser: Browser,
    /// A Chromium `--user-data-dir` to install into instead of the default profile folder.
    pub profile: Option<PathBuf>,
    pub extension_id: Option<String>,
}

/// The folder the browser reads host manifests from.
///
/// # Errors
/// `HOME` is not set, or `--profile` was given for Firefox.
pub fn manifest_dir(options: &Options, home: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(profile) = &options.profile {
        if options.browser == Browser::Firefox {
            return Err("Firefox reads host manifests for every profile from ~/.mozilla; leave out --profile.".into());
        }
        return Ok(profile.join("NativeMessagingHosts"));
    }
    let home = home.ok_or("HOME is not set; cannot tell where the browser looks.")?;
    Ok(match options.browser {
        Browser::Chromium => home.join(".config/chromium/NativeMessagingHosts"),
        Browser::Chrome => home.join(".config/google-chrome/NativeMessagingHosts"),
        Browser::Firefox => home.join(".mozilla/native-messaging-hosts"),
    })
}

/// The manifest for `browser`, pointing at `exe`.
///
/// # Errors
/// The extension id has the wrong form for the browser.
pub fn manifest(options: &Options, exe: &Path) -> Result<serde_json::Value, String> {
    let mut manifest = json!({
        "name": HOST_NAME,
        "description": "Threadkeeper bridge: lets AI agents on this computer ask Threadkeeper about your saved chats",
        "path": exe.to_str().ok_or("The binary's path is not UTF-8; move it to a plain path.")?,
        "type": "stdio",
    });
    match options.browser {
        Browser::Chromium | Browser::Chrome => {
            let id = options.extension_id.as_deref().unwrap_or(CHROMIUM_EXTENSION_ID);
            if id.len() != 32 || !id.bytes().all(|b| (b'a'..=b'p').contains(&b)) {
                return Err("A Chromium extension id is 32 letters from a to p.".into());
            }
            manifest["allowed_origins"] = json!([format!("chrome-extension://{id}/")]);
        }
        Browser::Firefox => {
            let id = options.extension_id.as_deref().unwrap_or(FIREFOX_EXTENSION_ID);
            if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err("A Firefox add-on id is one word such as name@example.org.".into());
            }
            manifest["allowed_extensions"] = json!([id]);
        }
    }
    Ok(manifest)
}

/// Writes the manifest and prints what was done and the agent snippets; returns the
/// exit code.
pub fn run(options: &Options) -> i32 {
    match install(options) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("threadkeeper-bridge install: {e}");
            1
        }
    }
}

fn install(options: &Options) -> Result<String, String> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot tell where this binary is: {e}"))?;
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let dir = manifest_dir(options, home.as_deref())?;
    let manifest = manifest(options, &exe)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{HOST_NAME}.json"));
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes") + "\n";
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;

    let mut out = format!("Wrote the {} native-messaging manifest: {}\n", options.browser.label(), path.display());
    if let Some(id) = &options.extension_id {
        let default = if options.browser == Browser::Firefox { FIREFOX_EXTENSION_ID } else { CHROMIUM_EXTENSION_ID };
        if id != default {
            out += &format!(
                "Note: the bridge serves only Threadkeeper's published ids; start the browser with \
THREADKEEPER_EXTENSION_ID={id} in its environment for this one.\n"
            );
        }
    }
    out += &snippets(&exe);
    Ok(out)
}

/// How to add the MCP server to Claude Desktop, Claude Code and Cursor.
pub fn snippets(exe: &Path) -> String {
    let exe_text = exe.display().to_string();
    let entry =
        serde_json::to_string_pretty(&json!({"mcpServers": {"threadkeeper": {"command": exe_text, "args": ["mcp"]}}}))
            .expect("snippet serializes");
    format!(
        "\nThen turn on Agents in Threadkeeper's vault page, and add the MCP server to your agent:\n\n\
Claude Desktop (claude_desktop_config.json, the \"mcpServers\" entry):\n{entry}\n\n\
Claude Code:\n  claude mcp add threadkeeper -- {} mcp\n\n\
Cursor (~/.cursor/mcp.json):\n{entry}\n",
        shell_quote(&exe_text)
    )
}

fn shell_quote(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(browser: Browser, profile: Option<&str>, id: Option<&str>) -> Options {
        Options { browser, profile: profile.map(PathBuf::from), extension_id: id.map(String::from) }
    }

    #[test]
    fn each_browser_reads_its_manifest_from_its_own_folder() {
        let home = Path::new("/home/a");
        let dir = |o: Options| manifest_dir(&o, Some(home)).unwrap();
        assert_eq!(dir(options(Browser::Chromium, None, None)), home.join(".config/chromium/NativeMessagingHosts"));
        assert_eq!(dir(options(Browser::Chrome, None, None)), home.join(".config/google-chrome/NativeMessagingHosts"));
        assert_eq!(dir(options(Browser::Firefox, None, None)), home.join(".mozilla/native-messaging-hosts"));
        assert_eq!(dir(options(Browser::Chromium, Some("/p"), None)), Path::new("/p/NativeMessagingHosts"));
        assert!(manifest_dir(&options(Browser::Firefox, Some("/p"), None), Some(home)).is_err());
    }

    #[test]
    fn a_bad_extension_id_is_refused_before_anything_is_written() {
        let exe = Path::new("/bin/threadkeeper-bridge");
        assert!(manifest(&options(Browser::Chrome, None, Some("xyz")), exe).is_err());
        assert!(manifest(&options(Browser::Firefox, None, Some("a b")), exe).is_err());
        let m = manifest(&options(Browser::Chrome, None, Some(&"a".repeat(32))), exe).unwrap();
        assert_eq!(m["allowed_origins"][0], format!("chrome-extension://{}/", "a".repeat(32)));
    }

    #[test]
    fn the_claude_code_line_quotes_a_path_with_spaces() {
        assert!(
            snippets(Path::new("/opt/my tools/tb")).contains("claude mcp add threadkeeper -- '/opt/my tools/tb' mcp")
        );
    }
}

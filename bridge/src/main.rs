//! `threadkeeper-bridge`: see `--help`, and the crate docs in lib.rs.

use std::path::PathBuf;

use threadkeeper_bridge::install::{self, Browser, Options};

const HELP: &str = "\
threadkeeper-bridge: lets AI agents on this computer search the chats Threadkeeper keeps in your browser.

USAGE
  threadkeeper-bridge mcp
      The MCP server (stdio). Agents start this; see the snippets printed by `install`.
  threadkeeper-bridge install --browser chromium|chrome|firefox [--profile DIR] [--extension-id ID]
      Lets the browser start this binary for Threadkeeper: writes the native-messaging manifest
      app.threadkeeper.bridge.json (Chromium ~/.config/chromium/NativeMessagingHosts, Chrome
      ~/.config/google-chrome/NativeMessagingHosts, with --profile DIR: DIR/NativeMessagingHosts,
      Firefox ~/.mozilla/native-messaging-hosts), then prints how to add the MCP server to
      Claude Desktop, Claude Code and Cursor. `make install-bridge` runs it for each of the three
      browsers whose settings folder exists.
  threadkeeper-bridge native
      The relay between the browser and agents. The browser starts it by itself (with the
      extension's origin or its manifest path as arguments); running it by hand is for tests.
  threadkeeper-bridge help | --help | --version

ENVIRONMENT
  THREADKEEPER_RUNTIME_DIR   the folder of the socket (default $XDG_RUNTIME_DIR/threadkeeper,
                             else /tmp/threadkeeper-<uid>); it must be private (mode 700)
  THREADKEEPER_EXTENSION_ID  one more extension id the relay serves (development builds)

Then turn on Agents in Threadkeeper's vault page. The bridge holds no key and stores nothing.
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(dispatch(&args));
}

fn dispatch(args: &[String]) -> i32 {
    let Some(first) = args.first() else {
        eprint!("{HELP}");
        return 2;
    };
    match first.as_str() {
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            0
        }
        "--version" | "-V" => {
            println!("threadkeeper-bridge {}", env!("CARGO_PKG_VERSION"));
            0
        }
        "install" => match parse_install(&args[1..]) {
            Ok(options) => install::run(&options),
            Err(e) => {
                eprintln!("threadkeeper-bridge install: {e}\nRun `threadkeeper-bridge --help` for usage.");
                2
            }
        },
        "mcp" => run_async(Mode::Mcp),
        "native" => run_async(Mode::Native(Vec::new())),
        other if is_browser_start(other) => run_async(Mode::Native(args.to_vec())),
        other => {
            eprintln!(
                "threadkeeper-bridge: unknown command `{}`. Run `threadkeeper-bridge --help` for usage.",
                other.chars().take(60).collect::<String>()
            );
            2
        }
    }
}

fn parse_install(args: &[String]) -> Result<Options, String> {
    let mut browser = None;
    let mut profile = None;
    let mut extension_id = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--browser" => {
                let name = value()?;
                browser = Some(Browser::parse(&name).ok_or("--browser is one of chromium, chrome, firefox")?);
            }
            "--profile" => profile = Some(PathBuf::from(value()?)),
            "--extension-id" => extension_id = Some(value()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let browser = browser.ok_or("--browser chromium|chrome|firefox is needed")?;
    Ok(Options { browser, profile, extension_id })
}

enum Mode {
    Mcp,
    /// The browser's arguments (empty when started by hand).
    Native(Vec<String>),
}

#[cfg(unix)]
fn is_browser_start(first: &str) -> bool {
    threadkeeper_bridge::native::started_by_browser(first)
}

#[cfg(unix)]
fn run_async(mode: Mode) -> i32 {
    use threadkeeper_bridge::{log, mcp, native};
    if let Mode::Native(args) = &mode {
        let dev_id = std::env::var(native::DEV_ID_ENV).ok();
        if let Err(e) = native::check_caller(&native::caller(args), dev_id.as_deref()) {
            log(&e);
            return native::EXIT_WRONG_CALLER;
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            log(&format!("cannot start: {e}"));
            return 1;
        }
    };
    match mode {
        Mode::Mcp => runtime.block_on(mcp::run()),
        Mode::Native(_) => runtime.block_on(native::run()),
    }
}

#[cfg(not(unix))]
fn is_browser_start(first: &str) -> bool {
    first.starts_with("chrome-extension://") || first.ends_with(".json")
}

#[cfg(not(unix))]
fn run_async(_mode: Mode) -> i32 {
    eprintln!("threadkeeper-bridge: the relay and the MCP server do not run on this system yet.");
    1
}

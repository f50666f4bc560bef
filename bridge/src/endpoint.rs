//! Where `native` listens and `mcp` connects, and the checks that keep it private.
//!
//! # Linux (built and tested)
//! A Unix socket `bridge.sock` in the runtime folder: `$THREADKEEPER_RUNTIME_DIR`, else
//! `$XDG_RUNTIME_DIR/threadkeeper`, else `/tmp/threadkeeper-<uid>`. `native` creates the
//! folder with mode 0700; a folder that exists is used only when it is a real folder (not
//! a link) owned by this user with no group or other permission bits, because in `/tmp`
//! another user could have made it first to catch the agents' requests. The socket is
//! made 0600. Both ends check the other's uid on every connection (`SO_PEERCRED`) and
//! talk only to their own user. `mcp` runs the same folder check before connecting.
//!
//! # macOS (designed, compiles, not tested here)
//! The same socket, with the folder `$THREADKEEPER_RUNTIME_DIR`, else `$TMPDIR/threadkeeper`
//! (`$TMPDIR` is per user on macOS, under `/var/folders`), else `/tmp/threadkeeper-<uid>`.
//! The peer check uses `getpeereid` (tokio's `peer_cred` does it).
//!
//! # Windows (designed, not built)
//! A named pipe `\\.\pipe\threadkeeper-<user>` (`<user>` from `USERNAME`, lowercased),
//! created by `native` with `FILE_FLAG_FIRST_PIPE_INSTANCE` (a second relay then fails to
//! create it, which is the "already running" test) and a security descriptor granting
//! access to the current user's SID only; `reject_remote_clients` set. `mcp` opens it and
//! checks `GetNamedPipeServerProcessId`'s owner SID equals its own. Chrome on Windows
//! finds the host through the registry key
//! `HKCU\Software\Google\Chrome\NativeMessagingHosts\app.threadkeeper.bridge` (Firefox:
//! `HKCU\Software\Mozilla\NativeMessagingHosts\...`), whose default value is the
//! manifest's path; `install` would write that key. Until then the binary says so and
//! exits on Windows.

use std::path::{Path, PathBuf};

/// The socket's file name inside the runtime folder.
pub const SOCKET_NAME: &str = "bridge.sock";

/// Why the runtime folder cannot be used. The message names the folder and what to do.
#[derive(Debug)]
pub struct EndpointError(pub String);

impl std::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// This process's user id.
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The runtime folder, from the environment (see the module docs for the order).
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("THREADKEEPER_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    #[cfg(target_os = "macos")]
    let base = std::env::var_os("TMPDIR");
    #[cfg(not(target_os = "macos"))]
    let base = std::env::var_os("XDG_RUNTIME_DIR");
    match base.filter(|d| !d.is_empty()) {
        Some(base) => PathBuf::from(base).join("threadkeeper"),
        None => PathBuf::from(format!("/tmp/threadkeeper-{}", uid())),
    }
}

/// The socket path inside `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET_NAME)
}

/// Creates the runtime folder (0700) when missing, then checks it as [`check_dir`] does.
///
/// # Errors
/// The folder cannot be made, or it is not private to this user.
pub fn prepare_dir(dir: &Path) -> Result<(), EndpointError> {
    use std::os::unix::fs::DirBuilderExt;
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| EndpointError(format!("Cannot create the folder {}: {e}.", dir.display())))?;
    }
    check_dir(dir)
}

/// Checks that `dir` is a folder (not a link) owned by this user, with no group or other
/// permission bits.
///
/// # Errors
/// A sentence naming the folder and the fault; missing folders are `NotFound`-like
/// errors whose message starts with "No folder".
pub fn check_dir(dir: &Path) -> Result<(), EndpointError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(dir).map_err(|_| EndpointError(format!("No folder {}.", dir.display())))?;
    if !meta.is_dir() {
        return Err(EndpointError(format!("{} is not a folder; refusing to use it.", dir.display())));
    }
    if meta.uid() != uid() {
        return Err(EndpointError(format!(
            "The folder {} belongs to another user (uid {}); refusing to use it. Remove it or set THREADKEEPER_RUNTIME_DIR.",
            dir.display(),
            meta.uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(EndpointError(format!(
            "The folder {} is open to other users (mode {mode:o}); refusing to use it. Run `chmod 700 {}`.",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tk-endpoint-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_missing_folder_is_made_private() {
        let dir = temp("new").join("rt");
        prepare_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_folder_others_can_enter_is_refused() {
        let dir = temp("open");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_dir(&dir).unwrap_err();
        assert!(err.0.contains("open to other users"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_link_in_place_of_the_folder_is_refused() {
        let base = temp("link");
        std::fs::create_dir_all(base.join("real")).unwrap();
        std::fs::set_permissions(base.join("real"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("rt")).unwrap();
        assert!(check_dir(&base.join("rt")).unwrap_err().0.contains("not a folder"));
        std::fs::remove_dir_all(&base).unwrap();
    }
}

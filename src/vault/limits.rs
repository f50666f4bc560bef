//! Limits and input checks: the sizes the vault accepts, checked before anything is
//! read or written, so oversized or malformed input is refused with a reason.

use std::borrow::Cow;

use crate::capture::Snapshot;
use crate::error::VaultError;
use crate::model::Conversation;

pub const MIN_PASSPHRASE_CHARS: usize = 8;
pub const MAX_PASSPHRASE_BYTES: usize = 4096;
pub const MAX_MESSAGES_PER_CONVERSATION: usize = 100_000;
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_ID_BYTES: usize = 512;
pub const MAX_SNAPSHOT_MESSAGES: usize = 5_000;

/// The end of a message cut at [`MAX_MESSAGE_BYTES`] (the cut text and this marker
/// together fit the limit), so a reader sees that the rest is missing.
pub const CUT_MARKER: &str = "\n\n[Threadkeeper: this message was cut at 8 MiB]";

/// Cuts `text` to [`MAX_MESSAGE_BYTES`], marker included, on a char boundary; a text
/// within the limit (a cut one too) is left as it is. Returns whether it was cut.
pub fn cut_to_limit(text: &mut String) -> bool {
    if text.len() <= MAX_MESSAGE_BYTES {
        return false;
    }
    let mut end = MAX_MESSAGE_BYTES - CUT_MARKER.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(CUT_MARKER);
    true
}

/// A snapshot within the limits: refused for too many messages, a missing or long id,
/// or a long title; a message over [`MAX_MESSAGE_BYTES`] is cut ([`cut_to_limit`]),
/// never refused, so one huge turn does not stop the rest from being saved. Borrowed
/// unless something had to be cut.
pub(super) fn fit_snapshot(snap: &Snapshot) -> Result<Cow<'_, Snapshot>, VaultError> {
    if snap.messages.len() > MAX_SNAPSHOT_MESSAGES {
        return Err(VaultError::InvalidInput(format!("A capture holds at most {MAX_SNAPSHOT_MESSAGES} messages.")));
    }
    if snap.conversation_id.is_empty() || snap.conversation_id.len() > MAX_ID_BYTES || snap.title.len() > 4096 {
        return Err(VaultError::InvalidInput("A capture needs a conversation id and a short title.".into()));
    }
    if snap.messages.iter().all(|m| m.markdown.len() <= MAX_MESSAGE_BYTES) {
        return Ok(Cow::Borrowed(snap));
    }
    let mut owned = snap.clone();
    for m in &mut owned.messages {
        cut_to_limit(&mut m.markdown);
    }
    Ok(Cow::Owned(owned))
}

pub(super) fn check_key(id: &str) -> Result<(), VaultError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(VaultError::InvalidInput("That is not a conversation id of this vault.".into()))
    }
}

impl Conversation {
    /// Every limit the vault's write path applies to a conversation, in one place: the
    /// capture of a thread, storing one, the inbox, and the check pass of the archive
    /// reader (so a file is refused, or cut, before anything of it is written). Refuses
    /// a missing or over-long id ([`MAX_ID_BYTES`]), a missing or long site name, more
    /// than [`MAX_MESSAGES_PER_CONVERSATION`] messages; cuts every message text (and
    /// earlier version) over [`MAX_MESSAGE_BYTES`] with the marker `CUT_MARKER`
    /// ("\n\n[Threadkeeper: this message was cut at 8 MiB]"), as capture does.
    /// Returns how many texts were cut.
    ///
    /// # Errors
    /// [`VaultError::InvalidInput`] with the reason.
    pub fn fit_vault_limits(&mut self) -> Result<usize, VaultError> {
        check_conversation_shape(self)?;
        let mut cut = 0;
        for m in &mut self.messages {
            cut += usize::from(cut_to_limit(&mut m.markdown));
            for v in &mut m.versions {
                cut += usize::from(cut_to_limit(v));
            }
        }
        Ok(cut)
    }
}

/// [`Conversation::fit_vault_limits`] without changing `conv`: borrowed when nothing
/// had to be cut.
pub(super) fn fit_conversation(conv: &Conversation) -> Result<Cow<'_, Conversation>, VaultError> {
    check_conversation_shape(conv)?;
    let oversized = conv
        .messages
        .iter()
        .any(|m| m.markdown.len() > MAX_MESSAGE_BYTES || m.versions.iter().any(|v| v.len() > MAX_MESSAGE_BYTES));
    if !oversized {
        return Ok(Cow::Borrowed(conv));
    }
    let mut owned = conv.clone();
    owned.fit_vault_limits()?;
    Ok(Cow::Owned(owned))
}

/// The limits of [`Conversation::fit_vault_limits`] that refuse.
fn check_conversation_shape(conv: &Conversation) -> Result<(), VaultError> {
    if conv.conversation_id.is_empty() || conv.conversation_id.len() > MAX_ID_BYTES {
        return Err(VaultError::InvalidInput("A conversation needs an id of 1 to 512 bytes.".into()));
    }
    if conv.site.as_str().is_empty() || conv.site.as_str().len() > 64 {
        return Err(VaultError::InvalidInput("A conversation needs a site name.".into()));
    }
    if conv.messages.len() > MAX_MESSAGES_PER_CONVERSATION {
        return Err(VaultError::InvalidInput(format!(
            "A conversation holds at most {MAX_MESSAGES_PER_CONVERSATION} messages."
        )));
    }
    Ok(())
}

pub(super) fn check_new_passphrase(passphrase: &str) -> Result<(), VaultError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "Choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters."
        )));
    }
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(VaultError::InvalidInput("That passphrase is too long.".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::test_support::{conversation, unlocked};
    use pollster::block_on;

    #[test]
    fn oversized_input_is_refused_with_a_reason() {
        let vault = unlocked();
        let mut c = conversation("c", &[]);
        c.conversation_id = String::new();
        assert!(matches!(block_on(vault.put_conversation(&c)), Err(VaultError::InvalidInput(_))));
        let mut c = conversation("c", &["x"]);
        c.conversation_id = "i".repeat(MAX_ID_BYTES + 1);
        assert!(matches!(block_on(vault.put_conversation(&c)), Err(VaultError::InvalidInput(_))));
        assert!(matches!(block_on(vault.get_conversation("../../etc")), Err(VaultError::InvalidInput(_))));
    }

    #[test]
    fn an_oversized_message_is_stored_cut_with_a_marker_on_a_char_boundary() {
        // "é" is two bytes: a cut at an odd byte would split one.
        let mut text = "é".repeat(MAX_MESSAGE_BYTES / 2 + 10);
        assert!(cut_to_limit(&mut text));
        assert!(text.len() <= MAX_MESSAGE_BYTES && text.len() > MAX_MESSAGE_BYTES - CUT_MARKER.len() - 2);
        assert!(text.ends_with(CUT_MARKER));
        let again = text.clone();
        assert!(!cut_to_limit(&mut text), "a cut text is within the limit");
        assert_eq!(text, again);

        let vault = unlocked();
        let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let id = block_on(vault.put_conversation(&conversation("c", &[huge.as_str(), "after"]))).unwrap();
        let stored = block_on(vault.get_conversation(&id)).unwrap();
        assert_eq!(stored.messages.len(), 2);
        assert_eq!(stored.messages[0].markdown.len(), MAX_MESSAGE_BYTES);
        assert!(stored.messages[0].markdown.ends_with(CUT_MARKER));
        assert_eq!(stored.messages[1].markdown, "after");
    }
}

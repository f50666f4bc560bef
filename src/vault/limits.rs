//! Limits and input checks: the sizes the vault accepts, checked before anything is
//! read or written, so oversized or malformed input is refused with a reason.

use crate::capture::Snapshot;
use crate::error::VaultError;
use crate::model::Conversation;

pub const MIN_PASSPHRASE_CHARS: usize = 8;
pub const MAX_PASSPHRASE_BYTES: usize = 4096;
pub const MAX_MESSAGES_PER_CONVERSATION: usize = 100_000;
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_ID_BYTES: usize = 512;
pub const MAX_SNAPSHOT_MESSAGES: usize = 5_000;

pub(super) fn check_snapshot(snap: &Snapshot) -> Result<(), VaultError> {
    if snap.messages.len() > MAX_SNAPSHOT_MESSAGES {
        return Err(VaultError::InvalidInput(format!(
            "A capture holds at most {MAX_SNAPSHOT_MESSAGES} messages."
        )));
    }
    if snap
        .messages
        .iter()
        .any(|m| m.markdown.len() > MAX_MESSAGE_BYTES)
    {
        return Err(VaultError::InvalidInput(
            "A message is larger than 8 MiB and was not saved.".into(),
        ));
    }
    if snap.conversation_id.is_empty()
        || snap.conversation_id.len() > MAX_ID_BYTES
        || snap.title.len() > 4096
    {
        return Err(VaultError::InvalidInput(
            "A capture needs a conversation id and a short title.".into(),
        ));
    }
    Ok(())
}

pub(super) fn check_key(id: &str) -> Result<(), VaultError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(VaultError::InvalidInput(
            "That is not a conversation id of this vault.".into(),
        ))
    }
}

pub(super) fn check_conversation(conv: &Conversation) -> Result<(), VaultError> {
    if conv.conversation_id.is_empty() || conv.conversation_id.len() > MAX_ID_BYTES {
        return Err(VaultError::InvalidInput(
            "A conversation needs an id of 1 to 512 bytes.".into(),
        ));
    }
    if conv.site.as_str().is_empty() || conv.site.as_str().len() > 64 {
        return Err(VaultError::InvalidInput(
            "A conversation needs a site name.".into(),
        ));
    }
    if conv.messages.len() > MAX_MESSAGES_PER_CONVERSATION {
        return Err(VaultError::InvalidInput(format!(
            "A conversation holds at most {MAX_MESSAGES_PER_CONVERSATION} messages."
        )));
    }
    if conv
        .messages
        .iter()
        .any(|m| m.markdown.len() > MAX_MESSAGE_BYTES)
    {
        return Err(VaultError::InvalidInput(
            "A message is larger than 8 MiB and was not saved.".into(),
        ));
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
        return Err(VaultError::InvalidInput(
            "That passphrase is too long.".into(),
        ));
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
        assert!(matches!(
            block_on(vault.put_conversation(&c)),
            Err(VaultError::InvalidInput(_))
        ));
        let huge = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let c = conversation("c", &[huge.as_str()]);
        assert!(matches!(
            block_on(vault.put_conversation(&c)),
            Err(VaultError::InvalidInput(_))
        ));
        assert!(matches!(
            block_on(vault.get_conversation("../../etc")),
            Err(VaultError::InvalidInput(_))
        ));
    }
}

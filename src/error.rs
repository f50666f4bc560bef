//! The errors a person sees. Each has a stable `code` for the message API and a
//! message that says what happened and what to do; none carries keys or plaintext.

use thiserror::Error;

use crate::crypto::CryptoError;
use crate::store::StoreError;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("Wrong passphrase. Check it and try again.")]
    WrongPassphrase,
    #[error("The vault is locked. Unlock it with your passphrase first.")]
    Locked,
    #[error("No vault has been set up yet. Open Threadkeeper's vault page to create one.")]
    NoVault,
    #[error("A vault already exists on this browser profile.")]
    AlreadyExists,
    #[error("Stored data is damaged or was changed ({0}). Nothing was overwritten.")]
    Damaged(String),
    #[error("This vault was written by a newer version of Threadkeeper. Update the extension to open it.")]
    NewerVersion,
    #[error("The vault's key settings are unsafe and were refused: {0}.")]
    WeakKdf(String),
    #[error("The browser's storage failed: {0}")]
    Storage(String),
    #[error("Not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("No secure random numbers are available in this browser.")]
    Random,
}

impl VaultError {
    /// The stable machine-readable code of the message API.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::WrongPassphrase => "wrong_passphrase",
            VaultError::Locked => "locked",
            VaultError::NoVault => "no_vault",
            VaultError::AlreadyExists => "vault_exists",
            VaultError::Damaged(_) => "damaged",
            VaultError::NewerVersion => "newer_version",
            VaultError::WeakKdf(_) => "weak_kdf",
            VaultError::Storage(_) => "storage",
            VaultError::NotFound(_) => "not_found",
            VaultError::InvalidInput(_) => "invalid_input",
            VaultError::Random => "random",
        }
    }

    /// A record failed to open: it is named by what it was, never by its contents.
    pub(crate) fn damaged(what: &str, err: CryptoError) -> Self {
        match err {
            CryptoError::UnsupportedVersion(_) => VaultError::NewerVersion,
            CryptoError::Random => VaultError::Random,
            _ => VaultError::Damaged(what.to_owned()),
        }
    }
}

impl From<StoreError> for VaultError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NewerSchema { .. } => VaultError::NewerVersion,
            other => VaultError::Storage(other.to_string()),
        }
    }
}

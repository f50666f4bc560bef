//! The errors a person sees. Each has a stable `code` for the message API and a
//! message that says what happened and what to do; none carries keys or plaintext.
//!
//! Every error type of the core implements [`Coded`]: the one seam through which an
//! error crosses to JavaScript (`src/wasm/mod.rs`, `thrown`) as `{code, message}`.

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
    #[error("Threadkeeper is re-encrypting the vault; nothing was changed. Try again in a few seconds.")]
    Busy,
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
            VaultError::Busy => "busy",
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

/// An error of the core as the message API shows it: a stable machine-readable `code`
/// and, through `Display`, words for a person (never keys, tokens or plaintext).
pub trait Coded: std::fmt::Display {
    fn code(&self) -> &'static str;
}

impl Coded for VaultError {
    fn code(&self) -> &'static str {
        VaultError::code(self)
    }
}

impl Coded for CryptoError {
    fn code(&self) -> &'static str {
        match self {
            CryptoError::Decrypt => "damaged",
            CryptoError::Format(_) => "damaged",
            CryptoError::UnsupportedVersion(_) => "newer_version",
            CryptoError::WeakKdf(_) => "weak_kdf",
            CryptoError::Kdf => "kdf",
            CryptoError::Random => "random",
        }
    }
}

impl Coded for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::NewerSchema { .. } => "newer_version",
            StoreError::QuotaExceeded => "storage_full",
            StoreError::Open(_) | StoreError::Read(_) | StoreError::Write(_) => "storage",
        }
    }
}

impl Coded for crate::import::ImportError {
    fn code(&self) -> &'static str {
        crate::import::ImportError::code(self)
    }
}

impl Coded for crate::import::site::ThreadError {
    fn code(&self) -> &'static str {
        crate::import::site::ThreadError::code(self)
    }
}

impl Coded for crate::archive::ArchiveError {
    fn code(&self) -> &'static str {
        crate::archive::ArchiveError::code(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code is lowercase words joined by `_`, and a person's text never shows
    /// debug formatting.
    #[test]
    fn every_error_has_a_stable_code_and_words_for_a_person() {
        let errors: Vec<Box<dyn Coded>> = vec![
            Box::new(VaultError::WrongPassphrase),
            Box::new(VaultError::Damaged("a record".into())),
            Box::new(CryptoError::Decrypt),
            Box::new(CryptoError::UnsupportedVersion(9)),
            Box::new(StoreError::QuotaExceeded),
            Box::new(StoreError::NewerSchema { found: 9, known: 2 }),
            Box::new(crate::import::ImportError::NotAnExport),
            Box::new(crate::import::site::ThreadError::ShapeChanged),
            Box::new(crate::archive::ArchiveError::Truncated),
        ];
        for e in errors {
            let code = e.code();
            assert!(!code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
            let words = e.to_string();
            assert!(words.len() > 10 && !words.contains('{') && !words.contains("Some("), "{words}");
        }
    }
}

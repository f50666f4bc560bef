//! The encrypted export archive of the whole vault.

//! Threadkeeper's core: every rule about data lives here.
//!
//! Layers depend only downward: `model` (plain data) and `crypto` (primitives and
//! envelopes) at the bottom, `store` (where bytes live), then `vault` (lock state and
//! the operations people do). `wasm` only converts types for the browser.

pub mod archive;
pub mod capture;
pub mod crypto;
pub mod error;
pub mod import;
pub mod model;
pub mod restore;
pub mod search;
pub mod sites;
pub mod store;
pub mod sync;
pub mod transcript;
pub mod vault;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::VaultError;
pub use model::{Conversation, ConversationSummary, Message, Provenance, Role, Site};
pub use vault::{Vault, VaultState, VaultStatus};

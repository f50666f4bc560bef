//! The index sealed in the `index` store (work in progress).

/// The persisted index.
pub struct PersistentIndex;

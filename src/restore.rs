//! The restore block: the context put back into a chat (pure).

//! Merging a captured snapshot into what is stored (pure).

//! TODO(#4 helper): events store.

//! TODO(#4 helper): locks store.

//! TODO(#4 helper): codes store.

//! TODO(#4 helper): activation codes.

//! TODO(patch): being written

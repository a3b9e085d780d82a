//! TODO(defaults): being written

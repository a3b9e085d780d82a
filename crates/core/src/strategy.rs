//! TODO(strategy): being written

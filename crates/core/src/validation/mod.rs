//! TODO(validation): being written

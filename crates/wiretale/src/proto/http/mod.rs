//! http decoder (under construction).

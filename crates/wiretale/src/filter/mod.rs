//! Wireshark-style display filters (under construction).

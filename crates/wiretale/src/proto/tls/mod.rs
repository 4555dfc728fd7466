//! tls decoder (under construction).

//! Application payloads to put in [`crate::TcpSession::send`]: HTTP messages now; TLS records
//! and NTLM tokens belong here too (one submodule per protocol).

pub mod http;

//! ntlm decoder (under construction).

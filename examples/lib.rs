//! Embedding examples live in this directory as `[[example]]` targets.

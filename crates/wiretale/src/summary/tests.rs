//! Tests of the summary tables on testdata/ captures.

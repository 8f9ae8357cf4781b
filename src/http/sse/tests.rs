//! Tests of the legacy SSE transport.

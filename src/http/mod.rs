//! HTTP front ends of the daemon.

pub mod sse;

//! The `adstore` package's library side: what the binary, the end-to-end tests and the benches
//! share. The command line itself is in `main.rs` and `cli/`.

pub mod output;
pub mod synth;

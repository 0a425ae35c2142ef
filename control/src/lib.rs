//! airsift's control plane and command line: the `airsift` binary's subcommands, each a thin
//! driver around the dataplane's pure parse-and-decide code.

pub mod cli;
pub mod filter_file;

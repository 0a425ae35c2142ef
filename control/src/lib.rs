//! airsift's control plane and command line: the `airsift` binary's subcommands, each a thin
//! driver around the dataplane's pure parse-and-decide code.

pub mod alerts;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod datasource;
pub mod doctor;
pub mod filter_file;
pub mod filters;
pub mod fleet;
pub mod gps;
pub mod json_kind;
pub mod messages;
pub mod privilege;
pub mod scan;
pub mod server;
pub mod store;

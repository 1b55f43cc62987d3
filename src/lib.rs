//! cisco-autoprov: a sidecar that provisions used Cisco IP phones for an Asterisk/FreePBX box.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map.

#![deny(unsafe_code)]

pub mod event;
pub mod mac;
pub mod parse;

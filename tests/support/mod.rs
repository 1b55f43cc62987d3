//! Shared support code for the end-to-end tests in `tests/*.rs`.
//!
//! Each `tests/<name>.rs` file is its own crate and pulls this module in with `mod support;`.
//! The real work lives in [`netns`]: a lab of two network namespaces (router and phone) in
//! which real DHCP/TFTP servers, real clients and our daemon run. It is kept apart from the
//! test files so that the isc-dhcp, Kea and atftpd tests can reuse it.
//! [`asterisk`] adds a real Asterisk 22 (from a cached Debian sid chroot, on a throw-away
//! overlay) to a lab's router namespace. [`sipphone`] is a SIP user agent that behaves on
//! the wire like a Cisco 79xx, for the tests against Asterisk; [`pbx_site`] puts them
//! together with dnsmasq and the daemon into a site whose phones boot and register.
//!
//! Every test crate uses only part of this module, so dead-code warnings are turned off here
//! (otherwise `cargo clippy --all-targets -- -D warnings` fails on whichever helpers one test
//! file happens not to call).
#![allow(dead_code)]

pub mod asterisk;
pub mod checks;
pub mod netns;
pub mod pbx_site;
pub mod sipphone;

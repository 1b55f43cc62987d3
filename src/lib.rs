//! cisco-autoprov: a sidecar that provisions used Cisco IP phones for an Asterisk/FreePBX box.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map.
//!
//! # Layout
//! - Pure core (no IO): [`mac`], [`label`], [`models`], [`oui`], [`event`], [`parse`], [`detect`],
//!   [`diagnose`], [`template`], [`render`], [`snippets`], [`firmware`] (but its `scan` and
//!   `import`), [`config`], [`hook`], [`timezone`], [`locale`], [`dialplan`].
//! - Edge (touches the disk): [`fsutil`], [`state`], [`writer`], [`sources`], [`provision`].
//! - Process: [`daemon`] (the event loop), [`cli`], [`commands`], [`notify`] (the hook client).

#![deny(unsafe_code)]

pub mod civil;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod detect;
pub mod diagnose;
pub mod dialplan;
pub mod event;
pub mod firmware;
pub mod fsutil;
pub mod hook;
pub mod label;
pub mod locale;
pub mod localtime;
pub mod logging;
pub mod mac;
pub mod models;
pub mod notify;
pub mod oui;
pub mod parse;
pub mod pbx;
pub mod provision;
pub mod reload;
pub mod render;
pub mod snippets;
pub mod sources;
pub mod state;
pub mod template;
pub mod timezone;
pub mod writer;

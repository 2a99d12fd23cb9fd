//! juknis: a network appliance that keeps an OPD's obligations under its Juknis with Dukcapil.
//!
//! The library holds every domain; `src/main.rs` only parses the command line and calls in here.
//! The modules form a stack, from a pure core (`nik`, `topology`, `doc`, `flow`, `health`,
//! `render`, ...) through adapters and services to the faces (`web`, `cli`); see
//! docs/ARCHITECTURE.md, and tests/architecture.rs, which enforces it.

pub mod cause;
pub mod cli;
pub mod doc;
pub mod flow;
pub mod gate;
pub mod health;
pub mod http;
pub mod logtext;
pub mod metrics;
pub mod nik;
pub mod notify;
pub mod outbox;
pub mod portal;
pub mod probe;
pub mod reflector;
pub mod render;
pub mod report;
pub mod secret;
pub mod sim;
pub mod sqlite;
pub mod store;
pub mod study;
pub mod topology;
pub mod web;

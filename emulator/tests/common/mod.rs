//! Helpers shared by the emulator's own tests.
#![allow(dead_code)]

pub mod emu_http;

//! Integration tests of `stacks` (one test binary for the crate, so the
//! SDKs are linked once): components deployed to the AWS emulator, and
//! every platform's stack binaries run as a user runs them.

mod bad_input;
mod bitcoin;
mod cli;
mod components;
mod crash;
mod ecommerce;
mod faults;
mod inventory;
mod iprs;
mod ons;
mod secrets;
mod trading;

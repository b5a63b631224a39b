//! The end-to-end suites (one test binary, so the SDKs link once): every
//! platform's stack binaries run as a user runs them against the AWS
//! emulator, killed at random moments, through a flaky cloud, fed bad
//! input, and searched for leaked secrets, with the cloud's inventory
//! compared with the state after every run.

mod bad_input;
mod bins;
mod bitcoin;
mod cli;
mod crash;
mod ecommerce;
mod faults;
mod inventory;
mod iprs;
mod layout;
mod ons;
mod refresh;
mod secrets;
mod trading;

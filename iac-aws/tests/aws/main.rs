//! Integration tests of `iac-aws` against moto's AWS emulator (one test
//! binary for the crate, so the SDKs are linked once).

mod support;

mod cicd;
mod ec2_network;
mod ec2_security;
mod ecs;
mod eks;
mod iam;
mod platform;
mod provider;
mod rds;
mod s3;

//! Integration tests of `iac-aws` against moto's AWS emulator (one test
//! binary for the crate, so the SDKs are linked once).

mod support;

mod apigateway;
mod appconfig;
mod backend;
mod backend_stores;
mod batch;
mod bedrock;
mod catalog_live;
mod cicd;
mod codedeploy;
mod ec2_network;
mod ec2_security;
mod ecs;
mod eks;
mod elasticache;
mod elbv2;
mod eventbridge;
mod iam;
mod lambda;
mod msk;
mod opensearchserverless;
mod platform;
mod provider;
mod rds;
mod read_ahead;
mod s3;
mod s3_tiering;
mod stepfunctions;
mod timestream;
mod twins;

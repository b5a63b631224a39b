//! A stack program over the in-memory test provider, for tests that drive
//! the real command line (exit codes, locks, crashes, secrets). Its shape
//! comes from its config; its cloud is the file `IAC_TEST_CLOUD`.

use std::process::ExitCode;

use iac_core::cli::Runner;
use iac_core::testing::{Bucket, Network, Server, TestProvider};
use iac_core::ResourceOptions;

fn main() -> ExitCode {
    let config_dir = std::env::var("IAC_TEST_CONFIG_DIR").unwrap_or_else(|_| "config".into());
    Runner::new("test-stack", |stack| {
        stack.provider("test", TestProvider::from_env());
        let cfg = stack.config();
        stack.default_tags([("team", "platform")]);
        let net = stack.add("net", Network::builder().cidr(cfg.get_or("cidr", "10.0.0.0/16".to_string())?).build());
        let servers: u32 = cfg.get_or("servers", 2)?;
        let size: i64 = cfg.get_or("size", 1)?;
        let zone: String = cfg.get_or("zone", "a".to_string())?;
        let password = match cfg.get::<bool>("with_password")? {
            Some(true) => Some(cfg.require_secret::<String>("password")?),
            _ => None,
        };
        let app = stack.component("test:App", "app");
        let mut last = None;
        for i in 0..servers {
            let server = Server::builder()
                .size(size)
                .zone(zone.clone())
                .network_id(net.id.clone())
                .maybe_password(password.clone())
                .build();
            let s = app.add(&format!("server-{i}"), server);
            last = Some(s);
        }
        if let Some(bucket) = cfg.get::<String>("bucket")? {
            stack.add_with(
                "bucket",
                Bucket::builder().name(bucket).build(),
                ResourceOptions::new().protect_if(cfg.get_or("protect", false)?),
            );
        }
        if cfg.get_or("cycle", false)? {
            // Two resources that depend on each other: refused with both names.
            let a = iac_core::Urn::new("loop-a");
            let b = iac_core::Urn::new("loop-b");
            stack.add_with("loop-a", Server::builder().size(1).build(), ResourceOptions::new().depends_on(&b));
            stack.add_with("loop-b", Server::builder().size(1).build(), ResourceOptions::new().depends_on(&a));
        }
        if cfg.get_or("duplicate", false)? {
            stack.add("net", Network::builder().cidr("10.1.0.0/16").build());
        }
        stack.export("network_id", net.id.clone());
        if let Some(s) = last {
            stack.export("last_ip", s.ip.clone());
            if password.is_some() {
                stack.export_secret("connection", s.connection.clone());
            }
        }
        Ok::<(), iac_core::Error>(())
    })
    .config_dir(config_dir)
    .run()
}

//! `RedisCache`: an ElastiCache Redis replication group (cluster mode on or
//! off) with its subnet group and security group, encrypted at rest and in
//! transit, with an optional AUTH token from secret config.

use iac_aws::ec2::{Direction, SecurityGroup, SecurityGroupId, SecurityGroupRule, VpcId};
use iac_aws::elasticache::{ClusterMode, ReplicationGroup, SubnetGroup};
use iac_core::{Input, Output, Stack};

/// What the cache looks like.
#[derive(Clone)]
pub struct RedisArgs {
    /// The replication group's id (1–40 characters).
    pub id: String,
    /// Node type (`cache.r6g.large`).
    pub node_type: String,
    /// Redis version (`7.0`).
    pub engine_version: String,
    /// Shards and replicas.
    pub cluster_mode: ClusterMode,
    /// Multi-AZ with automatic failover (needs a replica).
    pub multi_az: bool,
    /// An AUTH token (secret config), which needs transit encryption.
    pub auth_token: Option<Output<String>>,
    /// Days of snapshots.
    pub snapshot_retention_days: i32,
    /// The VPC.
    pub vpc_id: Output<VpcId>,
    /// The subnets.
    pub subnet_ids: Vec<Input<String>>,
    /// Security groups allowed in on 6379.
    pub allowed_security_groups: Vec<Output<SecurityGroupId>>,
}

/// Settings most caches leave at their defaults, kept apart from
/// [`RedisArgs`] so that callers' struct literals stay valid when one is
/// added. `Default` is what [`RedisCache::new`] uses.
#[derive(Clone, Default)]
pub struct RedisOptions {
    /// A customer-managed KMS key (its ARN) for encryption at rest; unset,
    /// ElastiCache's own key. Changing it replaces the cache.
    pub kms_key_arn: Option<Output<String>>,
}

/// The cache's handles.
pub struct RedisCache {
    /// Where clients connect: the configuration endpoint in cluster mode,
    /// else the primary endpoint.
    pub endpoint: Output<String>,
    /// Its port.
    pub port: Output<u16>,
    /// The cache's security group.
    pub security_group_id: Output<SecurityGroupId>,
}

impl RedisCache {
    /// Declares the cache as component `name` of `stack`.
    pub fn new(stack: &Stack, name: &str, args: &RedisArgs) -> RedisCache {
        RedisCache::with_options(stack, name, args, &RedisOptions::default())
    }

    /// Declares the cache as component `name` of `stack`, with `options`
    /// beyond the usual.
    pub fn with_options(stack: &Stack, name: &str, args: &RedisArgs, options: &RedisOptions) -> RedisCache {
        let c = stack.component("stacks:RedisCache", name);
        let subnets = c.add(
            "subnets",
            SubnetGroup::builder()
                .name(args.id.clone())
                .description(format!("{} subnets", args.id))
                .subnet_ids(args.subnet_ids.clone())
                .build(),
        );
        let sg = c.add(
            "sg",
            SecurityGroup::builder()
                .name(format!("{}-redis", args.id))
                .description(format!("{} Redis", args.id))
                .vpc_id(args.vpc_id.clone())
                .build(),
        );
        for (i, from) in args.allowed_security_groups.iter().enumerate() {
            c.add(
                &format!("ingress-{i}"),
                SecurityGroupRule::builder()
                    .security_group_id(sg.id.clone())
                    .direction(Direction::Ingress)
                    .protocol("tcp")
                    .from_port(6379)
                    .to_port(6379)
                    .source_security_group_id(from.clone())
                    .description("Redis from an application")
                    .build(),
            );
        }
        let clustered = matches!(args.cluster_mode, ClusterMode::Enabled { .. });
        let group = c.add(
            "redis",
            ReplicationGroup::builder()
                .id(args.id.clone())
                .description(format!("{name} cache"))
                .engine_version(args.engine_version.clone())
                .node_type(args.node_type.clone())
                .cluster_mode(args.cluster_mode)
                .automatic_failover(args.multi_az || clustered)
                .multi_az(args.multi_az)
                .at_rest_encryption(true)
                .maybe_kms_key_id(options.kms_key_arn.clone().map(Input::from))
                .transit_encryption(true)
                .maybe_auth_token(args.auth_token.clone().map(Input::from))
                .snapshot_retention_days(args.snapshot_retention_days)
                .subnet_group_name(subnets.name.clone())
                .security_group_ids(vec![Input::from(sg.id.as_string())])
                .build(),
        );
        let endpoint = if clustered {
            group.configuration_endpoint_address.clone()
        } else {
            group.primary_endpoint_address.clone()
        };
        RedisCache { endpoint, port: group.port.clone(), security_group_id: sg.id.clone() }
    }
}

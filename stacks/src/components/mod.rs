//! Reusable components: typed arguments in, a group of resources out.

pub mod alb;
pub mod cache;
pub mod data_lake;
pub mod database;
pub mod delivery;
pub mod ecs_service;
pub mod eks;
pub mod iam;
pub mod monitoring;
pub mod network;

pub use alb::{PublicAlb, PublicAlbArgs};
pub use cache::{RedisArgs, RedisCache, RedisOptions};
pub use data_lake::{tiering_rule, ArchiveTiering, DataLake, DataLakeArgs, LakeBucket};
pub use database::{PostgresArgs, PostgresDatabase, PostgresKind, PostgresOptions};
pub use delivery::{DeliveryArgs, DeliveryPipeline};
pub use ecs_service::{AlbRoute, CpuScaling, EcsService, EcsServiceArgs, EcsServiceOptions};
pub use eks::{AddonArgs, EksCluster, EksClusterArgs, NodeGroupArgs};
pub use monitoring::{Alarm, Monitoring, MonitoringArgs};
pub use network::{check_region, NatMode, Network, NetworkArgs};

//! What the emulator holds of a stack, compared with the stack's state:
//! the crash and fault tests' check that nothing was orphaned, duplicated
//! or lost. The stack is the Bitcoin pipeline's `dev` (or `prod`) config run
//! as a stack of its own name, so its cloud names (`btc-<stack>-…`) and identity tag
//! (`bitcoin-pipeline/<stack>`) are its own.

use std::collections::{BTreeMap, BTreeSet};

use crate::cli::*;

pub const BIN: &str = "dev-stack";

/// The Bitcoin pipeline's `dev` config as stack `stack`.
pub struct Subject {
    pub run: StackRun,
    /// `bitcoin-pipeline/<stack>`.
    pub identity: String,
    /// `btc-<stack>-`: what the stack's cloud names start with (the dash,
    /// so stack `soak` does not claim stack `soak2`'s resources; no stack
    /// name may begin another's and a dash).
    pub prefix: String,
}

impl Subject {
    pub fn new(stack: &str) -> Subject {
        Subject::of(BIN, "dev", stack)
    }

    /// The Bitcoin pipeline's `config` config (`dev`, `prod`) as stack
    /// `stack`, run by `bin`.
    pub fn of(bin: &str, config: &str, stack: &str) -> Subject {
        let run = StackRun::new(bin, &config_dir("bitcoin-pipeline"), stack);
        let base = run.dir.path().join("config").join(format!("{config}.toml"));
        let text = std::fs::read_to_string(base)
            .unwrap()
            .replace(&format!("environment = \"{config}\""), &format!("environment = \"{stack}\""));
        std::fs::write(run.config_file(), text).unwrap();
        Subject { run, identity: format!("bitcoin-pipeline/{stack}"), prefix: format!("btc-{stack}-") }
    }

    /// The state's resources (urn → type) as the binary reads them
    /// (`state list`: the snapshot with the journal replayed over it; a
    /// run killed before compacting leaves its records in the journal).
    pub fn state_resources(&self) -> BTreeMap<String, String> {
        let out = self.run.cli(&["state", "list"]);
        assert!(out.status.success(), "state list: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.contains("(old copy") && !l.starts_with("No resources"))
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                Some((words.next()?.to_owned(), words.next()?.to_owned()))
            })
            .collect()
    }

    /// Every resource of the stack the emulator holds, as `kind → [iac:name]`
    /// (one entry per cloud resource): everything the tagging API lists under
    /// the stack's identity tag, plus the kinds it does not cover, listed by
    /// their own APIs.
    pub async fn inventory(&self) -> BTreeMap<String, Vec<String>> {
        /// Kinds (`service:type` prefixes) read from their own listings.
        const LISTED_BY_THEIR_OWN_APIS: &[&str] = &["ecr:repository", "kinesis:stream", "codepipeline:"];
        let aws = aws();
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let name_of = |tags: &mut dyn Iterator<Item = (&str, &str)>| -> Option<String> {
            let tags: BTreeMap<&str, &str> = tags.collect();
            (tags.get("iac:stack").copied() == Some(self.identity.as_str()))
                .then(|| tags.get("iac:name").unwrap_or(&"?").to_string())
        };

        let tagging = aws_sdk_resourcegroupstagging::Client::new(aws.sdk().await);
        let filter =
            aws_sdk_resourcegroupstagging::types::TagFilter::builder().key("iac:stack").values(&self.identity).build();
        let mut pages = tagging.get_resources().tag_filters(filter).into_paginator().send();
        while let Some(page) = pages.next().await {
            for r in page.expect("GetResources").resource_tag_mapping_list() {
                let arn = r.resource_arn().unwrap_or_default();
                // arn:aws:<service>:<region>:<account>:<type>[/:]…
                let kind = arn.split(':').nth(2).unwrap_or("?").to_owned()
                    + ":"
                    + arn.split(':').nth(5).unwrap_or("").split(['/', ':']).next().unwrap_or("");
                // Listed by their own APIs below, untagged ones included.
                if LISTED_BY_THEIR_OWN_APIS.iter().any(|k| kind.starts_with(k)) {
                    continue;
                }
                if let Some(name) = name_of(&mut r.tags().iter().map(|t| (t.key(), t.value()))) {
                    if exists(&aws, &kind, arn).await {
                        found.entry(kind).or_default().push(name);
                    }
                }
            }
        }

        // Kinds the emulator's tagging API does not list (IAM, being global),
        // and kinds listed by name prefix so that an untagged one shows too.
        let iam = aws.iam().await;
        for role in iam.list_roles().send().await.unwrap().roles() {
            if role.role_name().starts_with(&self.prefix) {
                let tags = iam.list_role_tags().role_name(role.role_name()).send().await.unwrap();
                let name = name_of(&mut tags.tags().iter().map(|t| (t.key(), t.value())));
                found.entry("iam:role".into()).or_default().push(name.unwrap_or_else(|| role.role_name().into()));
            }
        }
        let ecr = aws.ecr().await;
        for repo in ecr.describe_repositories().send().await.unwrap().repositories() {
            if repo.repository_name().unwrap_or_default().starts_with(&self.prefix) {
                let tags =
                    ecr.list_tags_for_resource().resource_arn(repo.repository_arn().unwrap()).send().await.unwrap();
                let name = name_of(&mut tags.tags().iter().map(|t| (t.key(), t.value())));
                found.entry("ecr:repository".into()).or_default().push(name.unwrap_or_else(|| "?".into()));
            }
        }
        let kinesis = aws.kinesis().await;
        for stream in kinesis.list_streams().send().await.unwrap().stream_names() {
            if stream.starts_with(&self.prefix) {
                let tags = kinesis.list_tags_for_stream().stream_name(stream).send().await.unwrap();
                let name = name_of(&mut tags.tags().iter().map(|t| (t.key(), t.value().unwrap_or_default())));
                found.entry("kinesis:stream".into()).or_default().push(name.unwrap_or_else(|| stream.clone()));
            }
        }
        let ec2 = aws.ec2().await;
        let mine = || aws_sdk_ec2::types::Filter::builder().name("tag:iac:stack").values(&self.identity).build();
        for a in ec2.describe_addresses().filters(mine()).send().await.unwrap().addresses() {
            let name =
                name_of(&mut a.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())));
            found.entry("ec2:elastic-ip".into()).or_default().push(name.unwrap_or_default());
        }
        for e in ec2.describe_vpc_endpoints().filters(mine()).send().await.unwrap().vpc_endpoints() {
            if e.state().map(|s| s.as_str()) != Some("deleted") {
                let name =
                    name_of(&mut e.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())));
                found.entry("ec2:vpc-endpoint".into()).or_default().push(name.unwrap_or_default());
            }
        }
        let codebuild = aws.codebuild().await;
        for p in codebuild.list_projects().send().await.unwrap().projects() {
            if p.starts_with(&self.prefix) {
                found.entry("codebuild:project".into()).or_default().push(p.clone());
            }
        }
        let pipelines = aws.codepipeline().await;
        for p in pipelines.list_pipelines().send().await.unwrap().pipelines() {
            if p.name().unwrap_or_default().starts_with(&self.prefix) {
                found.entry("codepipeline:pipeline".into()).or_default().push(p.name().unwrap_or_default().into());
            }
        }
        // RDS resources being deleted still list for a while on AWS; the
        // emulator drops them at once, so nothing is filtered. Deleted NAT
        // gateways list as `deleted` on both (see `exists`).
        found
    }

    /// The cloud holds exactly what the state records: every tagged resource
    /// is one of the state's, none twice, and a refresh finds every recorded
    /// resource as recorded.
    pub async fn assert_inventory_matches(&self, trial: &str) {
        let state = self.state_resources();
        assert!(!state.is_empty(), "{trial}: the state is empty after a completed up");
        let cloud = self.inventory().await;
        let mut problems = Vec::new();
        for (kind, names) in &cloud {
            let mut seen = BTreeSet::new();
            for n in names {
                if !kind.starts_with("codebuild") && !kind.starts_with("codepipeline") && !state.contains_key(n) {
                    problems.push(format!("orphan {kind} `{n}`: in the cloud, not in the state"));
                }
                if !seen.insert(n) {
                    problems.push(format!("duplicate {kind} `{n}`"));
                }
            }
        }
        let pipelines = |prefix: &str| cloud.get(prefix).map_or(0, Vec::len);
        let declared = |ty: &str| state.values().filter(|t| t.as_str() == ty).count();
        if pipelines("codebuild:project") != declared("aws:codebuild:Project") {
            problems.push(format!("CodeBuild projects: {:?} in the cloud", cloud.get("codebuild:project")));
        }
        if pipelines("codepipeline:pipeline") != declared("aws:codepipeline:Pipeline") {
            problems.push(format!("pipelines: {:?} in the cloud", cloud.get("codepipeline:pipeline")));
        }
        assert!(problems.is_empty(), "{trial}: the cloud does not match the state:\n  {}", problems.join("\n  "));
        self.run.assert_converged();
    }

    pub async fn assert_nothing_left(&self, trial: &str) {
        let cloud = self.inventory().await;
        assert!(cloud.values().all(Vec::is_empty), "{trial}: left in the cloud after destroy: {cloud:?}");
        assert!(self.state_resources().is_empty(), "{trial}: the state still records resources");
    }
}

/// Whether a resource the tagging API lists still exists as AWS counts it:
/// some stay listed once deleted — a deleted ECS cluster or service and a
/// deregistered task definition are `INACTIVE`, a deleted NAT gateway is
/// `deleted` (only the prod config has any), a deleted KMS key waits out
/// its `PendingDeletion` days — and Aurora's automated snapshots, which AWS
/// deletes with their cluster, outlive it in the emulator.
async fn exists(aws: &iac_aws::AwsProvider, kind: &str, arn: &str) -> bool {
    match kind {
        "ecs:cluster" => {
            let ecs = aws.ecs().await;
            let c = ecs.describe_clusters().clusters(arn).send().await.unwrap();
            c.clusters().iter().any(|c| c.status() == Some("ACTIVE"))
        }
        "ecs:service" => {
            // arn:…:service/<cluster>/<service>
            let cluster = arn.rsplit('/').nth(1).unwrap_or_default();
            let ecs = aws.ecs().await;
            let s = ecs.describe_services().cluster(cluster).services(arn).send().await.unwrap();
            s.services().iter().any(|s| s.status() == Some("ACTIVE"))
        }
        "ecs:task-definition" => {
            let ecs = aws.ecs().await;
            let t = ecs.describe_task_definition().task_definition(arn).send().await.unwrap();
            t.task_definition().and_then(|t| t.status()).map(|s| s.as_str()) == Some("ACTIVE")
        }
        "ec2:natgateway" => {
            // arn:…:natgateway/<id>
            let id = arn.rsplit('/').next().unwrap_or_default();
            let ec2 = aws.ec2().await;
            let n = ec2.describe_nat_gateways().nat_gateway_ids(id).send().await.unwrap();
            n.nat_gateways().iter().any(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
        }
        "kms:key" => {
            let kms = aws.kms().await;
            let k = kms.describe_key().key_id(arn).send().await.unwrap();
            k.key_metadata().and_then(|m| m.key_state()).map(|s| s.as_str()) != Some("PendingDeletion")
        }
        "rds:cluster-snapshot" => {
            let rds = aws.rds().await;
            let manual = rds.describe_db_cluster_snapshots().snapshot_type("manual").send().await.unwrap();
            manual.db_cluster_snapshots().iter().any(|s| s.db_cluster_snapshot_arn() == Some(arn))
        }
        _ => true,
    }
}

//! Bad input through the real binaries, as a table: malformed config
//! (CIDRs, subnets, names, Fargate sizes, an Aurora class, an EKS version,
//! values the AWS catalog does not hold — an engine version, an instance
//! class, a zone —, fields that must agree — zones and region, a replica
//! and its source's backups, lifecycle transitions —, an OpenSearch
//! Serverless name, an e-mail address, a duplicate name, missing and
//! wrong-typed keys, secrets), malformed state
//! (truncated, from a newer schema, a torn journal), and a bad command line
//! or environment (an unknown `--target`, a stale saved plan, a wrong
//! passphrase, a bad `IAC_BACKEND`). Each case must exit 1 with one error
//! naming what is wrong, make no mutating call to the cloud (the emulator's
//! counting endpoint says which calls arrived), and leave every file of the
//! stack — config and state — byte for byte as it was. The Bitcoin pipeline
//! is deployed first, so its state is a real one; afterwards the cloud
//! still matches it exactly.
//!
//! A dependency cycle cannot be written in the platforms' typed config, so
//! that case (and a second duplicate) runs `iac-core`'s `iac-test-stack`,
//! whose cloud is a file in the stack's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iac_tests::moto;
use serde_json::json;

use crate::cli::*;
use crate::inventory::Subject;

const TRADING: &str = "trading-platform";
const ONS: &str = "ons-data-platform";
const AUTH_TOKEN: &str = "bad-input-AUTH-token-5e1f";

/// Which program a case runs.
#[derive(Clone, Copy, PartialEq)]
enum Program {
    /// The Bitcoin pipeline's dev config, deployed.
    Bitcoin,
    /// The trading platform's dev stack, never deployed, AUTH token set.
    Trading,
    /// The network example (`network-example`), never deployed.
    Network,
    /// The ONS data platform's dev stack, never deployed.
    Ons,
    /// `iac-test-stack` (the in-memory test provider), deployed.
    TestStack,
}

/// How a case breaks its stack before the run.
enum Break {
    /// Nothing: the command line or the environment is what is wrong.
    Nothing,
    /// Replaces the first `from` after `after` in the stack's config.
    Config(&'static str, &'static str, &'static str),
    /// Rewrites a file of the stack's state directory.
    State(&'static str, fn(Vec<u8>) -> Vec<u8>),
    /// Anything else, run against the stack.
    Steps(fn(&StackRun)),
}

struct Case {
    what: &'static str,
    program: Program,
    broken: Break,
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    /// What the error must say (the resource, the field, the value…).
    says: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    use Break::*;
    use Program::*;
    let up: &[&str] = &["up", "--yes"];
    let preview: &[&str] = &["preview"];
    let case = |what, program, broken, args, says| Case { what, program, broken, env: &[], args, says };
    vec![
        case(
            "a malformed CIDR",
            Bitcoin,
            Config("vpc_cidr", "10.0.0.0/16", "10.0.0.300/16"),
            up,
            &["network/vpc", "cidrBlock", "`10.0.0.300/16` is not an IPv4 CIDR block"],
        ),
        case(
            "a VPC too small for its subnets",
            Bitcoin,
            Config("vpc_cidr", "10.0.0.0/16", "10.0.0.0/20"),
            up,
            &["network/private-us-east-1a", "`10.0.64.0/20` is outside its VPC `network/vpc`"],
        ),
        case(
            "a subnet outside its VPC",
            Network,
            Config("publicSubnets", "10.0.1.0/24", "10.1.1.0/24"),
            up,
            &["public-b", "`10.1.1.0/24` is outside its VPC"],
        ),
        case(
            "overlapping subnets",
            Network,
            Config("privateSubnets", "10.0.10.0/24", "10.0.0.128/25"),
            up,
            &["cidrBlock", "overlaps subnet"],
        ),
        case(
            "invalid bucket names",
            Bitcoin,
            Config("environment", "\"bad-input\"", "\"Bad-Input\""),
            up,
            &["data-lake/raw", "`btc-Bad-Input-pipeline-raw`", "only lowercase letters"],
        ),
        case(
            "invalid identifiers",
            Bitcoin,
            Config("[services.rest-ingestor]", "rest-ingestor", "\"rest ingestor\""),
            up,
            &["rest ingestor/service", "name: `rest ingestor` is not allowed"],
        ),
        case(
            "a duplicate name",
            Bitcoin,
            Config("[services.rest-ingestor]", "rest-ingestor", "alb"),
            up,
            &["duplicate resource name `alb`"],
        ),
        case(
            "a Fargate cpu Fargate does not offer",
            Bitcoin,
            Config("[services.aggregator]", "cpu = 2048", "cpu = 1536"),
            up,
            &["aggregator/task", "`1536` is not a Fargate task CPU value"],
        ),
        case(
            "a Fargate memory that does not go with its cpu",
            Bitcoin,
            Config("[services.sbe-ingestor]", "memory = 2048", "memory = 512"),
            up,
            &["sbe-ingestor/task", "`512` MiB does not go with cpu 1024"],
        ),
        case(
            "an instance class Aurora does not offer",
            Bitcoin,
            Config("rds_instance_class", "db.t3.medium", "db.t3.micro"),
            up,
            &["feature-store/instance-1", "db.t3.micro"],
        ),
        case(
            "a cache node type that does not exist",
            Bitcoin,
            Config("redis_node_type", "cache.t3.micro", "cache.x9.huge"),
            up,
            &["hot-state/redis", "nodeType", "`x9` is not a node family"],
        ),
        case(
            "a log retention CloudWatch does not offer",
            Bitcoin,
            Config("flow_log_retention_days", "7", "8"),
            up,
            &["network/flow-logs", "retentionInDays", "8 days"],
        ),
        case(
            "a backup retention out of range",
            Bitcoin,
            Config("backup_retention_period", "1", "40"),
            up,
            &["feature-store/cluster", "backupRetentionPeriod", "between 1 and 35"],
        ),
        case(
            "a negative desired count",
            Bitcoin,
            Config("[services.rest-ingestor]", "desired_count = 1", "desired_count = -1"),
            up,
            &["rest-ingestor/service", "desiredCount", "cannot be negative"],
        ),
        case(
            "a health-check path without its slash",
            Bitcoin,
            Config("[services.sbe-ingestor]", "\"/health\"", "\"health\""),
            up,
            &["sbe-ingestor/tg", "healthCheck.path", "`health`"],
        ),
        case(
            "a stream with no shards",
            Bitcoin,
            Config("kinesis_shard_count", "= 1", "= 0"),
            up,
            &["market-data", "shardCount"],
        ),
        case(
            "a missing config key",
            Bitcoin,
            Config("kinesis_shard_count", "kinesis_shard_count = 1", ""),
            up,
            &["config `kinesis_shard_count`", "is missing"],
        ),
        case(
            "a wrong-typed config key",
            Bitcoin,
            Config("kinesis_shard_count", "1", "\"one\""),
            up,
            &["config `kinesis_shard_count`", "wrong type"],
        ),
        case(
            "a config value out of its type's range",
            Bitcoin,
            Config("[services.rest-ingestor]", "port = 8080", "port = 70000"),
            up,
            &["rest-ingestor.port", "70000"],
        ),
        case(
            "an EKS version past the end of support",
            Trading,
            Config("kubernetes_version", "1.32", "1.28"),
            preview,
            &["eks/cluster", "Kubernetes 1.28 left EKS extended support"],
        ),
        case(
            "an engine version RDS does not create",
            Trading,
            Config("rds_engine_version", "15.18", "15.99"),
            preview,
            &[
                "rds/primary",
                "engineVersion",
                "`15.99` is not a PostgreSQL version RDS creates",
                "nearest: 15.",
                "scripts/refresh-catalog",
                ".catalog_override(",
            ],
        ),
        case(
            "an instance class RDS does not offer",
            Trading,
            Config("rds_instance_class", "db.t4g.medium", "db.t4g.mega"),
            preview,
            &["rds/primary", "instanceClass", "`db.t4g.mega`", "db.t4g.medium", ".catalog_override("],
        ),
        case(
            "an Availability Zone that does not exist",
            Trading,
            Config("availability_zones =", "us-east-1c", "us-east-1g"),
            preview,
            &["vpc/vpc", "`us-east-1g` is not an Availability Zone of us-east-1", "nearest: us-east-1"],
        ),
        case(
            "zones of another region than the config's",
            Trading,
            Config("availability_zones =", "us-east-1c", "us-west-2c"),
            preview,
            &["vpc/vpc", "zone `us-west-2c` is in us-west-2, not in us-east-1"],
        ),
        case(
            "a read replica of an instance without backups",
            Trading,
            Config("rds_backup_retention_period", "= 7", "= 0"),
            preview,
            &["rds/replica", "replicateSourceDb", "keeps no automated backups"],
        ),
        case(
            "an alert address that is not an e-mail address",
            Trading,
            Config("region", "region = \"us-east-1\"", "region = \"us-east-1\"\nalert_email = \"ops-at-example.com\""),
            preview,
            &["monitoring/alerts-email", "endpoint", "`ops-at-example.com` is not an e-mail address"],
        ),
        case(
            "a Glacier transition less than 30 days after Standard-IA",
            Ons,
            Config("raw_transition_glacier_days", "90", "45"),
            preview,
            &["GLACIER at 45 days is less than 30 days after STANDARD_IA at 30"],
        ),
        case(
            "an OpenSearch Serverless collection name AWS refuses",
            Ons,
            Config("environment", "\"dev\"", "\"dev_kb\""),
            preview,
            &["kb-collection", "`ons-dev_kb-kb`", "3–32 characters"],
        ),
        case(
            "an AUTH token Redis refuses",
            Trading,
            Steps(|run| {
                let set = run.offline(&["config", "set", "--secret", "elasticache_auth_token", "short-Tok3n"]);
                assert!(set.status.success());
            }),
            preview,
            &["elasticache/redis", "authToken"],
        ),
        case(
            "a missing secret",
            Trading,
            Steps(|run| {
                let text = std::fs::read_to_string(run.config_file()).unwrap();
                let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("elasticache_auth_token =")).collect();
                assert_ne!(kept.len(), text.lines().count(), "the secret is in the config");
                std::fs::write(run.config_file(), kept.join("\n")).unwrap();
            }),
            preview,
            &["config `elasticache_auth_token`", "config set --secret elasticache_auth_token"],
        ),
        Case {
            env: &[("IAC_PASSPHRASE", "not the passphrase")],
            ..case("a wrong passphrase", Trading, Nothing, preview, &["passphrase"])
        },
        case(
            "an unknown --target",
            Bitcoin,
            Nothing,
            &["up", "--yes", "--target", "ghost"],
            &["unknown target `ghost`"],
        ),
        case(
            "a stale saved plan",
            Bitcoin,
            Steps(|run| {
                run.edit_config("[services.inference]", "desired_count = 3", "desired_count = 4");
                let saved = run.offline(&["preview", "--save-plan", "plan.json"]);
                assert!(saved.status.success(), "{}", String::from_utf8_lossy(&saved.stderr));
                run.edit_config("[services.inference]", "desired_count = 4", "desired_count = 5");
            }),
            &["up", "--yes", "--plan", "plan.json"],
            &["plan.json", "the program now plans different changes"],
        ),
        case(
            "a truncated state file",
            Bitcoin,
            State("snapshot.json", |b| b[..b.len() / 2].to_vec()),
            up,
            &["snapshot.json"],
        ),
        case(
            "a state from a newer schema",
            Bitcoin,
            State("snapshot.json", |b| {
                let mut doc: serde_json::Value = serde_json::from_slice(&b).unwrap();
                doc["version"] = json!(99);
                serde_json::to_vec(&doc).unwrap()
            }),
            up,
            &["snapshot.json", "newer"],
        ),
        case(
            "a journal with a torn last line",
            Bitcoin,
            State("journal.jsonl", |mut b| {
                b.extend_from_slice(br#"{"t":"begin","seq":99999,"op":"cre"#);
                b
            }),
            up,
            &["journal", "is torn"],
        ),
        case(
            "a dependency cycle",
            TestStack,
            Steps(|run| std::fs::write(run.config_file(), "cycle = true\n").unwrap()),
            up,
            &["cycle", "loop-a", "loop-b"],
        ),
        case(
            "a duplicate name in a program",
            TestStack,
            Steps(|run| std::fs::write(run.config_file(), "duplicate = true\n").unwrap()),
            up,
            &["duplicate resource name `net`"],
        ),
        Case {
            env: &[("IAC_BACKEND", "ftp://bucket/stacks")],
            ..case("a backend URL of no known scheme", Bitcoin, Nothing, up, &["IAC_BACKEND `ftp://bucket/stacks`"])
        },
        Case {
            env: &[("IAC_BACKEND", "s3://Team_State/stacks")],
            ..case("a backend bucket name S3 refuses", Bitcoin, Nothing, up, &["IAC_BACKEND", "`Team_State`"])
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_1_naming_the_problem_and_changes_nothing() {
    let _endpoint = FAULT_ENDPOINT.lock().await;
    moto().set_faults(&json!({}));
    let btc = Subject::new("bad-input");
    btc.run.ok(&["up", "--yes"]);
    let trading = StackRun::new(TRADING, &config_dir("trading-platform"), "dev");
    let set = trading.offline(&["config", "set", "--secret", "elasticache_auth_token", AUTH_TOKEN]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let mut test_stack = StackRun::with_config("iac-test-stack", "dev", "");
    let dir = test_stack.dir.path().to_owned();
    test_stack.set_env("IAC_TEST_CONFIG_DIR", &dir.join("config").to_string_lossy());
    test_stack.set_env("IAC_TEST_CLOUD", &dir.join("cloud.json").to_string_lossy());
    test_stack.ok(&["up", "--yes"]);
    let ons = StackRun::new(ONS, &config_dir("ons-data-platform"), "dev");
    let network = StackRun::with_config(
        "network-example",
        "dev",
        "vpcCidr = \"10.0.0.0/16\"\n\
         publicSubnets = [\"10.0.0.0/24\", \"10.0.1.0/24\"]\n\
         privateSubnets = [\"10.0.10.0/24\", \"10.0.11.0/24\"]\n\
         flowLogBucket = \"bad-input-network-flow-logs\"\n",
    );

    let table = cases();
    assert!(table.len() >= 20, "{} cases", table.len());
    let mut failures = Vec::new();
    for case in &table {
        let run = match case.program {
            Program::Bitcoin => &btc.run,
            Program::Trading => &trading,
            Program::Network => &network,
            Program::Ons => &ons,
            Program::TestStack => &test_stack,
        };
        let pristine = files(run.dir.path());
        match &case.broken {
            Break::Nothing => {}
            Break::Config(after, from, to) => run.edit_config(after, from, to),
            Break::State(file, rewrite) => {
                let path = state_dir(run).join(file);
                let bytes = std::fs::read(&path).unwrap_or_default();
                std::fs::write(&path, rewrite(bytes)).unwrap();
            }
            Break::Steps(steps) => steps(run),
        }
        let before = files(run.dir.path());
        moto().set_faults(&json!({}));
        let out = run.faulty_with(case.env, case.args);
        let calls = moto().faults_injected();
        let after = files(run.dir.path());
        restore(run.dir.path(), &pristine);

        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let mut wrong = Vec::new();
        if out.status.code() != Some(1) {
            wrong.push(format!("exited {:?}, not 1", out.status.code()));
        }
        for needle in case.says {
            if !stderr.contains(needle) {
                wrong.push(format!("the error does not say `{needle}`"));
            }
        }
        let errors = stderr.lines().filter(|l| l.starts_with("error")).count();
        if errors != 1 || stderr.contains("panicked") {
            wrong.push(format!("{errors} error reports, not one"));
        }
        if stdout.contains("short-Tok3n") || stderr.contains("short-Tok3n") || stderr.contains(AUTH_TOKEN) {
            wrong.push("a secret was printed".into());
        }
        let mutating: Vec<&String> = calls["operations"]
            .as_object()
            .map(|ops| ops.keys().filter(|op| !is_read(op)).collect())
            .unwrap_or_default();
        if !mutating.is_empty() {
            wrong.push(format!("calls that change the cloud reached it: {mutating:?}"));
        }
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|p| before.get(*p) != after.get(*p))
            .map(|p| p.strip_prefix(run.dir.path()).unwrap_or(p).display().to_string())
            .collect();
        if !changed.is_empty() {
            wrong.push(format!("files changed: {changed:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}:\n    {}\n    stderr: {stderr}", case.what, wrong.join("\n    ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), table.len(), failures.join("\n"));
    for run in [&trading, &network, &ons] {
        assert!(!run.dir.path().join(".iac").exists() || files(&run.dir.path().join(".iac")).is_empty());
    }

    // The deployed stack is exactly as it was, and goes cleanly.
    btc.assert_inventory_matches("after the bad input").await;
    btc.run.ok(&["destroy", "--yes"]);
    btc.assert_nothing_left("after the bad input").await;
}

/// The stack's state directory in the local backend.
fn state_dir(run: &StackRun) -> PathBuf {
    let iac = run.dir.path().join(".iac");
    let project = std::fs::read_dir(&iac).unwrap().next().unwrap().unwrap().path();
    let stacks: Vec<PathBuf> = std::fs::read_dir(project).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(stacks.len(), 1, "{stacks:?}");
    stacks[0].clone()
}

/// Whether a call the emulator counted (`passed:<Operation>`, or
/// `passed:<METHOD> <path>` for S3) only reads.
fn is_read(op: &str) -> bool {
    let op = op.split_once(':').map_or(op, |(_, o)| o);
    ["Describe", "List", "Get", "HEAD ", "GET "].iter().any(|p| op.starts_with(p))
}

/// Puts `dir` back as `files` had it.
fn restore(dir: &Path, files_then: &BTreeMap<PathBuf, Vec<u8>>) {
    for path in files(dir).keys() {
        if !files_then.contains_key(path) {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (path, bytes) in files_then {
        std::fs::write(path, bytes).unwrap();
    }
}

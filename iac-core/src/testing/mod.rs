//! An in-memory provider for tests, benchmarks and users' own unit tests.
//!
//! [`TestProvider`] keeps a fake cloud in memory (optionally mirrored to a
//! file, so a process that is killed mid-run leaves a cloud the next process
//! can see), adds configurable latency per call, and injects faults: fail the
//! Nth call, fail with a retriable error, fail one resource's operation,
//! panic, or abort the whole process mid-call.
//!
//! ```
//! use iac_core::testing::{Server, TestProvider};
//! let cloud = TestProvider::new();
//! cloud.fail_nth_call(3); // the third call fails for good
//! # let _ = Server::builder().size(1).build();
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

mod backend;
mod latency;

pub use backend::{FaultyBackend, KillSwitch};

use crate::error::Diagnostic;
use crate::output::{Expr, Input, Output, Urn};
use crate::provider::*;
use crate::resource::{props, Checks, Resource, Schema};
use crate::value::Value;

crate::typed_id!(
    /// The id of a test network.
    NetworkId
);
crate::typed_id!(
    /// The id of a test server.
    ServerId
);

/// A resource as the fake cloud holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudResource {
    /// Type token.
    pub type_token: String,
    /// The identity tag.
    pub urn: String,
    /// The stack tag.
    pub stack: String,
    /// Inputs as applied (plaintext, as a real cloud holds them).
    pub inputs: serde_json::Value,
    /// Outputs.
    pub outputs: serde_json::Value,
}

/// An injected fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The call fails for good.
    Fail,
    /// The call fails with a retriable error. On a call number it fails that
    /// call once; on a resource's operation it fails this many times.
    Retriable(u32),
    /// The provider panics.
    Panic,
    /// The process aborts (simulates `SIGKILL` mid-call). With `after`, the
    /// cloud operation happens first, then the abort: the worst moment.
    Abort {
        /// Abort after doing the operation rather than before.
        after: bool,
    },
    /// The operation happens, then the call fails with a retriable error, as
    /// when a response is lost or a create's later step is throttled. On a
    /// call number it fails that call once; on a resource's operation, this
    /// many times.
    LostResponse(u32),
    /// The operation happens, then the call never returns: a resource with
    /// a timeout times out after the cloud acted. Reads and finds, which
    /// change nothing and have no timeout of their own, fail as retriable
    /// instead (a stalled connection the SDK gave up on).
    Hang,
    /// The run is killed in process (see [`KillSwitch`]): with `after`, the
    /// operation happens first. From then on the cloud and the state take
    /// nothing, until the test releases the switch.
    Kill {
        /// Kill after doing the operation rather than before.
        after: bool,
    },
}

/// What to do once the operation is done.
#[derive(PartialEq)]
enum Then {
    Return,
    Abort,
    LoseResponse,
    Hang,
    Kill,
}

#[derive(Default)]
struct Faults {
    by_call: BTreeMap<u64, Fault>,
    by_resource: Vec<(String, &'static str, Fault)>,
}

#[derive(Default, Serialize, Deserialize)]
struct Cloud {
    next_id: u64,
    resources: BTreeMap<String, CloudResource>,
}

struct Inner {
    cloud: Mutex<Cloud>,
    latency: Mutex<Duration>,
    faults: Mutex<Faults>,
    calls: AtomicU64,
    log: Mutex<Vec<String>>,
    persist: Option<PathBuf>,
    switch: KillSwitch,
    live: Mutex<Live>,
    reads_ahead: Mutex<Vec<String>>,
}

/// What [`Provider::check_live`] and [`Provider::preflight`] answer.
#[derive(Default)]
struct Live {
    /// The zones this cloud offers servers: `None` asks nothing; an error
    /// is an answer that failed.
    zones: Option<Result<Vec<String>, String>>,
    /// No credentials: the preflight fails.
    offline: bool,
}

/// The in-memory provider. Cheap to clone; clones share one cloud.
#[derive(Clone)]
pub struct TestProvider {
    inner: Arc<Inner>,
}

impl Default for TestProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl TestProvider {
    /// An empty cloud, no latency, no faults.
    pub fn new() -> TestProvider {
        TestProvider {
            inner: Arc::new(Inner {
                cloud: Mutex::new(Cloud::default()),
                latency: Mutex::new(Duration::ZERO),
                faults: Mutex::new(Faults::default()),
                calls: AtomicU64::new(0),
                log: Mutex::new(Vec::new()),
                persist: None,
                switch: KillSwitch::default(),
                live: Mutex::default(),
                reads_ahead: Mutex::default(),
            }),
        }
    }

    /// A cloud mirrored to `path` (loaded now, saved after every mutation),
    /// so separate processes see one cloud.
    pub fn persistent(path: impl Into<PathBuf>) -> TestProvider {
        let path = path.into();
        let cloud = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .unwrap_or_else(|e| panic!("the test cloud {} is corrupt: {e}", path.display())),
            Err(_) => Cloud::default(),
        };
        TestProvider {
            inner: Arc::new(Inner {
                cloud: Mutex::new(cloud),
                latency: Mutex::new(Duration::ZERO),
                faults: Mutex::new(Faults::default()),
                calls: AtomicU64::new(0),
                log: Mutex::new(Vec::new()),
                persist: Some(path),
                switch: KillSwitch::default(),
                live: Mutex::default(),
                reads_ahead: Mutex::default(),
            }),
        }
    }

    /// A provider configured from the environment, for test stack binaries:
    /// `IAC_TEST_CLOUD` (file), `IAC_TEST_LATENCY_MS`, `IAC_TEST_ABORT_ON_CALL`
    /// (abort on that call, after doing it), `IAC_TEST_FAIL_ON` (`urn:op`,
    /// op one of create/update/delete), `IAC_TEST_ZONES` (the zones offered,
    /// comma-separated), `IAC_TEST_OFFLINE` (no credentials).
    pub fn from_env() -> TestProvider {
        let p = match std::env::var("IAC_TEST_CLOUD") {
            Ok(path) => TestProvider::persistent(path),
            Err(_) => TestProvider::new(),
        };
        if let Some(ms) = std::env::var("IAC_TEST_LATENCY_MS").ok().and_then(|v| v.parse().ok()) {
            p.set_latency(Duration::from_millis(ms));
        }
        if let Some(n) = std::env::var("IAC_TEST_ABORT_ON_CALL").ok().and_then(|v| v.parse().ok()) {
            p.fault_on_call(n, Fault::Abort { after: true });
        }
        if let Ok(spec) = std::env::var("IAC_TEST_FAIL_ON") {
            if let Some((urn, op)) = spec.rsplit_once(':') {
                let op = match op {
                    "create" => "create",
                    "update" => "update",
                    _ => "delete",
                };
                p.fault_on_resource(urn, op, Fault::Fail);
            }
        }
        if let Ok(zones) = std::env::var("IAC_TEST_ZONES") {
            p.set_offered_zones(Ok(zones.split(',').map(str::to_owned).collect()));
        }
        p.set_offline(std::env::var_os("IAC_TEST_OFFLINE").is_some());
        p
    }

    /// Sets the latency of every call.
    pub fn set_latency(&self, d: Duration) {
        *self.inner.latency.lock().unwrap() = d;
    }

    /// The zones this cloud offers servers, which [`Provider::check_live`]
    /// then checks planned servers against (`Err`: asking fails). Asking is
    /// logged as `check_live *` but is not a numbered call.
    pub fn set_offered_zones(&self, zones: Result<Vec<String>, String>) {
        self.inner.live.lock().unwrap().zones = Some(zones);
    }

    /// Without credentials: the preflight fails, so nothing is asked.
    pub fn set_offline(&self, offline: bool) {
        self.inner.live.lock().unwrap().offline = offline;
    }

    /// Builder form of [`TestProvider::set_latency`].
    pub fn with_latency(self, d: Duration) -> Self {
        self.set_latency(d);
        self
    }

    /// Injects a fault on the `n`th call (counting from 1, all operations).
    pub fn fault_on_call(&self, n: u64, f: Fault) {
        self.inner.faults.lock().unwrap().by_call.insert(n, f);
    }

    /// The `n`th call fails for good.
    pub fn fail_nth_call(&self, n: u64) {
        self.fault_on_call(n, Fault::Fail);
    }

    /// Injects a fault whenever `op` (`create`, `update`, `delete`, `read`)
    /// is called for `urn`.
    pub fn fault_on_resource(&self, urn: &str, op: &'static str, f: Fault) {
        self.inner.faults.lock().unwrap().by_resource.push((urn.to_owned(), op, f));
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        *self.inner.faults.lock().unwrap() = Faults::default();
    }

    /// The switch that kills a run in process: pulled by [`Fault::Kill`],
    /// shared with a [`FaultyBackend`] so the state stops with the cloud.
    pub fn kill_switch(&self) -> KillSwitch {
        self.inner.switch.clone()
    }

    /// How many calls were made.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// What refreshes told the cloud of their reads, in order: `ahead N`
    /// for a read-ahead of N resources, `done` when it was dropped.
    pub fn read_ahead_log(&self) -> Vec<String> {
        self.inner.reads_ahead.lock().unwrap().clone()
    }

    /// Every mutating call, as `op urn`, in order.
    pub fn call_log(&self) -> Vec<String> {
        self.inner.log.lock().unwrap().clone()
    }

    /// Empties the call log.
    pub fn clear_log(&self) {
        self.inner.log.lock().unwrap().clear();
    }

    /// What the cloud holds, by id.
    pub fn inventory(&self) -> BTreeMap<String, CloudResource> {
        self.inner.cloud.lock().unwrap().resources.clone()
    }

    /// Changes a resource behind the engine's back (to simulate drift).
    pub fn tamper(&self, id: &str, key: &str, value: serde_json::Value) {
        let mut c = self.inner.cloud.lock().unwrap();
        if let Some(r) = c.resources.get_mut(id) {
            if let Some(m) = r.inputs.as_object_mut() {
                m.insert(key.to_owned(), value);
            }
        }
        self.save(&c);
    }

    /// Deletes a resource behind the engine's back.
    pub fn remove_behind_back(&self, id: &str) {
        let mut c = self.inner.cloud.lock().unwrap();
        c.resources.remove(id);
        self.save(&c);
    }

    /// Mirrors the cloud to its file. Called with the cloud's lock held, so
    /// saves never interleave and the file follows the order of mutations.
    fn save(&self, cloud: &Cloud) {
        if let Some(p) = &self.inner.persist {
            let bytes = serde_json::to_vec(cloud).expect("cloud serializes");
            crate::state::local::write_atomic(p, &bytes).expect("write the test cloud");
        }
    }

    /// Counts the call, waits the latency, and applies any fault. Returns
    /// what to do after doing the operation.
    async fn enter(&self, op: &'static str, urn: &Urn) -> Result<Then, ProviderError> {
        if self.inner.switch.pulled() {
            return Err(ProviderError::fatal(op, "the run was killed (injected)"));
        }
        let n = self.inner.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let latency = *self.inner.latency.lock().unwrap();
        if !latency.is_zero() {
            latency::sleep(latency).await;
        }
        let fault = {
            let mut f = self.inner.faults.lock().unwrap();
            let by_call = f.by_call.get(&n).cloned();
            let by_res =
                f.by_resource.iter_mut().find(|(u, o, _)| u == urn.as_str() && *o == op).map(|(_, _, fault)| {
                    let now = fault.clone();
                    if let Fault::Retriable(k) | Fault::LostResponse(k) = fault {
                        *k = k.saturating_sub(1);
                    }
                    now
                });
            by_call.or(by_res)
        };
        match fault {
            None | Some(Fault::Retriable(0) | Fault::LostResponse(0)) => Ok(Then::Return),
            Some(Fault::Fail) => Err(ProviderError::fatal(op, format!("injected failure on call {n}"))),
            Some(Fault::Retriable(_)) => Err(ProviderError::retriable(op, "Throttling: rate exceeded (injected)")),
            Some(Fault::Panic) => panic!("injected panic in {op} of {urn}"),
            Some(Fault::Abort { after: false }) => std::process::abort(),
            Some(Fault::Abort { after: true }) => Ok(Then::Abort),
            Some(Fault::LostResponse(_)) => Ok(Then::LoseResponse),
            Some(Fault::Hang) => Ok(Then::Hang),
            Some(Fault::Kill { after: false }) => {
                self.inner.switch.pull();
                Err(ProviderError::fatal(op, "the run was killed (injected)"))
            }
            Some(Fault::Kill { after: true }) => Ok(Then::Kill),
        }
    }

    fn log(&self, op: &str, urn: &Urn) {
        self.inner.log.lock().unwrap().push(format!("{op} {urn}"));
    }
}

impl Then {
    /// For calls that change nothing: a hang is a stall given up on.
    fn no_hang(self) -> Then {
        if self == Then::Hang {
            Then::LoseResponse
        } else {
            self
        }
    }

    async fn finish(self, op: &str, switch: &KillSwitch) -> Result<(), ProviderError> {
        match self {
            Then::Return => Ok(()),
            Then::Abort => std::process::abort(),
            Then::LoseResponse => Err(ProviderError::retriable(op, "the response was lost (injected)")),
            Then::Hang => std::future::pending().await,
            Then::Kill => {
                switch.pull();
                Err(ProviderError::fatal(op, "the run was killed (injected)"))
            }
        }
    }
}

fn plain(v: &Value) -> serde_json::Value {
    v.to_plain_json().unwrap_or(serde_json::Value::Null)
}

fn outputs_for(type_token: &str, id: &str, inputs: &Value) -> Value {
    let mut o = BTreeMap::new();
    o.insert("arn".to_owned(), Value::from(format!("arn:test:{type_token}:{id}")));
    if type_token == SERVER.type_token {
        let n = id.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().unwrap_or(0);
        o.insert("ip".to_owned(), Value::from(format!("10.0.{}.{}", n / 250, n % 250 + 1)));
        if let Some(pw) = inputs.get("password").unwrap_secrets().0.as_str() {
            // An output derived from a secret: the provider marks it secret.
            o.insert("connection".to_owned(), Value::Secret(Box::new(Value::from(format!("admin:{pw}@{id}")))));
        }
    }
    Value::Map(o)
}

#[async_trait]
impl Provider for TestProvider {
    async fn create(&self, req: CreateRequest) -> Result<CreateResult, ProviderError> {
        let then = self.enter("create", &req.urn).await?;
        let id = {
            let mut c = self.inner.cloud.lock().unwrap();
            c.next_id += 1;
            let prefix = req.type_token.rsplit(':').next().unwrap_or("r").to_lowercase();
            let id = format!("{prefix}-{}", c.next_id);
            if req.type_token == BUCKET.type_token {
                let name = req.inputs.get("name").as_str().unwrap_or_default().to_owned();
                if c.resources.values().any(|r| r.type_token == BUCKET.type_token && r.inputs["name"] == name.as_str())
                {
                    return Err(ProviderError::fatal("CreateBucket", format!("bucket name `{name}` is taken")));
                }
            }
            let outputs = outputs_for(req.type_token, &id, &req.inputs);
            c.resources.insert(
                id.clone(),
                CloudResource {
                    type_token: req.type_token.to_owned(),
                    urn: req.urn.to_string(),
                    stack: req.stack.clone(),
                    inputs: plain(&req.inputs),
                    outputs: plain(&outputs),
                },
            );
            self.save(&c);
            id
        };
        self.log("create", &req.urn);
        then.finish("create", &self.inner.switch).await?;
        let outputs = outputs_for(req.type_token, &id, &req.inputs);
        Ok(CreateResult { id, outputs })
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError> {
        let then = self.enter("read", &req.urn).await?.no_hang();
        let found = {
            let c = self.inner.cloud.lock().unwrap();
            c.resources.get(&req.id).map(|r| ReadResult {
                id: req.id.clone(),
                inputs: Value::from_json(&r.inputs),
                outputs: outputs_for(&r.type_token, &req.id, &Value::from_json(&r.inputs)),
            })
        };
        then.finish("read", &self.inner.switch).await?;
        Ok(found)
    }

    async fn read_ahead(&self, reqs: &[ReadRequest]) {
        self.inner.reads_ahead.lock().unwrap().push(format!("ahead {}", reqs.len()));
    }

    fn read_done(&self) {
        self.inner.reads_ahead.lock().unwrap().push("done".to_owned());
    }

    /// One call for the whole batch, as a cloud that describes many
    /// resources per request answers.
    async fn read_many(&self, reqs: Vec<ReadRequest>) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        let Some(first) = reqs.first() else { return Ok(vec![]) };
        let then = self.enter("read", &first.urn).await?.no_hang();
        let found = {
            let c = self.inner.cloud.lock().unwrap();
            reqs.iter()
                .map(|req| {
                    c.resources.get(&req.id).map(|r| ReadResult {
                        id: req.id.clone(),
                        inputs: Value::from_json(&r.inputs),
                        outputs: outputs_for(&r.type_token, &req.id, &Value::from_json(&r.inputs)),
                    })
                })
                .collect()
        };
        then.finish("read", &self.inner.switch).await?;
        Ok(found)
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResult, ProviderError> {
        let then = self.enter("update", &req.urn).await?;
        {
            let mut c = self.inner.cloud.lock().unwrap();
            let r = c
                .resources
                .get_mut(&req.id)
                .ok_or_else(|| ProviderError::fatal("update", format!("{} does not exist", req.id)))?;
            r.inputs = plain(&req.inputs);
            self.save(&c);
        }
        self.log("update", &req.urn);
        then.finish("update", &self.inner.switch).await?;
        Ok(UpdateResult { outputs: outputs_for(req.type_token, &req.id, &req.inputs) })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let then = self.enter("delete", &req.urn).await?;
        {
            let mut c = self.inner.cloud.lock().unwrap();
            c.resources.remove(&req.id);
            self.save(&c);
        }
        self.log("delete", &req.urn);
        then.finish("delete", &self.inner.switch).await?;
        Ok(())
    }

    async fn find(&self, req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        let then = self.enter("find", &req.urn).await?.no_hang();
        let found = self.find_in_cloud(&req);
        then.finish("find", &self.inner.switch).await?;
        Ok(found)
    }

    async fn preflight(&self) -> Result<(), ProviderError> {
        if self.inner.live.lock().unwrap().offline {
            return Err(ProviderError::fatal("configure", "no credentials (injected)"));
        }
        Ok(())
    }

    async fn check_live(&self, reqs: Vec<LiveCheckRequest>) -> Result<Vec<Diagnostic>, ProviderError> {
        let Some(zones) = self.inner.live.lock().unwrap().zones.clone() else { return Ok(Vec::new()) };
        self.inner.log.lock().unwrap().push("check_live *".into());
        let zones = zones.map_err(|e| ProviderError::retriable("DescribeZones", e))?;
        let servers = reqs.iter().filter(|r| r.type_token == SERVER.type_token);
        Ok(servers
            .filter_map(|r| {
                let zone = r.inputs.get("zone").as_str()?;
                (!zones.iter().any(|z| z == zone)).then(|| Diagnostic {
                    urn: r.urn.clone(),
                    type_token: r.type_token.clone(),
                    field: "zone".into(),
                    message: format!("zone `{zone}` is not offered to this account (it offers {})", zones.join(", ")),
                })
            })
            .collect())
    }
}

impl TestProvider {
    fn find_in_cloud(&self, req: &FindRequest) -> Option<ReadResult> {
        let c = self.inner.cloud.lock().unwrap();
        c.resources
            .iter()
            .find(|(id, r)| {
                r.urn == req.urn.as_str() && r.stack == req.stack && r.type_token == req.type_token && !req.is_known(id)
            })
            .map(|(id, r)| ReadResult {
                id: id.clone(),
                inputs: Value::from_json(&r.inputs),
                outputs: outputs_for(&r.type_token, id, &Value::from_json(&r.inputs)),
            })
    }
}

/// Schema of [`Network`].
pub static NETWORK: Schema =
    Schema { replace_on: &["cidr"], taggable: true, ..Schema::new("test:index:Network", "test") };
/// Schema of [`Server`].
pub static SERVER: Schema =
    Schema { replace_on: &["zone"], taggable: true, ..Schema::new("test:index:Server", "test") };
/// Schema of [`Bucket`]: names are unique, so it is replaced delete-first.
pub static BUCKET: Schema =
    Schema { replace_on: &["name"], delete_before_replace: true, ..Schema::new("test:index:Bucket", "test") };
/// Schema of the untyped resource that generated programs use: `key`
/// forces a replacement, everything else updates in place.
pub static THING: Schema = Schema { replace_on: &["key"], taggable: true, ..Schema::new("test:index:Thing", "test") };

/// A test network.
#[derive(bon::Builder)]
pub struct Network {
    /// Its address range (changing it replaces the network).
    #[builder(into)]
    pub cidr: String,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Network`].
pub struct NetworkOutputs {
    /// Its id.
    pub id: Output<NetworkId>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Network {
    type Outputs = NetworkOutputs;
    fn schema() -> &'static Schema {
        &NETWORK
    }
    fn inputs(&self) -> Expr {
        props([("cidr", Value::from(self.cidr.as_str()).into()), ("tags", Value::from(self.tags.clone()).into())])
    }
    fn outputs(urn: &Urn) -> NetworkOutputs {
        NetworkOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
    fn validate(&self, c: &mut Checks) {
        c.check(self.cidr.contains('/'), "cidr", || format!("`{}` is not a CIDR block", self.cidr));
    }
}

/// A test server.
#[derive(bon::Builder)]
pub struct Server {
    /// Its size, 1 to 64 (updates in place).
    pub size: i64,
    /// Its zone (changing it replaces the server).
    #[builder(into)]
    pub zone: Option<String>,
    /// The network it is in.
    #[builder(into)]
    pub network_id: Option<Input<NetworkId>>,
    /// An admin password (pass a secret).
    #[builder(into)]
    pub password: Option<Input<String>>,
    /// Tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// Outputs of a [`Server`].
pub struct ServerOutputs {
    /// Its id.
    pub id: Output<ServerId>,
    /// Its address.
    pub ip: Output<String>,
    /// A connection string (secret when a password is set).
    pub connection: Output<String>,
}

impl Resource for Server {
    type Outputs = ServerOutputs;
    fn schema() -> &'static Schema {
        &SERVER
    }
    fn inputs(&self) -> Expr {
        props([
            ("size", Value::from(self.size).into()),
            ("zone", Value::from(self.zone.clone()).into()),
            ("networkId", self.network_id.as_ref().map_or(Expr::Value(Value::Null), |i| i.to_expr())),
            (
                "password",
                self.password.as_ref().map_or(Expr::Value(Value::Null), |i| Expr::Secret(Box::new(i.to_expr()))),
            ),
            ("tags", Value::from(self.tags.clone()).into()),
        ])
    }
    fn outputs(urn: &Urn) -> ServerOutputs {
        ServerOutputs {
            id: Output::from_ref(urn, "id"),
            ip: Output::from_ref(urn, "ip"),
            connection: Output::from_ref(urn, "connection"),
        }
    }
    fn validate(&self, c: &mut Checks) {
        c.check((1..=64).contains(&self.size), "size", || format!("{} is not between 1 and 64", self.size));
        if let Some(z) = &self.zone {
            c.check(!z.is_empty(), "zone", || "must not be empty".into());
        }
    }
}

/// A test bucket with a globally unique name.
#[derive(bon::Builder)]
pub struct Bucket {
    /// Its name (changing it replaces the bucket, deleting first).
    #[builder(into)]
    pub name: String,
}

/// Outputs of a [`Bucket`].
pub struct BucketOutputs {
    /// Its id.
    pub id: Output<String>,
    /// Its ARN.
    pub arn: Output<String>,
}

impl Resource for Bucket {
    type Outputs = BucketOutputs;
    fn schema() -> &'static Schema {
        &BUCKET
    }
    fn inputs(&self) -> Expr {
        props([("name", Value::from(self.name.as_str()).into())])
    }
    fn outputs(urn: &Urn) -> BucketOutputs {
        BucketOutputs { id: Output::from_ref(urn, "id"), arn: Output::from_ref(urn, "arn") }
    }
}

/// Builder for a [`ServerArgs`]-style alias used in docs.
pub type ServerArgs = Server;

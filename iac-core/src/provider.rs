//! The provider interface: how the engine reaches a cloud.
//!
//! One request struct in, one result struct out, so fields can be added
//! without breaking providers. Values carry [`Value::Secret`] markers; a
//! provider uses the plaintext to call its API and must never log it.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Diagnostic;
use crate::output::Urn;
use crate::value::Value;

/// A request to create a resource.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    /// The resource's type token.
    pub type_token: &'static str,
    /// The resource's identity (tag it with this so it can be found again).
    pub urn: Urn,
    /// The stack's name (for identity tags).
    pub stack: String,
    /// The resolved inputs.
    pub inputs: Value,
    /// The create timeout, if the resource sets one.
    pub timeout: Option<Duration>,
    /// Cloud ids the state already records for this identity (during a
    /// replace, the old copy): a create that looks for what an earlier
    /// attempt of its own made must skip these, as [`FindRequest`] does.
    pub known_ids: Vec<String>,
    /// A token naming this create operation: the same on every attempt of
    /// it (the engine's retries included) and never used by another
    /// operation ([`CreateRequest::new_idempotency_token`]). A provider whose
    /// cloud takes a client token for a create passes it, so an attempt
    /// repeated after a lost response is answered with what the first made
    /// instead of making a twin.
    pub idempotency_token: String,
}

impl CreateRequest {
    /// A new idempotency token: a random UUID (version 4), which every
    /// cloud's client-token format accepts (AWS: at most 36 or 64 ASCII
    /// characters, at least 32 or 33 for some APIs).
    ///
    /// Random rather than derived from the stack, the resource and the
    /// journal's sequence number: a cloud answers a reused token with the
    /// first request's result (AWS for at least a day, even once that
    /// resource is deleted), and such a derivation repeats when a stack's
    /// state is started over or two states of one stack share an account.
    /// The token only has to outlive the operation's attempts in one run;
    /// a run that dies mid-create is settled by `find`, not by repeating it.
    ///
    /// ```
    /// let t = iac_core::provider::CreateRequest::new_idempotency_token();
    /// assert_eq!(t.len(), 36);
    /// assert_ne!(t, iac_core::provider::CreateRequest::new_idempotency_token());
    /// ```
    pub fn new_idempotency_token() -> String {
        // Version 4 (the 13th hex digit), variant 10 (the 17th's top bits).
        const VERSION: u128 = 0x4000 << 64;
        const VARIANT: u128 = 0x8000 << 48;
        let random = u128::from_be_bytes(rand::random());
        let v = (random & !(0xf000 << 64) & !(0xc000 << 48)) | VERSION | VARIANT;
        let h = format!("{v:032x}");
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }
}

/// What a create produced.
#[derive(Clone, Debug)]
pub struct CreateResult {
    /// The cloud's id for the resource.
    pub id: String,
    /// Its outputs (a map).
    pub outputs: Value,
}

/// The most resources a refresh asks [`Provider::read_many`] for at once.
pub const READ_BATCH: usize = 100;

/// A request to read a resource back.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// The resource's type token.
    pub type_token: &'static str,
    /// The resource's identity.
    pub urn: Urn,
    /// The cloud id.
    pub id: String,
    /// The inputs last applied (to map the description back onto them).
    pub inputs: Value,
    /// The outputs last recorded.
    pub outputs: Value,
}

/// A resource as the cloud describes it.
#[derive(Clone, Debug)]
pub struct ReadResult {
    /// The cloud id.
    pub id: String,
    /// The description mapped back onto the inputs.
    pub inputs: Value,
    /// The outputs.
    pub outputs: Value,
}

/// A request to find a resource by its identity, for one whose create may
/// have happened in a run that died before recording it.
///
/// More than one cloud resource can carry one identity: during a replace
/// the old copy and the new one both do. A provider must never answer with
/// an id in `known_ids` (the copies the state already records), and must
/// look past them to any other match, never stop at the first.
#[derive(Clone, Debug)]
pub struct FindRequest {
    /// The resource's type token.
    pub type_token: &'static str,
    /// The resource's identity.
    pub urn: Urn,
    /// The stack's name.
    pub stack: String,
    /// The inputs the create would use.
    pub inputs: Value,
    /// Cloud ids the state already records for this identity (its live copy
    /// and old copies of a replace still to be deleted): never an answer.
    pub known_ids: Vec<String>,
}

impl FindRequest {
    /// Whether `id` is one the state already records, so not what is looked
    /// for.
    pub fn is_known(&self, id: &str) -> bool {
        self.known_ids.iter().any(|k| k == id)
    }

    /// The first of `ids` that the state does not already record.
    ///
    /// ```
    /// # use iac_core::provider::FindRequest;
    /// # use iac_core::{Urn, Value};
    /// let req = FindRequest {
    ///     type_token: "test:index:Server",
    ///     urn: Urn::new("server"),
    ///     stack: "app/dev".into(),
    ///     inputs: Value::Null,
    ///     known_ids: vec!["old-1".into()],
    /// };
    /// assert_eq!(req.first_unknown(["old-1", "new-2"]), Some("new-2"));
    /// ```
    pub fn first_unknown<'a, S: AsRef<str> + ?Sized + 'a>(
        &self,
        ids: impl IntoIterator<Item = &'a S>,
    ) -> Option<&'a str> {
        ids.into_iter().map(AsRef::as_ref).find(|id| !self.is_known(id))
    }
}

/// A request to update a resource in place.
#[derive(Clone, Debug)]
pub struct UpdateRequest {
    /// The resource's type token.
    pub type_token: &'static str,
    /// The resource's identity.
    pub urn: Urn,
    /// The stack's name.
    pub stack: String,
    /// The cloud id.
    pub id: String,
    /// The inputs last applied.
    pub old_inputs: Value,
    /// The outputs last recorded.
    pub old_outputs: Value,
    /// The new inputs.
    pub inputs: Value,
    /// Top-level input keys that differ.
    pub changed: Vec<String>,
    /// The update timeout, if the resource sets one.
    pub timeout: Option<Duration>,
}

/// What an update produced.
#[derive(Clone, Debug)]
pub struct UpdateResult {
    /// The outputs after the update.
    pub outputs: Value,
}

/// A request to delete a resource.
#[derive(Clone, Debug)]
pub struct DeleteRequest {
    /// The resource's type token.
    pub type_token: &'static str,
    /// The resource's identity.
    pub urn: Urn,
    /// The cloud id.
    pub id: String,
    /// The inputs last applied.
    pub inputs: Value,
    /// The outputs last recorded.
    pub outputs: Value,
    /// The delete timeout, if the resource sets one.
    pub timeout: Option<Duration>,
}

/// How a provider call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth retrying with backoff (throttling, eventual consistency, 5xx).
    Retriable,
    /// Will not succeed by retrying.
    Fatal,
}

/// A failed provider call: the operation and the cloud's message.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct ProviderError {
    /// Whether to retry.
    pub kind: ErrorKind,
    /// The API operation that failed (for example `CreateVpc`).
    pub operation: String,
    /// The cloud's message.
    pub message: String,
}

impl ProviderError {
    /// A failure that retrying will not fix.
    pub fn fatal(operation: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError { kind: ErrorKind::Fatal, operation: operation.into(), message: message.into() }
    }
    /// A transient failure.
    pub fn retriable(operation: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError { kind: ErrorKind::Retriable, operation: operation.into(), message: message.into() }
    }
}

/// A cloud the engine can create, read, update and delete resources in.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Checks, once per run and before any resource is touched, that the
    /// provider can work (credentials, region). Must not mutate anything.
    async fn preflight(&self) -> Result<(), ProviderError> {
        Ok(())
    }
    /// Creates a resource.
    async fn create(&self, req: CreateRequest) -> Result<CreateResult, ProviderError>;
    /// Reads a resource back; `None` if it no longer exists.
    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResult>, ProviderError>;
    /// Reads many resources of one type back, answering in the order asked.
    ///
    /// A refresh calls this with every resource of a type (up to
    /// [`READ_BATCH`] at a time), so a provider whose API describes many
    /// resources per call (`DescribeSubnets` with many ids) makes one call
    /// where it would make dozens: API rate limits, not the engine, are what
    /// make refreshes of big stacks slow. The default reads one by one,
    /// concurrently.
    async fn read_many(&self, reqs: Vec<ReadRequest>) -> Result<Vec<Option<ReadResult>>, ProviderError> {
        futures::future::try_join_all(reqs.into_iter().map(|r| self.read(r))).await
    }
    /// Reads ahead, once before a refresh's [`Provider::read_many`] batches,
    /// what the resources of many types share, so that each batch can skip
    /// a call of its own (AWS answers the tags of up to 100 resources of any
    /// service in one call). `reqs` are every resource the refresh reads
    /// from this provider. What is read ahead is a hint for that refresh's
    /// batches, which confirm what it tells them; [`Provider::read_done`]
    /// drops it. A read-ahead that fails only costs the calls it would have
    /// saved, so it reports nothing. The default reads nothing ahead.
    async fn read_ahead(&self, _reqs: &[ReadRequest]) {}
    /// Drops what [`Provider::read_ahead`] read, once the refresh it was
    /// read for has its answers: later reads must ask the cloud.
    fn read_done(&self) {}
    /// Updates a resource in place.
    async fn update(&self, req: UpdateRequest) -> Result<UpdateResult, ProviderError>;
    /// Deletes a resource; deleting one that is already gone succeeds.
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError>;
    /// Finds a resource by its identity tags (adoption after a crash).
    async fn find(&self, _req: FindRequest) -> Result<Option<ReadResult>, ProviderError> {
        Ok(None)
    }
    /// Checks what a plan creates or changes against what the cloud offers
    /// this account and region, which no catalog shipped with the program
    /// can know: the zones an account sees, the classes orderable in a
    /// region. `preview` and `up` call it once per provider before the plan
    /// is shown, and only when the provider's preflight passes: offline
    /// (no credentials) nothing is asked. Problems come back as diagnostics
    /// naming the resource and field; an error means the cloud could not be
    /// asked, and the run goes on with a warning. Must not mutate anything.
    async fn check_live(&self, _reqs: Vec<LiveCheckRequest>) -> Result<Vec<Diagnostic>, ProviderError> {
        Ok(Vec::new())
    }
}

/// A resource a plan creates or changes, for [`Provider::check_live`].
#[derive(Clone, Debug)]
pub struct LiveCheckRequest {
    /// The resource.
    pub urn: Urn,
    /// Its type token.
    pub type_token: String,
    /// Its inputs as planned; what is known only after apply is
    /// [`Value::Unknown`].
    pub inputs: Value,
}

/// A named provider instance registered with a stack.
#[derive(Clone, Debug)]
pub struct ProviderHandle {
    name: String,
}

impl ProviderHandle {
    pub(crate) fn new(name: String) -> Self {
        ProviderHandle { name }
    }
    /// The provider instance's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

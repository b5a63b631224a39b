//! One stack's state on a backend: load (snapshot + journal replay +
//! integrity check), journal operations, compact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::state::codec::SecretsCodec;
use crate::state::journal::{encode_mutation, replay, JournalWriter};
use crate::state::{Backend, Mutation, PendingOp, Record, SnapshotFile, State, SCHEMA_VERSION};

/// A loaded state plus a fingerprint of the bytes it came from (what a
/// saved plan checks to know the state has not moved).
pub struct Loaded {
    /// The state.
    pub state: State,
    /// SHA-256 of snapshot and journal bytes.
    pub fingerprint: String,
}

/// Access to one stack's stored state.
#[derive(Clone)]
pub struct StateStore {
    backend: Arc<dyn Backend>,
    stack: String,
    codec: SecretsCodec,
}

impl StateStore {
    /// The state of `stack` on `backend`, sealing secrets with `codec`.
    pub fn new(backend: Arc<dyn Backend>, stack: &str, codec: SecretsCodec) -> StateStore {
        StateStore { backend, stack: stack.to_owned(), codec }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The stack name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// The secrets codec.
    pub fn codec(&self) -> &SecretsCodec {
        &self.codec
    }

    /// Loads and verifies the state. A corrupt or truncated file, a newer
    /// schema, or a broken invariant is an error naming the file; nothing is
    /// written.
    pub async fn load(&self) -> Result<Loaded> {
        let stored = self.backend.load(&self.stack).await?;
        let snap_path = self.backend.snapshot_location(&self.stack);
        let mut hasher = Sha256::new();
        let mut state = State::default();
        if let Some(bytes) = &stored.snapshot {
            hasher.update(bytes);
            let probe: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
                Error::corrupt(&snap_path, format!("not a valid state snapshot (truncated or corrupt?): {e}"))
            })?;
            let version = probe.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
            if version > u64::from(SCHEMA_VERSION) {
                return Err(Error::corrupt(
                    &snap_path,
                    format!("written by a newer version (schema {version}; this build reads {SCHEMA_VERSION}): upgrade the tool"),
                ));
            }
            let file: SnapshotFile = serde_json::from_value(probe)
                .map_err(|e| Error::corrupt(&snap_path, format!("not a valid state snapshot: {e}")))?;
            if file.stack != self.stack {
                return Err(Error::corrupt(&snap_path, format!("holds stack `{}`, not `{}`", file.stack, self.stack)));
            }
            state.serial = file.serial;
            state.journal_seq = file.journal_seq;
            for f in file.resources {
                let urn = f.urn.clone();
                let r = self.codec.resource_from_file(f)?;
                if state.resources.insert(urn.clone(), r).is_some() {
                    return Err(Error::corrupt(&snap_path, format!("resource `{urn}` is recorded twice")));
                }
            }
            for f in file.retired {
                state.retired.push(self.codec.resource_from_file(f)?);
            }
            for (k, v) in &file.outputs {
                state.outputs.insert(k.clone(), self.codec.from_json(v)?);
            }
            state.pending = file.pending;
        }
        hasher.update(&stored.journal);
        replay(&mut state, &stored.journal, &self.codec, &self.backend.journal_location(&self.stack))?;
        let problems = state.integrity_problems();
        if !problems.is_empty() {
            return Err(Error::corrupt(&snap_path, format!("state fails its integrity check: {}", problems.join("; "))));
        }
        Ok(Loaded { state, fingerprint: hex(&hasher.finalize()) })
    }

    /// Writes `state` as the new snapshot and clears the journal.
    pub async fn compact(&self, state: &mut State) -> Result<()> {
        state.serial += 1;
        let file = SnapshotFile {
            version: SCHEMA_VERSION,
            stack: self.stack.clone(),
            serial: state.serial,
            journal_seq: state.journal_seq,
            resources: state.resources.values().map(|r| self.codec.resource_to_file(r)).collect::<Result<_>>()?,
            retired: state.retired.iter().map(|r| self.codec.resource_to_file(r)).collect::<Result<_>>()?,
            outputs: state.outputs.iter().map(|(k, v)| Ok((k.clone(), self.codec.to_json(v)?))).collect::<Result<_>>()?,
            pending: state.pending.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("snapshots serialize");
        bytes.push(b'\n');
        self.backend.write_snapshot(&self.stack, &bytes).await
    }

    /// Opens the journal for appending, continuing after `state`'s last
    /// record.
    pub fn journal(&self, state: &State) -> Journal {
        Journal {
            writer: JournalWriter::start(self.backend.clone(), self.stack.clone()),
            next: Arc::new(AtomicU64::new(state.journal_seq + 1)),
            codec: self.codec.clone(),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The journal of a run in progress.
#[derive(Clone)]
pub struct Journal {
    writer: JournalWriter,
    next: Arc<AtomicU64>,
    codec: SecretsCodec,
}

impl Journal {
    /// Records that an operation is about to call the provider; returns its
    /// sequence number once the record is durable.
    pub async fn begin(&self, mut op: PendingOp) -> Result<u64> {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        op.seq = seq;
        self.writer.write(&Record::Begin { seq, op }).await?;
        Ok(seq)
    }

    /// Records how an operation ended (or changes made without a call).
    pub async fn end(&self, of: Option<u64>, changes: &[Mutation], error: Option<String>) -> Result<u64> {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        let changes = changes.iter().map(|m| encode_mutation(&self.codec, m)).collect::<Result<Vec<_>>>()?;
        self.writer.write(&Record::End { seq, of, changes, error }).await?;
        Ok(seq)
    }

    /// The last sequence number handed out.
    pub fn last_seq(&self) -> u64 {
        self.next.load(Ordering::SeqCst) - 1
    }
}

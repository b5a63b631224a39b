//! One stack's state on a backend: load (snapshot + journal replay +
//! integrity check), journal operations, compact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::state::codec::SecretsCodec;
use crate::state::journal::{encode_created, encode_mutation, replay, JournalWriter};
use crate::state::{Backend, Mutation, PendingOp, Record, ResourceState, SnapshotFile, State, SCHEMA_VERSION};

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
            // First only the version (everything else is skipped, not built),
            // so a newer schema is named as such rather than as corrupt.
            #[derive(serde::Deserialize)]
            struct Probe {
                version: Option<serde_json::Value>,
            }
            let probe: Probe = serde_json::from_slice(bytes).map_err(|e| {
                Error::corrupt(&snap_path, format!("not a valid state snapshot (truncated or corrupt?): {e}"))
            })?;
            let version = probe.version.and_then(|v| v.as_u64()).unwrap_or(0);
            if version > u64::from(SCHEMA_VERSION) {
                return Err(Error::corrupt(
                    &snap_path,
                    format!("written by a newer version (schema {version}; this build reads {SCHEMA_VERSION}): upgrade the tool"),
                ));
            }
            let file: SnapshotFile = serde_json::from_slice(bytes)
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
            state.released = file.released;
            for (k, v) in &file.outputs {
                state.outputs.insert(k.clone(), self.codec.from_json(v)?);
            }
            state.pending = file.pending;
        }
        hasher.update(&stored.journal);
        replay(&mut state, &stored.journal, &self.codec, &self.backend.journal_location(&self.stack))?;
        state.drop_dangling_deps();
        let problems = state.integrity_problems();
        if !problems.is_empty() {
            return Err(Error::corrupt(
                &snap_path,
                format!("state fails its integrity check: {}", problems.join("; ")),
            ));
        }
        Ok(Loaded { state, fingerprint: hex(&hasher.finalize()) })
    }

    /// Writes `state` as the new snapshot and clears the journal.
    pub async fn compact(&self, state: &mut State) -> Result<()> {
        state.serial += 1;
        state.drop_dangling_deps();
        let bytes = snapshot_bytes(&self.stack, state, &self.codec)?;
        self.backend.write_snapshot(&self.stack, &bytes).await
    }

    /// Opens the journal for appending, continuing after `state`'s last
    /// record.
    pub fn journal(&self, state: &State) -> Journal {
        Journal {
            writer: JournalWriter::start(self.backend.clone(), self.stack.clone(), state.journal_seq + 1),
            last: Arc::new(AtomicU64::new(state.journal_seq)),
            codec: self.codec.clone(),
            planned: Arc::default(),
        }
    }
}

/// Serializes a snapshot with one compact line per resource: fast to write,
/// and still easy to read, grep and diff.
fn snapshot_bytes(stack: &str, state: &State, codec: &SecretsCodec) -> Result<Vec<u8>> {
    fn list<T: serde::Serialize>(
        out: &mut Vec<u8>,
        key: &str,
        items: impl Iterator<Item = T>,
    ) -> serde_json::Result<()> {
        out.extend_from_slice(format!(",\n\"{key}\": [").as_bytes());
        let mut any = false;
        for item in items {
            out.extend_from_slice(if any { b",\n  " } else { b"\n  " });
            serde_json::to_writer(&mut *out, &item)?;
            any = true;
        }
        out.extend_from_slice(if any { b"\n]" } else { b"]" });
        Ok(())
    }
    let mut out = Vec::with_capacity(256 * (state.resources.len() + 1));
    let head = serde_json::json!({
        "version": SCHEMA_VERSION, "stack": stack, "serial": state.serial, "journal_seq": state.journal_seq
    });
    let head = serde_json::to_string(&head).expect("snapshots serialize");
    out.extend_from_slice(head.trim_end_matches('}').as_bytes());
    let write = |out: &mut Vec<u8>| -> serde_json::Result<()> {
        list(out, "resources", state.resources.values().map(|r| codec.resource_out(r)))?;
        list(out, "retired", state.retired.iter().map(|r| codec.resource_out(r)))?;
        list(out, "released", state.released.iter())?;
        out.extend_from_slice(b",\n\"outputs\": ");
        let outputs: std::collections::BTreeMap<&String, _> =
            state.outputs.iter().map(|(k, v)| (k, codec.sealed(v))).collect();
        serde_json::to_writer(&mut *out, &outputs)?;
        list(out, "pending", state.pending.iter())
    };
    write(&mut out).map_err(|e| Error::Secrets(e.to_string()))?;
    out.extend_from_slice(b"\n}\n");
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The journal of a run in progress.
#[derive(Clone)]
pub struct Journal {
    writer: JournalWriter,
    last: Arc<AtomicU64>,
    codec: SecretsCodec,
    /// What each create in flight planned to record, by its `begin`
    /// record's number: its `end` then records only what is new.
    planned: Arc<std::sync::Mutex<std::collections::HashMap<u64, ResourceState>>>,
}

impl Journal {
    /// Records that an operation is about to call the provider; returns its
    /// sequence number once the record is durable. A create passes the
    /// resource it is to record (`planned`), sealed into the record.
    pub async fn begin(&self, op: PendingOp, planned: Option<&ResourceState>) -> Result<u64> {
        let file = planned.map(|r| self.codec.resource_file(r).map(Box::new)).transpose()?;
        let seq = self.writer.write(|seq| Record::Begin { op: PendingOp { seq, planned: file, ..op } }).await?;
        if let Some(r) = planned {
            self.planned.lock().unwrap_or_else(|p| p.into_inner()).insert(seq, r.clone());
        }
        self.last.fetch_max(seq, Ordering::SeqCst);
        Ok(seq)
    }

    /// Records how an operation ended (or changes made without a call).
    pub async fn end(&self, of: Option<u64>, changes: &[Mutation], error: Option<String>) -> Result<u64> {
        let planned = of.and_then(|of| self.planned.lock().unwrap_or_else(|p| p.into_inner()).remove(&of));
        let changes = changes
            .iter()
            .map(|m| {
                let created = planned.as_ref().map(|p| encode_created(&self.codec, m, p)).transpose()?.flatten();
                created.map_or_else(|| encode_mutation(&self.codec, m), Ok)
            })
            .collect::<Result<Vec<_>>>()?;
        let seq = self.writer.write(|seq| Record::End { seq, of, changes, error }).await?;
        self.last.fetch_max(seq, Ordering::SeqCst);
        Ok(seq)
    }

    /// The highest sequence number written.
    pub fn last_seq(&self) -> u64 {
        self.last.load(Ordering::SeqCst)
    }
}

//! Journal records and the group-commit writer that makes them durable.

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::output::Urn;
use crate::state::codec::{ResourceFile, SecretsCodec};
use crate::state::{Backend, ResourceState, State};

/// What kind of provider call an operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// A create.
    Create,
    /// An in-place update.
    Update,
    /// A delete.
    Delete,
}

/// An operation that was begun: recorded before its provider call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingOp {
    /// The `begin` record's sequence number.
    pub seq: u64,
    /// What the call was.
    pub op: OpKind,
    /// Which resource.
    pub urn: Urn,
    /// Its type token.
    #[serde(rename = "type")]
    pub type_token: String,
    /// Its provider instance.
    pub provider: String,
    /// The cloud id, for updates and deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For a create: the resource as it is to be recorded (inputs with
    /// secrets sealed, dependencies, options), so that recovery can adopt
    /// what the call made without the program that began it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<Box<ResourceFile>>,
}

/// A change to the state, as journaled.
// Mutations live only between a provider call and its journal record; boxing
// the common variant would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Mutation {
    /// Record (or replace) a live resource.
    Upsert(ResourceState),
    /// Forget a live resource.
    Remove {
        /// Which.
        urn: Urn,
    },
    /// Move a live resource to the retired list (it was replaced; its old
    /// copy is still to be deleted).
    Retire {
        /// Which.
        urn: Urn,
    },
    /// Forget a retired copy once deleted.
    DropRetired {
        /// Which resource.
        urn: Urn,
        /// Which copy.
        id: String,
    },
    /// Replace the stack outputs.
    Outputs(std::collections::BTreeMap<String, crate::Value>),
    /// Remember a copy let go of that stays in the cloud.
    Release {
        /// The identity it carries.
        urn: Urn,
        /// Its cloud id.
        id: String,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
#[serde(tag = "m", rename_all = "snake_case")]
enum MutationFile {
    Upsert {
        resource: ResourceFile,
    },
    Remove {
        urn: Urn,
    },
    Retire {
        urn: Urn,
    },
    DropRetired {
        urn: Urn,
        id: String,
    },
    Outputs {
        outputs: serde_json::Map<String, serde_json::Value>,
    },
    /// A create's outcome recorded as its `begin` record planned it: only
    /// the id and outputs are new, so only they are written again.
    Created {
        urn: Urn,
        id: String,
        outputs: serde_json::Value,
    },
    Release {
        urn: Urn,
        id: String,
    },
}

/// One line of the journal.
#[derive(Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    /// An operation is about to call the provider (its `seq` is this
    /// record's sequence number).
    Begin {
        /// The operation.
        #[serde(flatten)]
        op: PendingOp,
    },
    /// An operation finished (or changes made without a provider call).
    End {
        /// This record's sequence number.
        seq: u64,
        /// The `begin` record it closes, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        of: Option<u64>,
        /// The resulting changes, each encoded once as it was made.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<Box<serde_json::value::RawValue>>,
        /// Why it failed, if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// A journal line as read back. (Serde cannot read raw JSON through an
/// internally tagged enum, so changes are read as plain JSON values.)
#[derive(Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum RecordIn {
    Begin {
        #[serde(flatten)]
        op: PendingOp,
    },
    End {
        seq: u64,
        #[serde(default)]
        of: Option<u64>,
        #[serde(default)]
        changes: Vec<serde_json::Value>,
    },
}

impl RecordIn {
    fn seq(&self) -> u64 {
        match self {
            RecordIn::Begin { op } => op.seq,
            RecordIn::End { seq, .. } => *seq,
        }
    }
}

/// Encodes a mutation for the journal.
pub fn encode_mutation(codec: &SecretsCodec, m: &Mutation) -> Result<Box<serde_json::value::RawValue>> {
    #[derive(Serialize)]
    struct UpsertOut<'a> {
        m: &'static str,
        resource: crate::state::codec::ResourceOut<'a>,
    }
    let raw = |v: &dyn erased::Ser| v.to_json().map_err(|e| Error::Secrets(e.to_string()));
    let f = match m {
        Mutation::Upsert(r) => return raw(&UpsertOut { m: "upsert", resource: codec.resource_out(r) }),
        Mutation::Remove { urn } => MutationFile::Remove { urn: urn.clone() },
        Mutation::Retire { urn } => MutationFile::Retire { urn: urn.clone() },
        Mutation::DropRetired { urn, id } => MutationFile::DropRetired { urn: urn.clone(), id: id.clone() },
        Mutation::Release { urn, id } => MutationFile::Release { urn: urn.clone(), id: id.clone() },
        Mutation::Outputs(o) => MutationFile::Outputs {
            outputs: o.iter().map(|(k, v)| Ok((k.clone(), codec.to_json(v)?))).collect::<Result<_>>()?,
        },
    };
    raw(&f)
}

/// Encodes the upsert that ends a create as a `created` change when the
/// record is what the create's `begin` planned but for its id and outputs
/// (the common case): the plan is in the journal already, so the end
/// record carries only what the cloud answered.
pub fn encode_created(
    codec: &SecretsCodec,
    m: &Mutation,
    planned: &ResourceState,
) -> Result<Option<Box<serde_json::value::RawValue>>> {
    let Mutation::Upsert(r) = m else { return Ok(None) };
    let same = r.urn == planned.urn
        && r.type_token == planned.type_token
        && r.provider == planned.provider
        && r.deps == planned.deps
        && r.options == planned.options
        && r.inputs == planned.inputs;
    let Some(id) = r.id.clone().filter(|_| same) else { return Ok(None) };
    #[derive(Serialize)]
    struct CreatedOut<'a> {
        m: &'static str,
        urn: &'a Urn,
        id: String,
        outputs: crate::state::codec::Sealed<'a>,
    }
    let out = CreatedOut { m: "created", urn: &r.urn, id, outputs: codec.sealed(&r.outputs) };
    serde_json::value::to_raw_value(&out).map(Some).map_err(|e| Error::Secrets(e.to_string()))
}

/// Object-safe serialization, so `encode_mutation` can take either shape.
mod erased {
    pub trait Ser {
        fn to_json(&self) -> serde_json::Result<Box<serde_json::value::RawValue>>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_json(&self) -> serde_json::Result<Box<serde_json::value::RawValue>> {
            serde_json::value::to_raw_value(self)
        }
    }
}

fn decode_mutation(
    codec: &SecretsCodec,
    j: &serde_json::Value,
    closed: Option<&PendingOp>,
) -> std::result::Result<Mutation, String> {
    let f = MutationFile::deserialize(j).map_err(|e| e.to_string())?;
    Ok(match f {
        MutationFile::Created { urn, id, outputs } => {
            let planned = closed
                .filter(|p| p.urn == urn)
                .and_then(|p| p.planned.as_deref())
                .ok_or_else(|| format!("the create of `{urn}` it ends has no planned resource"))?;
            let mut r = codec.resource_from_file(planned.clone()).map_err(|e| e.to_string())?;
            r.id = Some(id);
            r.outputs = codec.from_json(&outputs).map_err(|e| e.to_string())?;
            Mutation::Upsert(r)
        }
        MutationFile::Upsert { resource } => {
            Mutation::Upsert(codec.resource_from_file(resource).map_err(|e| e.to_string())?)
        }
        MutationFile::Remove { urn } => Mutation::Remove { urn },
        MutationFile::Retire { urn } => Mutation::Retire { urn },
        MutationFile::DropRetired { urn, id } => Mutation::DropRetired { urn, id },
        MutationFile::Release { urn, id } => Mutation::Release { urn, id },
        MutationFile::Outputs { outputs } => Mutation::Outputs(
            outputs
                .iter()
                .map(|(k, v)| Ok((k.clone(), codec.from_json(v).map_err(|e| e.to_string())?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
    })
}

/// Replays journal bytes over a state. Records already folded into the
/// snapshot (by sequence number) are skipped. A line that does not parse is
/// an error naming it: a torn record is never silently dropped.
pub fn replay(state: &mut State, journal: &[u8], codec: &SecretsCodec, path: &std::path::Path) -> Result<()> {
    let text = std::str::from_utf8(journal).map_err(|_| Error::corrupt(path, "journal is not UTF-8"))?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Records up to here are already in the snapshot. Compare with this
    // fixed mark, never with the highest number seen so far.
    let folded = state.journal_seq;
    for (i, line) in lines.iter().enumerate() {
        let lineno = i + 1;
        if !line.ends_with('\n') {
            return Err(Error::corrupt(
                path,
                format!(
                    "line {lineno} is torn (an incomplete record from an interrupted write); \
                     run `state repair` to drop it and then `refresh` to reconcile with the cloud"
                ),
            ));
        }
        let rec: RecordIn = serde_json::from_str(line.trim_end())
            .map_err(|e| Error::corrupt(path, format!("line {lineno} is not a journal record: {e}")))?;
        if rec.seq() <= folded {
            continue;
        }
        state.journal_seq = state.journal_seq.max(rec.seq());
        match rec {
            RecordIn::Begin { op } => state.pending.push(op),
            RecordIn::End { of, changes, .. } => {
                let closed =
                    of.and_then(|of| state.pending.iter().position(|p| p.seq == of)).map(|i| state.pending.remove(i));
                for c in changes {
                    let m = decode_mutation(codec, &c, closed.as_ref())
                        .map_err(|e| Error::corrupt(path, format!("line {lineno} holds a bad change: {e}")))?;
                    state.apply(m);
                }
            }
        }
    }
    Ok(())
}

/// The journal's writer: records sent from many steps are written in
/// batches with one durable append per batch (group commit), and each sender
/// is told once its record is durable. The writing happens on a dedicated
/// thread, so an fsync never stalls the runtime's workers.
#[derive(Clone)]
pub struct JournalWriter {
    tx: std::sync::mpsc::Sender<Pending>,
    next: std::sync::Arc<std::sync::Mutex<u64>>,
}

/// A record's bytes and who to tell once they are durable.
type Pending = (Vec<u8>, oneshot::Sender<Result<(), String>>);

impl JournalWriter {
    /// Starts the writer thread for `stack` on `backend`. Must be called
    /// from within a Tokio runtime (the backend's calls run on it).
    pub fn start(backend: std::sync::Arc<dyn Backend>, stack: String, first_seq: u64) -> JournalWriter {
        let (tx, rx) = std::sync::mpsc::channel::<Pending>();
        let handle = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("iac-journal".into())
            .spawn(move || {
                // After a failed append the file may end in a torn line;
                // appending after it would bury the tear mid-file, where no
                // repair can drop it. So a broken journal takes nothing more
                // (operations not yet begun never start) and the run's
                // snapshot, written whole, is what records its end.
                let mut broken: Option<String> = None;
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let mut bytes = Vec::with_capacity(batch.iter().map(|(b, _)| b.len()).sum());
                    for (b, _) in &batch {
                        bytes.extend_from_slice(b);
                    }
                    let res = match &broken {
                        Some(e) => Err(format!("an earlier append failed ({e}); nothing more is appended")),
                        None => handle.block_on(backend.append_journal(&stack, &bytes)).map_err(|e| e.to_string()),
                    };
                    if let (Err(e), None) = (&res, &broken) {
                        broken = Some(e.clone());
                    }
                    for (_, ack) in batch {
                        let _ = ack.send(res.clone());
                    }
                }
            })
            .expect("spawn the journal writer thread");
        JournalWriter { tx, next: std::sync::Arc::new(std::sync::Mutex::new(first_seq)) }
    }

    /// Appends one record and waits until it is durable. `make` builds the
    /// record from its sequence number; numbers are handed out in the order
    /// records reach the file.
    pub async fn write(&self, make: impl FnOnce(u64) -> Record) -> Result<u64> {
        let (ack, done) = oneshot::channel();
        let seq = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let seq = *next;
            let mut line = serde_json::to_vec(&make(seq)).expect("journal records serialize");
            line.push(b'\n');
            self.tx.send((line, ack)).map_err(|_| Error::Journal("the journal writer stopped".into()))?;
            *next += 1;
            seq
        };
        match done.await {
            Ok(Ok(())) => Ok(seq),
            Ok(Err(e)) => Err(Error::Journal(format!("could not append: {e}"))),
            Err(_) => Err(Error::Journal("the journal writer stopped".into())),
        }
    }
}

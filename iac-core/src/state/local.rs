//! The local directory backend: `<root>/<stack>/{snapshot.json,
//! snapshot.json.bak, journal.jsonl, lock}`.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sha2::Digest;

use crate::error::{Error, Result};
use crate::state::backend::{Backend, LockInfo, LockSeen, Stored};

/// States in a local directory (`./.iac` by default).
///
/// The lock is an OS advisory lock (`flock`) on `<stack>/lock`, held for the
/// whole run: the kernel releases it when the holder exits, however it
/// exits, so a killed run never leaves a stale lock behind. The file's
/// content names the holder for the message a second run shows.
#[derive(Debug)]
pub struct LocalBackend {
    root: PathBuf,
    written: AtomicU64,
    held: std::sync::Mutex<std::collections::HashMap<String, File>>,
}

/// Writes a file atomically: temp file, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("state")));
    let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl LocalBackend {
    /// A backend rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { root: root.into(), written: AtomicU64::new(0), held: Default::default() }
    }

    fn dir(&self, stack: &str) -> PathBuf {
        self.root.join(stack)
    }
    fn snapshot(&self, stack: &str) -> PathBuf {
        self.dir(stack).join("snapshot.json")
    }
    fn journal(&self, stack: &str) -> PathBuf {
        self.dir(stack).join("journal.jsonl")
    }
    fn lockfile(&self, stack: &str) -> PathBuf {
        self.dir(stack).join("lock")
    }
    fn ensure_dir(&self, stack: &str) -> Result<()> {
        let d = self.dir(stack);
        fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))
    }
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self, stack: &str) -> String {
        self.dir(stack).display().to_string()
    }
    fn snapshot_location(&self, stack: &str) -> PathBuf {
        self.snapshot(stack)
    }
    fn journal_location(&self, stack: &str) -> PathBuf {
        self.journal(stack)
    }

    async fn load(&self, stack: &str) -> Result<Stored> {
        Ok(Stored {
            snapshot: read_opt(&self.snapshot(stack))?,
            journal: read_opt(&self.journal(stack))?.unwrap_or_default(),
        })
    }

    async fn append_journal(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.ensure_dir(stack)?;
        let p = self.journal(stack);
        let mut f = OpenOptions::new().create(true).append(true).open(&p).map_err(|e| Error::io(&p, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&p, e))?;
        f.sync_data().map_err(|e| Error::io(&p, e))?;
        self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn write_snapshot(&self, stack: &str, bytes: &[u8]) -> Result<()> {
        self.ensure_dir(stack)?;
        let snap = self.snapshot(stack);
        if snap.exists() {
            // Keep the previous snapshot as a backup; a hard link costs no copy.
            let bak = snap.with_extension("json.bak");
            let _ = fs::remove_file(&bak);
            fs::hard_link(&snap, &bak)
                .or_else(|_| fs::copy(&snap, &bak).map(|_| ()))
                .map_err(|e| Error::io(&bak, e))?;
        }
        write_atomic(&snap, bytes)?;
        self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        // The snapshot records the last journal sequence it holds, so a crash
        // between the rename and this truncation replays nothing twice.
        let j = self.journal(stack);
        match fs::remove_file(&j) {
            Ok(()) => sync_dir(&self.dir(stack)),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&j, e)),
        }
        Ok(())
    }

    async fn repair_journal(&self, stack: &str) -> Result<bool> {
        let p = self.journal(stack);
        let Some(bytes) = read_opt(&p)? else { return Ok(false) };
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(false);
        }
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        write_atomic(&p, &bytes[..keep])?;
        Ok(true)
    }

    async fn lock(&self, stack: &str, info: &LockInfo) -> Result<()> {
        self.ensure_dir(stack)?;
        let p = self.lockfile(stack);
        // Never deleted: unlinking a lock file others may have open would let
        // two runs lock two different files.
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .map_err(|e| Error::io(&p, e))?;
        if !try_flock(&f) {
            let holder = match self.lock_holder(stack).await? {
                Some(h) => h.to_string(),
                None => format!("another process (lock file {})", p.display()),
            };
            return Err(Error::Locked { stack: stack.to_owned(), holder });
        }
        let body = serde_json::to_vec(info).expect("lock info serializes");
        f.set_len(0).and_then(|_| f.write_all(&body)).and_then(|_| f.sync_all()).map_err(|e| Error::io(&p, e))?;
        self.held.lock().unwrap_or_else(|e| e.into_inner()).insert(stack.to_owned(), f);
        Ok(())
    }

    async fn unlock(&self, stack: &str) -> Result<()> {
        let p = self.lockfile(stack);
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).remove(stack);
        let f = match held {
            Some(f) => f,
            None => match OpenOptions::new().write(true).open(&p) {
                Ok(f) if try_flock(&f) => f,
                Ok(_) => {
                    let holder = self.lock_holder(stack).await?.map_or("a live process".into(), |h| h.to_string());
                    return Err(Error::Locked {
                        stack: stack.to_owned(),
                        holder: format!("{holder}, which is still running: stop it first"),
                    });
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(Error::io(&p, e)),
            },
        };
        // Clear the holder's name, then release explicitly: a child process
        // forked meanwhile shares this descriptor until it execs, so closing
        // ours alone would not release the lock at once. The name is only
        // shown while the file is locked, so a name that could not be
        // cleared is harmless: release regardless.
        if let Err(e) = f.set_len(0) {
            tracing::warn!(lock = %p.display(), error = %e, "could not clear the lock file's holder");
        }
        unflock(&f);
        Ok(())
    }

    async fn lock_seen(&self, stack: &str) -> Result<Option<LockSeen>> {
        let p = self.lockfile(stack);
        let Some(bytes) = held_lock(&p)? else { return Ok(None) };
        let digest = sha2::Sha256::digest(&bytes);
        let token = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(Some(LockSeen { info: serde_json::from_slice(&bytes).ok(), location: p.display().to_string(), token }))
    }

    /// A file lock cannot be broken: the kernel holds it for a live process
    /// and drops it when the process exits, however it exits. So a held lock
    /// is never removed; the refusal names the process to stop. A lock
    /// released since it was shown is reported as such.
    async fn force_unlock(&self, stack: &str, seen: &LockSeen) -> Result<bool> {
        match self.lock_seen(stack).await? {
            None => Ok(false),
            Some(now) if now.token != seen.token => Err(Error::LockChanged {
                stack: stack.to_owned(),
                location: now.location.clone(),
                holder: now.to_string(),
            }),
            Some(now) => Err(Error::Locked {
                stack: stack.to_owned(),
                holder: format!(
                    "{now}, a live process: a file lock cannot be broken, and it is released the moment its \
                     holder exits, however it exits; stop that process{}",
                    now.info.as_ref().map_or(String::new(), |i| format!(" (pid {} on {})", i.pid, i.host))
                ),
            }),
        }
    }

    async fn lock_holder(&self, stack: &str) -> Result<Option<LockInfo>> {
        let Some(bytes) = held_lock(&self.lockfile(stack))? else { return Ok(None) };
        Ok(serde_json::from_slice(&bytes).ok())
    }

    async fn list_stacks(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if let Ok(rd) = fs::read_dir(&self.root) {
            for e in rd.flatten() {
                if e.path().join("snapshot.json").exists() || e.path().join("journal.jsonl").exists() {
                    out.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// Releases the advisory lock held through `f`.
/// The lock file's content while a process holds its lock: a lock file
/// nobody holds is no lock, whatever it says.
fn held_lock(p: &Path) -> Result<Option<Vec<u8>>> {
    let Some(bytes) = read_opt(p)? else { return Ok(None) };
    if let Ok(f) = File::open(p) {
        if try_flock(&f) {
            unflock(&f);
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

fn unflock(f: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_UN) };
}

/// Takes an exclusive advisory lock on `f` without waiting; released when
/// `f` is closed (or its process dies).
fn try_flock(f: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

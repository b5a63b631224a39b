//! Per-stack configuration: one TOML file per stack, kept next to the
//! program (`<config dir>/<stack>.toml`), read with typed access through
//! serde. Secret values are stored encrypted (`key = { secure = "v1:…" }`);
//! the file's `[encryption]` table holds the salt and passphrase check.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

mod source;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::output::Output;
use crate::secrets::{Crypter, Passphrase};
use crate::value::Value;

const ENCRYPTION: &str = "encryption";
const SECURE: &str = "secure";

/// The configuration of one stack.
#[derive(Debug)]
pub struct Config {
    stack: String,
    path: PathBuf,
    table: toml::Table,
    /// The file as written, so saving keeps its comments, order and layout
    /// and rewrites only the keys that were set.
    doc: toml_edit::DocumentMut,
    passphrase: Arc<Passphrase>,
    crypter: OnceLock<Crypter>,
    /// The file's text, for the line a key is on.
    text: String,
    /// Every value the program read (key, value), so a check that fails on
    /// one can name the key and line the user wrote it at.
    reads: Mutex<Vec<(String, toml::Value)>>,
}

impl Config {
    /// Loads `<dir>/<stack>.toml`; a missing file is an empty config.
    pub fn load(dir: &Path, stack: &str) -> Result<Config> {
        let path = dir.join(format!("{stack}.toml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let table = text.parse::<toml::Table>().map_err(|e| Error::corrupt(&path, format!("not valid TOML: {e}")))?;
        let doc = text
            .parse::<toml_edit::DocumentMut>()
            .map_err(|e| Error::corrupt(&path, format!("not valid TOML: {e}")))?;
        Ok(Config {
            stack: stack.to_owned(),
            path,
            table,
            doc,
            passphrase: Arc::new(Passphrase::default()),
            crypter: OnceLock::new(),
            text,
            reads: Mutex::default(),
        })
    }

    /// An in-memory config (for tests and library use).
    pub fn from_table(stack: &str, table: toml::Table) -> Config {
        Config {
            stack: stack.to_owned(),
            path: PathBuf::from(format!("{stack}.toml")),
            doc: toml::to_string(&table).ok().and_then(|t| t.parse().ok()).unwrap_or_default(),
            table,
            passphrase: Arc::new(Passphrase::default()),
            crypter: OnceLock::new(),
            text: String::new(),
            reads: Mutex::default(),
        }
    }

    /// The stack's name.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// The config file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An error about config key `key` (dotted for nested keys), naming the
    /// file and the line the key is on.
    ///
    /// ```
    /// let c = iac_core::Config::from_table("dev", toml::toml! { shards = 4 });
    /// let e = c.error("shards", "must be even");
    /// assert!(e.to_string().contains("config `shards` of stack `dev`"));
    /// ```
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        Error::Config { stack: self.stack.clone(), key: key.into(), path: self.located(key), message: message.into() }
    }

    fn err(&self, key: &str, message: impl Into<String>) -> Error {
        self.error(key, message)
    }

    /// The file, with `:line` when the key (or the table it would be in) is
    /// in it.
    fn located(&self, key: &str) -> PathBuf {
        match source::line_of(&self.text, key) {
            Some(line) => PathBuf::from(format!("{}:{line}", self.path.display())),
            None => self.path.clone(),
        }
    }

    /// Where a value a resource was given came from, if the program read it
    /// from this config: each matching key as `` `key` (file:line) ``.
    pub fn origins_of(&self, value: &Value) -> Vec<String> {
        let reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        let mut leaves = Vec::new();
        for (k, v) in reads.iter() {
            source::leaves(k, v, &mut leaves);
        }
        let mut out: Vec<String> = leaves
            .into_iter()
            .filter(|(_, leaf)| source::same_value(leaf, value))
            .map(|(k, _)| format!("`{k}` ({})", self.located(&k).display()))
            .collect();
        out.dedup();
        out
    }

    fn record(&self, key: &str, v: &toml::Value) {
        let mut reads = self.reads.lock().unwrap_or_else(|p| p.into_inner());
        if !reads.iter().any(|(k, _)| k == key) {
            reads.push((key.to_owned(), v.clone()));
        }
    }

    /// Deserializes a config value, naming the full key path of what is
    /// wrong inside it, in plain words.
    fn typed<T: DeserializeOwned>(&self, key: &str, v: &toml::Value, secret: bool) -> Result<T> {
        serde_path_to_error::deserialize(v.clone()).map_err(|e| {
            let inner = e.path().to_string();
            let full = if inner.is_empty() || inner == "." { key.to_owned() } else { format!("{key}.{inner}") };
            let mut words = source::plain_words(&e.into_inner().to_string());
            if secret {
                // Never show what a secret holds, not even in an error.
                words.truncate(words.find(", found").unwrap_or(words.len()));
            }
            self.err(&full, format!("has the wrong type: {words}"))
        })
    }

    fn is_secure(v: &toml::Value) -> Option<&str> {
        v.as_table().filter(|t| t.len() == 1).and_then(|t| t.get(SECURE)).and_then(|s| s.as_str())
    }

    /// A plain value, or `None` when the key is absent.
    ///
    /// ```
    /// let c = iac_core::Config::from_table("dev", toml::toml! { shards = 4 });
    /// assert_eq!(c.get::<u32>("shards").unwrap(), Some(4));
    /// assert_eq!(c.get::<u32>("absent").unwrap(), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.table.get(key) {
            None => Ok(None),
            Some(v) if Self::is_secure(v).is_some() => Err(self.err(key, "is a secret: read it with `require_secret`")),
            Some(v) => {
                let t = self.typed(key, v, false)?;
                self.record(key, v);
                Ok(Some(t))
            }
        }
    }

    /// A plain value that must be present.
    pub fn require<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        self.get(key)?.ok_or_else(|| self.err(key, format!("is missing: set it with `config set {key} VALUE`")))
    }

    /// A plain value, or `default` when absent.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// A secret value that must be present, as a secret output: it stays
    /// encrypted in state and masked in every output.
    pub fn require_secret<T: DeserializeOwned + Serialize>(&self, key: &str) -> Result<Output<T>> {
        let v = self
            .table
            .get(key)
            .ok_or_else(|| self.err(key, format!("is missing: set it with `config set --secret {key} VALUE`")))?;
        let sealed = Self::is_secure(v).ok_or_else(|| self.err(key, "must be a secret (`config set --secret`)"))?;
        let plain = self.crypter()?.decrypt(sealed)?;
        let text = String::from_utf8(plain).map_err(|_| self.err(key, "decrypted to invalid UTF-8"))?;
        let parsed: T = self.typed(key, &parse_value(&text), true)?;
        Ok(Output::known(parsed).secret())
    }

    /// Every key with its value as shown to a user (secrets masked).
    pub fn list(&self) -> Vec<(String, Value)> {
        self.table
            .iter()
            .filter(|(k, _)| *k != ENCRYPTION)
            .map(|(k, v)| {
                let shown = if Self::is_secure(v).is_some() {
                    Value::Secret(Box::new(Value::Null))
                } else {
                    Value::from_serialize(v)
                };
                (k.clone(), shown)
            })
            .collect()
    }

    /// Sets a plain value, parsed as TOML when it parses (`3`, `true`,
    /// `["a","b"]`), else kept as a string.
    pub fn set(&mut self, key: &str, raw: &str) {
        self.table.insert(key.to_owned(), parse_value(raw));
    }

    /// Sets a secret value, encrypted with the stack's passphrase.
    pub fn set_secret(&mut self, key: &str, plain: &str) -> Result<()> {
        self.ensure_encryption_recorded()?;
        let sealed = self.crypter()?.encrypt(plain.as_bytes());
        let mut t = toml::Table::new();
        t.insert(SECURE.into(), toml::Value::String(sealed));
        self.table.insert(key.to_owned(), toml::Value::Table(t));
        Ok(())
    }

    /// Whether a secret needs no passphrase to be read: none are stored.
    pub fn has_encryption(&self) -> bool {
        self.table.contains_key(ENCRYPTION)
    }

    /// Writes the file back (creating its directory).
    pub fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut doc = self.doc.clone();
        for (key, value) in &self.table {
            let written = doc.get(key).and_then(item_value);
            if written.as_ref() == Some(value) {
                continue;
            }
            let mut item = to_item(value).map_err(|e| self.err(key, e))?;
            // A changed value keeps the comment after it on its line.
            if let (Some(old), Some(new)) = (doc.get(key).and_then(|i| i.as_value()), item.as_value_mut()) {
                *new.decor_mut() = old.decor().clone();
            }
            doc.insert(key, item);
        }
        let gone: Vec<String> =
            doc.as_table().iter().map(|(k, _)| k.to_owned()).filter(|k| !self.table.contains_key(k)).collect();
        for key in gone {
            doc.remove(&key);
        }
        crate::state::local::write_atomic(&self.path, doc.to_string().as_bytes())
    }

    /// The stack's secrets key, derived from the passphrase on first use.
    pub fn crypter(&self) -> Result<Crypter> {
        if let Some(c) = self.crypter.get() {
            return Ok(c.clone());
        }
        let pass = self.passphrase.get(&self.stack)?;
        let enc = self.table.get(ENCRYPTION).and_then(|v| v.as_table());
        let c = match enc {
            Some(t) => {
                let salt = t
                    .get("salt")
                    .and_then(|s| s.as_str())
                    .and_then(|s| B64.decode(s).ok())
                    .ok_or_else(|| self.err(ENCRYPTION, "salt is missing or malformed"))?;
                let check = t.get("check").and_then(|s| s.as_str()).unwrap_or_default();
                let c = Crypter::derive(pass, &salt)?;
                if !c.verify_check(check) {
                    return Err(Error::Secrets(format!(
                        "wrong passphrase for stack `{}` (checked against {})",
                        self.stack,
                        self.path.display()
                    )));
                }
                c
            }
            None => {
                return Err(Error::Secrets(format!(
                    "stack `{}` has no secrets key yet ({} has no [encryption] table)",
                    self.stack,
                    self.path.display()
                )))
            }
        };
        Ok(self.crypter.get_or_init(|| c).clone())
    }

    /// Makes sure the `[encryption]` table exists (a new random salt and
    /// check on first use); returns whether the file needs saving.
    pub fn ensure_encryption_recorded(&mut self) -> Result<bool> {
        if self.has_encryption() {
            return Ok(false);
        }
        // Derive with a salt we then record.
        let pass = self.passphrase.get(&self.stack)?.to_owned();
        let salt = Crypter::new_salt();
        let c = Crypter::derive(&pass, &salt)?;
        let mut t = toml::Table::new();
        t.insert("salt".into(), toml::Value::String(B64.encode(&salt)));
        t.insert("check".into(), toml::Value::String(c.make_check()));
        self.table.insert(ENCRYPTION.into(), toml::Value::Table(t));
        self.crypter = OnceLock::from(c);
        Ok(true)
    }
}

fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

/// A value of the written document, read as the parsed table holds it.
fn item_value(item: &toml_edit::Item) -> Option<toml::Value> {
    let mut one = toml_edit::DocumentMut::new();
    one.insert("v", item.clone());
    let t: toml::Table = one.to_string().parse().ok()?;
    t.get("v").cloned()
}

/// A value as a document item (tables inline, as `config set` writes them).
fn to_item(value: &toml::Value) -> std::result::Result<toml_edit::Item, String> {
    let mut t = toml::Table::new();
    t.insert("v".into(), value.clone());
    let text = toml::to_string(&t).map_err(|e| e.to_string())?;
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    let item = doc.get("v").cloned().ok_or("no value")?;
    Ok(match item {
        toml_edit::Item::Table(t) => toml_edit::Item::Value(toml_edit::Value::InlineTable(t.into_inline_table())),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_toml_or_string() {
        assert_eq!(parse_value("3"), toml::Value::Integer(3));
        assert_eq!(parse_value("db.r6g.large"), toml::Value::String("db.r6g.large".into()));
        assert_eq!(parse_value("[\"a\"]"), toml::Value::Array(vec![toml::Value::String("a".into())]));
    }

    #[test]
    fn saving_keeps_the_files_comments_order_and_tables() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# dev.tfvars of the document.\nenvironment = \"dev\"\n# The document says db.t3.micro.\nclass = \"db.t3.medium\" # nearest valid\nshards = 1\n\n[services.api]\ncpu = 256 # Fargate's smallest\n";
        std::fs::write(dir.path().join("dev.toml"), text).unwrap();
        let mut c = Config::load(dir.path(), "dev").unwrap();
        c.set("shards", "4");
        c.set("region", "eu-west-1");
        c.save().unwrap();
        let saved = std::fs::read_to_string(dir.path().join("dev.toml")).unwrap();
        assert_eq!(
            saved,
            "# dev.tfvars of the document.\nenvironment = \"dev\"\n# The document says db.t3.micro.\nclass = \"db.t3.medium\" # nearest valid\nshards = 4\nregion = \"eu-west-1\"\n\n[services.api]\ncpu = 256 # Fargate's smallest\n"
        );
        let again = Config::load(dir.path(), "dev").unwrap();
        assert_eq!(again.get::<u32>("shards").unwrap(), Some(4));
        assert_eq!(again.get::<String>("region").unwrap().as_deref(), Some("eu-west-1"));
    }
}

//! Converting state to and from JSON: secrets are sealed with the stack's
//! key on the way out (`{"$secret": "v1:…"}`) and opened on the way in.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::Urn;
use crate::resource::ResourceOptions;
use crate::secrets::Crypter;
use crate::state::ResourceState;
use crate::value::Value;

const SECRET_KEY: &str = "$secret";

/// A map key as stored: keys that start with `$` get one more, so a plain
/// map can never be mistaken for a sealed secret (`{"$secret": …}`).
fn escape_key(k: &str) -> std::borrow::Cow<'_, str> {
    if k.starts_with('$') {
        format!("${k}").into()
    } else {
        k.into()
    }
}

/// A stored map key as it was: the inverse of [`escape_key`].
fn unescape_key(k: &str) -> &str {
    if k.starts_with("$$") {
        &k[1..]
    } else {
        k
    }
}

type KeySource = Arc<dyn Fn() -> Result<Crypter> + Send + Sync>;

/// Seals and opens secrets, asking for the stack's key only when a secret is
/// actually met.
#[derive(Clone)]
pub struct SecretsCodec {
    key: Arc<OnceLock<Crypter>>,
    source: KeySource,
    /// Held while the key is first obtained: obtaining it may record a new
    /// salt in the stack's config, and two steps sealing their first
    /// secrets at once must not each record one (the loser's secrets would
    /// be sealed under a key no later run can derive).
    first_use: Arc<std::sync::Mutex<()>>,
}

impl std::fmt::Debug for SecretsCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsCodec")
    }
}

impl SecretsCodec {
    /// A codec that obtains its key from `source` on first need.
    pub fn new(source: impl Fn() -> Result<Crypter> + Send + Sync + 'static) -> Self {
        SecretsCodec { key: Arc::new(OnceLock::new()), source: Arc::new(source), first_use: Arc::default() }
    }

    /// A codec with a key at hand.
    pub fn with_key(c: Crypter) -> Self {
        SecretsCodec {
            key: Arc::new(OnceLock::from(c)),
            source: Arc::new(|| unreachable!("key is set")),
            first_use: Arc::default(),
        }
    }

    /// A codec for stacks without secrets: meeting one is an error.
    pub fn unavailable(why: &'static str) -> Self {
        Self::new(move || Err(Error::Secrets(why.into())))
    }

    fn crypter(&self) -> Result<&Crypter> {
        if let Some(c) = self.key.get() {
            return Ok(c);
        }
        let _first = self.first_use.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = self.key.get() {
            return Ok(c);
        }
        let c = (self.source)()?;
        Ok(self.key.get_or_init(|| c))
    }

    /// Value → stored JSON.
    pub fn to_json(&self, v: &Value) -> Result<serde_json::Value> {
        Ok(match v {
            Value::Secret(inner) => {
                let plain = inner
                    .to_plain_json()
                    .ok_or_else(|| Error::Secrets("cannot store a secret that is not known yet".into()))?;
                let sealed = self.crypter()?.encrypt(plain.to_string().as_bytes());
                serde_json::json!({ SECRET_KEY: sealed })
            }
            Value::Unknown => return Err(Error::Secrets("an unknown value cannot be stored".into())),
            Value::List(l) => l.iter().map(|x| self.to_json(x)).collect::<Result<Vec<_>>>()?.into(),
            Value::Map(m) => m
                .iter()
                .map(|(k, x)| Ok((escape_key(k).into_owned(), self.to_json(x)?)))
                .collect::<Result<serde_json::Map<_, _>>>()?
                .into(),
            other => other.to_plain_json().unwrap_or_default(),
        })
    }

    /// Stored JSON → value.
    pub fn from_json(&self, j: &serde_json::Value) -> Result<Value> {
        Ok(match j {
            serde_json::Value::Object(o) if o.len() == 1 && o.contains_key(SECRET_KEY) => {
                let sealed = o[SECRET_KEY].as_str().ok_or_else(|| Error::Secrets("malformed sealed secret".into()))?;
                let plain = self.crypter()?.decrypt(sealed)?;
                let json: serde_json::Value = serde_json::from_slice(&plain)
                    .map_err(|_| Error::Secrets("a decrypted secret is not valid JSON".into()))?;
                Value::Secret(Box::new(Value::from_json(&json)))
            }
            serde_json::Value::Array(a) => Value::List(a.iter().map(|x| self.from_json(x)).collect::<Result<_>>()?),
            serde_json::Value::Object(o) => Value::Map(
                o.iter().map(|(k, x)| Ok((unescape_key(k).to_owned(), self.from_json(x)?))).collect::<Result<_>>()?,
            ),
            other => Value::from_json(other),
        })
    }

    /// Resource → stored form, borrowing it: its values are serialized
    /// directly, secrets sealed on the way (no intermediate JSON tree).
    pub fn resource_out<'a>(&'a self, r: &'a ResourceState) -> ResourceOut<'a> {
        ResourceOut {
            urn: &r.urn,
            type_token: &r.type_token,
            provider: &r.provider,
            id: r.id.as_deref(),
            inputs: Sealed { v: &r.inputs, codec: self },
            outputs: Sealed { v: &r.outputs, codec: self },
            deps: &r.deps,
            options: &r.options,
        }
    }

    /// A value that serializes with its secrets sealed.
    pub fn sealed<'a>(&'a self, v: &'a Value) -> Sealed<'a> {
        Sealed { v, codec: self }
    }

    /// Resource → stored form, owned (secrets sealed).
    pub fn resource_file(&self, r: &ResourceState) -> Result<ResourceFile> {
        Ok(ResourceFile {
            urn: r.urn.clone(),
            type_token: r.type_token.clone(),
            provider: r.provider.clone(),
            id: r.id.clone(),
            inputs: self.to_json(&r.inputs)?,
            outputs: self.to_json(&r.outputs)?,
            deps: r.deps.clone(),
            options: r.options.clone(),
        })
    }

    /// Stored form → resource.
    pub fn resource_from_file(&self, f: ResourceFile) -> Result<ResourceState> {
        Ok(ResourceState {
            inputs: self.from_json(&f.inputs)?,
            outputs: self.from_json(&f.outputs)?,
            urn: f.urn,
            type_token: f.type_token,
            provider: f.provider,
            id: f.id,
            deps: f.deps,
            options: f.options,
        })
    }
}

/// A value serialized with its secrets sealed by the stack's key.
#[derive(Clone, Copy)]
pub struct Sealed<'a> {
    v: &'a Value,
    codec: &'a SecretsCodec,
}

impl Serialize for Sealed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap, SerializeSeq};
        match self.v {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(x) => s.serialize_str(x),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(&Sealed { v, codec: self.codec })?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(&escape_key(k), &Sealed { v, codec: self.codec })?;
                }
                map.end()
            }
            Value::Secret(_) => {
                let sealed = self.codec.to_json(self.v).map_err(S::Error::custom)?;
                sealed.serialize(s)
            }
            Value::Unknown => Err(S::Error::custom("an unknown value cannot be stored")),
        }
    }
}

/// The stored form of one resource, borrowed for writing.
#[derive(Serialize)]
pub struct ResourceOut<'a> {
    urn: &'a Urn,
    #[serde(rename = "type")]
    type_token: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    inputs: Sealed<'a>,
    outputs: Sealed<'a>,
    #[serde(skip_serializing_if = "<[Urn]>::is_empty")]
    deps: &'a [Urn],
    options: &'a ResourceOptions,
}

/// The stored form of one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceFile {
    /// Identity.
    pub urn: Urn,
    /// Type token.
    #[serde(rename = "type")]
    pub type_token: String,
    /// Provider instance.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// Cloud id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Inputs, secrets sealed.
    #[serde(default)]
    pub inputs: serde_json::Value,
    /// Outputs, secrets sealed.
    #[serde(default)]
    pub outputs: serde_json::Value,
    /// Dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<Urn>,
    /// Options.
    #[serde(default)]
    pub options: ResourceOptions,
}

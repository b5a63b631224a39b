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

type KeySource = Arc<dyn Fn() -> Result<Crypter> + Send + Sync>;

/// Seals and opens secrets, asking for the stack's key only when a secret is
/// actually met.
#[derive(Clone)]
pub struct SecretsCodec {
    key: Arc<OnceLock<Crypter>>,
    source: KeySource,
}

impl std::fmt::Debug for SecretsCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsCodec")
    }
}

impl SecretsCodec {
    /// A codec that obtains its key from `source` on first need.
    pub fn new(source: impl Fn() -> Result<Crypter> + Send + Sync + 'static) -> Self {
        SecretsCodec { key: Arc::new(OnceLock::new()), source: Arc::new(source) }
    }

    /// A codec with a key at hand.
    pub fn with_key(c: Crypter) -> Self {
        SecretsCodec { key: Arc::new(OnceLock::from(c)), source: Arc::new(|| unreachable!("key is set")) }
    }

    /// A codec for stacks without secrets: meeting one is an error.
    pub fn unavailable(why: &'static str) -> Self {
        Self::new(move || Err(Error::Secrets(why.into())))
    }

    fn crypter(&self) -> Result<&Crypter> {
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
                .map(|(k, x)| Ok((k.clone(), self.to_json(x)?)))
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
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, x)| Ok((k.clone(), self.from_json(x)?))).collect::<Result<_>>()?)
            }
            other => Value::from_json(other),
        })
    }

    /// Resource → stored form.
    pub fn resource_to_file(&self, r: &ResourceState) -> Result<ResourceFile> {
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

/// The stored form of one resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

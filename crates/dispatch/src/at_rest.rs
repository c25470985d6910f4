//! Secrets at rest: every secret value of an endpoint record is encrypted before the store
//! sees it, with a key only the host holds.
//!
//! # What is encrypted
//! Signing secrets (HMAC secrets, RSA and Ed25519 private keys), the auth credential (bearer
//! token, basic password, API key, custom auth header value) and every
//! [secret header](crate::model::SecretHeader). Everything else of the record (URL, tenant,
//! event types, header names, timestamps, health) stays readable, so the stores can filter on
//! it.
//!
//! # How
//! Envelope encryption per value with AES-256-GCM (`ring`): a fresh 96-bit nonce from the OS
//! CSPRNG for every value, and as associated data the endpoint's id and the field the value
//! belongs to (`auth/bearer`, `secret/<created_at>`, `header/<name>`, …). A ciphertext copied
//! into another endpoint's record, or into another field of the same record, fails to decrypt.
//! A stored value reads `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`; the record carries
//! `"sealed": true`.
//!
//! # Keys
//! An [`EncryptionKey`] is 32 random bytes with an id. Its text form, what
//! `hookwire keygen encryption` prints, is `hwenc1_<id>_<base64url of the 32 bytes, no padding>`
//! (`<id>`: 1 to 32 of `a-z A-Z 0-9 -`). The dispatcher takes several
//! ([`DispatcherBuilder::encryption_key`](crate::DispatcherBuilder::encryption_key), oldest
//! first): the last one encrypts every new write, any of them decrypts.
//! [`Dispatcher::reencrypt`](crate::Dispatcher::reencrypt) moves every record to the newest key.
//! `Debug` of a key prints its id only; nothing here logs a key or a decrypted value.

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookwire_signature::Secret;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::model::{Auth, Endpoint};

/// The prefix of an encryption key's text form (version 1).
pub const KEY_PREFIX: &str = "hwenc1_";

/// Longest key id.
const MAX_ID_LEN: usize = 32;

/// Version tag of a sealed value.
const VALUE_VERSION: &str = "v1";

/// Domain separation of the associated data.
const AAD_DOMAIN: &[u8] = b"hookwire/at-rest/v1";

/// Why a key could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text does not start with `hwenc1_` or lacks the `_` after the id.
    #[error(
        "an encryption key reads hwenc1_<id>_<base64url key> (make one with `hookwire keygen encryption`)"
    )]
    Format,
    /// The id is empty, too long or has other characters than `a-z A-Z 0-9 -`.
    #[error("an encryption key id is 1 to 32 of a-z, A-Z, 0-9 and '-'")]
    Id,
    /// The key part is not base64url of exactly 32 bytes.
    #[error("an encryption key is exactly 32 bytes (43 base64url characters)")]
    Length,
    /// A keyring needs at least one key.
    #[error("no encryption key given")]
    NoKeys,
    /// Two configured keys have the same id.
    #[error("two encryption keys have the id {0:?}")]
    DuplicateId(String),
    /// The OS random source failed.
    #[error("the OS random source failed")]
    Rng,
}

/// An AES-256 key with its id. `Debug` shows the id only; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct EncryptionKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn check_id(id: &str) -> Result<(), KeyError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok { Ok(()) } else { Err(KeyError::Id) }
}

impl EncryptionKey {
    /// A key from 32 raw bytes and an id of your choosing.
    ///
    /// # Errors
    /// [`KeyError::Id`].
    pub fn from_bytes(id: &str, bytes: [u8; 32]) -> Result<Self, KeyError> {
        check_id(id)?;
        Ok(Self {
            id: id.to_owned(),
            bytes: Zeroizing::new(bytes),
        })
    }

    /// A fresh key from the OS CSPRNG. Without an id, a random 8-hex-digit one.
    ///
    /// # Errors
    /// [`KeyError::Id`], [`KeyError::Rng`].
    pub fn generate(id: Option<&str>) -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|_| KeyError::Rng)?;
        let id = match id {
            Some(id) => id.to_owned(),
            None => {
                let mut tag = [0u8; 4];
                getrandom::fill(&mut tag).map_err(|_| KeyError::Rng)?;
                hex_lower(&tag)
            }
        };
        Self::from_bytes(&id, *bytes)
    }

    /// Reads the text form `hwenc1_<id>_<base64url>` (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`KeyError::Format`], [`KeyError::Id`], [`KeyError::Length`].
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let rest = text
            .trim()
            .strip_prefix(KEY_PREFIX)
            .ok_or(KeyError::Format)?;
        let (id, encoded) = rest.split_once('_').ok_or(KeyError::Format)?;
        check_id(id)?;
        let decoded = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| KeyError::Length)?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Length)?;
        Self::from_bytes(id, bytes)
    }

    /// Every key of a key file: one per line, oldest first, the last one the newest; blank
    /// lines and lines starting with `#` are skipped.
    ///
    /// # Errors
    /// As [`parse`](Self::parse) (naming no key text), [`KeyError::DuplicateId`].
    pub fn parse_many(text: &str) -> Result<Vec<Self>, KeyError> {
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(KeyError::DuplicateId(k.id.clone()));
            }
        }
        Ok(keys)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The text form, for writing a key file once (it is the key: never log it).
    pub fn to_text(&self) -> Secret {
        let mut text = String::with_capacity(KEY_PREFIX.len() + self.id.len() + 44);
        text.push_str(KEY_PREFIX);
        text.push_str(&self.id);
        text.push('_');
        URL_SAFE_NO_PAD.encode_string(self.bytes.as_ref(), &mut text);
        Secret::new(text)
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`DispatcherBuilder::encryption_key`](crate::DispatcherBuilder::encryption_key)
/// accepts: an [`EncryptionKey`], its text form (`&str`, `String`, [`Secret`]) or 32 raw
/// bytes (whose id is then `raw-` and the first 8 hex digits of SHA-256 of the key, so the
/// same bytes always get the same id).
pub trait IntoEncryptionKey {
    /// The key, or why the input is not one.
    ///
    /// # Errors
    /// [`KeyError`].
    fn into_encryption_key(self) -> Result<EncryptionKey, KeyError>;
}

impl IntoEncryptionKey for EncryptionKey {
    fn into_encryption_key(self) -> Result<EncryptionKey, KeyError> {
        Ok(self)
    }
}

impl IntoEncryptionKey for [u8; 32] {
    fn into_encryption_key(self) -> Result<EncryptionKey, KeyError> {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self);
        let id = format!("raw-{}", hex_lower(&digest.as_ref()[..4]));
        EncryptionKey::from_bytes(&id, self)
    }
}

impl IntoEncryptionKey for &str {
    fn into_encryption_key(self) -> Result<EncryptionKey, KeyError> {
        EncryptionKey::parse(self)
    }
}

impl IntoEncryptionKey for String {
    fn into_encryption_key(self) -> Result<EncryptionKey, KeyError> {
        let text = Zeroizing::new(self);
        EncryptionKey::parse(&text)
    }
}

impl IntoEncryptionKey for &Secret {
    fn into_encryption_key(self) -> Result<EncryptionKey, KeyError> {
        EncryptionKey::parse(self.expose_secret())
    }
}

/// Why an endpoint record's secrets could not be encrypted or decrypted. Never carries a
/// key or a secret value: only ids and field names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AtRestError {
    /// The store holds encrypted records and the dispatcher has no key.
    #[error(
        "the store holds encrypted endpoint secrets (endpoint {endpoint}, key {key_id}) but no \
         encryption key is configured: give the dispatcher the key(s) they were written with \
         (DispatcherBuilder::encryption_key, or --key-file)"
    )]
    NoKey {
        /// The first encrypted endpoint found.
        endpoint: String,
        /// The key it is encrypted under.
        key_id: String,
    },
    /// A record is encrypted under a key id that is not configured.
    #[error(
        "endpoint {endpoint} is encrypted under key {key_id}, which is not configured (keys \
         configured: {configured}); add that key (older keys stay until `reencrypt` has run)"
    )]
    UnknownKey {
        /// The endpoint.
        endpoint: String,
        /// The key id in its record.
        key_id: String,
        /// The configured ids, comma-separated.
        configured: String,
    },
    /// Authentication failed: the value was changed, moved from another endpoint or field,
    /// or the key with this id is not the one it was written with.
    #[error(
        "endpoint {endpoint}: the encrypted {field} does not decrypt with key {key_id} (changed, \
         moved from another record or field, or a different key under the same id)"
    )]
    Decrypt {
        /// The endpoint.
        endpoint: String,
        /// The field (`auth/bearer`, `secret/<created_at>`, `header/<name>`, …).
        field: String,
        /// The key id it named.
        key_id: String,
    },
    /// A stored value is not in the `v1.<id>.<base64url>` form.
    #[error("endpoint {endpoint}: the encrypted {field} is malformed")]
    Malformed {
        /// The endpoint.
        endpoint: String,
        /// The field.
        field: String,
    },
    /// The OS random source failed (no nonce).
    #[error("the OS random source failed; nothing was encrypted")]
    Rng,
    /// The operation needs an encryption key and none is configured.
    #[error("no encryption key is configured")]
    NotConfigured,
}

/// A set of keys, oldest first: the last one encrypts, any of them decrypts. The dispatcher
/// builds one from its builder's keys; tools that read records straight from a store (an
/// export, a support dump) can build their own to [`open`](Self::open) them.
pub struct Keyring {
    keys: Vec<(String, LessSafeKey)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.ids())
            .finish_non_exhaustive()
    }
}

/// One secret value of a record, named by its field.
struct Slot<'a> {
    field: String,
    value: &'a mut Secret,
}

/// Every secret value of `ep`, with its field name (the associated data).
fn slots(ep: &mut Endpoint) -> Vec<Slot<'_>> {
    let mut out = Vec::new();
    for s in &mut ep.secrets {
        out.push(Slot {
            field: format!("secret/{}", s.created_at),
            value: &mut s.secret,
        });
    }
    match &mut ep.auth {
        Auth::None => {}
        Auth::Bearer { token } => out.push(Slot {
            field: "auth/bearer".to_owned(),
            value: token,
        }),
        Auth::ApiKey { key, .. } => out.push(Slot {
            field: "auth/api-key".to_owned(),
            value: key,
        }),
        Auth::Basic { password, .. } => out.push(Slot {
            field: "auth/basic".to_owned(),
            value: password,
        }),
        Auth::CustomHeader { value, .. } => out.push(Slot {
            field: "auth/custom-header".to_owned(),
            value,
        }),
    }
    for h in &mut ep.secret_headers {
        out.push(Slot {
            field: format!("header/{}", h.name.trim().to_ascii_lowercase()),
            value: &mut h.value,
        });
    }
    out
}

fn aad(endpoint: &str, field: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_DOMAIN.len() + endpoint.len() + field.len() + 2);
    a.extend_from_slice(AAD_DOMAIN);
    a.push(0);
    a.extend_from_slice(endpoint.as_bytes());
    a.push(0);
    a.extend_from_slice(field.as_bytes());
    a
}

/// The key id a sealed value names, if it is in the `v1.<id>.…` form.
fn value_key_id(value: &str) -> Option<&str> {
    let rest = value.strip_prefix(VALUE_VERSION)?.strip_prefix('.')?;
    rest.split_once('.').map(|(id, _)| id)
}

/// The key ids a sealed record's values name (sorted, deduplicated).
pub(crate) fn record_key_ids(ep: &Endpoint) -> Vec<String> {
    let mut ep = ep.clone();
    let mut ids: Vec<String> = slots(&mut ep)
        .iter()
        .map(|s| {
            value_key_id(s.value.expose_secret())
                .unwrap_or("?")
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

impl Keyring {
    /// The keyring of `keys`, oldest first.
    ///
    /// # Errors
    /// [`KeyError::NoKeys`] for an empty list, [`KeyError::DuplicateId`].
    pub fn new(keys: Vec<EncryptionKey>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(KeyError::DuplicateId(k.id.clone()));
            }
        }
        let keys: Vec<(String, LessSafeKey)> = keys
            .into_iter()
            .map(|k| {
                UnboundKey::new(&AES_256_GCM, k.bytes.as_ref())
                    .map(|u| (k.id.clone(), LessSafeKey::new(u)))
                    .map_err(|_| KeyError::Length)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// The ids, oldest first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    fn newest(&self) -> &(String, LessSafeKey) {
        // `new` never builds an empty keyring.
        &self.keys[self.keys.len() - 1]
    }

    fn key(&self, id: &str) -> Option<&LessSafeKey> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, k)| k)
    }

    /// Whether `ep` (as stored) has every value under the newest key.
    pub fn is_current(&self, ep: &Endpoint) -> bool {
        let newest = self.newest().0.as_str();
        ep.sealed && record_key_ids(ep).iter().all(|id| id == newest)
    }

    /// Checks that every key id `ep` (as stored) names is configured.
    pub(crate) fn check_known(&self, ep: &Endpoint) -> Result<(), AtRestError> {
        if !ep.sealed {
            return Ok(());
        }
        match record_key_ids(ep)
            .into_iter()
            .find(|id| self.key(id).is_none())
        {
            Some(key_id) => Err(AtRestError::UnknownKey {
                endpoint: ep.id.clone(),
                key_id,
                configured: self.ids().join(", "),
            }),
            None => Ok(()),
        }
    }

    /// Encrypts every secret value of a plaintext record under the newest key (a sealed
    /// record is left as it is).
    ///
    /// # Errors
    /// [`AtRestError::Rng`].
    pub fn seal(&self, ep: &mut Endpoint) -> Result<(), AtRestError> {
        if ep.sealed {
            return Ok(());
        }
        let (id, key) = self.newest();
        let endpoint = ep.id.clone();
        for slot in slots(ep) {
            let mut nonce = [0u8; NONCE_LEN];
            getrandom::fill(&mut nonce).map_err(|_| AtRestError::Rng)?;
            let mut buf = Zeroizing::new(Vec::with_capacity(
                NONCE_LEN + slot.value.expose_secret().len() + AES_256_GCM.tag_len(),
            ));
            buf.extend_from_slice(&nonce);
            buf.extend_from_slice(slot.value.expose_secret().as_bytes());
            let mut body = buf.split_off(NONCE_LEN);
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(&endpoint, &slot.field)),
                &mut body,
            )
            .map_err(|_| AtRestError::Malformed {
                endpoint: endpoint.clone(),
                field: slot.field.clone(),
            })?;
            buf.extend_from_slice(&body);
            let mut text = format!("{VALUE_VERSION}.{id}.");
            URL_SAFE_NO_PAD.encode_string(buf.as_slice(), &mut text);
            *slot.value = Secret::new(text);
        }
        ep.sealed = true;
        Ok(())
    }

    /// Decrypts every secret value of a sealed record; a plaintext one is left as it is. On
    /// error the record may be partly decrypted: drop it.
    ///
    /// # Errors
    /// [`AtRestError::UnknownKey`], [`AtRestError::Decrypt`], [`AtRestError::Malformed`].
    pub fn open(&self, ep: &mut Endpoint) -> Result<(), AtRestError> {
        if !ep.sealed {
            return Ok(());
        }
        let endpoint = ep.id.clone();
        for slot in slots(ep) {
            let malformed = || AtRestError::Malformed {
                endpoint: endpoint.clone(),
                field: slot.field.clone(),
            };
            let text = slot.value.expose_secret();
            let key_id = value_key_id(text).ok_or_else(malformed)?.to_owned();
            let key = self.key(&key_id).ok_or_else(|| AtRestError::UnknownKey {
                endpoint: endpoint.clone(),
                key_id: key_id.clone(),
                configured: self.ids().join(", "),
            })?;
            let encoded = &text[VALUE_VERSION.len() + key_id.len() + 2..];
            let mut raw = Zeroizing::new(URL_SAFE_NO_PAD.decode(encoded).map_err(|_| malformed())?);
            if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
                return Err(malformed());
            }
            let nonce =
                Nonce::try_assume_unique_for_key(&raw[..NONCE_LEN]).map_err(|_| malformed())?;
            let plain = key
                .open_in_place(
                    nonce,
                    Aad::from(aad(&endpoint, &slot.field)),
                    &mut raw[NONCE_LEN..],
                )
                .map_err(|_| AtRestError::Decrypt {
                    endpoint: endpoint.clone(),
                    field: slot.field.clone(),
                    key_id: key_id.clone(),
                })?;
            let plain = std::str::from_utf8(plain)
                .map_err(|_| malformed())?
                .to_owned();
            *slot.value = Secret::new(plain);
        }
        ep.sealed = false;
        Ok(())
    }

    /// Re-seals `ep` (as stored) under the newest key: opens it, then seals it.
    pub(crate) fn reseal(&self, ep: &mut Endpoint) -> Result<(), AtRestError> {
        let mut copy = ep.clone();
        self.open(&mut copy)?;
        self.seal(&mut copy)?;
        *ep = copy;
        Ok(())
    }
}

/// Which pass over the store runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// At open: refuse what the keys cannot read, encrypt plaintext records.
    Open,
    /// [`Dispatcher::reencrypt`](crate::Dispatcher::reencrypt): also move records under
    /// older keys to the newest.
    Reencrypt,
}

/// What the dispatcher holds: the keys, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct AtRest {
    pub(crate) keys: Option<Arc<Keyring>>,
}

impl AtRest {
    /// `ep` as the store should keep it.
    pub(crate) fn seal(&self, ep: &mut Endpoint) -> Result<(), AtRestError> {
        match &self.keys {
            Some(k) => k.seal(ep),
            None => Ok(()),
        }
    }

    /// `ep` as the store kept it, with its secrets usable.
    pub(crate) fn open(&self, ep: &mut Endpoint) -> Result<(), AtRestError> {
        match (&self.keys, ep.sealed) {
            (_, false) => Ok(()),
            (Some(k), true) => k.open(ep),
            (None, true) => Err(AtRestError::NoKey {
                endpoint: ep.id.clone(),
                key_id: record_key_ids(ep).join(", "),
            }),
        }
    }

    /// One record (as stored) of a pass: `Some(was_plaintext)` when it was rewritten.
    pub(crate) fn pass_record(
        &self,
        ep: &mut Endpoint,
        pass: Pass,
    ) -> Result<Option<bool>, AtRestError> {
        let Some(keys) = &self.keys else {
            return match (pass, ep.sealed) {
                (Pass::Reencrypt, _) => Err(AtRestError::NotConfigured),
                (Pass::Open, true) => Err(AtRestError::NoKey {
                    endpoint: ep.id.clone(),
                    key_id: record_key_ids(ep).join(", "),
                }),
                (Pass::Open, false) => Ok(None),
            };
        };
        if !ep.sealed {
            keys.seal(ep)?;
            return Ok(Some(true));
        }
        keys.check_known(ep)?;
        if pass == Pass::Reencrypt && !keys.is_current(ep) {
            keys.reseal(ep)?;
            return Ok(Some(false));
        }
        Ok(None)
    }

    /// A change applied to the opened record and sealed again, for
    /// [`Store::modify_endpoint`](crate::store::Store::modify_endpoint). A record that does not
    /// open is left unchanged and the error lands in the returned slot.
    pub(crate) fn wrap_change(
        &self,
        change: impl FnOnce(&mut Endpoint) + Send + 'static,
    ) -> (
        crate::store::EndpointChange,
        Arc<Mutex<Option<AtRestError>>>,
    ) {
        let slot: Arc<Mutex<Option<AtRestError>>> = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        let this = self.clone();
        let wrapped = Box::new(move |ep: &mut Endpoint| {
            let mut copy = ep.clone();
            let result = this.open(&mut copy).and_then(|()| {
                change(&mut copy);
                this.seal(&mut copy)
            });
            match result {
                Ok(()) => *ep = copy,
                Err(e) => *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(e),
            }
        });
        (wrapped, slot)
    }
}

/// What [`Dispatcher::reencrypt`](crate::Dispatcher::reencrypt) (and the pass at open) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReencryptReport {
    /// Records read.
    pub examined: u64,
    /// Records written under the newest key (plaintext ones included).
    pub rewritten: u64,
    /// Plaintext records among them (written before encryption was configured).
    pub migrated: u64,
    /// Transactions committed.
    pub batches: u64,
}

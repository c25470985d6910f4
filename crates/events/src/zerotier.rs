//! ZeroTier Central webhooks (legacy Central): the 14 hook types of `ztchooks/types.go`.
//!
//! Every hook shares `hook_id`, `org_id` and `hook_type`; `metadata` may be absent or `null`;
//! config objects stay JSON objects ([`Config`]) with typed accessors for the common keys.
//! Unknown `hook_type`s parse into [`Hook::Unknown`]; unknown fields land in `extra`.
//!
//! ```
//! use hookwire_events::zerotier::{Hook, NetworkJoin};
//! let hook = Hook::from(NetworkJoin::new("hook-1", "org-1", "19d9808567a17ccf", "a02505e545"));
//! let bytes = hook.to_vec();
//! assert_eq!(hookwire_events::zerotier::parse(&bytes).unwrap(), hook);
//! ```

use hookwire_events_derive::Lossless;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::de::{self, Object, deserialize_via_value, string_enum};
use crate::error::ParseError;

string_enum! {
    /// The `hook_type` values (`types.go` constants).
    #[non_exhaustive]
    pub enum HookType {
        /// A member asked to join a network.
        NetworkJoin = "NETWORK_JOIN",
        /// A member was authorized.
        NetworkAuth = "NETWORK_AUTH",
        /// A member was deauthorized.
        NetworkDeauth = "NETWORK_DEAUTH",
        /// SSO login.
        NetworkSsoLogin = "NETWORK_SSO_LOGIN",
        /// SSO login error.
        NetworkSsoLoginError = "NETWORK_SSO_LOGIN_ERROR",
        /// A network was created.
        NetworkCreated = "NETWORK_CREATED",
        /// A network's config changed.
        NetworkConfigChanged = "NETWORK_CONFIG_CHANGED",
        /// A network was deleted.
        NetworkDeleted = "NETWORK_DELETED",
        /// A member's config changed.
        MemberConfigChanged = "MEMBER_CONFIG_CHANGED",
        /// A member was deleted.
        MemberDeleted = "MEMBER_DELETED",
        /// An organization invite was sent.
        OrgInviteSent = "ORG_INVITE_SENT",
        /// An organization invite was accepted.
        OrgInviteAccepted = "ORG_INVITE_ACCEPTED",
        /// An organization invite was rejected.
        OrgInviteRejected = "ORG_INVITE_REJECTED",
        /// A member was removed from the organization.
        OrgMemberRemoved = "ORG_MEMBER_REMOVED",
    }
}

/// The 14 known hook type names.
pub const EVENT_TYPES: &[&str] = HookType::KNOWN;

/// A network or member config object, kept whole, with accessors for the common keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Config(pub Object);

impl Config {
    /// Any key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
    fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
    /// `id`.
    pub fn id(&self) -> Option<&str> {
        self.str("id")
    }
    /// `nwid` (network configs).
    pub fn nwid(&self) -> Option<&str> {
        self.str("nwid")
    }
    /// `name`.
    pub fn name(&self) -> Option<&str> {
        self.str("name")
    }
    /// `private` (network configs).
    pub fn private(&self) -> Option<bool> {
        self.0.get("private").and_then(Value::as_bool)
    }
    /// `authorized` (member configs).
    pub fn authorized(&self) -> Option<bool> {
        self.0.get("authorized").and_then(Value::as_bool)
    }
    /// `mtu`.
    pub fn mtu(&self) -> Option<u64> {
        self.0.get("mtu").and_then(Value::as_u64)
    }
    /// `revision`.
    pub fn revision(&self) -> Option<u64> {
        self.0.get("revision").and_then(Value::as_u64)
    }
    /// `creationTime` (epoch milliseconds).
    pub fn creation_time(&self) -> Option<u64> {
        self.0.get("creationTime").and_then(Value::as_u64)
    }
    /// `routes[].target`.
    pub fn route_targets(&self) -> Vec<&str> {
        self.0
            .get("routes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get("target").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// `ipAssignments` (member configs).
    pub fn ip_assignments(&self) -> Vec<&str> {
        self.0
            .get("ipAssignments")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

impl From<Object> for Config {
    fn from(m: Object) -> Self {
        Self(m)
    }
}

macro_rules! hooks {
    ($(
        $(#[$doc:meta])*
        $name:ident => $variant:ident {
            $( $(#[$fattr:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, PartialEq, Serialize, Lossless)]
            pub struct $name {
                /// Id of this hook.
                pub hook_id: String,
                /// Organization id.
                pub org_id: String,
                /// The hook type as sent (always this struct's type).
                pub hook_type: String,
                $( #[doc = concat!("`", stringify!($field), "`.")] $(#[$fattr])* pub $field: $ty, )*
                /// `metadata`: absent (`None`), `null` (`Some(None)`) or an object.
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::double_option")]
                pub metadata: Option<Option<Object>>,
                /// Fields this version does not know, kept for a lossless round trip.
                #[serde(flatten)]
                pub extra: Object,
            }

            impl $name {
                /// Builds the hook (no metadata, no extra fields).
                #[allow(clippy::too_many_arguments)]
                pub fn new(
                    hook_id: impl Into<String>,
                    org_id: impl Into<String>,
                    $( $field: impl Into<$ty>, )*
                ) -> Self {
                    Self {
                        hook_id: hook_id.into(),
                        org_id: org_id.into(),
                        hook_type: HookType::$variant.as_str().to_owned(),
                        $( $field: $field.into(), )*
                        metadata: None,
                        extra: Object::new(),
                    }
                }

                /// Sets `metadata`.
                pub fn with_metadata(mut self, metadata: Object) -> Self {
                    self.metadata = Some(Some(metadata));
                    self
                }

                /// `metadata`, if present and not null.
                pub fn metadata(&self) -> Option<&Object> {
                    self.metadata.as_ref().and_then(Option::as_ref)
                }
            }

            impl From<$name> for Hook {
                fn from(h: $name) -> Self {
                    Hook::$variant(h)
                }
            }
        )*

        /// One ZeroTier Central hook.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        #[non_exhaustive]
        pub enum Hook {
            $( $(#[$doc])* $variant($name), )*
            /// A `hook_type` this version does not know, kept whole.
            Unknown(UnknownHook),
        }

        impl Hook {
            /// Converts a parsed JSON value.
            pub fn from_value(value: Value) -> Result<Self, ParseError> {
                let map = de::into_object(value)?;
                let ty = HookType::from_wire(de::required_str(&map, "hook_type")?);
                Ok(match ty {
                    $( HookType::$variant => Hook::$variant(de::from_object(map, "")?), )*
                    HookType::Other(_) => Hook::Unknown(de::from_object(map, "")?),
                })
            }

            /// The direct path of [`parse`] (one pass over the bytes): `None` to leave the
            /// input to [`from_value`](Self::from_value).
            pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
                let read = |ty: &str| -> Option<Self> {
                    Some(match HookType::from_wire(ty) {
                        $( HookType::$variant => Hook::$variant(de::from_bytes(bytes)?), )*
                        HookType::Other(_) => Hook::Unknown(de::from_bytes(bytes)?),
                    })
                };
                de::read_by_first(bytes, "hook_type", read, Hook::event_type).or_else(|| {
                    let [ty] = de::scan_top(bytes, ["hook_type"])?;
                    read(ty.as_str()?)
                })
            }

            /// `hook_type` as sent.
            pub fn event_type(&self) -> &str {
                match self {
                    $( Hook::$variant(h) => &h.hook_type, )*
                    Hook::Unknown(h) => &h.hook_type,
                }
            }

            /// `hook_id`.
            pub fn hook_id(&self) -> &str {
                match self {
                    $( Hook::$variant(h) => &h.hook_id, )*
                    Hook::Unknown(h) => &h.hook_id,
                }
            }

            /// `org_id`.
            pub fn org_id(&self) -> &str {
                match self {
                    $( Hook::$variant(h) => &h.org_id, )*
                    Hook::Unknown(h) => &h.org_id,
                }
            }

            /// The fields this version does not know.
            pub fn extra(&self) -> &Object {
                match self {
                    $( Hook::$variant(h) => &h.extra, )*
                    Hook::Unknown(h) => &h.extra,
                }
            }
        }
    };
}

hooks! {
    /// `NETWORK_JOIN`: a member asked to join.
    NetworkJoin => NetworkJoin { network_id: String, member_id: String }
    /// `NETWORK_AUTH`: a member was authorized.
    NetworkMemberAuth => NetworkAuth { network_id: String, member_id: String, user_id: String, user_email: String }
    /// `NETWORK_DEAUTH`: a member was deauthorized.
    NetworkMemberDeauth => NetworkDeauth { network_id: String, member_id: String, user_id: String, user_email: String }
    /// `NETWORK_SSO_LOGIN`.
    NetworkSsoLogin => NetworkSsoLogin { network_id: String, member_id: String, sso_user_email: String }
    /// `NETWORK_SSO_LOGIN_ERROR`.
    NetworkSsoLoginError => NetworkSsoLoginError { network_id: String, member_id: String, sso_user_email: String, error: String }
    /// `NETWORK_CREATED`.
    NetworkCreated => NetworkCreated {
        network_id: String,
        /// `network_config` (`null` when the sender had none).
        #[serde(deserialize_with = "de::nullable")]
        network_config: Option<Config>,
        user_id: String,
        user_email: String,
    }
    /// `NETWORK_CONFIG_CHANGED`.
    NetworkConfigChanged => NetworkConfigChanged {
        network_id: String,
        user_id: String,
        user_email: String,
        /// `old_config`.
        #[serde(deserialize_with = "de::nullable")]
        old_config: Option<Config>,
        /// `new_config`.
        #[serde(deserialize_with = "de::nullable")]
        new_config: Option<Config>,
    }
    /// `NETWORK_DELETED`.
    NetworkDeleted => NetworkDeleted {
        network_id: String,
        /// `old_config`.
        #[serde(deserialize_with = "de::nullable")]
        old_config: Option<Config>,
        user_id: String,
        user_email: String,
    }
    /// `MEMBER_CONFIG_CHANGED`.
    MemberConfigChanged => MemberConfigChanged {
        network_id: String,
        member_id: String,
        /// `old_config`.
        #[serde(deserialize_with = "de::nullable")]
        old_config: Option<Config>,
        /// `new_config`.
        #[serde(deserialize_with = "de::nullable")]
        new_config: Option<Config>,
        user_id: String,
        user_email: String,
    }
    /// `MEMBER_DELETED`.
    MemberDeleted => MemberDeleted {
        network_id: String,
        member_id: String,
        /// `old_config`.
        #[serde(deserialize_with = "de::nullable")]
        old_config: Option<Config>,
        user_id: String,
        user_email: String,
    }
    /// `ORG_INVITE_SENT`.
    OrgInviteSent => OrgInviteSent { user_id: String, invitee_email: String }
    /// `ORG_INVITE_ACCEPTED`.
    OrgInviteAccepted => OrgInviteAccepted {
        user_id: String,
        user_email: String,
        /// `network_ids` (`null` when Go's slice was nil).
        #[serde(deserialize_with = "de::nullable")]
        network_ids: Option<Vec<String>>,
    }
    /// `ORG_INVITE_REJECTED`.
    OrgInviteRejected => OrgInviteRejected { user_id: String, user_email: String }
    /// `ORG_MEMBER_REMOVED` (`user_id` is the user who removed the member).
    OrgMemberRemoved => OrgMemberRemoved { user_id: String, removed_user_id: String, removed_user_email: String }
}

/// A hook with a `hook_type` this version does not know: the base fields and everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Lossless)]
pub struct UnknownHook {
    /// `hook_id`.
    pub hook_id: String,
    /// `org_id`.
    pub org_id: String,
    /// `hook_type` as sent.
    pub hook_type: String,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Object,
}

impl Hook {
    /// The typed hook type (`Other` for unknown ones).
    pub fn hook_type(&self) -> HookType {
        HookType::from_wire(self.event_type())
    }

    /// The hook as a JSON value.
    pub fn to_json(&self) -> Value {
        de::to_json(self)
    }

    /// The hook as compact JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        de::to_vec(self)
    }
}

deserialize_via_value!(Hook);

/// Parses a ZeroTier Central hook body.
pub fn parse(bytes: &[u8]) -> Result<Hook, ParseError> {
    de::parse_direct(bytes, Hook::from_bytes, Hook::from_value)
}

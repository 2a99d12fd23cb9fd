//! How the agent knows us: a v2c community or a v3 user with its protocols, as the secrets
//! file declares them ([`RawCredentials`], validated into [`Credentials`]). No IO.

use std::fmt;

use serde::Deserialize;

/// How the agent knows us. `Debug` never shows a community or a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    V2c { community: String },
    V3(V3),
}

/// An SNMPv3 (USM) user.
#[derive(Clone, PartialEq, Eq)]
pub struct V3 {
    pub user: String,
    pub auth: AuthProtocol,
    pub auth_password: String,
    pub privacy: Privacy,
    /// Absent when `privacy` is `None`.
    pub privacy_password: Option<String>,
}

/// USM authentication protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha,
    Sha256,
}

/// USM privacy (encryption) protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    None,
    Des,
    /// AES-128 (CFB), what `createUser ... AES` makes in net-snmp.
    Aes,
}

impl Credentials {
    /// `v2c` or `v3`, as in the topology.
    #[must_use]
    pub fn version(&self) -> &'static str {
        match self {
            Credentials::V2c { .. } => "v2c",
            Credentials::V3(_) => "v3",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::V2c { .. } => f.write_str("Credentials::V2c(<redacted>)"),
            Credentials::V3(v) => f
                .debug_struct("Credentials::V3")
                .field("user", &v.user)
                .field("auth", &v.auth)
                .field("privacy", &v.privacy)
                .finish_non_exhaustive(),
        }
    }
}

/// Credentials as written under `snmp:` in the secrets file: `{community}` for v2c, or
/// `{user, auth, auth_password, privacy, privacy_password}` for v3.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCredentials {
    community: Option<String>,
    user: Option<String>,
    auth: Option<String>,
    auth_password: Option<String>,
    privacy: Option<String>,
    privacy_password: Option<String>,
}

/// USM refuses passwords shorter than this (RFC 3414 2.6).
const MIN_USM_PASSWORD: usize = 8;

impl RawCredentials {
    /// Check one entry; `name` is its key, for the message. The message never quotes a secret.
    pub fn validate(self, name: &str) -> Result<Credentials, String> {
        let at = format!("SNMP credentials `{name}`");
        let v3_fields = [
            ("user", self.user.is_some()),
            ("auth", self.auth.is_some()),
            ("auth_password", self.auth_password.is_some()),
            ("privacy", self.privacy.is_some()),
            ("privacy_password", self.privacy_password.is_some()),
        ];
        let any_v3: Vec<&str> = v3_fields.iter().filter(|f| f.1).map(|f| f.0).collect();
        if let Some(community) = self.community {
            if !any_v3.is_empty() {
                return Err(format!(
                    "{at}: `community` (v2c) cannot go with {} (v3); keep one",
                    any_v3.join(", ")
                ));
            }
            if community.is_empty() {
                return Err(format!("{at}: `community` is empty"));
            }
            return Ok(Credentials::V2c { community });
        }
        let (Some(user), Some(auth_password)) = (self.user, self.auth_password) else {
            return Err(format!(
                "{at}: give `community` for v2c, or `user` and `auth_password` (with `auth` and \
                 `privacy`) for v3"
            ));
        };
        let auth = match self.auth.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("sha" | "sha1") => AuthProtocol::Sha,
            Some("sha256" | "sha-256") => AuthProtocol::Sha256,
            Some("md5") => AuthProtocol::Md5,
            Some(_) => return Err(format!("{at}: `auth` must be sha, sha256 or md5")),
        };
        let privacy = match self
            .privacy
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("aes" | "aes128") => Privacy::Aes,
            Some("des") => Privacy::Des,
            Some("none") => Privacy::None,
            Some(_) => return Err(format!("{at}: `privacy` must be aes, des or none")),
        };
        if auth_password.len() < MIN_USM_PASSWORD {
            return Err(format!(
                "{at}: `auth_password` is shorter than {MIN_USM_PASSWORD} characters (SNMPv3 refuses it)"
            ));
        }
        let privacy_password = match (privacy, self.privacy_password) {
            (Privacy::None, Some(_)) => {
                return Err(format!(
                    "{at}: `privacy_password` given but `privacy: none`"
                ));
            }
            (Privacy::None, None) => None,
            (_, None) => {
                return Err(format!(
                    "{at}: `privacy_password` is missing (or set `privacy: none`)"
                ));
            }
            (_, Some(p)) if p.len() < MIN_USM_PASSWORD => {
                return Err(format!(
                    "{at}: `privacy_password` is shorter than {MIN_USM_PASSWORD} characters"
                ));
            }
            (_, Some(p)) => Some(p),
        };
        Ok(Credentials::V3(V3 {
            user,
            auth,
            auth_password,
            privacy,
            privacy_password,
        }))
    }
}

//! The gate's secrets: API tokens per application and the Dukcapil credentials (from
//! `secrets.yaml` in the state dir, readable by the owner only, or from the environment), and
//! the local key that turns a NIK into an HMAC for the audit log and the pattern memory.
//!
//! Tokens are held and compared as SHA-256 hashes, in constant time. Nothing here is ever
//! logged: every type that holds a secret has a redacted `Debug`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::portal::Credentials;
use crate::secret::Secret;

/// The secrets file in the state dir.
pub const FILE: &str = "secrets.yaml";
/// The HMAC key file in the state dir (32 random bytes, hex), created at first start.
pub const KEY_FILE: &str = "audit.key";
/// Prefix of the environment variables that hold an application's API token.
pub const ENV_TOKEN_PREFIX: &str = "JUKNIS_API_TOKEN_";
/// Environment variable names of the Dukcapil account, each overriding the file's value.
pub const ENV_USER_ID: &str = "JUKNIS_PORTAL_USER_ID";
/// See [`ENV_USER_ID`].
pub const ENV_PASSWORD: &str = "JUKNIS_PORTAL_PASSWORD";
/// See [`ENV_USER_ID`].
pub const ENV_IP_USER: &str = "JUKNIS_PORTAL_IP_USER";
/// See [`ENV_USER_ID`].
pub const ENV_INSTANSI_ID: &str = "JUKNIS_PORTAL_INSTANSI_ID";

/// Environment variables of the data balikan service's bearer token and agency id.
pub const ENV_BALIKAN_TOKEN: &str = "JUKNIS_BALIKAN_TOKEN";
/// See [`ENV_BALIKAN_TOKEN`].
pub const ENV_BALIKAN_ID_LEMBAGA: &str = "JUKNIS_BALIKAN_ID_LEMBAGA";

/// Shortest plain-text API token accepted: a short token can be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// Why the secrets could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret file is unreadable or others can read it.
    #[error(transparent)]
    File(#[from] crate::secret::FileError),
    /// Reading or writing a file failed.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not the expected YAML.
    #[error("{path}: {detail}", path = path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        detail: String,
    },
    /// A value is unusable (too short a token, a bad hash, a missing credential).
    #[error("{0}")]
    Invalid(String),
}

/// The Dukcapil account the gate forwards with. `Debug` shows the password as `[rahasia]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portal {
    /// `user_id`, `password`, `ip_user`.
    pub credentials: Credentials,
    /// The agency id in the central gateway's path (`/dukcapil/get_json/<INSTANSI_ID>/CALL_NIK`).
    pub instansi_id: String,
}

/// The data balikan service's account. `Debug` shows the token as `[rahasia]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balikan {
    /// Bearer token of the data balikan web service.
    pub token: Secret,
    /// The agency id (`id_lembaga`) sent with every batch.
    pub id_lembaga: String,
}

/// Every secret the gate needs. `Debug` names the applications, never a token.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The Dukcapil account, when configured.
    pub portal: Option<Portal>,
    /// The data balikan account, when configured.
    pub balikan: Option<Balikan>,
    /// Application name and SHA-256 of its token.
    tokens: Vec<(String, [u8; 32])>,
    /// SNMP communities and v3 users by name, for the links' `snmp: {credentials: NAME}`.
    pub snmp: BTreeMap<String, crate::probe::snmp::Credentials>,
    /// Notifier logins by name, for the topology's `notifiers: [{credentials: NAME}]`.
    pub notifiers: BTreeMap<String, NotifierLogin>,
}

/// A notifier's secret: a bot or bearer token, or an SMTP user and password. `Debug` shows
/// neither token nor password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifierLogin {
    /// Telegram's bot token, or the bearer token of a WhatsApp gateway or webhook.
    #[serde(default, deserialize_with = "secret_opt")]
    pub token: Option<Secret>,
    /// SMTP user name.
    #[serde(default)]
    pub user: Option<String>,
    /// SMTP password.
    #[serde(default, deserialize_with = "secret_opt")]
    pub password: Option<Secret>,
}

fn secret_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Option::<String>::deserialize(d).map(|o| o.map(Secret::from))
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("portal", &self.portal)
            .field("snmp", &self.snmp)
            .field("balikan", &self.balikan)
            .field("notifiers", &self.notifiers)
            .field(
                "applications",
                &self.tokens.iter().map(|(a, _)| a).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    portal: Option<RawPortal>,
    #[serde(default)]
    balikan: Option<RawBalikan>,
    #[serde(default)]
    api_tokens: BTreeMap<String, String>,
    #[serde(default)]
    snmp: BTreeMap<String, crate::probe::snmp::RawCredentials>,
    #[serde(default)]
    notifiers: BTreeMap<String, NotifierLogin>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBalikan {
    token: Option<String>,
    id_lembaga: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    user_id: Option<String>,
    password: Option<String>,
    ip_user: Option<String>,
    instansi_id: Option<String>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(Sha256::digest(bytes).as_slice());
    out
}

/// Equality of two hashes without an early exit, so timing tells nothing about where they differ.
pub fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `sha256:<64 hex>` is a hash written by the operator; anything else is the token itself.
fn token_hash(app: &str, value: &str) -> Result<[u8; 32], Error> {
    if let Some(h) = value.strip_prefix("sha256:") {
        let bytes = hex::decode(h.trim()).map_err(|_| {
            Error::Invalid(format!(
                "API token of `{app}`: `sha256:` must be followed by 64 hex digits"
            ))
        })?;
        return bytes.try_into().map_err(|_| {
            Error::Invalid(format!(
                "API token of `{app}`: `sha256:` must be followed by 64 hex digits"
            ))
        });
    }
    if value.len() < MIN_TOKEN_LEN {
        return Err(Error::Invalid(format!(
            "API token of `{app}` is shorter than {MIN_TOKEN_LEN} characters"
        )));
    }
    Ok(sha256(value.as_bytes()))
}

pub use crate::secret::{check_private, read_private};

/// The process environment, skipping variables that are not UTF-8 (`std::env::vars` would
/// panic on one; none of ours can be such).
fn env_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

impl Secrets {
    /// Load `DIR/secrets.yaml` (if present) and then the process environment, which overrides
    /// the file value by value.
    pub fn load(state_dir: &Path) -> Result<Secrets, Error> {
        let file = state_dir.join(FILE);
        // Absent is fine (the environment may hold everything); unreadable is an error.
        let file = match std::fs::symlink_metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(file),
        };
        Secrets::from_sources(file.as_deref(), env_vars())
    }

    /// Load from a secrets file (checked to be private) and from environment pairs.
    pub fn from_sources(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Secrets, Error> {
        let mut raw = RawFile {
            portal: None,
            balikan: None,
            api_tokens: BTreeMap::new(),
            snmp: BTreeMap::new(),
            notifiers: BTreeMap::new(),
        };
        if let Some(path) = file {
            let text = read_private(path)?;
            if !text.trim().is_empty() {
                raw = serde_saphyr::from_str(&text).map_err(|e| Error::Parse {
                    path: path.to_path_buf(),
                    // The parser's message may quote the offending value: keep only where.
                    detail: redact_parse_error(&e.to_string()),
                })?;
            }
        }
        let mut portal = raw.portal.unwrap_or_default();
        let mut balikan = raw.balikan.unwrap_or_default();
        let mut tokens = BTreeMap::new();
        for (app, value) in &raw.api_tokens {
            tokens.insert(app.clone(), token_hash(app, value)?);
        }
        for (k, v) in env {
            match k.as_str() {
                ENV_USER_ID => portal.user_id = Some(v),
                ENV_PASSWORD => portal.password = Some(v),
                ENV_IP_USER => portal.ip_user = Some(v),
                ENV_INSTANSI_ID => portal.instansi_id = Some(v),
                ENV_BALIKAN_TOKEN => balikan.token = Some(v),
                ENV_BALIKAN_ID_LEMBAGA => balikan.id_lembaga = Some(v),
                _ => {
                    if let Some(app) = k.strip_prefix(ENV_TOKEN_PREFIX)
                        && !app.is_empty()
                    {
                        let app = app.to_ascii_lowercase().replace('_', "-");
                        let h = token_hash(&app, &v)?;
                        tokens.insert(app, h);
                    }
                }
            }
        }
        let portal = match portal {
            RawPortal {
                user_id: None,
                password: None,
                ip_user: None,
                instansi_id: None,
            } => None,
            RawPortal {
                user_id: Some(user_id),
                password: Some(password),
                ip_user: Some(ip_user),
                instansi_id: Some(instansi_id),
            } => Some(Portal {
                credentials: Credentials {
                    user_id,
                    password: Secret::from(password),
                    ip_user,
                },
                instansi_id,
            }),
            p => {
                let missing: Vec<&str> = [
                    ("user_id", p.user_id.is_none(), ENV_USER_ID),
                    ("password", p.password.is_none(), ENV_PASSWORD),
                    ("ip_user", p.ip_user.is_none(), ENV_IP_USER),
                    ("instansi_id", p.instansi_id.is_none(), ENV_INSTANSI_ID),
                ]
                .iter()
                .filter(|(_, m, _)| *m)
                .map(|(k, _, _)| *k)
                .collect();
                return Err(Error::Invalid(format!(
                    "the Dukcapil account is incomplete: missing {} (in {FILE} under `portal:`, \
                     or in {ENV_USER_ID}, {ENV_PASSWORD}, {ENV_IP_USER}, {ENV_INSTANSI_ID})",
                    missing.join(", ")
                )));
            }
        };
        let balikan = match balikan {
            RawBalikan {
                token: None,
                id_lembaga: None,
            } => None,
            RawBalikan {
                token: Some(token),
                id_lembaga: Some(id_lembaga),
            } => Some(Balikan {
                token: Secret::from(token),
                id_lembaga,
            }),
            RawBalikan { token, .. } => {
                let missing = if token.is_none() {
                    "token"
                } else {
                    "id_lembaga"
                };
                return Err(Error::Invalid(format!(
                    "the data balikan account is incomplete: missing {missing} (in {FILE} under `balikan:`, \
                     or in {ENV_BALIKAN_TOKEN}, {ENV_BALIKAN_ID_LEMBAGA})"
                )));
            }
        };
        let mut snmp = BTreeMap::new();
        for (name, raw) in raw.snmp {
            let creds = raw
                .validate(&name)
                .map_err(|e| Error::Invalid(format!("{e} (in {FILE} under `snmp:`)")))?;
            snmp.insert(name, creds);
        }
        Ok(Secrets {
            portal,
            balikan,
            tokens: tokens.into_iter().collect(),
            snmp,
            notifiers: raw.notifiers,
        })
    }

    /// Secrets built in code (tests, examples, the demo).
    pub fn new(portal: Option<Portal>) -> Secrets {
        Secrets {
            portal,
            balikan: None,
            tokens: Vec::new(),
            snmp: BTreeMap::new(),
            notifiers: BTreeMap::new(),
        }
    }

    /// Add (or replace) an application's token.
    pub fn with_token(mut self, app: &str, token: &str) -> Result<Secrets, Error> {
        let h = token_hash(app, token)?;
        self.tokens.retain(|(a, _)| a != app);
        self.tokens.push((app.to_owned(), h));
        Ok(self)
    }

    /// The application a bearer token belongs to. Every stored hash is compared, so the time
    /// taken does not depend on which one (if any) matched.
    pub fn application(&self, token: &str) -> Option<&str> {
        let h = sha256(token.as_bytes());
        let mut found = None;
        for (app, stored) in &self.tokens {
            if ct_eq(&h, stored) && found.is_none() {
                found = Some(app.as_str());
            }
        }
        found
    }

    /// Names of the applications with a token.
    pub fn applications(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(|(a, _)| a.as_str())
    }
}

/// Keep a YAML error's position, drop anything that could be a secret: the parser's source
/// snippet after the first line (it quotes the offending line, value and all) and anything in
/// quotes on the first line.
fn redact_parse_error(msg: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in msg.lines().next().unwrap_or("").chars() {
        match c {
            '`' | '"' | '\'' => {
                in_quote = !in_quote;
                out.push(c);
                if in_quote {
                    out.push('…');
                }
            }
            _ if in_quote => {}
            _ => out.push(c),
        }
    }
    out
}

/// The local secret key of the NIK HMACs. `Debug` is redacted.
#[derive(Clone)]
pub struct HmacKey([u8; 32]);

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKey({})", crate::secret::REDACTED)
    }
}

impl HmacKey {
    /// Read `DIR/audit.key`, or create it (mode 0600) at first start. A key file that group or
    /// others can read is refused.
    pub fn load_or_create(state_dir: &Path) -> Result<HmacKey, Error> {
        let path = state_dir.join(KEY_FILE);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            let key: [u8; 32] = rand::random();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            use std::io::Write;
            match opts.open(&path) {
                Ok(mut f) => {
                    f.write_all(hex::encode(key).as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                }
                // Another gate in the same dir won the race: read its key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let text = read_private(&path)?;
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{} does not hold a 64-hex-digit key; move it away to start a new audit log",
                    path.display()
                ))
            })?;
        Ok(HmacKey(bytes))
    }

    /// A key from bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> HmacKey {
        HmacKey(bytes)
    }

    /// HMAC-SHA256 of `data` under this key.
    pub fn tag(&self, data: &[u8]) -> [u8; 32] {
        // A 32-byte key is always accepted by HMAC.
        let mut mac = match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return sha256(data),
        };
        mac.update(data);
        let mut out = [0u8; 32];
        out.copy_from_slice(mac.finalize().into_bytes().as_slice());
        out
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn write_private(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join(FILE);
        std::fs::write(&p, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        p
    }

    #[test]
    fn file_and_env_tokens_authenticate_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let hashed = hex::encode(sha256(b"token-of-the-mobile-app"));
        let p = write_private(
            dir.path(),
            &format!(
                "portal:\n  user_id: u\n  password: p\n  ip_user: 127.0.0.1\n  instansi_id: X\n\
                 api_tokens:\n  app-web: token-of-the-web-app\n  app-mobile: \"sha256:{hashed}\"\n"
            ),
        );
        let env = vec![
            (
                "JUKNIS_API_TOKEN_APP_KIOSK".to_owned(),
                "token-of-the-kiosk-app".to_owned(),
            ),
            (ENV_PASSWORD.to_owned(), "from-env".to_owned()),
        ];
        let s = Secrets::from_sources(Some(&p), env).unwrap();
        assert_eq!(s.application("token-of-the-web-app"), Some("app-web"));
        assert_eq!(s.application("token-of-the-mobile-app"), Some("app-mobile"));
        assert_eq!(s.application("token-of-the-kiosk-app"), Some("app-kiosk"));
        assert_eq!(s.application("token-of-the-web-ap"), None);
        let portal = s.portal.clone().unwrap();
        assert_eq!(portal.credentials.password.expose(), "from-env");
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("token-of") && !dbg.contains("from-env"),
            "{dbg}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = write_private(dir.path(), "api_tokens: {}\n");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Secrets::from_sources(Some(&p), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("chmod 600") && e.contains(FILE), "{e}");
    }

    #[rstest::rstest]
    #[case::unknown_key("portal:\n  user_id: u\n  pasword: KANARI-sandi\n")]
    #[case::wrong_type("portal:\n  password: [KANARI-sandi, x]\n")]
    #[case::broken_yaml("api_tokens:\n  app-web: \"KANARI-token\n  other: [\n")]
    #[case::token_list("api_tokens: [KANARI-token-aplikasi]\n")]
    fn a_broken_file_is_located_without_echoing_its_values(#[case] text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let p = write_private(dir.path(), text);
        let e = Secrets::from_sources(Some(&p), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains(FILE), "{e}");
        assert!(!e.contains("KANARI"), "{e}");
    }

    #[test]
    fn debug_of_every_secret_holder_shows_the_placeholder() {
        let s = Secrets::from_sources(
            None,
            vec![
                (ENV_USER_ID.into(), "u".into()),
                (ENV_PASSWORD.into(), "KANARI-sandi".into()),
                (ENV_IP_USER.into(), "127.0.0.1".into()),
                (ENV_INSTANSI_ID.into(), "X".into()),
                (ENV_BALIKAN_TOKEN.into(), "KANARI-balikan".into()),
                (ENV_BALIKAN_ID_LEMBAGA.into(), "X".into()),
                (
                    "JUKNIS_API_TOKEN_APP_WEB".into(),
                    "KANARI-api-token-1".into(),
                ),
            ],
        )
        .unwrap();
        let key = HmacKey::from_bytes(*b"KANARI-kunci-hmac-audit-32-bytes");
        let all = format!("{s:?} {s:#?} {key:?} {:?}", s.balikan);
        assert!(!all.contains("KANARI"), "{all}");
        assert!(all.contains(crate::secret::REDACTED), "{all}");
        assert!(all.contains("app-web"), "applications are named: {all}");
    }

    #[test]
    fn incomplete_account_and_short_token_are_named() {
        let e = Secrets::from_sources(None, vec![(ENV_USER_ID.into(), "u".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("password") && e.contains("instansi_id"), "{e}");
        let e = Secrets::from_sources(None, vec![("JUKNIS_API_TOKEN_A".into(), "short".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("shorter"), "{e}");
    }

    #[test]
    fn snmp_credentials_load_and_stay_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_private(
            dir.path(),
            "snmp:\n  opd-router: {community: komunitas-rahasia}\n  \
             core: {user: juknis, auth: sha, auth_password: sandi-auth-1, privacy: aes, privacy_password: sandi-priv-1}\n",
        );
        let s = Secrets::from_sources(Some(&p), Vec::new()).unwrap();
        assert_eq!(s.snmp["opd-router"].version(), "v2c");
        assert_eq!(s.snmp["core"].version(), "v3");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("rahasia") && !dbg.contains("sandi"), "{dbg}");
        let p = write_private(
            dir.path(),
            "snmp:\n  core: {user: juknis, auth_password: x}\n",
        );
        let e = Secrets::from_sources(Some(&p), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`core`") && e.contains("snmp:"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn key_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let k1 = HmacKey::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let k2 = HmacKey::load_or_create(dir.path()).unwrap();
        assert_eq!(k1.tag(b"x"), k2.tag(b"x"));
        std::fs::set_permissions(
            dir.path().join(KEY_FILE),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        assert!(HmacKey::load_or_create(dir.path()).is_err());
    }
}

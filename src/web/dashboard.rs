//! The dashboard: server-rendered pages (askama templates from `web/templates`, assets from
//! `web/static`, all embedded), log-in and sessions, CSRF tokens, roles, the language switch,
//! and a small JSON status for the live updates. Readable with JavaScript off.
//!
//! It reads the appliance through [`Shared`] and its own files in the state folder; it owns
//! no probe, no health rule and no look-up rule.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequestParts, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::{self, Refused, Session, User};
use super::i18n::{Lang, Text};
use super::{Shared, no_store, pages};
use crate::health::State;

/// The session cookie.
pub const SESSION_COOKIE: &str = "juknis_session";
/// The pre-log-in CSRF cookie (double submit on the log-in form).
pub const LOGIN_COOKIE: &str = "juknis_login";
/// The language cookie.
pub const LANG_COOKIE: &str = "juknis_lang";

/// Password checks at once by default: each takes about 19 MiB and one core for some 50 ms.
pub const DEFAULT_HASH_PERMITS: usize = 2;

/// How the dashboard is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where `users.db` (and the store, outbox and audit log it reads) live.
    pub state_dir: PathBuf,
    /// Mark cookies `Secure` (the dashboard is served over TLS).
    pub secure_cookies: bool,
    /// A TLS reverse proxy in front of the dashboard, on this address: cookies are `Secure`,
    /// and the client's address is the last `X-Forwarded-For` entry of the proxy's requests.
    pub tls_proxy: Option<std::net::IpAddr>,
    /// Most password checks (argon2, about 19 MiB each) at once; log-ins beyond it are refused
    /// with 429 and `Retry-After` before any hashing.
    pub hash_permits: usize,
    /// Lock an account after repeated failures.
    pub lockout: auth::Lockout,
    /// Each failed log-in in a row delays the answer by this much more (throttling).
    pub failure_delay: Duration,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// The NIK gate Cek NIK posts to (`None`: look-ups are not configured).
    pub gate: Option<crate::gate::Gate>,
    /// The data balikan outbox the upload feeds (`None`: not available).
    pub outbox: Option<crate::outbox::Outbox>,
    /// The notification queue, for the Ringkasan line on notifiers that keep failing
    /// (`None`: no notifiers).
    pub notify: Option<crate::notify::Queue>,
    /// How the Dokumen page makes the kajian teknis and the semester report on demand
    /// (`None`: it offers only Lampiran I and II).
    pub documents: Option<pages::documents::Maker>,
}

impl Config {
    /// The defaults: plain HTTP, lock for 15 minutes after 5 failures, 30 minutes idle.
    pub fn new(state_dir: impl Into<PathBuf>) -> Config {
        Config {
            state_dir: state_dir.into(),
            secure_cookies: false,
            tls_proxy: None,
            hash_permits: DEFAULT_HASH_PERMITS,
            lockout: auth::Lockout::default(),
            failure_delay: Duration::from_millis(400),
            session_idle: Duration::from_secs(30 * 60),
            gate: None,
            outbox: None,
            notify: None,
            documents: None,
        }
    }
}

/// The dashboard's state.
pub struct Dash {
    pub shared: Arc<Shared>,
    pub users: auth::Users,
    pub sessions: auth::Sessions,
    pub cfg: Config,
    pub outbox: Option<crate::outbox::Outbox>,
    /// Permits for password checks (see [`Config::hash_permits`]).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// The threads that run them.
    pub hashers: HashPool,
    /// Documents being made or that failed, for the Dokumen page.
    pub jobs: pages::documents::Jobs,
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for password checks. Not tokio's blocking pool: each check there may
/// land on a new thread, whose malloc arena then keeps argon2's 19 MiB after the check, so
/// memory grew with every thread that ever hashed. Here it is at most the pool's size.
pub struct HashPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl HashPool {
    /// `n` threads; they end when the pool is dropped.
    pub fn new(n: usize) -> HashPool {
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Job>(n);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("juknis-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(p) => p.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "starting a password check thread");
            }
        }
        HashPool { jobs }
    }

    /// Run `f` on the pool; `None` when the pool has stopped. Callers hold a permit of the
    /// same size, so the queue never blocks.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .ok()?;
        rx.await.ok()
    }
}

impl Dash {
    /// Whether cookies get the `Secure` flag.
    fn secure(&self) -> &'static str {
        if self.cfg.secure_cookies || self.cfg.tls_proxy.is_some() {
            "; Secure"
        } else {
            ""
        }
    }
}

/// The dashboard's routes. Merge it into the appliance's router.
pub fn router(shared: Arc<Shared>, cfg: Config) -> Result<Router, auth::Error> {
    crate::sqlite::create_state_dir(&cfg.state_dir).map_err(|e| auth::Error::Sql {
        path: cfg.state_dir.clone(),
        source: rusqlite::Error::InvalidPath(format!("{e}").into()),
    })?;
    let users = auth::Users::open(&cfg.state_dir, cfg.lockout)?;
    let outbox = cfg.outbox.clone();
    let dash = Arc::new(Dash {
        shared,
        users,
        sessions: auth::Sessions::new(cfg.session_idle),
        hashing: Arc::new(tokio::sync::Semaphore::new(cfg.hash_permits.max(1))),
        hashers: HashPool::new(cfg.hash_permits.max(1)),
        cfg,
        outbox,
        jobs: pages::documents::Jobs::default(),
    });
    let pages = Router::new()
        .route("/", get(pages::overview::page))
        .route("/topologi", get(pages::topology::page))
        .route("/riwayat", get(pages::history::page))
        .route("/ketersediaan", get(pages::availability::page))
        .route("/ketersediaan/{file}", get(pages::availability::download))
        .route("/status", get(pages::status::page))
        .route(
            "/cek-nik",
            get(pages::lookup::page).post(pages::lookup::submit),
        )
        .route(
            "/balikan",
            get(pages::balikan::page)
                .post(pages::balikan::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    pages::balikan::MAX_UPLOAD + 64 * 1024,
                )),
        )
        .route("/balikan/ditolak/{id}", post(pages::balikan::refused))
        .route("/dokumen", get(pages::documents::page))
        .route("/dokumen/{file}", get(pages::documents::download))
        .route("/dokumen/buat", post(pages::documents::make))
        .route("/dokumen/arsip/{file}", get(pages::documents::archived))
        .route("/audit", get(pages::audit::page))
        .route("/audit/periksa", post(pages::audit::verify))
        .route("/telusuri", post(pages::trace::run))
        .route("/gangguan/{id}", get(pages::incident::page))
        .route("/gangguan/{id}/akui", post(pages::incident::acknowledge))
        .route("/gangguan/{id}/catatan", post(pages::incident::note))
        .route(
            "/pemeliharaan",
            get(pages::maintenance::page).post(pages::maintenance::add),
        )
        .route("/pemeliharaan/{id}/batal", post(pages::maintenance::cancel))
        .route("/pengguna", get(pages::users::page))
        .route("/pengguna/{name}/{action}", post(pages::users::act))
        .route("/masuk", get(login_page).post(login))
        .route("/keluar", post(logout))
        .route("/api/dashboard/status", get(status))
        .merge(super::help::router())
        .fallback(not_found)
        .layer(middleware::from_fn(headers))
        .with_state(dash);
    Ok(Router::new()
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/static/logo.svg", get(logo))
        .merge(pages))
}

// ---- assets ----

async fn css() -> impl IntoResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../web/static/app.css"),
    )
}
async fn js() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/static/app.js"),
    )
}
async fn logo() -> impl IntoResponse {
    asset("image/svg+xml", include_str!("../../web/static/logo.svg"))
}
fn asset(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Every dashboard answer: never stored (it shows people's work and, on Cek NIK, population
/// data), not framed, only our own scripts and styles; and the language cookie when asked.
async fn headers(req: Request, next: Next) -> Response {
    let lang = query_param(req.uri().query(), "lang").and_then(|l| Lang::parse(&l));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    no_store(h);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(l) = lang
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict",
            l.code()
        ))
    {
        h.append(header::SET_COOKIE, v);
    }
    res
}

// ---- request context ----

/// One value of a query string, percent-decoded enough for our own parameters.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| v.replace('+', " "))
    })
}

/// One cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// What every handler knows about the request: the language, and the session if any.
pub struct Ctx {
    pub lang: Lang,
    pub session: Option<(String, Session)>,
    /// The client's address (`None` when the connection's is unknown, as in tests).
    pub source: Option<std::net::IpAddr>,
}

/// The client's address: the connection's peer, or behind the configured TLS proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself added).
pub fn source_of(parts: &Parts, tls_proxy: Option<std::net::IpAddr>) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    match (peer, tls_proxy) {
        (Some(p), Some(proxy)) if p == proxy => parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|a| a.trim().parse().ok()),
        (p, _) => p,
    }
}

impl FromRequestParts<Arc<Dash>> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        dash: &Arc<Dash>,
    ) -> Result<Self, Self::Rejection> {
        let lang = query_param(parts.uri.query(), "lang")
            .or_else(|| cookie(&parts.headers, LANG_COOKIE))
            .and_then(|l| Lang::parse(&l))
            .unwrap_or(Lang::Id);
        let session = cookie(&parts.headers, SESSION_COOKIE).and_then(|t| {
            let s = session_of(dash, &t)?;
            Some((t, s))
        });
        let source = source_of(parts, dash.cfg.tls_proxy);
        Ok(Ctx {
            lang,
            session,
            source,
        })
    }
}

/// The session of `token`: in memory, or kept across a restart; with its user as they stand
/// now. A user disabled or deleted since (from the dashboard or `juknis user`) has no session
/// any more, and an NDA that expired ends look-ups at once.
fn session_of(dash: &Dash, token: &str) -> Option<Session> {
    let mut s = match dash.sessions.get(token) {
        Some(s) => s,
        None => match dash.users.kept_session(token, dash.sessions.idle()) {
            Ok(Some((user, csrf))) => dash.sessions.restore(token, user, csrf),
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "kept sessions cannot be read");
                return None;
            }
        },
    };
    let alive = dash.users.session_alive(token);
    match (alive, dash.users.current(&s.user.name)) {
        (Ok(true), Ok(Some(now))) => {
            if now != s.user {
                dash.sessions.refresh(token, &now);
                s.user = now;
            }
            Some(s)
        }
        (Ok(_), Ok(_)) => {
            tracing::info!(user = %s.user.name, "session ended: the user was disabled, deleted or given a new password");
            dash.sessions.end(token);
            let _ = dash.users.drop_session(token);
            None
        }
        (Err(e), _) | (_, Err(e)) => {
            // The user database cannot be read: nobody is let in on a stale account.
            tracing::warn!(error = %e, "the user database cannot be read; session refused");
            None
        }
    }
}

/// A logged-in request. Without a session, pages redirect to the log-in page.
pub struct Authed {
    pub lang: Lang,
    pub session: Session,
    pub path: String,
}

impl Authed {
    pub fn t(&self) -> &'static Text {
        self.lang.text()
    }
    pub fn user(&self) -> &User {
        &self.session.user
    }

    /// The page frame: navigation, user, CSRF token.
    pub fn chrome(&self, active: &'static str, title: &str) -> Chrome {
        let u = self.user();
        let other = match self.lang {
            Lang::Id => Lang::En,
            Lang::En => Lang::Id,
        };
        Chrome {
            t: self.t(),
            lang: self.lang.code(),
            other_lang: other.code(),
            self_path: self.path.clone(),
            user: u.name.clone(),
            role: u.role.as_str(),
            csrf: self.session.csrf.clone(),
            active,
            title: title.to_string(),
            may_lookup: u.may_lookup(),
            may_balikan: u.may_balikan(),
            may_audit: u.may_audit(),
        }
    }

    /// Refuse a POST whose CSRF token is missing or wrong.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), PageError> {
        match given {
            Some(g) if auth::same(g, &self.session.csrf) => Ok(()),
            _ => {
                tracing::warn!(user = %self.user().name, "form refused: bad CSRF token");
                Err(PageError::new(
                    self.lang,
                    StatusCode::FORBIDDEN,
                    self.t().csrf_refused,
                ))
            }
        }
    }

    pub fn forbidden(&self) -> PageError {
        PageError::new(self.lang, StatusCode::FORBIDDEN, self.t().forbidden)
    }

    pub fn internal(&self, what: &dyn std::fmt::Display) -> PageError {
        tracing::error!(error = %what, "dashboard");
        PageError::new(
            self.lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            self.t().internal,
        )
    }
}

impl FromRequestParts<Arc<Dash>> for Authed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        dash: &Arc<Dash>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ctx) = Ctx::from_request_parts(parts, dash).await;
        match ctx.session {
            Some((_, session)) => Ok(Authed {
                lang: ctx.lang,
                session,
                path: parts.uri.path().to_string(),
            }),
            None if parts.uri.path().starts_with("/api/") => {
                Err(StatusCode::UNAUTHORIZED.into_response())
            }
            None => Err(Redirect::to("/masuk").into_response()),
        }
    }
}

/// The frame of every page, for `base.html`.
pub struct Chrome {
    pub t: &'static Text,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub self_path: String,
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub active: &'static str,
    pub title: String,
    pub may_lookup: bool,
    pub may_balikan: bool,
    pub may_audit: bool,
}

/// Render a template to a response, or say why not.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(s) => Html(s).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "render error").into_response()
        }
    }
}

/// A page that says what went wrong, with its status.
#[derive(Debug)]
pub struct PageError {
    pub lang: Lang,
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn new(lang: Lang, status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            lang,
            status,
            message: message.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Text,
    lang: &'static str,
    status: u16,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            t: self.lang.text(),
            lang: self.lang.code(),
            status: self.status.as_u16(),
            message: &self.message,
        };
        (self.status, render(&page)).into_response()
    }
}

async fn not_found(ctx: Ctx) -> PageError {
    PageError::new(ctx.lang, StatusCode::NOT_FOUND, ctx.lang.text().not_found)
}

// ---- log-in ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Text,
    lang: &'static str,
    other_lang: &'static str,
    csrf: &'a str,
    error: Option<&'a str>,
}

fn login_cookie(dash: &Dash, token: &str) -> HeaderValue {
    let secure = dash.secure();
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={token}; Path=/masuk; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn show_login(dash: &Dash, lang: Lang, status: StatusCode, error: Option<&str>) -> Response {
    let token = dash.users.form_token();
    let other = if lang == Lang::Id { Lang::En } else { Lang::Id };
    let page = LoginPage {
        t: lang.text(),
        lang: lang.code(),
        other_lang: other.code(),
        csrf: &token,
        error,
    };
    let mut res = (status, render(&page)).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, login_cookie(dash, &token));
    res
}

async fn login_page(AxState(dash): AxState<Arc<Dash>>, ctx: Ctx) -> Response {
    if ctx.session.is_some() {
        return Redirect::to("/").into_response();
    }
    show_login(&dash, ctx.lang, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: Option<String>,
}

async fn login(
    AxState(dash): AxState<Arc<Dash>>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let t = ctx.lang.text();
    // Double submit of a token this server signed; an empty or foreign one is refused.
    let expected = cookie(&headers, LOGIN_COOKIE);
    let csrf_ok = matches!((&expected, &f.csrf), (Some(a), Some(b))
        if !a.is_empty() && auth::same(a, b) && dash.users.form_token_ok(b));
    if !csrf_ok {
        return show_login(&dash, ctx.lang, StatusCode::FORBIDDEN, Some(t.csrf_refused));
    }
    // Bounded hashing: beyond the permits, refused at once, before any argon2 work.
    let Ok(permit) = Arc::clone(&dash.hashing).try_acquire_owned() else {
        let mut res = show_login(
            &dash,
            ctx.lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some(t.login_busy),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    };
    let users = Arc::clone(&dash);
    let source = ctx.source.map(|a| a.to_string()).unwrap_or_default();
    let (name, password, from) = (f.username.trim().to_string(), f.password, source.clone());
    let outcome = dash
        .hashers
        .run(move || {
            let r = users.users.attempt(&name, &password, &from);
            drop(permit);
            r
        })
        .await
        .ok_or("the password check threads have stopped");
    let typed = f.username.trim();
    match outcome {
        Ok(Ok(auth::Attempt {
            result: Ok(user), ..
        })) => {
            tracing::info!(user = %user.name, role = user.role.as_str(), source = %source, "logged in");
            if let Some((old, _)) = &ctx.session {
                dash.sessions.end(old);
                let _ = dash.users.drop_session(old);
            }
            let name = user.name.clone();
            let token = dash.sessions.start(user);
            // Kept (as its token's hash) so that a restart does not log everyone out.
            if let Some(s) = dash.sessions.get(&token)
                && let Err(e) = dash.users.keep_session(&token, &name, &s.csrf)
            {
                tracing::warn!(error = %e, "session not kept; it ends at the next restart");
            }
            let secure = dash.secure();
            let mut res = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
            )) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Ok(Ok(auth::Attempt {
            result: Err(why),
            tries,
            known,
            locked_now,
        })) => {
            // A known name is a validated account name; a typed unknown one may be a password
            // or a forged log line: only its tag is logged.
            let who = if known {
                crate::logtext::escape(typed)
            } else {
                format!("tidak-dikenal:{}", dash.users.name_tag(typed))
            };
            if let Some(d) = locked_now {
                tracing::warn!(user = %who, source = %source, minutes = d.as_secs() / 60, "log-in locked out for this source after repeated failures");
                dash.record_lockout(&who, &source, d).await;
            }
            // Throttle: each failure in a row makes the next answer slower (the same for
            // known and unknown names).
            let delay = dash.cfg.failure_delay * tries.min(10);
            tokio::time::sleep(delay).await;
            tracing::warn!(user = %who, source = %source, tries, "failed log-in");
            let (status, msg) = match why {
                Refused::Wrong => (StatusCode::UNAUTHORIZED, t.login_wrong),
                Refused::Locked(_) => (StatusCode::TOO_MANY_REQUESTS, t.login_locked),
            };
            show_login(&dash, ctx.lang, status, Some(msg))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "checking a log-in");
            show_login(
                &dash,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(t.internal),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "checking a log-in");
            show_login(
                &dash,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(t.internal),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

async fn logout(AxState(dash): AxState<Arc<Dash>>, ctx: Ctx, Form(f): Form<CsrfForm>) -> Response {
    let Some((token, session)) = ctx.session else {
        return Redirect::to("/masuk").into_response();
    };
    if !f
        .csrf
        .as_deref()
        .is_some_and(|c| auth::same(c, &session.csrf))
    {
        return PageError::new(
            ctx.lang,
            StatusCode::FORBIDDEN,
            ctx.lang.text().csrf_refused,
        )
        .into_response();
    }
    dash.sessions.end(&token);
    if let Err(e) = dash.users.drop_session(&token) {
        tracing::warn!(error = %e, "kept session not forgotten");
    }
    tracing::info!(user = %session.user.name, "logged out");
    let mut res = Redirect::to("/masuk").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("juknis_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}

// ---- live status ----

/// What the pages poll every few seconds.
#[derive(Serialize)]
pub struct Status {
    pub updated: String,
    pub paths: Vec<PathStatus>,
    pub nodes: Vec<(String, State)>,
    pub links: Vec<(String, State)>,
}

#[derive(Serialize)]
pub struct PathStatus {
    pub path: String,
    pub state: State,
    pub label: &'static str,
    pub reason: String,
}

/// The current health of paths, nodes and links.
pub fn current(dash: &Dash, lang: Lang) -> Status {
    let verdicts = dash.shared.verdicts();
    let topology = dash.shared.topology();
    let health = match dash.shared.health.read() {
        Ok(h) => h,
        Err(p) => p.into_inner(),
    };
    let nodes = topology
        .nodes
        .iter()
        .map(|n| (n.id.to_string(), health.node(&n.id).state))
        .collect();
    drop(health);
    let mut links: std::collections::BTreeMap<String, State> = Default::default();
    for v in &verdicts {
        for r in &v.routes {
            for (l, s) in &r.links {
                let e = links.entry(l.to_string()).or_insert(*s);
                // A link shared by routes shows its best known state.
                if *e == State::Unknown || (*s != State::Unknown && *s < *e) {
                    *e = *s;
                }
            }
        }
    }
    Status {
        updated: super::i18n::wib_dt(chrono::Utc::now()),
        paths: verdicts
            .iter()
            .map(|v| PathStatus {
                path: v.path.to_string(),
                state: v.state,
                label: lang.state(v.state),
                reason: v.reason().to_string(),
            })
            .collect(),
        nodes,
        links: links.into_iter().collect(),
    }
}

async fn status(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Json<Status> {
    Json(current(&dash, a.lang))
}

impl Dash {
    /// Write a lock-out into the audit log (through the gate's writer, the chain's only one);
    /// without a gate it is in the service log only.
    async fn record_lockout(&self, who: &str, source: &str, d: Duration) {
        let Some(gate) = &self.cfg.gate else {
            return;
        };
        let what = format!(
            "log-in dikunci {} menit untuk alamat {} setelah gagal berulang",
            d.as_secs().div_ceil(60),
            if source.is_empty() {
                "tidak diketahui"
            } else {
                source
            }
        );
        if let Err(e) = gate.record_event("login", who, &what, "locked_out").await {
            tracing::error!(error = %e, "the lock-out could not be written to the audit log");
        }
    }

    /// Whether a look-up service is wired in.
    pub fn lookup_available(&self) -> bool {
        self.cfg.gate.is_some()
    }

    /// Today's quota (limit, used): the gate's exact count when it runs, else the metric.
    pub fn quota(&self) -> (Option<u64>, u64) {
        let limit = match self.shared.topology().agreement.quota {
            crate::topology::Quota::PerDay(n) => Some(u64::from(n)),
            crate::topology::Quota::Unlimited => None,
        };
        let used = self
            .cfg
            .gate
            .as_ref()
            .and_then(|g| g.quota_used_today().ok())
            .unwrap_or_else(|| self.shared.metrics.quota_used.get().max(0) as u64);
        (limit, used)
    }

    /// Look a NIK up through the gate for the named operator (the gate checks the rules,
    /// spends the quota and writes the audit entry); `None` when no gate runs. The answer is
    /// only rendered, never kept.
    pub async fn lookup(
        &self,
        user: &str,
        nik: &str,
        purpose: &str,
    ) -> Option<pages::lookup::Answer> {
        use crate::portal::Status;
        let gate = self.cfg.gate.as_ref()?;
        let caller = crate::gate::Caller::Operator(user.to_string());
        // Operators share the in-flight limit with the applications.
        let answer = match gate.try_admit() {
            Err(r) => Err(r),
            Ok(_place) => gate.lookup(&caller, nik, purpose).await,
        };
        Some(match answer {
            Ok(a) => match (&a.status, &a.record) {
                (Status::Found, Some(r)) => pages::lookup::Answer {
                    found: true,
                    status: a.status.as_str().to_string(),
                    message: a.status.message().to_string(),
                    elements: pages::lookup::elements(r),
                },
                _ => pages::lookup::Answer {
                    found: false,
                    status: a.status.as_str().to_string(),
                    message: a.status.message().to_string(),
                    elements: Vec::new(),
                },
            },
            Err(r) => pages::lookup::Answer {
                found: false,
                status: r.kind.as_str().to_string(),
                message: r.message,
                elements: Vec::new(),
            },
        })
    }

    /// One page of audit entries, newest first, filtered by caller, status and WIB day,
    /// read-only: (available, rows, how many match). `false` when there is no audit log.
    pub async fn audit_rows(
        &self,
        filter: &pages::audit::Filter,
        per_page: usize,
    ) -> (bool, Vec<pages::audit::Row>, usize) {
        let path = self.cfg.state_dir.join(crate::gate::audit::FILE);
        if !path.exists() {
            return (false, Vec::new(), 0);
        }
        let f = filter.clone();
        let rows = tokio::task::spawn_blocking(
            move || -> rusqlite::Result<(Vec<pages::audit::Row>, usize)> {
                let conn = crate::sqlite::open_read_only(&path)?;
                // Empty filters match everything; the day is the WIB calendar day.
                let filter = "WHERE (?1 = '' OR caller = ?1) AND (?2 = '' OR status = ?2)
                     AND (?3 = '' OR date(ts, '+7 hours') = ?3)";
                let total: i64 = conn.query_row(
                    &format!("SELECT count(*) FROM audit {filter}"),
                    rusqlite::params![f.caller, f.status, f.day],
                    |r| r.get(0),
                )?;
                let mut st = conn.prepare(&format!(
                    "SELECT ts, caller_kind, caller, purpose, nik_hmac, status FROM audit {filter}
                     ORDER BY seq DESC LIMIT ?4 OFFSET ?5"
                ))?;
                let offset = (f.page.max(1) - 1).saturating_mul(per_page);
                let rows = st.query_map(
                    rusqlite::params![
                        f.caller,
                        f.status,
                        f.day,
                        per_page as i64,
                        i64::try_from(offset).unwrap_or(i64::MAX)
                    ],
                    |r| {
                        let ts: String = r.get(0)?;
                        Ok(pages::audit::Row {
                            at: chrono::DateTime::parse_from_rfc3339(&ts)
                                .map(|t| super::i18n::wib_dt(t.with_timezone(&chrono::Utc)))
                                .unwrap_or(ts),
                            kind: r.get(1)?,
                            who: r.get(2)?,
                            purpose: r.get(3)?,
                            nik_hmac: r.get(4)?,
                            status: r.get(5)?,
                        })
                    },
                )?;
                Ok((
                    rows.collect::<rusqlite::Result<_>>()?,
                    total.max(0) as usize,
                ))
            },
        )
        .await;
        match rows {
            Ok(Ok((rows, total))) => (true, rows, total),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "reading the audit log");
                (false, Vec::new(), 0)
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the audit log");
                (false, Vec::new(), 0)
            }
        }
    }

    /// Check the audit chain: (intact, what to say).
    pub async fn audit_verify(&self, lang: Lang) -> (bool, String) {
        let dir = self.cfg.state_dir.clone();
        let t = lang.text();
        match tokio::task::spawn_blocking(move || crate::gate::audit::verify(&dir)).await {
            Ok(Ok(report)) if report.intact() => (
                true,
                format!("{} ({} entri)", t.audit_intact, report.entries),
            ),
            Ok(Ok(report)) => {
                let problems: Vec<String> =
                    report.problems.iter().map(ToString::to_string).collect();
                (
                    false,
                    format!("{}:\n{}", t.audit_broken, problems.join("\n")),
                )
            }
            Ok(Err(crate::gate::audit::Error::Missing { .. })) => {
                (false, t.audit_unavailable.to_string())
            }
            Ok(Err(e)) => (false, format!("{}: {e}", t.audit_broken)),
            Err(e) => (false, e.to_string()),
        }
    }
}

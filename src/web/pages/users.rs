//! The users page (admins only): every dashboard user with role, NDA (date, document, expiry;
//! Juknis VI.E) and state; disable, enable, delete, a new password shown once, the NDA
//! recorded. What `juknis user` does on the command line, with the same guards (the last admin
//! stays; an admin does not lock themself out from here).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::web::auth::{Account, Error, Role};
use crate::web::dashboard::{Authed, Chrome, Dash, PageError, render};
use crate::web::i18n::{Lang, Text};

/// One user as a row.
pub struct Row {
    pub name: String,
    pub role: &'static str,
    pub nda: String,
    /// The NDA holds today.
    pub nda_ok: bool,
    pub disabled: bool,
    /// The admin looking at the page (no disable or delete of oneself here).
    pub me: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct Page {
    c: Chrome,
    t: &'static Text,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "users_password.html")]
struct Password {
    c: Chrome,
    t: &'static Text,
    name: String,
    password: String,
}

fn role_words(lang: Lang, r: Role) -> &'static str {
    match (lang, r) {
        (Lang::En, Role::Admin) => "admin",
        (Lang::En, Role::Technician) => "technician",
        (Lang::En, Role::Operator) => "operator",
        (_, Role::Admin) => "admin",
        (_, Role::Technician) => "teknisi",
        (_, Role::Operator) => "operator",
    }
}

fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%Y-%m-%d")
        .to_string()
}

fn row(t: &Text, lang: Lang, me: &str, a: &Account) -> Row {
    let today = today();
    let nda = if a.nda.signed {
        let mut w = a.nda.date.clone().unwrap_or_else(|| "✓".to_owned());
        if let Some(d) = &a.nda.document {
            w.push_str(&format!(" · {d}"));
        }
        if let Some(e) = &a.nda.expires {
            let word = if a.nda.holds(&today) {
                t.us_nda_until
            } else {
                t.us_nda_expired
            };
            w.push_str(&format!(" · {word} {e}"));
        }
        w
    } else {
        t.us_no_nda.to_owned()
    };
    Row {
        name: a.name.clone(),
        role: role_words(lang, a.role),
        nda,
        nda_ok: a.nda.holds(&today),
        disabled: a.disabled,
        me: a.name == me,
    }
}

/// Admins only; everyone else gets 403.
fn admin(a: &Authed) -> Result<(), PageError> {
    if a.user().role == Role::Admin {
        Ok(())
    } else {
        Err(a.forbidden())
    }
}

/// `GET /pengguna`.
pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    if let Err(r) = admin(&a) {
        return r.into_response();
    }
    let t = a.t();
    match dash.users.list() {
        Ok(all) => render(&Page {
            c: a.chrome("users", t.us_title),
            t,
            rows: all
                .iter()
                .map(|u| row(t, a.lang, &a.user().name, u))
                .collect(),
        }),
        Err(e) => a.internal(&e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    pub csrf: Option<String>,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub document: String,
    #[serde(default)]
    pub expires: String,
}

fn refused(a: &Authed, why: &dyn std::fmt::Display) -> Response {
    PageError::new(
        a.lang,
        StatusCode::BAD_REQUEST,
        format!("{}: {why}", a.t().us_refused),
    )
    .into_response()
}

/// `POST /pengguna/{name}/{action}`: `nonaktifkan`, `aktifkan`, `hapus`, `sandi`, `nda`.
pub async fn act(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path((name, action)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    // The CSRF token first, then the role: a forged post learns nothing.
    if let Err(r) = a.check_csrf(f.csrf.as_deref()) {
        return r.into_response();
    }
    if let Err(r) = admin(&a) {
        return r.into_response();
    }
    let me = a.user().name.clone();
    let en = a.lang == Lang::En;
    if name == me && matches!(action.as_str(), "nonaktifkan" | "hapus") {
        let why = if en {
            "an admin does not disable or delete themself here (another admin, or `juknis user`, can)"
        } else {
            "admin tidak dapat menonaktifkan atau menghapus dirinya sendiri di sini (admin lain, atau `juknis user`, dapat)"
        };
        return refused(&a, &why);
    }
    let users = &dash.users;
    let done: Result<Option<String>, Error> = match action.as_str() {
        "nonaktifkan" => users.disable(&name).map(|()| None),
        "aktifkan" => users.enable(&name).map(|()| None),
        "hapus" => users.delete(&name).map(|()| None),
        "sandi" => {
            let password = crate::web::auth::token()[..20].to_owned();
            users
                .reset_password(&name, &password)
                .map(|()| Some(password))
        }
        "nda" => {
            let day = |s: &str| s.trim().parse::<chrono::NaiveDate>().ok();
            let Some(date) = day(&f.date) else {
                return refused(&a, &"tanggal NDA: YYYY-MM-DD");
            };
            let expires = if f.expires.trim().is_empty() {
                None
            } else {
                match day(&f.expires) {
                    Some(d) => Some(d),
                    None => return refused(&a, &"berlaku sampai: YYYY-MM-DD"),
                }
            };
            let document = f.document.trim();
            if document.is_empty()
                || document.chars().count() > 100
                || document.chars().any(char::is_control)
            {
                return refused(&a, &"nomor dokumen NDA: 1 sampai 100 karakter");
            }
            users.set_nda(&name, date, document, expires).map(|()| None)
        }
        _ => {
            return PageError::new(a.lang, StatusCode::NOT_FOUND, "?").into_response();
        }
    };
    match done {
        Ok(password) => {
            tracing::info!(admin = %me, user = %name, action = %action, "user changed");
            match password {
                Some(password) => {
                    let t = a.t();
                    let mut res = render(&Password {
                        c: a.chrome("users", t.us_title),
                        t,
                        name,
                        password,
                    });
                    crate::web::no_store(res.headers_mut());
                    res
                }
                None => Redirect::to("/pengguna").into_response(),
            }
        }
        Err(e @ Error::NoSuchUser(_)) => {
            PageError::new(a.lang, StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        Err(e @ (Error::Sql { .. } | Error::TooNew { .. } | Error::Hash)) => {
            a.internal(&e).into_response()
        }
        Err(e) => refused(&a, &e),
    }
}

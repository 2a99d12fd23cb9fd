//! The dashboard's pages, one module each. Handlers read through [`super::dashboard::Dash`]
//! and render a template from `web/templates`.

pub mod audit;
pub mod availability;
pub mod balikan;
pub mod chart;
pub mod documents;
pub mod history;
pub mod incident;
pub mod lookup;
pub mod maintenance;
pub mod overview;
pub mod status;
pub mod topology;
pub mod trace;
pub mod users;

use std::path::Path;

use crate::store::Store;

/// Run `f` on the appliance's store, read-only in spirit, off the async threads.
pub async fn with_store<T: Send + 'static>(
    state_dir: &Path,
    f: impl FnOnce(&Store) -> Result<T, crate::store::Error> + Send + 'static,
) -> Result<T, String> {
    let db = state_dir.join("juknis.db");
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&db).map_err(|e| e.to_string())?;
        f(&store).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The CSS class of a state.
pub fn class(s: crate::health::State) -> &'static str {
    s.as_str()
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

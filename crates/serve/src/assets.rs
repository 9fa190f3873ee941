//! The pages' static parts, built into the binary: no network, no CDN. Every value the
//! pages show is put in with `textContent` by app.js, never as HTML.

pub(crate) const APP_JS: &str = include_str!("../assets/app.js");
pub(crate) const STYLE_CSS: &str = include_str!("../assets/style.css");
pub(crate) const NEW_PAGE: &str = include_str!("../assets/new.html");
pub(crate) const RUN_PAGE: &str = include_str!("../assets/run.html");
pub(crate) const HISTORY_PAGE: &str = include_str!("../assets/history.html");
pub(crate) const FOLLOW_UP_PAGE: &str = include_str!("../assets/follow-up.html");

//! The console's built files (`console/dist/`, embedded at compile time in release builds and
//! read from the folder in debug builds) and what a request path names among them.

use std::borrow::Cow;

use rust_embed::RustEmbed;

/// `console/dist/`: `index.html`, hashed files under `assets/`, and a few fixed ones.
#[derive(RustEmbed)]
#[folder = "console/dist/"]
struct Dist;

/// The views' URLs (bookmarkable): each answers the index, and the app routes on the path.
pub const VIEW_ROUTES: &[&str] = &["/", "/wall", "/alerts", "/taxis", "/audit", "/devices/{id}"];

/// The built files' URLs.
pub const FILE_ROUTES: &[&str] = &["/assets/{file:.+}", "/favicon.svg"];

/// The placeholder of the airport's time zone in `index.html`'s `<meta name="kwanje-time-zone">`.
pub const TIME_ZONE_PLACEHOLDER: &str = "__KWANJE_TIME_ZONE__";

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A view: answered with `index.html`.
    Index,
    /// A built file, by its name inside `dist/`.
    File(String),
    /// Not the console's.
    NotConsole,
}

/// A built file: its name inside `dist/`, bytes and content type.
#[derive(Debug)]
pub struct Asset {
    pub name: String,
    pub data: Cow<'static, [u8]>,
    pub content_type: String,
}

/// What `path` names: a view (`/`, `/wall`, `/alerts`, `/taxis`, `/audit`, `/devices/{id}`), a built file (never
/// `index.html` itself, which only views answer), or nothing of the console's.
pub fn resolve(path: &str) -> Resolved {
    let is_view = match path {
        "/" | "/wall" | "/alerts" | "/taxis" | "/audit" => true,
        _ => path
            .strip_prefix("/devices/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/')),
    };
    if is_view {
        return Resolved::Index;
    }
    let name = path.trim_start_matches('/');
    let fixed = name == "favicon.svg";
    let hashed = name.strip_prefix("assets/").is_some_and(|rest| {
        !rest.is_empty()
            && !rest
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..")
    });
    if fixed || hashed {
        Resolved::File(name.to_owned())
    } else {
        Resolved::NotConsole
    }
}

/// The built file `name`, if the build has it.
pub fn file(name: &str) -> Option<Asset> {
    let found = Dist::get(name)?;
    let content_type = mime_of(name);
    Some(Asset {
        name: name.to_owned(),
        data: found.data,
        content_type,
    })
}

fn mime_of(name: &str) -> String {
    let ext = name.rsplit('.').next().unwrap_or_default();
    match ext {
        "html" => "text/html; charset=utf-8".into(),
        "js" | "mjs" => "text/javascript; charset=utf-8".into(),
        "css" => "text/css; charset=utf-8".into(),
        "svg" => "image/svg+xml".into(),
        "png" => "image/png".into(),
        "json" | "map" => "application/json".into(),
        "woff2" => "font/woff2".into(),
        _ => "application/octet-stream".into(),
    }
}

/// `index.html` with the airport's time zone in place of [`TIME_ZONE_PLACEHOLDER`], escaped
/// for an HTML attribute.
pub fn render_index(template: &[u8], time_zone: &str) -> String {
    let escaped: String = time_zone
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    String::from_utf8_lossy(template).replace(TIME_ZONE_PLACEHOLDER, &escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_answer_the_index() {
        for path in ["/", "/wall", "/alerts", "/taxis", "/audit", "/devices/cam-1"] {
            assert_eq!(resolve(path), Resolved::Index, "{path}");
        }
        assert_eq!(resolve("/devices/"), Resolved::NotConsole);
        assert_eq!(resolve("/devices/cam-1/extra"), Resolved::NotConsole);
    }

    #[test]
    fn built_files_are_named_inside_dist_and_never_above_it() {
        assert_eq!(
            resolve("/assets/index-abc.js"),
            Resolved::File("assets/index-abc.js".into())
        );
        assert_eq!(resolve("/favicon.svg"), Resolved::File("favicon.svg".into()));
        assert_eq!(resolve("/assets/../index.html"), Resolved::NotConsole);
        assert_eq!(resolve("/assets/"), Resolved::NotConsole);
        assert_eq!(resolve("/index.html"), Resolved::NotConsole);
        assert_eq!(resolve("/api/v1/nothing"), Resolved::NotConsole);
    }

    #[test]
    fn the_index_carries_the_time_zone_escaped() {
        let html = br#"<meta name="kwanje-time-zone" content="__KWANJE_TIME_ZONE__">"#;
        assert_eq!(
            render_index(html, "Asia/Seoul"),
            r#"<meta name="kwanje-time-zone" content="Asia/Seoul">"#
        );
        assert!(render_index(html, "x\"><script>").contains("x&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn the_build_is_embedded_with_its_index() {
        let index = file("index.html").expect("console/dist/index.html is committed");
        assert!(index.content_type.starts_with("text/html"));
        assert!(String::from_utf8_lossy(&index.data).contains(TIME_ZONE_PLACEHOLDER));
    }
}

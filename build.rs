//! Sets `cfg(pg_tests)` when `TEST_DATABASE_URL` is set (and not empty), so the tests that need
//! PostgreSQL show as ignored without it rather than passing without running
//! (`#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]`).
//!
//! Sets `cfg(browser_tests)` when the operator console's browser tests can run: a Chromium at
//! `KWANJE_CHROMIUM` (default `/usr/bin/chromium`) and the console's node modules installed
//! (`npm --prefix console ci`). Without them those tests show as ignored. The library itself
//! reads neither cfg.

use std::path::Path;

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=KWANJE_CHROMIUM");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
    // The built console is embedded (src/console/assets.rs): a new build must rebuild the crate.
    println!("cargo::rerun-if-changed=console/dist");
    // Installing or removing the browser or the node modules changes these directories.
    println!("cargo::rerun-if-changed=console/package-lock.json");
    let chromium = std::env::var("KWANJE_CHROMIUM").unwrap_or_else(|_| DEFAULT_CHROMIUM.to_owned());
    if let Some(dir) = Path::new(&chromium).parent().filter(|d| d.is_dir()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    let modules = Path::new("console/node_modules");
    if modules.is_dir() {
        println!("cargo::rerun-if-changed=console/node_modules/playwright-core/package.json");
    } else if Path::new("console").is_dir() {
        println!("cargo::rerun-if-changed=console");
    }
    let playwright = modules.join("playwright-core/package.json");
    if Path::new(&chromium).is_file() && playwright.is_file() {
        println!("cargo::rustc-cfg=browser_tests");
    }
}

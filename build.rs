//! Sets `cfg(pg_tests)` when `TEST_DATABASE_URL` is set (and not empty), so the tests that need
//! PostgreSQL show as ignored without it rather than passing without running
//! (`#[cfg_attr(not(pg_tests), ignore = "needs TEST_DATABASE_URL")]`). The library itself does
//! not read the cfg.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}

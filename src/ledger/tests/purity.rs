//! The ledger stays pure: this test fails the moment a ledger file reaches for async code, the
//! database, the clock or floats, so the rule in the module docs cannot rot silently.

use std::path::Path;

/// Text that would mean the core depends on something it must not.
const FORBIDDEN: &[&str] = &[
    "async ",
    ".await",
    "tokio",
    "sea_orm",
    "sqlx",
    "async_graphql",
    "axum",
    "std::time",
    "SystemTime",
    "Utc::now",
    "chrono",
    "std::fs",
    "std::net",
    "f64",
    "f32",
];

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn ledger_sources_use_no_async_database_clock_or_floats() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ledger");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5, "ledger sources found: {files:?}");
    let this_file = Path::new(file!()).file_name().unwrap();
    for file in files
        .iter()
        .filter(|file| file.file_name() != Some(this_file))
    {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
        {
            for needle in FORBIDDEN {
                assert!(
                    !line.contains(needle),
                    "{} uses `{needle}`: {line}",
                    file.display()
                );
            }
        }
    }
}

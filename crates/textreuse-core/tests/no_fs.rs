//! `textreuse-core` must run inside a Python process or a Spark executor: no file-system access. This test reads the
//! crate's own sources and manifest and fails on any use of `std::fs`, `File`, `tempfile`, `walkdir` or paths.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("source directory") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn core_sources_use_no_file_system() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() >= 10, "expected the core's modules under src/, found {}", files.len());
    let forbidden =
        ["std::fs", "fs::File", "File::open", "File::create", "tempfile", "walkdir", "std::path", "std::env"];
    let mut hits = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) {
                    hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(hits.is_empty(), "file-system access in textreuse-core:\n{}", hits.join("\n"));
}

#[test]
fn core_manifest_has_no_file_system_dependencies() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).expect("manifest");
    let deps = manifest.split("[dependencies]").nth(1).expect("a [dependencies] table");
    let deps = deps.split("\n[").next().unwrap_or(deps);
    for name in ["tempfile", "walkdir", "zstd", "flate2", "memmap", "textreuse-io"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(name)),
            "textreuse-core depends on {name}, which reads or writes files"
        );
    }
}

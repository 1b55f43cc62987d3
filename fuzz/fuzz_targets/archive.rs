//! The archive readers (zip, tar, gzip, Cisco's signed packages) through `firmware import`:
//! the bytes are written as a package and imported into an empty TFTP root. Nothing may be
//! written outside that root.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};

use cisco_autoprov::firmware::import;
use libfuzzer_sys::fuzz_target;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cisco-autoprov-fuzz-{}", std::process::id()));
    fs::create_dir_all(dir.join("root")).expect("scratch dir");
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let root = dir.join("root");
    let package = dir.join("package.zip");
    fs::write(&package, data).expect("write package");
    if let Ok(report) = import::import(&package, &root, false) {
        for name in &report.written {
            assert!(
                !name.contains('/'),
                "wrote a path, not a base name: {name:?}"
            );
            assert!(
                root.join(name).is_file(),
                "reported {name:?} but it is not in the root"
            );
        }
    }
    assert_eq!(
        names(&dir),
        ["package.zip", "root"],
        "wrote beside the root"
    );
    for name in names(&root) {
        let path = root.join(&name);
        let meta = fs::symlink_metadata(&path).expect("stat");
        assert!(
            meta.is_file(),
            "left something other than a file in the root: {name:?}"
        );
        fs::remove_file(path).expect("clean root");
    }
});

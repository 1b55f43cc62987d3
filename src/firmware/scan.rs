//! Reads the firmware inventory of a TFTP root. Edge module: it lists the directory and reads
//! `.loads` files; it writes nothing.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use super::{inventory_of, is_loads_name, Inventory};

/// A `.loads` file is a few kilobytes; anything read past this is not a load list.
const LOADS_READ_LIMIT: u64 = 1 << 20;

/// The inventory of the files directly in `root` (phones ask for bare names, so
/// subdirectories are not looked into). Symbolic links count as the file they point to, as
/// TFTP servers serve them; dangling links, directories and other non-files are ignored. A
/// `.loads` file that cannot be read counts as one naming no image.
pub fn scan(root: &Path) -> io::Result<Inventory> {
    let mut files = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if !super::is_plain_firmware_name(&name) {
            // `?` escapes it: the name never reaches the log raw.
            tracing::warn!(name = ?name, "ignoring a file in the tftp root whose name has a control character or quote");
            continue;
        }
        let path = entry.path();
        if !fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
            continue;
        }
        let contents = if is_loads_name(&name) {
            read_limited(&path).ok()
        } else {
            None
        };
        files.push((name, contents));
    }
    Ok(inventory_of(&files))
}

fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?
        .take(LOADS_READ_LIMIT)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn data(name: &str) -> Vec<u8> {
        fs::read(format!(
            "{}/tests/data/firmware/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn scans_the_top_level_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(
            root.join("SIP41.9-4-2SR3-1S.loads"),
            data("SIP41.9-4-2SR3-1S.loads"),
        )
        .unwrap();
        fs::write(
            root.join("term41.default.loads"),
            data("term41.default.loads"),
        )
        .unwrap();
        for image in [
            "jar41sip.9-4-2ES26.sbn",
            "cnu41.9-4-2ES26.sbn",
            "apps41.9-4-2ES26.sbn",
        ] {
            fs::write(root.join(image), b"image").unwrap();
        }
        // A symlinked image counts; a dangling link, a directory and a nested file do not.
        let elsewhere = tempfile::tempdir().unwrap();
        fs::write(elsewhere.path().join("dsp41.9-4-2ES26.sbn"), b"image").unwrap();
        symlink(
            elsewhere.path().join("dsp41.9-4-2ES26.sbn"),
            root.join("dsp41.9-4-2ES26.sbn"),
        )
        .unwrap();
        symlink(root.join("gone.sbn"), root.join("cvm41sip.9-4-2ES26.sbn")).unwrap();
        fs::create_dir(root.join("firmware")).unwrap();
        fs::write(root.join("firmware/cvm41sip.9-4-2ES26.sbn"), b"image").unwrap();
        fs::create_dir(root.join("stray.sbn")).unwrap();
        fs::write(root.join(".cisco-autoprov.x.sbn.1.0"), b"temp").unwrap();

        let inventory = scan(root).unwrap();
        let load = inventory.get("SIP41.9-4-2SR3-1S").unwrap();
        assert_eq!(load.missing, ["cvm41sip.9-4-2ES26.sbn"]);
        assert_eq!(inventory.images.len(), 4);
        assert_eq!(inventory.term_files.len(), 1);
        assert_eq!(inventory.newest_complete("SIP41"), None);

        fs::remove_file(root.join("cvm41sip.9-4-2ES26.sbn")).unwrap();
        fs::write(root.join("cvm41sip.9-4-2ES26.sbn"), b"image").unwrap();
        let inventory = scan(root).unwrap();
        assert_eq!(
            inventory.newest_complete("SIP41").unwrap().name,
            "SIP41.9-4-2SR3-1S"
        );
    }

    #[test]
    fn a_missing_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(scan(&dir.path().join("nope")).is_err());
    }
}

//! The text of the `firmware list` and `firmware import` commands.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{import, is_term_file, scan, Inventory, Load};

/// `firmware list`: every load with its protocol, version and completeness, the term files,
/// and images no load names.
pub fn list(tftp_root: &Path) -> Result<String, String> {
    let inventory = scan(tftp_root).map_err(|err| {
        format!(
            "tftp root {}: {}",
            tftp_root.display(),
            crate::fsutil::plain(&err)
        )
    })?;
    if inventory.loads.is_empty() && inventory.term_files.is_empty() && inventory.images.is_empty()
    {
        return Ok(format!("no firmware in {}", tftp_root.display()));
    }
    let mut out = String::new();
    if inventory.loads.is_empty() {
        out.push_str("no .loads files\n");
    } else {
        let mut rows = vec![row(&["LOAD", "PROTOCOL", "VERSION", "IMAGES", "MISSING"])];
        for load in &inventory.loads {
            rows.push(vec![
                load.name.clone(),
                load.protocol.as_str().to_string(),
                load.version
                    .as_ref()
                    .map_or("-".into(), ToString::to_string),
                images_cell(&load.images, &load.missing),
                missing_cell(&load.images, &load.missing),
            ]);
        }
        out.push_str(&table(&rows));
    }
    if !inventory.term_files.is_empty() {
        let mut rows = vec![row(&["TERM FILE", "POINTS TO", "IMAGES", "MISSING"])];
        for (name, images) in &inventory.term_files {
            let missing: Vec<String> = images
                .iter()
                .filter(|image| !inventory.images.contains(*image))
                .cloned()
                .collect();
            let target = images
                .first()
                .and_then(|image| inventory.load_containing(image))
                .map_or("-".to_string(), |load| load.name.clone());
            rows.push(vec![
                name.clone(),
                target,
                images_cell(images, &missing),
                missing_cell(images, &missing),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    let stray = inventory.stray_images();
    if !stray.is_empty() {
        let _ = write!(out, "\nimages no .loads file names: {}\n", stray.join(", "));
    }
    Ok(out.trim_end().to_string())
}

/// `firmware import`: unpacks each package into the TFTP root and says what happened, then
/// whether each load the packages brought is complete. `Err` (with the same text) when an
/// archive could not be read or an entry was refused.
pub fn import_all(tftp_root: &Path, files: &[PathBuf], force: bool) -> Result<String, String> {
    if files.is_empty() {
        return Err("no package to import".into());
    }
    let mut out = String::new();
    let mut failed = false;
    let mut loads_touched = BTreeSet::new();
    for file in files {
        match import(file, tftp_root, force) {
            Ok(report) => {
                let _ = writeln!(
                    out,
                    "{}: {} written, {} unchanged, {} refused, {} skipped",
                    file.display(),
                    report.written.len(),
                    report.unchanged.len(),
                    report.refused.len(),
                    report.skipped.len()
                );
                if !report.written.is_empty() {
                    let _ = writeln!(out, "  written: {}", report.written.join(", "));
                }
                for (entry, reason) in &report.refused {
                    let _ = writeln!(out, "  refused {entry}: {reason}");
                }
                if !report.skipped.is_empty() {
                    let _ = writeln!(
                        out,
                        "  skipped (not firmware): {}",
                        report.skipped.join(", ")
                    );
                }
                failed |= !report.refused.is_empty();
                loads_touched.extend(
                    report
                        .written
                        .iter()
                        .chain(&report.unchanged)
                        .filter(|name| !is_term_file(name))
                        .filter_map(|name| name.strip_suffix(".loads").map(str::to_string)),
                );
            }
            Err(err) => {
                let _ = writeln!(out, "{err}");
                failed = true;
            }
        }
    }
    if !loads_touched.is_empty() {
        match scan(tftp_root) {
            Ok(inventory) => out.push_str(&load_summary(&inventory, &loads_touched)),
            Err(err) => {
                let _ = writeln!(
                    out,
                    "tftp root {}: {}",
                    tftp_root.display(),
                    crate::fsutil::plain(&err)
                );
                failed = true;
            }
        }
    }
    let out = out.trim_end().to_string();
    if failed {
        Err(out)
    } else {
        Ok(out)
    }
}

fn load_summary(inventory: &Inventory, names: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for load in names.iter().filter_map(|name| inventory.get(name)) {
        let _ = writeln!(out, "load {}: {}", load.name, completeness(load));
    }
    out
}

fn completeness(load: &Load) -> String {
    if load.is_complete() {
        "complete".into()
    } else if load.images.is_empty() {
        "names no image (not a load list we can read)".into()
    } else {
        format!("incomplete, missing {}", load.missing.join(", "))
    }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| cell.to_string()).collect()
}

fn images_cell(images: &[String], missing: &[String]) -> String {
    format!("{}/{}", images.len() - missing.len(), images.len())
}

fn missing_cell(images: &[String], missing: &[String]) -> String {
    if images.is_empty() {
        "no image names found".into()
    } else if missing.is_empty() {
        "-".into()
    } else {
        missing.join(", ")
    }
}

/// Columns padded to their widest cell, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn data(name: &str) -> Vec<u8> {
        fs::read(format!(
            "{}/tests/data/firmware/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn lists_loads_term_files_and_strays() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "SIP41.9-4-2SR3-1S.loads",
            "term41.default.loads",
            "P0S3-8-12-00.loads",
        ] {
            fs::write(root.join(name), data(name)).unwrap();
        }
        for image in [
            "jar41sip.9-4-2ES26.sbn",
            "cnu41.9-4-2ES26.sbn",
            "apps41.9-4-2ES26.sbn",
            "dsp41.9-4-2ES26.sbn",
            "cvm41sip.9-4-2ES26.sbn",
            "P003-8-12-00.sbn",
            "P003-8-12-00.bin",
        ] {
            fs::write(root.join(image), b"image").unwrap();
        }
        let want = "\
LOAD               PROTOCOL  VERSION     IMAGES  MISSING
P0S3-8-12-00       sip       8.12.0      1/2     P0S3-8-12-00.sb2
SIP41.9-4-2SR3-1S  sip       9.4.2SR3-1  5/5     -

TERM FILE             POINTS TO          IMAGES  MISSING
term41.default.loads  SIP41.9-4-2SR3-1S  5/5     -

images no .loads file names: P003-8-12-00.bin";
        assert_eq!(list(root).unwrap(), want);
    }

    #[test]
    fn lists_an_empty_or_missing_root() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("SEP001B0C18BDC1.cnf.xml"), "<device/>").unwrap();
        assert_eq!(
            list(dir.path()).unwrap(),
            format!("no firmware in {}", dir.path().display())
        );
        let err = list(&dir.path().join("nope")).unwrap_err();
        assert!(
            err.starts_with("tftp root ") && err.contains("nope"),
            "{err}"
        );
    }

    #[test]
    fn import_all_needs_a_package() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            import_all(dir.path(), &[], false).unwrap_err(),
            "no package to import"
        );
    }
}

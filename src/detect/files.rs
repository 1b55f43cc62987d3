//! The names under the TFTP root written for one phone.
//!
//! A phone has one to three (its config, the 7940/7960 dial plan, a file of the other
//! family waiting to be removed), and a router keeps up to [`super::MAX_SEEN`] phones: a
//! sorted vector of exactly that many names is what they cost. A `BTreeSet` took one B-tree
//! node (280 bytes) per phone on top of the names: 280 KB of the idle heap with 1,000 phones
//! (BENCHMARKS.md, "Router builds"). In the state file it is the same JSON list of names.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of file names, sorted, no duplicates, no spare capacity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSet(Vec<String>);

impl FileSet {
    /// No files.
    pub fn new() -> FileSet {
        FileSet(Vec::new())
    }

    /// Whether `name` is one of them.
    pub fn contains(&self, name: &str) -> bool {
        self.0
            .binary_search_by(|held| held.as_str().cmp(name))
            .is_ok()
    }

    /// Adds `name`; false when it was there already.
    pub fn insert(&mut self, name: String) -> bool {
        match self.0.binary_search(&name) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, name);
                self.0.shrink_to_fit();
                true
            }
        }
    }

    /// The names, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FromIterator<String> for FileSet {
    fn from_iter<I: IntoIterator<Item = String>>(names: I) -> FileSet {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        names.shrink_to_fit();
        FileSet(names)
    }
}

impl From<BTreeSet<String>> for FileSet {
    fn from(names: BTreeSet<String>) -> FileSet {
        names.into_iter().collect()
    }
}

impl<const N: usize> From<[String; N]> for FileSet {
    fn from(names: [String; N]) -> FileSet {
        names.into_iter().collect()
    }
}

impl IntoIterator for FileSet {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a FileSet {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for FileSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.0)
    }
}

impl<'de> Deserialize<'de> for FileSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FileSet, D::Error> {
        Ok(Vec::<String>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_without_duplicates_and_the_same_json_as_a_set() {
        let names = ["b.cnf", "a.cnf.xml", "b.cnf"].map(String::from);
        let files: FileSet = names.clone().into();
        assert_eq!(files.len(), 2);
        assert!(files.contains("a.cnf.xml") && files.contains("b.cnf") && !files.contains("c"));
        let set: BTreeSet<String> = names.into_iter().collect();
        let json = serde_json::to_string(&files).unwrap();
        assert_eq!(json, serde_json::to_string(&set).unwrap());
        let back: FileSet = serde_json::from_str(r#"["z","a","z"]"#).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), ["a", "z"]);
        assert_eq!(back.0.capacity(), 2);
    }

    #[test]
    fn insert_keeps_the_order() {
        let mut files = FileSet::new();
        assert!(files.insert("m".into()));
        assert!(files.insert("a".into()));
        assert!(!files.insert("m".into()));
        assert!(files.insert("z".into()));
        assert_eq!(files.into_iter().collect::<Vec<_>>(), ["a", "m", "z"]);
    }
}

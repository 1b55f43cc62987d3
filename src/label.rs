//! Labels: text a person wrote (an inventory `label`, a FreePBX export's name) that ends up
//! as a caller-ID name or a PBX field. Pure.

/// A label as a plain one-line name: control characters become spaces, characters that end
/// a caller-ID name (`"`, `<`, `>`) or escape one (`\`) are dropped, runs of blanks collapse;
/// `None` when nothing is left.
pub fn plain_name(label: &str) -> Option<String> {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if matches!(c, '"' | '<' | '>' | '\\') {
            continue;
        }
        if c.is_whitespace() && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(if c.is_whitespace() { ' ' } else { c });
    }
    let trimmed = out.trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        let table: &[(&str, Option<&str>)] = &[
            ("Reception", Some("Reception")),
            ("  Front   desk ", Some("Front desk")),
            ("Müller, Jürgen", Some("Müller, Jürgen")),
            ("Bob \"the builder\" <b>", Some("Bob the builder b")),
            ("line\nbreak\r\tx", Some("line break x")),
            ("back\\slash", Some("backslash")),
            ("a;b", Some("a;b")),
            ("\"\"", None),
            (" \n ", None),
        ];
        for (label, want) in table {
            assert_eq!(plain_name(label).as_deref(), *want, "{label:?}");
        }
    }
}

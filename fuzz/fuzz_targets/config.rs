//! The config reader and the template reader: the bytes as the config file, and as a user
//! template for an XML and a plain-text phone file (parsed, then rendered with no values).
#![no_main]

use std::path::Path;

use cisco_autoprov::config;
use cisco_autoprov::template::{Template, Values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A base dir that does not exist: relative paths in the config resolve against it, and no
    // file the config names is ever found.
    let _ = config::parse(
        &text,
        "fuzz.toml",
        Path::new("/nonexistent/cisco-autoprov-fuzz"),
    );
    for name in ["SEP{mac}.cnf.xml", "SIP{mac}.cnf", "dialplan.xml"] {
        if let Ok(template) = Template::parse(name, "fuzz", &text) {
            let _ = template.render(&Values::new());
        }
    }
});

//! Command-line parsing: flags only. What they mean is decided in `commands` and `daemon`.
//!
//! Hand-written: a dozen commands and a few flags do not earn a parser crate's bytes. The
//! tables below ([`COMMANDS`], [`OPTIONS`], [`EXIT_CODES`]) are the one source of `--help`,
//! the man page ([`man_page`], committed as `man/cisco-autoprov.1`) and the bash completion
//! ([`bash_completion`], committed as `contrib/completions/cisco-autoprov.bash`).
//! `tests/cli.rs` checks that the committed files are what these functions give now
//! (`UPDATE_GENERATED=1` rewrites them); the binary does not carry the generators.

use std::fmt::Write as _;
use std::path::PathBuf;

/// One command as `--help`, the man page and the completion describe it.
#[derive(Debug)]
pub struct CommandDoc {
    /// The command words it stands for.
    pub names: &'static [&'static str],
    /// What follows `cisco-autoprov` in the usage line.
    pub usage: &'static str,
    /// What it does, one paragraph.
    pub about: &'static str,
    /// Its own options (the global ones go with every command).
    pub options: &'static [&'static str],
    /// The words its first argument can be.
    pub words: &'static [&'static str],
    /// After this first word the arguments are files (`firmware import`).
    pub files_after: Option<&'static str>,
}

/// One option.
#[derive(Debug)]
pub struct OptionDoc {
    /// As written in the usage (`-c, --config FILE`).
    pub flags: &'static str,
    /// What it does.
    pub about: &'static str,
}

/// The kinds of `snippet`.
pub const SNIPPET_KINDS: &[&str] = &["dnsmasq", "isc", "uci", "kea", "hex"];
/// The kinds of `notify`.
pub const NOTIFY_KINDS: &[&str] = &["dnsmasq", "hotplug-dhcp", "hotplug-tftp", "isc"];

/// The program in one line.
pub const SUMMARY: &str =
    "provisions Cisco IP phones for Asterisk/FreePBX from DHCP leases and TFTP logs";

/// Every command.
pub const COMMANDS: &[CommandDoc] = &[
    CommandDoc {
        names: &["run"],
        usage: "run [--log-split]",
        about: "run the daemon in the foreground. Logs go to stderr, one line per event with its time; under systemd (JOURNAL_STREAM names our stderr) without the time and with the journal's <N> priority prefix. --log-split: info and debug to stdout, warnings and errors to stderr, no time: for procd/logd",
        options: &["--log-split"],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["scan"],
        usage: "scan",
        about: "read every source once from its start, provision, summarise",
        options: &[],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["status"],
        usage: "status [--json] [--show-secrets] [--daemon]",
        about: "whether the daemon runs (and since when), then the phones known (secrets only with --show-secrets). --json: the phones as a JSON array; --daemon: only the daemon line (with --json an object). Works from the state directory even when the config is broken (with a warning)",
        options: &["--json", "--show-secrets", "--daemon"],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["explain"],
        usage: "explain MAC",
        about: "one phone's boot timeline and what is wrong with it, with the fix",
        options: &[],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["approve", "deny", "forget"],
        usage: "approve|deny|forget MAC",
        about: "decide about a phone (policy = \"approve\"); the running daemon applies it at once",
        options: &[],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["check"],
        usage: "check",
        about: "validate the config and the environment; one line per problem, exit status 1 when there is one",
        options: &[],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["snippet"],
        usage: "snippet dnsmasq|isc|uci|kea|hex",
        about: "print a DHCP server snippet (option 150/66 for Cisco phones only, hooks); hex: the tftpd32 form of the address",
        options: &[],
        words: SNIPPET_KINDS,
        files_after: None,
    },
    CommandDoc {
        names: &["firmware"],
        usage: "firmware list",
        about: "the firmware in the TFTP root: loads, images, what is missing",
        options: &["--force"],
        words: &["list", "import"],
        files_after: Some("import"),
    },
    CommandDoc {
        names: &[],
        usage: "firmware import [--force] PACKAGE...",
        about: "unpack cmterm-*.zip, *.cop, *.cop.sgn, *.tar(.gz) into the TFTP root",
        options: &[],
        words: &[],
        files_after: None,
    },
    CommandDoc {
        names: &["notify"],
        usage: "notify [--socket PATH] KIND [ARGS...]",
        about: "hand a DHCP/TFTP server hook event to the daemon; never blocks, always exits 0. KIND: dnsmasq (--dhcp-script), hotplug-dhcp, hotplug-tftp (OpenWrt), isc (on commit/release/expiry execute()). Everything after KIND is the server's",
        options: &["--socket"],
        words: NOTIFY_KINDS,
        files_after: None,
    },
];

/// Every option; the first three go with every command, before or after it.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        flags: "-c, --config FILE",
        about: "config file (default /etc/cisco-autoprov/config.toml; built-in defaults when that file does not exist)",
    },
    OptionDoc {
        flags: "-h, --help",
        about: "print the commands, options and exit statuses",
    },
    OptionDoc {
        flags: "-V, --version",
        about: "print \"cisco-autoprov VERSION\"",
    },
    OptionDoc {
        flags: "--json",
        about: "(status) print JSON",
    },
    OptionDoc {
        flags: "--show-secrets",
        about: "(status) include the SIP secrets and phone passwords",
    },
    OptionDoc {
        flags: "--daemon",
        about: "(status) only whether the daemon runs",
    },
    OptionDoc {
        flags: "--log-split",
        about: "(run) info to stdout, warnings and errors to stderr, no time (procd)",
    },
    OptionDoc {
        flags: "--force",
        about: "(firmware import) replace files whose contents differ",
    },
    OptionDoc {
        flags: "--socket PATH",
        about: "(notify) the daemon's socket instead of the config's notify_socket",
    },
];

/// The exit statuses.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "ok (notify always exits 0: a DHCP server waits for it)"),
    (1, "a runtime problem: a file or directory that cannot be read or written, a phone not known, the state in use by another cisco-autoprov; check: problems found"),
    (2, "a usage or config error: an unknown option or command, a missing argument, a bad MAC, a config file that cannot be read or does not validate"),
];

/// The rest of `--help`.
const NOTES: &[(&str, &str)] = &[
    (
        "signals (run)",
        "SIGTERM/SIGINT stop, SIGHUP reloads the config (a bad one is refused and logged)",
    ),
    (
        "environment",
        "RUST_LOG=error|warn|info|debug|trace overrides the config's log_level; JOURNAL_STREAM (set by systemd) switches the log to journald's format",
    ),
    (
        "files",
        "/etc/cisco-autoprov/config.toml (the config), /var/lib/cisco-autoprov (state_dir: state.json, daemon.json, lock)",
    ),
];

/// Breaks `text` into lines of at most `width` columns; lines after the first start with
/// `indent`. The first line is `first` columns shorter (it follows something on its line).
fn wrap(out: &mut String, text: &str, first: usize, indent: usize, width: usize) {
    let mut column = first;
    let mut line_start = true;
    for word in text.split_whitespace() {
        if !line_start && column + 1 + word.chars().count() > width {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            column = indent;
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.chars().count();
        line_start = false;
    }
    out.push('\n');
}

/// The text of `--help`.
pub fn usage() -> String {
    const COLUMN: usize = 46;
    const WIDTH: usize = 100;
    let mut out = format!(
        "cisco-autoprov: {SUMMARY}\n\nusage: cisco-autoprov [-c FILE] COMMAND [ARGS] (options go before or after the command)\n\ncommands:\n"
    );
    for command in COMMANDS {
        let head = format!("  cisco-autoprov {}", command.usage);
        out.push_str(&head);
        if head.len() + 2 <= COLUMN {
            out.extend(std::iter::repeat_n(' ', COLUMN - head.len()));
        } else {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', COLUMN));
        }
        wrap(&mut out, command.about, COLUMN, COLUMN, WIDTH);
    }
    out.push_str("  cisco-autoprov --help | --version\n\noptions:\n");
    const OPTION_COLUMN: usize = 22;
    for option in OPTIONS {
        let head = format!("  {}", option.flags);
        out.push_str(&head);
        if head.len() + 2 <= OPTION_COLUMN {
            out.extend(std::iter::repeat_n(' ', OPTION_COLUMN - head.len()));
        } else {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', OPTION_COLUMN));
        }
        wrap(&mut out, option.about, OPTION_COLUMN, OPTION_COLUMN, WIDTH);
    }
    out.push_str("\nexit status:\n");
    for (code, about) in EXIT_CODES {
        let _ = write!(out, "  {code}  ");
        wrap(&mut out, about, 5, 5, WIDTH);
    }
    out.push('\n');
    for (title, text) in NOTES {
        let head = format!("{title}: ");
        out.push_str(&head);
        wrap(&mut out, text, head.len(), 2, WIDTH);
    }
    out
}

/// Escapes text for roff: backslashes, hyphens (so they stay ASCII minus signs), and a
/// leading dot or quote.
fn roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    if text.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    out
}

/// A usage line in roff: upper-case words (FILE, MAC) in italics, the rest in bold,
/// brackets and bars plain.
fn roff_usage(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let font = if word.chars().all(|c| c.is_ascii_uppercase()) {
            'I'
        } else {
            'B'
        };
        let _ = write!(out, "\\f{font}{}\\fR", roff(word));
        word.clear();
    };
    for c in text.chars() {
        // `PACKAGE...`: the dots are plain, not part of the italic word.
        let dots = c == '.' && word.chars().all(|c| c.is_ascii_uppercase());
        if matches!(c, ' ' | '[' | ']' | '|') || dots {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The man page (section 1), from the same tables as `--help`.
pub fn man_page() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".\\\" Generated from src/cli.rs (cli::man_page; tests/cli.rs checks it): do not edit."
    );
    let _ = writeln!(
        out,
        ".TH CISCO\\-AUTOPROV 1 \"\" \"cisco\\-autoprov {}\" \"User Commands\"",
        roff(env!("CARGO_PKG_VERSION"))
    );
    let _ = writeln!(out, ".SH NAME\ncisco\\-autoprov \\- {}", roff(SUMMARY));
    let _ = writeln!(
        out,
        ".SH SYNOPSIS\n\\fBcisco\\-autoprov\\fR [\\fB\\-c\\fR \\fIFILE\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]"
    );
    out.push_str(".SH DESCRIPTION\nOptions go before or after the command.\n.SH COMMANDS\n");
    for command in COMMANDS {
        let _ = writeln!(
            out,
            ".TP\n\\fBcisco\\-autoprov\\fR {}\n{}",
            roff_usage(command.usage),
            roff(command.about)
        );
    }
    out.push_str(".SH OPTIONS\n");
    for option in OPTIONS {
        let _ = writeln!(
            out,
            ".TP\n{}\n{}",
            roff_usage(option.flags),
            roff(option.about)
        );
    }
    out.push_str(".SH EXIT STATUS\n");
    for (code, about) in EXIT_CODES {
        let _ = writeln!(out, ".TP\n.B {code}\n{}", roff(about));
    }
    for (title, text) in NOTES {
        let _ = writeln!(
            out,
            ".SH {}\n{}",
            roff(&title.to_ascii_uppercase()),
            roff(text)
        );
    }
    out.push_str(".SH SEE ALSO\nREADME.md of cisco\\-autoprov: the configuration reference.\n");
    out
}

/// The bash completion script, from the same tables as `--help`.
pub fn bash_completion() -> String {
    let commands: Vec<&str> = COMMANDS
        .iter()
        .flat_map(|c| c.names.iter().copied())
        .collect();
    let mut cases = String::new();
    for command in COMMANDS.iter().filter(|c| !c.names.is_empty()) {
        let _ = writeln!(cases, "    {})", command.names.join("|"));
        let with = |first: &[&str]| {
            let mut all: Vec<&str> = first.to_vec();
            all.extend(command.options);
            all.push("$global");
            all.join(" ")
        };
        if !command.words.is_empty() {
            let _ = writeln!(
                cases,
                "        if [[ -z $word ]]; then\n            mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")\n            return\n        fi",
                with(command.words)
            );
        }
        if command.names == ["notify"] {
            // Everything after KIND belongs to the DHCP server.
            cases.push_str("        ;;\n");
            continue;
        }
        if let Some(after) = command.files_after {
            let _ = writeln!(
                cases,
                "        if [[ $word == {after} && $cur != -* ]]; then\n            compopt -o filenames 2>/dev/null\n            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n            return\n        fi"
            );
        }
        let _ = writeln!(
            cases,
            "        mapfile -t COMPREPLY < <(compgen -W \"{}\" -- \"$cur\")\n        ;;",
            with(&[])
        );
    }
    format!(
        r#"# bash completion for cisco-autoprov {version}
# Generated from src/cli.rs (cli::bash_completion; tests/cli.rs checks it): do not edit.
# Install as /usr/share/bash-completion/completions/cisco-autoprov.

_cisco_autoprov() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}}
    local prev=${{COMP_WORDS[COMP_CWORD-1]}}
    local global="-c --config -h --help"
    case $prev in
    -c | --config | --socket)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
        ;;
    esac
    # The command and its first argument, skipping options and their values.
    local i command='' word=''
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
        -c | --config | --socket) ((i++)) ;;
        -*) ;;
        *)
            if [[ -z $command ]]; then
                command=${{COMP_WORDS[i]}}
            elif [[ -z $word ]]; then
                word=${{COMP_WORDS[i]}}
            fi
            ;;
        esac
    done
    case $command in
    '')
        mapfile -t COMPREPLY < <(compgen -W "{commands} $global -V --version" -- "$cur")
        ;;
{cases}    esac
}}
complete -F _cisco_autoprov cisco-autoprov
"#,
        version = env!("CARGO_PKG_VERSION"),
        commands = commands.join(" "),
    )
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `run`
    Run {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// `--log-split`: info to stdout, warnings to stderr, no timestamps.
        log_split: bool,
    },
    /// `snippet KIND`
    Snippet {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// dnsmasq, isc, uci, kea or hex.
        kind: String,
    },
    /// `firmware list`
    FirmwareList {
        /// `-c FILE`
        config: Option<PathBuf>,
    },
    /// `firmware import PACKAGE…`
    FirmwareImport {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// `--force`: replace files whose contents differ.
        force: bool,
        /// The packages.
        packages: Vec<PathBuf>,
    },
    /// `scan`
    Scan {
        /// `-c FILE`
        config: Option<PathBuf>,
    },
    /// `status`
    Status {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// `--json`
        json: bool,
        /// `--show-secrets`
        show_secrets: bool,
        /// `--daemon`: only whether the daemon runs.
        daemon: bool,
    },
    /// `explain MAC`
    Explain {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// The phone, any spelling.
        mac: String,
    },
    /// `approve MAC`, `deny MAC`, `forget MAC`
    Decide {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// `approve`, `deny` or `forget`.
        verb: String,
        /// The phone, any spelling.
        mac: String,
    },
    /// `check`
    Check {
        /// `-c FILE`
        config: Option<PathBuf>,
    },
    /// `notify KIND ARGS…`
    Notify {
        /// `-c FILE`
        config: Option<PathBuf>,
        /// `--socket PATH`: overrides the config's `notify_socket`.
        socket: Option<PathBuf>,
        /// Which server calls.
        kind: String,
        /// The server's arguments, untouched.
        args: Vec<String>,
    },
    /// `--help`
    Help,
    /// `--version`
    Version,
}

/// The end of every usage error.
const SEE_HELP: &str = "(see cisco-autoprov --help)";

/// The flags without a value, as written.
const FLAGS: &[&str] = &[
    "--json",
    "--show-secrets",
    "--daemon",
    "--log-split",
    "--force",
];

/// Parses the arguments after the program name. Errors are one lowercase line naming the
/// option or argument; the caller exits 2.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut config: Option<PathBuf> = None;
    let mut socket: Option<PathBuf> = None;
    let mut flags: Vec<&'static str> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut server_args: Vec<String> = Vec::new();
    let (mut help, mut version) = (false, false);
    let mut only_words = false;
    let mut index = 0;
    while let Some(arg) = args.get(index) {
        index += 1;
        if only_words || !arg.starts_with('-') || arg == "-" {
            words.push(arg.clone());
            if words.len() == 2 && words[0] == "notify" {
                // Everything after KIND belongs to the server, dashes and all.
                server_args = args[index..].to_vec();
                break;
            }
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        match name {
            "-c" | "--config" | "--socket" => {
                let value = match inline {
                    Some(value) => value.to_string(),
                    None => {
                        let value = args.get(index).filter(|value| !value.starts_with('-'));
                        index += 1;
                        let what = if name == "--socket" {
                            "a path"
                        } else {
                            "a file"
                        };
                        value
                            .ok_or_else(|| format!("{name} needs {what} {SEE_HELP}"))?
                            .clone()
                    }
                };
                if name == "--socket" {
                    socket = Some(PathBuf::from(value));
                } else {
                    config = Some(PathBuf::from(value));
                }
            }
            _ if inline.is_some() => {
                return Err(format!("{name} takes no value {SEE_HELP}"));
            }
            "--" => only_words = true,
            "-h" | "--help" => help = true,
            "-V" | "--version" => version = true,
            _ => match FLAGS.iter().find(|flag| **flag == name) {
                Some(flag) => flags.push(flag),
                None => return Err(format!("unknown option {name} {SEE_HELP}")),
            },
        }
    }
    if help || words.first().is_some_and(|word| word == "help") {
        return Ok(Command::Help);
    }
    if version {
        return Ok(Command::Version);
    }
    let Some((command, rest)) = words.split_first() else {
        return Err(format!("no command given {SEE_HELP}"));
    };
    let command = command.as_str();
    let Some(doc) = COMMANDS.iter().find(|doc| doc.names.contains(&command)) else {
        return Err(format!("unknown command {command:?} {SEE_HELP}"));
    };
    if let Some(flag) = flags.iter().find(|flag| !doc.options.contains(flag)) {
        return Err(format!("{flag} is not an option of {command} {SEE_HELP}"));
    }
    if socket.is_some() && command != "notify" {
        return Err(format!("--socket is not an option of {command} {SEE_HELP}"));
    }
    let flag = |name: &str| flags.contains(&name);
    let no_arguments = || match rest.first() {
        Some(extra) => Err(format!(
            "unexpected argument {extra:?} for {command} {SEE_HELP}"
        )),
        None => Ok(()),
    };
    let one_mac = || match rest {
        [mac] => match mac.parse::<crate::mac::Mac>() {
            Ok(_) => Ok(mac.clone()),
            Err(err) => Err(format!("{command}: {err} {SEE_HELP}")),
        },
        _ => Err(format!("{command} needs one MAC {SEE_HELP}")),
    };
    match command {
        "run" => no_arguments().map(|()| Command::Run {
            config,
            log_split: flag("--log-split"),
        }),
        "scan" => no_arguments().map(|()| Command::Scan { config }),
        "check" => no_arguments().map(|()| Command::Check { config }),
        "status" => no_arguments().map(|()| Command::Status {
            config,
            json: flag("--json"),
            show_secrets: flag("--show-secrets"),
            daemon: flag("--daemon"),
        }),
        "snippet" => match rest {
            [kind] if SNIPPET_KINDS.contains(&kind.as_str()) => Ok(Command::Snippet {
                config,
                kind: kind.clone(),
            }),
            _ => Err(format!(
                "snippet needs one of {} {SEE_HELP}",
                SNIPPET_KINDS.join(", ")
            )),
        },
        "firmware" => match rest.split_first() {
            Some((verb, rest)) if verb == "list" && rest.is_empty() && !flag("--force") => {
                Ok(Command::FirmwareList { config })
            }
            Some((verb, packages)) if verb == "import" && !packages.is_empty() => {
                Ok(Command::FirmwareImport {
                    config,
                    force: flag("--force"),
                    packages: packages.iter().map(PathBuf::from).collect(),
                })
            }
            _ => Err(format!(
                "firmware needs `list` or `import [--force] PACKAGE...` {SEE_HELP}"
            )),
        },
        "approve" | "deny" | "forget" => one_mac().map(|mac| Command::Decide {
            config,
            verb: command.to_string(),
            mac,
        }),
        "explain" => one_mac().map(|mac| Command::Explain { config, mac }),
        _ => match rest.first() {
            Some(kind) => Ok(Command::Notify {
                config,
                socket,
                kind: kind.clone(),
                args: server_args,
            }),
            None => Err(format!("notify needs a KIND {SEE_HELP}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    const MAC: &str = "00:1b:0c:18:bd:c1";

    #[test]
    fn commands() {
        let file = Some(PathBuf::from("/x.toml"));
        assert_eq!(
            parse(&args("run")),
            Ok(Command::Run {
                config: None,
                log_split: false
            })
        );
        assert_eq!(
            parse(&args("run -c /x.toml --log-split")),
            Ok(Command::Run {
                config: file.clone(),
                log_split: true
            })
        );
        assert_eq!(
            parse(&args("snippet isc -c /x.toml")),
            Ok(Command::Snippet {
                config: file.clone(),
                kind: "isc".into()
            })
        );
        assert_eq!(
            parse(&args("firmware import --force a.zip b.cop.sgn")),
            Ok(Command::FirmwareImport {
                config: None,
                force: true,
                packages: vec!["a.zip".into(), "b.cop.sgn".into()]
            })
        );
        assert_eq!(
            parse(&args("firmware import -- --odd.zip")),
            Ok(Command::FirmwareImport {
                config: None,
                force: false,
                packages: vec!["--odd.zip".into()]
            })
        );
        assert_eq!(
            parse(&args("firmware list")),
            Ok(Command::FirmwareList { config: None })
        );
        assert!(parse(&args("firmware")).is_err());
        assert!(parse(&args("snippet")).is_err());
        assert!(parse(&args("snippet frob")).is_err());
        assert_eq!(
            parse(&args("scan --config /x.toml")),
            Ok(Command::Scan {
                config: file.clone()
            })
        );
        assert_eq!(
            parse(&args("status --json -c /x.toml")),
            Ok(Command::Status {
                config: file.clone(),
                json: true,
                show_secrets: false,
                daemon: false,
            })
        );
        assert_eq!(
            parse(&args(&format!("approve {MAC} -c /x.toml"))),
            Ok(Command::Decide {
                config: file.clone(),
                verb: "approve".into(),
                mac: MAC.into()
            })
        );
        assert!(parse(&args("deny")).is_err());
        assert_eq!(
            parse(&args("explain 001b.0c18.bdc1 -c /x.toml")),
            Ok(Command::Explain {
                config: file.clone(),
                mac: "001b.0c18.bdc1".into()
            })
        );
        assert!(parse(&args("explain")).is_err());
        assert!(parse(&args("explain a b")).is_err());
        assert_eq!(
            parse(&args("check --config=/x.toml")),
            Ok(Command::Check { config: file })
        );
        assert_eq!(parse(&args("--help")), Ok(Command::Help));
        assert_eq!(parse(&args("status --help")), Ok(Command::Help));
        assert_eq!(parse(&args("--version")), Ok(Command::Version));
        assert_eq!(parse(&args("-V")), Ok(Command::Version));
        assert!(parse(&args("run -c")).is_err());
        assert!(parse(&args("frobnicate")).is_err());
        assert!(parse(&[]).is_err());
        assert_eq!(
            parse(&args(&format!(
                "notify -c /x.toml dnsmasq add {MAC} 198.18.0.151 -x"
            ))),
            Ok(Command::Notify {
                config: Some(PathBuf::from("/x.toml")),
                socket: None,
                kind: "dnsmasq".into(),
                args: args(&format!("add {MAC} 198.18.0.151 -x")),
            })
        );
        assert!(parse(&args("notify")).is_err());
    }

    /// `-c` and the flags go before or after the command.
    #[test]
    fn global_options_go_anywhere() {
        let file = Some(PathBuf::from("/x.toml"));
        for line in [
            "-c /x.toml status --json",
            "--config /x.toml status --json",
            "--config=/x.toml status --json",
            "--json status -c /x.toml",
            "status --json --config=/x.toml",
        ] {
            assert_eq!(
                parse(&args(line)),
                Ok(Command::Status {
                    config: file.clone(),
                    json: true,
                    show_secrets: false,
                    daemon: false,
                }),
                "{line}"
            );
        }
        assert_eq!(
            parse(&args("-c /x.toml --socket /s notify isc commit -c y")),
            Ok(Command::Notify {
                config: file.clone(),
                socket: Some(PathBuf::from("/s")),
                kind: "isc".into(),
                args: args("commit -c y"),
            })
        );
        assert_eq!(
            parse(&args("-c /x.toml firmware list")),
            Ok(Command::FirmwareList { config: file })
        );
    }

    /// Every usage error names what is wrong and where to look.
    #[test]
    fn usage_errors_name_the_option() {
        for (line, want) in [
            ("run --json", "--json is not an option of run"),
            ("status --frob", "unknown option --frob"),
            ("-x status", "unknown option -x"),
            ("status -c", "-c needs a file"),
            ("-c --json status", "-c needs a file"),
            ("scan extra", "unexpected argument \"extra\" for scan"),
            ("approve nope", "approve: invalid mac address \"nope\""),
            ("status --json=yes", "--json takes no value"),
            ("scan --socket /s", "--socket is not an option of scan"),
            ("frobnicate", "unknown command \"frobnicate\""),
        ] {
            let err = parse(&args(line)).unwrap_err();
            assert_eq!(err, format!("{want} {SEE_HELP}"), "{line}");
        }
    }

    #[test]
    fn help_lists_every_command_and_option() {
        let help = usage();
        for command in COMMANDS {
            assert!(help.contains(command.usage), "{}", command.usage);
        }
        for option in OPTIONS {
            assert!(help.contains(option.flags), "{}", option.flags);
        }
        assert!(help.contains("  2  a usage or config error"), "{help}");
        assert!(
            help.lines().all(|line| line.chars().count() <= 100),
            "{help}"
        );
        let man = man_page();
        assert!(man.contains(".SH EXIT STATUS"), "{man}");
        assert!(man.contains("\\fBstatus\\fR [\\fB\\-\\-json\\fR]"), "{man}");
        assert!(man.contains("\\fIMAC\\fR"), "{man}");
        assert!(man.contains("\\fIPACKAGE\\fR..."), "{man}");
        assert!(!man.lines().any(|line| line.starts_with('\'')), "{man}");
    }
}

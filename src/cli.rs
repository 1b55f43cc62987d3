//! Command-line parsing: flags only. What they mean is decided in `commands` and `daemon`.
//!
//! Hand-written: five subcommands and three flags do not earn a parser crate's bytes.

use std::path::PathBuf;

/// The usage text of `--help`.
pub const USAGE: &str = "\
cisco-autoprov: provisions Cisco IP phones for Asterisk/FreePBX from DHCP leases and TFTP logs

usage:
  cisco-autoprov run     [-c FILE] [--log-split]
                                              run the daemon in the foreground (--log-split: info
                                              and debug to stdout, warnings and errors to stderr,
                                              no timestamps: for procd/logd)
  cisco-autoprov scan    [-c FILE]            read every source once from its start, provision, summarise
  cisco-autoprov status  [-c FILE] [--json] [--show-secrets]
                                              show the phones known (secrets only with --show-secrets)
  cisco-autoprov explain MAC [-c FILE]        one phone's boot timeline and what is wrong with it, with the fix
  cisco-autoprov approve|deny|forget MAC [-c FILE]
                                              decide about a phone (policy = \"approve\"); the running
                                              daemon applies it at once
  cisco-autoprov check   [-c FILE]            validate the config and the environment
  cisco-autoprov snippet dnsmasq|isc|uci|kea|hex [-c FILE]
                                              print a DHCP server snippet (option 150/66 for Cisco
                                              phones only, hooks); hex: the tftpd32 form of the address
  cisco-autoprov firmware list [-c FILE]      the firmware in the TFTP root: loads, images, what is missing
  cisco-autoprov firmware import [-c FILE] [--force] PACKAGE...
                                              unpack cmterm-*.zip, *.cop, *.cop.sgn, *.tar into the TFTP root
  cisco-autoprov notify  [-c FILE] [--socket PATH] KIND [ARGS...]
                                              hand a DHCP/TFTP server hook event to the daemon;
                                              never blocks, always exits 0. KIND: dnsmasq
                                              (--dhcp-script), hotplug-dhcp, hotplug-tftp (OpenWrt),
                                              isc (on commit/release/expiry execute())
  cisco-autoprov --help | --version

options:
  -c, --config FILE   config file (default /etc/cisco-autoprov/config.toml; built-in defaults
                      when that file does not exist)
  --json              (status) print a JSON array

signals (run): SIGTERM/SIGINT stop, SIGHUP reloads the config (a bad one is refused and logged).
environment: RUST_LOG=error|warn|info|debug|trace overrides the config's log_level.
";

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

/// Parses the arguments after the program name. Errors are one lowercase line.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("no command given (try --help)".to_string());
    };
    match first.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        _ => {}
    }
    let mut config = None;
    if first == "notify" {
        return parse_notify(rest);
    }
    let mut json = false;
    let mut show_secrets = false;
    let mut log_split = false;
    let mut force = false;
    let mut words: Vec<String> = Vec::new();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-c" | "--config" => {
                let value = rest.next().ok_or_else(|| format!("{arg} needs a file"))?;
                config = Some(PathBuf::from(value));
            }
            "--json" if first == "status" => json = true,
            "--show-secrets" if first == "status" => show_secrets = true,
            "--log-split" if first == "run" => log_split = true,
            "--force" if first == "firmware" => force = true,
            word if matches!(
                first.as_str(),
                "snippet" | "firmware" | "approve" | "deny" | "forget" | "explain"
            ) && !word.starts_with('-') =>
            {
                words.push(word.to_string())
            }
            "-h" | "--help" => return Ok(Command::Help),
            other => {
                if let Some(value) = other.strip_prefix("--config=") {
                    config = Some(PathBuf::from(value));
                } else {
                    return Err(format!(
                        "unexpected argument {other:?} for {first} (try --help)"
                    ));
                }
            }
        }
    }
    match first.as_str() {
        "run" => Ok(Command::Run { config, log_split }),
        "snippet" => match words.as_slice() {
            [kind] => Ok(Command::Snippet {
                config,
                kind: kind.clone(),
            }),
            _ => Err("snippet needs one of dnsmasq, isc, uci, kea, hex".to_string()),
        },
        "firmware" => match words.split_first() {
            Some((verb, rest)) if verb == "list" && rest.is_empty() => {
                Ok(Command::FirmwareList { config })
            }
            Some((verb, packages)) if verb == "import" && !packages.is_empty() => {
                Ok(Command::FirmwareImport {
                    config,
                    force,
                    packages: packages.iter().map(PathBuf::from).collect(),
                })
            }
            _ => Err("firmware needs `list` or `import PACKAGE…`".to_string()),
        },
        "scan" => Ok(Command::Scan { config }),
        "status" => Ok(Command::Status {
            config,
            json,
            show_secrets,
        }),
        "approve" | "deny" | "forget" => match words.as_slice() {
            [mac] => Ok(Command::Decide {
                config,
                verb: first.clone(),
                mac: mac.clone(),
            }),
            _ => Err(format!("{first} needs one MAC")),
        },
        "explain" => match words.as_slice() {
            [mac] => Ok(Command::Explain {
                config,
                mac: mac.clone(),
            }),
            _ => Err("explain needs one MAC".to_string()),
        },
        "check" => Ok(Command::Check { config }),
        other => Err(format!("unknown command {other:?} (try --help)")),
    }
}

/// `notify [-c FILE] [--socket PATH] KIND ARGS…`: everything after KIND belongs to the server.
fn parse_notify(rest: &[String]) -> Result<Command, String> {
    let mut config = None;
    let mut socket = None;
    let mut index = 0;
    while let Some(arg) = rest.get(index) {
        match arg.as_str() {
            "-c" | "--config" => {
                config = Some(PathBuf::from(rest.get(index + 1).ok_or("-c needs a file")?));
                index += 2;
            }
            "--socket" => {
                socket = Some(PathBuf::from(
                    rest.get(index + 1).ok_or("--socket needs a path")?,
                ));
                index += 2;
            }
            _ => break,
        }
    }
    let kind = rest
        .get(index)
        .ok_or("notify needs a KIND (try --help)")?
        .clone();
    Ok(Command::Notify {
        config,
        socket,
        kind,
        args: rest[index + 1..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

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
            parse(&args("firmware list")),
            Ok(Command::FirmwareList { config: None })
        );
        assert!(parse(&args("firmware")).is_err());
        assert!(parse(&args("snippet")).is_err());
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
                show_secrets: false
            })
        );
        assert_eq!(
            parse(&args("approve 00:1b:0c:18:bd:c1 -c /x.toml")),
            Ok(Command::Decide {
                config: file.clone(),
                verb: "approve".into(),
                mac: "00:1b:0c:18:bd:c1".into()
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
        assert_eq!(parse(&args("--version")), Ok(Command::Version));
        assert!(parse(&args("run --json")).is_err());
        assert!(parse(&args("run -c")).is_err());
        assert!(parse(&args("frobnicate")).is_err());
        assert!(parse(&[]).is_err());
        assert_eq!(
            parse(&args(
                "notify -c /x.toml dnsmasq add 00:1b:0c:18:bd:c1 198.18.0.151 -x"
            )),
            Ok(Command::Notify {
                config: Some(PathBuf::from("/x.toml")),
                socket: None,
                kind: "dnsmasq".into(),
                args: args("add 00:1b:0c:18:bd:c1 198.18.0.151 -x"),
            })
        );
        assert!(parse(&args("notify")).is_err());
    }
}

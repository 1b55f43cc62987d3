//! The `cisco-autoprov` binary: parse the command line, load the config, set up logging, run.
//!
//! Exit status (the table is in `cli::EXIT_CODES`): 0 ok, 1 a runtime problem (and `check`
//! finding one), 2 a usage or config error. `notify` always exits 0.

use std::process::ExitCode;

use cisco_autoprov::cli::{self, Command};
use cisco_autoprov::commands;
use cisco_autoprov::config::Config;

/// A runtime problem.
const RUNTIME: u8 = 1;
/// A usage or config error.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    // Lossily: a hook's arguments are the DHCP client's bytes (isc passes the raw
    // `option host-name`), and `args()` would panic on them (field-evidence.md §4).
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("cisco-autoprov: {message}");
            return ExitCode::from(USAGE);
        }
    };
    let config_path = match &command {
        Command::Help => {
            out(&cli::usage());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            out(concat!("cisco-autoprov ", env!("CARGO_PKG_VERSION"), "\n"));
            return ExitCode::SUCCESS;
        }
        Command::Notify {
            config,
            socket,
            kind,
            args,
        } => {
            // A DHCP server waits for its hook: never fail, never block.
            let socket = match socket {
                Some(socket) => socket.clone(),
                None => match commands::load_config(config.as_deref()) {
                    Ok(config) => config.notify_socket,
                    Err(errors) => {
                        for error in errors {
                            eprintln!("cisco-autoprov notify: {error}");
                        }
                        return ExitCode::SUCCESS;
                    }
                },
            };
            if let Err(message) = cisco_autoprov::notify::send(&socket, kind, args) {
                eprintln!("cisco-autoprov notify: {message}");
            }
            return ExitCode::SUCCESS;
        }
        Command::Run { config, .. }
        | Command::Scan { config }
        | Command::Status { config, .. }
        | Command::Explain { config, .. }
        | Command::Check { config }
        | Command::Snippet { config, .. }
        | Command::Decide { config, .. }
        | Command::FirmwareList { config }
        | Command::FirmwareImport { config, .. } => config.clone(),
    };
    let config = match commands::load_config(config_path.as_deref()) {
        Ok(config) => config,
        // `status` reads the state, which a broken config does not change: it goes on with
        // the file's state_dir (or the default one) and says so.
        Err(errors) if matches!(command, Command::Status { .. }) => {
            for error in errors {
                eprintln!("cisco-autoprov: warning: the config is broken: {error}");
            }
            let config = commands::fallback_config(config_path.as_deref());
            eprintln!(
                "cisco-autoprov: warning: showing the state in {} with default settings",
                config.state_dir.display()
            );
            config
        }
        Err(errors) => {
            for error in errors {
                eprintln!("cisco-autoprov: {error}");
            }
            return ExitCode::from(USAGE);
        }
    };
    let log_split = matches!(
        command,
        Command::Run {
            log_split: true,
            ..
        }
    );
    init_logging(&config, log_split);
    let result = match command {
        Command::Run { .. } => run_daemon(config_path, config),
        Command::Snippet { kind, .. } => commands::snippet(&config, &kind).map(|text| out(&text)),
        Command::FirmwareList { .. } => {
            cisco_autoprov::firmware::cli::list(&config.tftp_root).map(|text| outln(&text))
        }
        Command::FirmwareImport {
            force, packages, ..
        } => cisco_autoprov::firmware::cli::import_all(&config.tftp_root, &packages, force)
            .map(|text| outln(&text)),
        Command::Scan { .. } => commands::scan(config).map(|summary| outln(&summary)),
        Command::Status {
            json,
            show_secrets,
            daemon,
            ..
        } => commands::status(&config, json, show_secrets, daemon).map(|text| outln(&text)),
        Command::Explain { mac, .. } => commands::explain(&config, &mac).map(|text| outln(&text)),
        Command::Decide { verb, mac, .. } => {
            commands::decide(&config, &mac, &verb).map(|text| outln(&text))
        }
        Command::Check { .. } => {
            let warnings: String = commands::check_warnings(&config)
                .iter()
                .map(|warning| format!("warning: {warning}\n"))
                .collect();
            out(&warnings);
            let problems = commands::check(&config);
            if problems.is_empty() {
                out(&format!(
                    "ok: {} sources, {} inventory phones, tftp_root {}, time zone from {} (now {})\n",
                    config.sources.len(),
                    config.inventory.len(),
                    config.tftp_root.display(),
                    config.local_zone.origin(),
                    config.local_zone.format(cisco_autoprov::provision::now()),
                ));
                Ok(())
            } else {
                let text: String = problems
                    .iter()
                    .map(|problem| format!("problem: {problem}\n"))
                    .collect();
                out(&text);
                return ExitCode::from(RUNTIME);
            }
        }
        Command::Help | Command::Version | Command::Notify { .. } => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cisco-autoprov: {message}");
            ExitCode::from(RUNTIME)
        }
    }
}

/// Writes a command's output to stdout. A reader that went away early (`status | head`) is
/// a normal end, not a panic (`println!` panics on EPIPE; field-evidence.md §4).
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if err.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!(
                "cisco-autoprov: cannot write the output: {}",
                cisco_autoprov::fsutil::plain(&err)
            );
        }
    }
}

/// [`out`] and a newline.
fn outln(text: &str) {
    out(&format!("{text}\n"));
}

fn run_daemon(config_path: Option<std::path::PathBuf>, config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|err| {
            format!(
                "cannot start the runtime: {}",
                cisco_autoprov::fsutil::plain(&err)
            )
        })?;
    runtime.block_on(cisco_autoprov::daemon::run(config_path, config))
}

/// Logs go to stderr (procd and systemd collect it): with our time, or under systemd (stderr
/// is the journal) without it and with journald's `<N>` priority prefix; with `split`, info
/// and debug go to stdout and warnings and errors to stderr, without timestamps (procd logs
/// stdout as `daemon.info`, stderr as `daemon.err`, and logd stamps each line). `RUST_LOG`
/// (a level name) overrides the config's `log_level`.
fn init_logging(config: &Config, split: bool) {
    use cisco_autoprov::logging;
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log_level.clone());
    let output = if split {
        logging::Output::Split
    } else if logging::stderr_is_journal() {
        logging::Output::Journal
    } else {
        logging::Output::Stderr
    };
    logging::init(logging::level(&level), output);
}

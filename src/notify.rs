//! `cisco-autoprov notify`: the short-lived process a DHCP or TFTP server runs as its hook.
//!
//! It must never hold the server up: one non-blocking datagram to the daemon's socket, and
//! exit 0 whatever happens (daemon down, socket full, bad arguments). Problems go to stderr,
//! which dnsmasq and dhcpd pass to their logs.

use std::os::unix::net::UnixDatagram;
use std::path::Path;

use crate::hook;

/// Builds the event from the invocation and sends it. The caller exits 0 either way; the
/// error is for stderr.
pub fn send(socket: &Path, kind: &str, args: &[String]) -> Result<(), String> {
    // Lossily, as the arguments: a client's bytes must not drop the variable.
    let env = |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
    let Some(event) = hook::from_invocation(kind, args, &env)? else {
        return Ok(());
    };
    let message = serde_json::to_vec(&event).map_err(|err| err.to_string())?;
    if message.len() > hook::MAX_DATAGRAM {
        return Err("event too large".to_string());
    }
    let sender = UnixDatagram::unbound()
        .map_err(|err| format!("cannot create a socket: {}", crate::fsutil::plain(&err)))?;
    sender.set_nonblocking(true).map_err(|err| {
        format!(
            "cannot make the socket non-blocking: {}",
            crate::fsutil::plain(&err)
        )
    })?;
    sender.send_to(&message, socket).map(|_| ()).map_err(|err| {
        format!(
            "daemon not reachable at {}: {}",
            socket.display(),
            crate::fsutil::plain(&err)
        )
    })
}

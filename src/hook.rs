//! Hook events: what a DHCP or TFTP server tells us at the moment of a lease or transfer.
//!
//! The servers run `cisco-autoprov notify KIND ARGS…` (dnsmasq's `--dhcp-script`, OpenWrt's
//! hotplug scripts, isc-dhcp's `on commit { execute(…) }`). That short-lived process turns its
//! arguments and environment into a [`HookEvent`] and sends it as one JSON datagram to the
//! daemon's socket. Hooks are the only source that carries the vendor class at lease time.
//!
//! Both halves are here and pure: [`from_invocation`] (argv + environment → event) and
//! [`to_observation`] (event → observation, validating everything: the socket is a trust
//! boundary like any log).
//!
//! | KIND | invoked as | gives |
//! |---|---|---|
//! | `dnsmasq` | `notify dnsmasq add\|old\|del MAC IP [HOST]`, env `DNSMASQ_VENDOR_CLASS`, `DNSMASQ_SUPPLIED_HOSTNAME`; `notify dnsmasq tftp SIZE IP PATH` | lease, release, TFTP sent |
//! | `hotplug-dhcp` | OpenWrt `/etc/hotplug.d/dhcp`: env `ACTION` (add, update, remove), `MACADDR`, `IPADDR`, `HOSTNAME`, `DNSMASQ_VENDOR_CLASS` | lease, release |
//! | `hotplug-tftp` | OpenWrt `/etc/hotplug.d/tftp`: env `TFTP_ADDR`, `TFTP_PATH` | TFTP sent |
//! | `isc` | `notify isc commit\|release\|expiry IP MAC [HOST] [VENDOR_CLASS]` | lease, release |

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::event::{LeaseSeen, Observation, TftpOutcome, TftpSeen};
use crate::mac::Mac;

/// Longest datagram accepted (a hook event is well under 1 KiB).
pub const MAX_DATAGRAM: usize = 4096;

/// One event, as sent over the socket. Fields are text: they are validated on receipt.
///
/// On the wire it is one flat JSON object whose `event` field names the variant
/// (`{"event":"lease","mac":…,"ip":…}`): serde's internally tagged layout, read through a
/// flat `Wire` struct instead of `#[serde(tag)]`, which would buffer every datagram in
/// serde's generic `Content` tree and cost the binary about 20 KB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Wire", into = "Wire")]
pub enum HookEvent {
    /// A lease was granted or renewed.
    Lease {
        /// Client MAC, any spelling.
        mac: String,
        /// Leased address.
        ip: String,
        /// Option 12, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hostname: Option<String>,
        /// Option 60, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vendor_class: Option<String>,
    },
    /// A lease was released or expired.
    Release {
        /// Client MAC.
        mac: String,
        /// The address it had.
        ip: String,
    },
    /// A TFTP transfer completed.
    Tftp {
        /// Client address.
        ip: String,
        /// The served file: absolute (dnsmasq) or relative to the root.
        path: String,
    },
    /// An admin's decision from `cisco-autoprov approve|deny|forget` (not a server hook).
    Decision {
        /// The phone.
        mac: String,
        /// `approve`, `deny` or `forget`.
        decision: String,
    },
}

/// The flat wire form of a [`HookEvent`]: every field any variant has.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vendor_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decision: Option<String>,
}

impl TryFrom<Wire> for HookEvent {
    type Error = String;

    fn try_from(wire: Wire) -> Result<Self, String> {
        let need = |value: Option<String>, field: &str| {
            value.ok_or_else(|| format!("{} event without {field}", clip(&wire.event)))
        };
        let extra = |fields: &[(&str, &Option<String>)]| match fields
            .iter()
            .find(|(_, value)| value.is_some())
        {
            Some((field, _)) => Err(format!("{} event with a {field} field", wire.event)),
            None => Ok(()),
        };
        match wire.event.as_str() {
            "lease" => {
                extra(&[("path", &wire.path), ("decision", &wire.decision)])?;
                Ok(HookEvent::Lease {
                    mac: need(wire.mac.clone(), "mac")?,
                    ip: need(wire.ip.clone(), "ip")?,
                    hostname: wire.hostname.clone(),
                    vendor_class: wire.vendor_class.clone(),
                })
            }
            "release" => {
                extra(&[
                    ("hostname", &wire.hostname),
                    ("vendor_class", &wire.vendor_class),
                    ("path", &wire.path),
                    ("decision", &wire.decision),
                ])?;
                Ok(HookEvent::Release {
                    mac: need(wire.mac.clone(), "mac")?,
                    ip: need(wire.ip.clone(), "ip")?,
                })
            }
            "tftp" => {
                extra(&[
                    ("mac", &wire.mac),
                    ("hostname", &wire.hostname),
                    ("vendor_class", &wire.vendor_class),
                    ("decision", &wire.decision),
                ])?;
                Ok(HookEvent::Tftp {
                    ip: need(wire.ip.clone(), "ip")?,
                    path: need(wire.path.clone(), "path")?,
                })
            }
            "decision" => {
                extra(&[
                    ("ip", &wire.ip),
                    ("hostname", &wire.hostname),
                    ("vendor_class", &wire.vendor_class),
                    ("path", &wire.path),
                ])?;
                Ok(HookEvent::Decision {
                    mac: need(wire.mac.clone(), "mac")?,
                    decision: need(wire.decision.clone(), "decision")?,
                })
            }
            other => Err(format!("unknown event {:?}", clip(other))),
        }
    }
}

impl From<HookEvent> for Wire {
    fn from(event: HookEvent) -> Self {
        match event {
            HookEvent::Lease {
                mac,
                ip,
                hostname,
                vendor_class,
            } => Wire {
                event: "lease".into(),
                mac: Some(mac),
                ip: Some(ip),
                hostname,
                vendor_class,
                ..Wire::default()
            },
            HookEvent::Release { mac, ip } => Wire {
                event: "release".into(),
                mac: Some(mac),
                ip: Some(ip),
                ..Wire::default()
            },
            HookEvent::Tftp { ip, path } => Wire {
                event: "tftp".into(),
                ip: Some(ip),
                path: Some(path),
                ..Wire::default()
            },
            HookEvent::Decision { mac, decision } => Wire {
                event: "decision".into(),
                mac: Some(mac),
                decision: Some(decision),
                ..Wire::default()
            },
        }
    }
}

/// What one hook datagram carries, validated.
#[derive(Debug, PartialEq, Eq)]
pub enum Datagram {
    /// Something a DHCP or TFTP server saw.
    Observation(Observation),
    /// An admin's decision about a phone; `None` is `forget`.
    Decision(Mac, Option<crate::detect::Decision>),
}

/// Why a datagram was ignored, in the admin's words.
#[derive(Debug, PartialEq, Eq)]
pub enum BadDatagram {
    /// A decision naming a bad MAC or an unknown verb.
    Decision(String),
    /// Not a hook event, or an event with bad fields.
    Event(String),
}

/// Reads one datagram from the hook socket (at most [`MAX_DATAGRAM`] bytes are received).
pub fn decode_datagram(
    datagram: &[u8],
    now: i64,
    tftp_roots: &[String],
) -> Result<Datagram, BadDatagram> {
    match serde_json::from_slice::<HookEvent>(datagram) {
        Ok(HookEvent::Decision { mac, decision }) => parse_decision(&mac, &decision)
            .map(|(mac, decision)| Datagram::Decision(mac, decision))
            .map_err(BadDatagram::Decision),
        Ok(event) => to_observation(event, now, tftp_roots)
            .map(Datagram::Observation)
            .map_err(BadDatagram::Event),
        Err(err) => Err(BadDatagram::Event(format!("not a hook event: {err}"))),
    }
}

/// Reads an admin decision: `(mac, None)` is `forget`.
pub fn parse_decision(
    mac: &str,
    decision: &str,
) -> Result<(Mac, Option<crate::detect::Decision>), String> {
    let mac = mac.parse::<Mac>().map_err(|err| err.to_string())?;
    let decision = match decision {
        "approve" => Some(crate::detect::Decision::Approved),
        "deny" => Some(crate::detect::Decision::Denied),
        "forget" => None,
        other => return Err(format!("unknown decision {:?}", clip(other))),
    };
    Ok((mac, decision))
}

/// Turns a hook invocation into an event. `Ok(None)` for calls we have nothing to learn
/// from (dnsmasq's `arp-add`, `init`, isc's unknown actions).
pub fn from_invocation(
    kind: &str,
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<HookEvent>, String> {
    let arg = |index: usize| args.get(index).map(String::as_str);
    let non_empty = |value: Option<String>| value.filter(|v| !v.is_empty());
    match kind {
        "dnsmasq" => match arg(0) {
            Some("add" | "old") => {
                let (Some(mac), Some(ip)) = (arg(1), arg(2)) else {
                    return Err("dnsmasq add/old needs MAC and IP".into());
                };
                let hostname = non_empty(arg(3).map(str::to_string))
                    .or_else(|| non_empty(env("DNSMASQ_SUPPLIED_HOSTNAME")));
                Ok(Some(HookEvent::Lease {
                    mac: mac.into(),
                    ip: ip.into(),
                    hostname,
                    vendor_class: non_empty(env("DNSMASQ_VENDOR_CLASS")),
                }))
            }
            Some("del") => match (arg(1), arg(2)) {
                (Some(mac), Some(ip)) => Ok(Some(HookEvent::Release {
                    mac: mac.into(),
                    ip: ip.into(),
                })),
                _ => Err("dnsmasq del needs MAC and IP".into()),
            },
            Some("tftp") => match (arg(2), arg(3)) {
                (Some(ip), Some(path)) => Ok(Some(HookEvent::Tftp {
                    ip: ip.into(),
                    path: path.into(),
                })),
                _ => Err("dnsmasq tftp needs SIZE IP PATH".into()),
            },
            _ => Ok(None),
        },
        "hotplug-dhcp" => {
            let (Some(mac), Some(ip)) = (non_empty(env("MACADDR")), non_empty(env("IPADDR")))
            else {
                return Err("hotplug dhcp event without MACADDR or IPADDR".into());
            };
            match env("ACTION").as_deref() {
                Some("add" | "update") => Ok(Some(HookEvent::Lease {
                    mac,
                    ip,
                    hostname: non_empty(env("HOSTNAME"))
                        .or_else(|| non_empty(env("DNSMASQ_SUPPLIED_HOSTNAME"))),
                    vendor_class: non_empty(env("DNSMASQ_VENDOR_CLASS")),
                })),
                Some("remove") => Ok(Some(HookEvent::Release { mac, ip })),
                _ => Ok(None),
            }
        }
        "hotplug-tftp" => match (non_empty(env("TFTP_ADDR")), non_empty(env("TFTP_PATH"))) {
            (Some(ip), Some(path)) => Ok(Some(HookEvent::Tftp { ip, path })),
            _ => Err("hotplug tftp event without TFTP_ADDR or TFTP_PATH".into()),
        },
        "isc" => {
            let (Some(action), Some(ip), Some(mac)) = (arg(0), arg(1), arg(2)) else {
                return Err("isc needs ACTION IP MAC [HOST] [VENDOR_CLASS]".into());
            };
            match action {
                "commit" => Ok(Some(HookEvent::Lease {
                    mac: mac.into(),
                    ip: ip.into(),
                    hostname: non_empty(arg(3).map(str::to_string)),
                    vendor_class: non_empty(arg(4).map(str::to_string)),
                })),
                "release" | "expiry" => Ok(Some(HookEvent::Release {
                    mac: mac.into(),
                    ip: ip.into(),
                })),
                _ => Ok(None),
            }
        }
        other => Err(format!(
            "unknown hook kind {other:?}: expected dnsmasq, hotplug-dhcp, hotplug-tftp or isc"
        )),
    }
}

/// Validates a received event and turns it into an observation. `tftp_roots` are stripped
/// from absolute TFTP paths; a path outside them keeps only its last component.
pub fn to_observation(
    event: HookEvent,
    now: i64,
    tftp_roots: &[String],
) -> Result<Observation, String> {
    let mac = |text: &str| text.parse::<Mac>().map_err(|err| err.to_string());
    let ip = |text: &str| {
        text.parse::<Ipv4Addr>()
            .map_err(|_| format!("invalid ipv4 address {:?}", clip(text)))
    };
    let text = |value: Option<String>| value.map(|v| clip(&v)).filter(|v| !v.is_empty());
    Ok(match event {
        HookEvent::Lease {
            mac: mac_text,
            ip: ip_text,
            hostname,
            vendor_class,
        } => Observation::Lease(LeaseSeen {
            mac: mac(&mac_text)?,
            ip: ip(&ip_text)?,
            hostname: text(hostname),
            vendor_class: text(vendor_class),
            time: now,
        }),
        HookEvent::Release {
            mac: mac_text,
            ip: ip_text,
        } => Observation::LeaseGone {
            mac: mac(&mac_text)?,
            ip: ip(&ip_text)?,
            time: now,
        },
        HookEvent::Tftp { ip: ip_text, path } => Observation::Tftp(TftpSeen {
            ip: ip(&ip_text)?,
            file: crate::parse::tftp_log::relative_name(&path, tftp_roots).to_string(),
            outcome: TftpOutcome::Sent,
            time: now,
        }),
        HookEvent::Decision { .. } => return Err("a decision is not an observation".into()),
    })
}

/// At most 255 characters (DHCP options are at most 255 bytes).
fn clip(text: &str) -> String {
    text.chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn invoke(kind: &str, args: &str, env: &[(&str, &str)]) -> Result<Option<HookEvent>, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        from_invocation(kind, &args, &|name| env.get(name).cloned())
    }

    fn lease(
        mac: &str,
        ip: &str,
        hostname: Option<&str>,
        vendor_class: Option<&str>,
    ) -> Option<HookEvent> {
        Some(HookEvent::Lease {
            mac: mac.into(),
            ip: ip.into(),
            hostname: hostname.map(str::to_string),
            vendor_class: vendor_class.map(str::to_string),
        })
    }

    const VCI: &str = "Cisco Systems, Inc. IP Phone CP-7941G";

    /// Invocations as captured in shared/reference/captures/*/ (dhcp-script.log,
    /// execute-hook.log) and described in formats.md 1.5, 2.4, 8.4.
    #[test]
    fn invocations() {
        assert_eq!(
            invoke(
                "dnsmasq",
                "add 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1",
                &[("DNSMASQ_VENDOR_CLASS", VCI)]
            ),
            Ok(lease(
                "00:1b:0c:18:bd:c1",
                "198.18.0.151",
                Some("SEP001B0C18BDC1"),
                Some(VCI)
            ))
        );
        assert_eq!(
            invoke(
                "dnsmasq",
                "old 00:1b:0c:18:bd:c1 198.18.0.151",
                &[("DNSMASQ_DATA_MISSING", "1")]
            ),
            Ok(lease("00:1b:0c:18:bd:c1", "198.18.0.151", None, None))
        );
        assert_eq!(
            invoke(
                "dnsmasq",
                "del 00:1b:0c:18:bd:c1 198.18.0.151 SEP001B0C18BDC1",
                &[]
            ),
            Ok(Some(HookEvent::Release {
                mac: "00:1b:0c:18:bd:c1".into(),
                ip: "198.18.0.151".into()
            }))
        );
        assert_eq!(
            invoke(
                "dnsmasq",
                "tftp 19 198.18.0.151 /srv/tftp/term41.default.loads",
                &[]
            ),
            Ok(Some(HookEvent::Tftp {
                ip: "198.18.0.151".into(),
                path: "/srv/tftp/term41.default.loads".into()
            }))
        );
        assert_eq!(
            invoke("dnsmasq", "arp-add 00:1b:0c:18:bd:c1 198.18.0.151", &[]),
            Ok(None)
        );
        assert_eq!(invoke("dnsmasq", "init", &[]), Ok(None));
        assert!(invoke("dnsmasq", "add", &[]).is_err());

        let hotplug = [
            ("ACTION", "add"),
            ("MACADDR", "00:1b:0c:18:bd:c1"),
            ("IPADDR", "198.18.0.151"),
            ("HOSTNAME", "SEP001B0C18BDC1"),
            ("DNSMASQ_VENDOR_CLASS", VCI),
        ];
        assert_eq!(
            invoke("hotplug-dhcp", "", &hotplug),
            Ok(lease(
                "00:1b:0c:18:bd:c1",
                "198.18.0.151",
                Some("SEP001B0C18BDC1"),
                Some(VCI)
            ))
        );
        let mut remove = hotplug;
        remove[0] = ("ACTION", "remove");
        assert!(matches!(
            invoke("hotplug-dhcp", "", &remove),
            Ok(Some(HookEvent::Release { .. }))
        ));
        assert_eq!(
            invoke(
                "hotplug-tftp",
                "",
                &[
                    ("ACTION", "add"),
                    ("TFTP_SIZE", "19"),
                    ("TFTP_ADDR", "198.18.0.151"),
                    ("TFTP_PATH", "/srv/tftp/x")
                ]
            ),
            Ok(Some(HookEvent::Tftp {
                ip: "198.18.0.151".into(),
                path: "/srv/tftp/x".into()
            }))
        );

        // isc `execute()` with binary-to-ascii's unpadded MAC; empty host and vendor class.
        assert_eq!(
            invoke(
                "isc",
                "commit 198.18.0.100 0:1b:c:18:bd:c1 SEP001B0C18BDC1",
                &[]
            ),
            Ok(lease(
                "0:1b:c:18:bd:c1",
                "198.18.0.100",
                Some("SEP001B0C18BDC1"),
                None
            ))
        );
        let args: Vec<String> = ["commit", "198.18.0.100", "0:1b:c:18:bd:c1", "", VCI]
            .map(str::to_string)
            .to_vec();
        assert_eq!(
            from_invocation("isc", &args, &|_| None),
            Ok(lease("0:1b:c:18:bd:c1", "198.18.0.100", None, Some(VCI)))
        );
        assert!(matches!(
            invoke("isc", "release 198.18.0.100 0:1b:c:18:bd:c1", &[]),
            Ok(Some(HookEvent::Release { .. }))
        ));
        assert!(invoke("nope", "", &[]).is_err());
    }

    #[test]
    fn received_events_are_validated() {
        let roots = ["/srv/tftp".to_string()];
        let event = lease(
            "0:1b:c:18:bd:c1",
            "198.18.0.100",
            Some("SEP001B0C18BDC1"),
            Some(VCI),
        )
        .unwrap();
        match to_observation(event, 7, &roots).unwrap() {
            Observation::Lease(lease) => {
                assert_eq!(lease.mac.to_string(), "001B0C18BDC1");
                assert_eq!(lease.vendor_class.as_deref(), Some(VCI));
                assert_eq!(lease.time, 7);
            }
            other => panic!("{other:?}"),
        }
        let tftp = |path: &str| match to_observation(
            HookEvent::Tftp {
                ip: "198.18.0.1".into(),
                path: path.into(),
            },
            0,
            &roots,
        ) {
            Ok(Observation::Tftp(seen)) => seen.file,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            tftp("/srv/tftp/SEP001B0C18BDC1.cnf.xml"),
            "SEP001B0C18BDC1.cnf.xml"
        );
        assert_eq!(tftp("/srv/tftp/US/7960-tones.xml"), "US/7960-tones.xml");
        assert_eq!(
            tftp("/elsewhere/term41.default.loads"),
            "term41.default.loads"
        );
        assert!(
            to_observation(lease("nope", "198.18.0.1", None, None).unwrap(), 0, &roots).is_err()
        );
        assert!(
            to_observation(lease("001b0c18bdc1", "::1", None, None).unwrap(), 0, &roots).is_err()
        );
        for json in [
            r#"{"event":"lease","mac":"001b0c18bdc1","ip":"1.2.3.4","extra":1}"#,
            r#"{"event":"lease","mac":"001b0c18bdc1"}"#,
            r#"{"event":"tftp","ip":"1.2.3.4","path":"a","mac":"001b0c18bdc1"}"#,
            r#"{"event":"reboot","mac":"001b0c18bdc1"}"#,
            r#"{"mac":"001b0c18bdc1","ip":"1.2.3.4"}"#,
        ] {
            assert!(serde_json::from_str::<HookEvent>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn wire_form_is_flat_and_round_trips() {
        let events = [
            lease(
                "001b0c18bdc1",
                "198.18.0.100",
                Some("SEP001B0C18BDC1"),
                Some(VCI),
            )
            .unwrap(),
            HookEvent::Release {
                mac: "001b0c18bdc1".into(),
                ip: "198.18.0.100".into(),
            },
            HookEvent::Tftp {
                ip: "198.18.0.100".into(),
                path: "/srv/tftp/OS79XX.TXT".into(),
            },
            HookEvent::Decision {
                mac: "001b0c18bdc1".into(),
                decision: "approve".into(),
            },
        ];
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<HookEvent>(&json).unwrap(), event);
        }
        let json = serde_json::to_string(&HookEvent::Release {
            mac: "001b0c18bdc1".into(),
            ip: "198.18.0.100".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"event":"release","mac":"001b0c18bdc1","ip":"198.18.0.100"}"#
        );
    }

    /// A datagram is a decision, an observation, or ignored with the reason: a bad decision
    /// is told apart from a bad event (the daemon logs them differently).
    #[test]
    fn datagrams_decode_to_decisions_and_observations() {
        let roots = ["/srv/tftp".to_string()];
        let decode = |json: &str| decode_datagram(json.as_bytes(), 7, &roots);
        assert_eq!(
            decode(r#"{"event":"decision","mac":"00:1b:0c:18:bd:c1","decision":"approve"}"#),
            Ok(Datagram::Decision(
                "001B0C18BDC1".parse().unwrap(),
                Some(crate::detect::Decision::Approved)
            ))
        );
        assert!(matches!(
            decode(r#"{"event":"decision","mac":"00:1b:0c:18:bd:c1","decision":"steal"}"#),
            Err(BadDatagram::Decision(reason)) if reason.contains("unknown decision")
        ));
        assert!(matches!(
            decode(
                r#"{"event":"tftp","ip":"198.18.0.151","path":"/srv/tftp/SEP001B0C18BDC1.cnf.xml"}"#
            ),
            Ok(Datagram::Observation(Observation::Tftp(TftpSeen {
                time: 7,
                ..
            })))
        ));
        assert!(
            matches!(decode("[[["), Err(BadDatagram::Event(reason)) if reason.starts_with("not a hook event"))
        );
    }
}

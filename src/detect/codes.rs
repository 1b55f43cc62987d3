//! The stable codes of the stuck-phone diagnoses (`crate::diagnose` has one rule per code),
//! and which of them keep a phone from getting further. Here, beside the phone's record
//! that keeps its diagnoses, so the record can say `stuck` without the rules.

/// A lease and then no TFTP request: DHCP option 150/66 probably not delivered.
pub const NO_TFTP_AFTER_LEASE: &str = "no-tftp-after-lease";
/// The same `.loads` again and again, no image.
pub const FIRMWARE_LOOP: &str = "firmware-loop";
/// An image file asked for that is not in the TFTP root.
pub const IMAGE_MISSING: &str = "image-missing";
/// The config asked for with the MAC in the other case.
pub const MAC_CASE: &str = "mac-case";
/// Files asked for, never the config.
pub const CONFIG_NEVER_FETCHED: &str = "config-never-fetched";
/// A SIP secret longer than the model takes.
pub const SECRET_TOO_LONG: &str = "secret-too-long";
/// A `phoneLabel` the 7900 series refuses.
pub const PHONE_LABEL_INVALID: &str = "phone-label-invalid";
/// The config fetched by another address (a leak alert).
pub const CONFIG_FETCHED_BY_OTHER_IP: &str = "config-fetched-by-other-ip";

/// A secret only we know, and no PBX file to hand it over: the phone cannot register.
pub const SECRET_UNKNOWN_TO_PBX: &str = "secret-unknown-to-pbx";
/// The phone's own file (not ours) gives other credentials than its record.
pub const FILE_DISAGREES: &str = "file-disagrees";

/// Every code, in the order the rules run (and `status` lists them).
pub const CODES: &[&str] = &[
    NO_TFTP_AFTER_LEASE,
    FIRMWARE_LOOP,
    IMAGE_MISSING,
    MAC_CASE,
    CONFIG_NEVER_FETCHED,
    SECRET_TOO_LONG,
    PHONE_LABEL_INVALID,
    CONFIG_FETCHED_BY_OTHER_IP,
    FILE_DISAGREES,
    SECRET_UNKNOWN_TO_PBX,
];

/// Whether a diagnosis keeps the phone from getting further (its `status` is then `stuck`).
/// A leak alert and a label the phone may show oddly do not; nor does a secret the PBX does
/// not know: the phone boots and shows its line, `status` shows how far, and the diagnosis
/// says why it will not register.
pub fn is_stuck(code: &str) -> bool {
    matches!(
        code,
        NO_TFTP_AFTER_LEASE
            | FIRMWARE_LOOP
            | IMAGE_MISSING
            | MAC_CASE
            | CONFIG_NEVER_FETCHED
            | SECRET_TOO_LONG
            | FILE_DISAGREES
    )
}

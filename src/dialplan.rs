//! The phones' dial template, `dialplan.xml`: when a phone sends the number being dialled.
//!
//! The XML firmware (79x1/79x2/79x5/797x/7906/7911) reads it because `templates/SEP.cnf.xml`
//! names it in `<dialTemplate>`; the 7940/7960 SIP firmware reads it because
//! `templates/SIPDefault.cnf` says `dial_template: "dialplan"` (the 7960 of the teo capture asks
//! for `dialplan.xml` at every boot, field-evidence.md §3). Every working set in
//! `real-configs/` ships one. Without it a phone waits about 15 s after the last digit
//! (measured: usecallmanagernz.github.io pull request 8, field-evidence.md §3); with one that
//! matches nothing it waits its built-in 10 s (`DIAL_TIMEOUT` in Cisco's SIP stack, below).
//!
//! Pure: [`DialPlan`] in, text out ([`dialplan_xml`]); [`check_pattern`], [`check_plan`] and
//! [`check_extension`] let the config refuse what the phones would get wrong.
//!
//! # The format
//!
//! `<DIALTEMPLATE>` holding `<TEMPLATE MATCH="…" Timeout="…"/>` rows: the shape of
//! zencoffee-7965, mkirbst-configs_cisco7961, teo-lkml-7960, provisioner and wazo. How the
//! phones read it is in the dial-plan code of Cisco's own SIP stack, published as "sipcc" in
//! Mozilla's tree (read in Floorp-Projects/Floorp, `media/webrtc/signaling/src/sipcc/core/`:
//! `src-common/dialplan.c` `ParseDialTemplate`/`ParseDialEntry`/`MatchDialTemplate`,
//! `src-common/dialplanint.c` `dp_check_dialplan`, `src-common/util_parse.c`
//! `parse_xml_tokens`, `includes/dialplan.h`). It is the stack of the 79x1 generation; the
//! 7940/7960 firmware's code is not public, but its administrator guide ("Cisco SIP IP Phone
//! Administrator Guide", Creating Dial Plans) and Cisco's CUCM guide ("SIP Dial Rules",
//! `7940_7960_OTHER`) describe the same rules.
//!
//! - The root's name is compared without case (`dialTemplate` of usecallmanager-tftpboot works
//!   too; german-fritzbox-7960's `<dialplan>` gives the phone no rows at all); `TEMPLATE` must
//!   be upper case (usecallmanager-site/dial-template.txt; sipcc uses
//!   `strcmp`). Attribute names are compared without case (buba0-freepbx writes `TIMEOUT`,
//!   usecallmanager `match`/`timeout`); sipcc knows `MATCH`, `LINE`, `TIMEOUT`, `USER`,
//!   `REWRITE`, `ROUTE`, `TONE` and counts any other as a parse error. We write `MATCH` and
//!   `Timeout` only, as Cisco's 7940/7960 guide spells them.
//! - In `MATCH`: a digit or `#` matches itself; `.` matches one key (a digit, `*` or `#`);
//!   `*` matches one or more keys (usecallmanager-site says zero or more; sipcc's code and
//!   Cisco's 7940/7960 guide say one or more, which the model here follows); `\*` matches the
//!   star key; `,` plays a second dial tone (usecallmanager-site/dial-template.txt, CUCM "SIP
//!   Dial Rules"). Nothing else: [`check_pattern`]. An unescaped `*` eats keys until the next one equals the pattern
//!   character after it, so a `*` followed by `.` can never match fully: zencoffee-7965's
//!   `*..` (meant as "star and two digits") never fires.
//! - `Timeout` is seconds to wait for another key once the row has decided; 0 dials at once.
//! - The reader is a tokenizer, not an XML parser: a comment ends at its first `>`, a quoted
//!   value at the next `"` (no entities), a value is cut to 63 characters (a 64-byte buffer in
//!   `ParseDialEntry`), and the file may not exceed 8 KiB (`DIALPLAN_MAX_SIZE`). Our comments
//!   therefore never hold `>`, and [`check_pattern`]/[`check_plan`] keep patterns and the
//!   file within [`MAX_PATTERN_LEN`] and [`MAX_FILE_LEN`]. The XML declaration reads as a
//!   stray tag and is skipped without an error (usecallmanager-tftpboot's file has one).
//!
//! # How a phone picks a row (so order hardly matters)
//!
//! After every key the phone looks at all rows (sipcc `MatchDialTemplate`; the 7940/7960
//! guide: "rules are matched from start to finish with the longest matching rule taken …
//! matches against a period are not counted"):
//!
//! - A row *matches* when the keys so far fill it completely, and *could match* when they
//!   are the start of something it matches.
//! - Rows are ranked by how many literal keys (digits, `#`, `\*`) they matched; a `.` or `*`
//!   counts none. On equal counts an all-literal row beats one with `.`, which beats one with
//!   `*` (the kind of the last wildcard in the pattern); on full equality the earlier row wins.
//! - The best matching row decides (its `Timeout` starts) unless a row that only could match
//!   has matched more literal keys: then the phone waits for more keys, 10 s at most.
//!
//! So `112` (three literal keys) beats `....` (none) for the keys 112, and `\*\*....` (two)
//! beats `....` for `**20`. The file lists specific rows first and the catch-all `*` last, as
//! every real file does, which also makes the one tie-break (earlier row) harmless.
//!
//! # The rows, in file order
//!
//! | row | Timeout | why | source |
//! |---|---|---|---|
//! | [`DialPlan::extra`] | the config's | the site knows best; first, so they win ties | |
//! | each emergency number, literal | 0 | no one should wait to reach help | CUCM "SIP Dial Rules" (`911`, `9911`: Timeout 0); wazo `911` 0; zencoffee `000` 0 |
//! | FreePBX codes that nothing longer starts with (`\*97`, …) | 0 | see [`DialPlan::feature_codes`] | FreePBX module sources |
//! | `\*\*` and an extension's length of `.` | 0 (longest length) | FreePBX directed pickup: the phone is ringing now | FreePBX core `install.php` (`**`) |
//! | outside prefix, then `*` | catch-all | one literal key beats the extension rows, so outside numbers are never cut | matching rule above |
//! | `\**` | catch-all | star codes with a number after them (`*72` + number): `.` also matches `*`, so without this row an extension row would cut them | sipcc, CUCM "SIP Dial Rules" (`*` is matched by `.`) |
//! | an extension's length of `.` | 0 or [`SHORT_TIMEOUT`] | see [`DialPlan::extension_lengths`] | zencoffee `5..` 0; wazo `....` 1; usecallmanager-site `...` 2 |
//! | `*` | [`DialPlan::catch_all_timeout`] | anything else | every real file ends with it |
//!
//! # Caveats
//!
//! - The model in this module (used by [`check_plan`], [`check_extension`] and the tests)
//!   treats `#` as a key like the others. In sipcc's peer-to-peer mode `#` also means "dial
//!   now"; no generated row contains `#`.
//! - Whether the 7940/7960 firmware skips the XML declaration as sipcc does is not verified;
//!   the files that are known to work on a 7960 (teo-lkml-7960) have none.

use std::fmt::Write as _;

use crate::template::xml_escape;

/// The file's name in the TFTP root: what `templates/SEP.cnf.xml` names in `<dialTemplate>`
/// and what a 7940/7960 asks for after `dial_template: "dialplan"` in `SIPDefault.cnf`.
pub const FILE_NAME: &str = "dialplan.xml";

/// Seconds the catch-all row waits after the last key when the config sets none. 3 s is what
/// the working FreePBX and Asterisk files use (buba0-freepbx `*` 3, wazo `*` 3,
/// usecallmanager-tftpboot `*` 3); teo, provisioner and mkirbst use 5, zencoffee 15.
pub const DEFAULT_CATCH_ALL_TIMEOUT: u32 = 3;

/// Seconds a row waits when a longer number may still follow what it matched (an extension
/// row without an outside-line prefix, a shorter extension length next to a longer one):
/// usecallmanager-site's example gives `...` 2 s next to `.......`; wazo gives `....` 1 s.
/// Never more than the catch-all's wait.
pub const SHORT_TIMEOUT: u32 = 2;

/// The emergency numbers dialled at once when the config names none: 112 (Europe and GSM)
/// and 911 (North America).
pub const DEFAULT_EMERGENCY: [&str; 2] = ["112", "911"];

/// The longest `MATCH` the phones read whole: sipcc reads attribute values into a 64-byte
/// buffer (`ParseDialEntry`) and cuts what does not fit.
pub const MAX_PATTERN_LEN: usize = 63;

/// The largest dial template the phones load: sipcc refuses files over `DIALPLAN_MAX_SIZE`
/// (0x2000 bytes, loaded into `DIALPLAN_MAX_SIZE - 1` bytes in `dialplanint.c`).
pub const MAX_FILE_LEN: usize = 8191;

/// The longest wait [`check_plan`] accepts for a row. The firmware reads `Timeout` with
/// `atoi`, so a huge value overflows; a wait over a minute is a mistake anyway.
pub const MAX_TIMEOUT: u32 = 60;

/// The longest extension length [`check_plan`] accepts.
pub const MAX_EXTENSION_LEN: usize = 20;

/// Seconds the firmware waits for another key when no row decides (`DIAL_TIMEOUT` in sipcc's
/// `dialplan.h`).
const FIRMWARE_WAIT: u32 = 10;

/// FreePBX feature codes (after the `*`) that dial at once: default codes for which FreePBX
/// defines nothing longer, so no one ever types more after them. Checked in the modules'
/// `install.php` (the default code) and `functions.inc.php` (the dialplan it generates):
/// voicemail `*97` (exact), donotdisturb `*78`/`*79` (exact) and `*76` (its longer
/// `*76<device>` form is a BLF alias of the same toggle), infoservices `*43`, `*60`, `*65`,
/// `*69` (exact). Left out on purpose: the call-forward codes (`*72`, `*73`, `*90`, `*91`,
/// `*52`, `*53` also take a number or extension after them, `*74` starts `*740`), `*98`
/// (a mailbox may follow), `*8` (pickup, but also the start of `*80` intercom and others), the
/// blacklist's `*30`-`*32` (their dialplan not checked).
const FEATURE_CODES: [(&str, &str); 8] = [
    ("97", "my voicemail"),
    ("76", "do not disturb on/off"),
    ("78", "do not disturb on"),
    ("79", "do not disturb off"),
    ("43", "echo test"),
    ("60", "speaking clock"),
    ("65", "say my extension"),
    ("69", "call trace"),
];

/// What the site's dial plan needs (built by the config from `[dialplan]` keys; the defaults
/// without any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialPlan {
    /// Lengths of the extensions in use (`[4]` for 2000-2099; several when the inventory
    /// mixes lengths). With an outside-line prefix the longest length dials at once: every
    /// outside number starts with the prefix, so nothing longer can follow (zencoffee-7965
    /// dials its 3-digit `5..` extensions at once). A shorter length, and every length
    /// without a prefix, waits [`SHORT_TIMEOUT`] instead: a longer number may still follow
    /// (2000 is the start of 20001234), and the phone cannot tell (wazo's `....` waits 1 s,
    /// usecallmanager-site's `...` 2 s). Lengths of 0 are left out.
    pub extension_lengths: Vec<usize>,
    /// Emergency numbers, dialled the moment their last digit is typed ([`DEFAULT_EMERGENCY`]).
    /// They win over extension and outside-line rows, so a number that is the start of one
    /// the phones must dial cuts that number: an extension 1120 next to 112
    /// ([`check_extension`] finds it), a local number 911 234 dialled without a prefix.
    pub emergency: Vec<String>,
    /// Outside-line prefix (`"0"`, `"9"`), or `None` when outside numbers are dialled as
    /// they are. With a prefix, the prefix and any keys after it wait the catch-all timeout.
    pub outside_prefix: Option<String>,
    /// FreePBX feature codes. Codes vary in length (`*8`, `*97`, `*740`) and many take keys
    /// after them (`*72` + number, `**` + extension, `*` + extension for voicemail), so no
    /// single shape fits them all. With this on, the codes FreePBX continues with nothing
    /// longer dial at once (`*97` voicemail, `*76`/`*78`/`*79` do not disturb, `*43`, `*60`,
    /// `*65`, `*69`), and directed pickup (`**` + an extension) dials at once once the
    /// extension is complete. Every other star code waits the catch-all timeout, on or off.
    pub feature_codes: bool,
    /// Extra rows from the config: (pattern, timeout seconds), checked by [`check_pattern`].
    /// Written first, so they win ties with generated rows.
    pub extra: Vec<(String, u32)>,
    /// Seconds the catch-all row waits after the last key ([`DEFAULT_CATCH_ALL_TIMEOUT`]);
    /// also the wait of outside numbers and star codes. At least 1: 0 would dial after the
    /// first key.
    pub catch_all_timeout: u32,
}

impl Default for DialPlan {
    /// The default plan: the default extension range 2000-2099 (4 digits), 112 and 911, no
    /// outside-line prefix, FreePBX feature codes, a 3-second catch-all.
    fn default() -> Self {
        DialPlan {
            extension_lengths: vec![4],
            emergency: DEFAULT_EMERGENCY.iter().map(|n| n.to_string()).collect(),
            outside_prefix: None,
            feature_codes: true,
            extra: Vec::new(),
            catch_all_timeout: DEFAULT_CATCH_ALL_TIMEOUT,
        }
    }
}

/// The start of the file. No `>` and no `--` may appear in a comment (see the module docs).
const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!-- Generated by cisco-autoprov from [dialplan] in its config: edit that instead. A
     hand-edited copy of this file is left alone, and then no longer kept up to date.
     The dial template of every phone: when it sends the number being dialled. After
     each key the phone takes the matching row with the most literal keys (a . or *
     counts none) and dials when its Timeout passes without another key, at once for 0.
     While a row with more literal keys could still match, it waits for more. -->
";

/// The whole `dialplan.xml` for `plan`: a comment saying why above every row. Attribute values
/// are escaped, and a row whose pattern would be empty (a phone dials an empty pattern the
/// moment the handset is lifted) is left out with a comment; the config refuses both before
/// they get here.
pub fn dialplan_xml(plan: &DialPlan) -> String {
    let (rows, left_out) = rows(plan);
    let mut out = String::from(HEADER);
    out.push_str("<DIALTEMPLATE>\n");
    for note in left_out {
        let _ = writeln!(out, "  <!-- left out: {note} -->");
    }
    for row in &rows {
        let _ = writeln!(out, "  <!-- {} -->", row.why);
        let _ = writeln!(
            out,
            "  <TEMPLATE MATCH=\"{}\" Timeout=\"{}\"/>",
            xml_escape(&row.pattern),
            row.timeout
        );
    }
    out.push_str("</DIALTEMPLATE>\n");
    out
}

/// Whether the phones accept `pattern` as a `MATCH` and can ever match it fully: digits,
/// `#`, `.` (one key), `*` (one or more keys, at the end or before a digit, `#` or `\*`),
/// `\*` (the star key) and `,` (second dial tone, not at the end); 1 to [`MAX_PATTERN_LEN`]
/// characters. The message names the offending character, for the admin.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let chars: Vec<char> = pattern.chars().collect();
    if chars.is_empty() {
        return Err(
            "a dial pattern must not be empty: the phones would dial it as soon as the \
             handset is lifted"
                .to_string(),
        );
    }
    if chars.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "dial pattern {pattern:?} has {} characters: the phones read at most \
             {MAX_PATTERN_LEN}",
            chars.len()
        ));
    }
    for (index, &c) in chars.iter().enumerate() {
        let next = chars.get(index + 1).copied();
        match c {
            '0'..='9' | '#' | '.' => {}
            ',' if next.is_none() => {
                return Err(format!(
                    "dial pattern {pattern:?} ends with ',': a second dial tone needs keys \
                     after it"
                ));
            }
            ',' => {}
            '\\' if next != Some('*') => {
                return Err(format!(
                    "dial pattern {pattern:?}: '\\' must be followed by '*' (\\* is the star \
                     key)"
                ));
            }
            '\\' => {}
            // The star key, escaped by the backslash before it.
            '*' if index > 0 && chars[index - 1] == '\\' => {}
            '*' => match next {
                None | Some('0'..='9' | '#' | '\\') => {}
                Some(other) => {
                    return Err(format!(
                        "dial pattern {pattern:?}: '*' (any keys) must end the pattern or be \
                         followed by a digit, '#' or \\*, not {other:?}: the phones would \
                         never match it"
                    ));
                }
            },
            other => {
                return Err(format!(
                    "dial pattern {pattern:?}: {other:?} is not allowed; use digits, '.' (one \
                     key), '*' (any keys), \\* (the star key), '#' and ',' (second dial tone)"
                ));
            }
        }
    }
    Ok(())
}

/// Everything in `plan` the phones would get wrong, in the admin's words (empty: none).
/// Besides bad values it finds rows that can never take effect because another row always
/// decides first, an emergency number that would cut the outside line, and a file too large
/// for the phones.
pub fn check_plan(plan: &DialPlan) -> Vec<String> {
    let mut problems = Vec::new();
    for &length in &plan.extension_lengths {
        if !(1..=MAX_EXTENSION_LEN).contains(&length) {
            problems.push(format!(
                "extension length {length} is not usable: 1 to {MAX_EXTENSION_LEN} digits"
            ));
        }
    }
    for number in &plan.emergency {
        if !is_digits(number) {
            problems.push(format!("emergency number {number:?} must be digits only"));
        }
    }
    if let Some(prefix) = &plan.outside_prefix {
        if !is_digits(prefix) {
            problems.push(format!(
                "outside-line prefix {prefix:?} must be digits only"
            ));
        } else {
            for number in plan.emergency.iter().filter(|n| is_digits(n)) {
                if prefix.starts_with(number.as_str()) {
                    problems.push(format!(
                        "the outside-line prefix {prefix} starts with the emergency number \
                         {number}: the phones would call {number} before the prefix is complete"
                    ));
                } else if let Some(rest) = number.strip_prefix(prefix.as_str()) {
                    // With 9 and 911, the UK's 9 118 118 would call 911.
                    problems.push(format!(
                        "emergency number {number} starts with the outside-line prefix \
                         {prefix}: the phones would call {number} for every outside number \
                         that starts with {rest}; leave {number} out of the emergency numbers \
                         or use another prefix"
                    ));
                }
            }
        }
    }
    if plan.catch_all_timeout == 0 {
        problems.push(
            "a catch-all timeout of 0 s would dial after the first key: use 1 s or more"
                .to_string(),
        );
    }
    if plan.catch_all_timeout > MAX_TIMEOUT {
        problems.push(format!(
            "a catch-all timeout of {} s is more than {MAX_TIMEOUT} s",
            plan.catch_all_timeout
        ));
    }
    for (pattern, timeout) in &plan.extra {
        if let Err(problem) = check_pattern(pattern) {
            problems.push(problem);
        }
        if *timeout > MAX_TIMEOUT {
            problems.push(format!(
                "dial pattern {pattern:?} waits {timeout} s, more than {MAX_TIMEOUT} s"
            ));
        }
    }
    if !problems.is_empty() {
        // The rows below would be built from values already refused.
        return problems;
    }
    let (rows, _) = rows(plan);
    for (index, row) in rows.iter().enumerate() {
        if let Some(reason) = unreachable(&rows, index) {
            problems.push(format!(
                "the dial row {} ({}) never takes effect: {reason}",
                row.pattern, row.why
            ));
        }
    }
    let size = dialplan_xml(plan).len();
    if size > MAX_FILE_LEN {
        problems.push(format!(
            "the dial plan is {size} bytes, more than the {MAX_FILE_LEN} the phones read: use \
             fewer extra patterns"
        ));
    }
    problems
}

/// Whether the phones can dial `extension` with `plan`: refused when a row dials before its
/// last digit is typed (extension 1120 next to the emergency number 112, which would then
/// be called instead). Cheap enough to run for every extension of a range.
pub fn check_extension(plan: &DialPlan, extension: &str) -> Result<(), String> {
    let (rows, _) = rows(plan);
    match outcome(&rows, extension) {
        Outcome::Early { keys, row } => Err(format!(
            "extension {extension} cannot be dialled from the phones: they send {} as soon as \
             it is typed ({})",
            extension.chars().take(keys).collect::<String>(),
            rows[row].why
        )),
        Outcome::After { .. } => Ok(()),
    }
}

/// One `TEMPLATE` row and the comment above it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// `MATCH`, unescaped.
    pattern: String,
    /// `Timeout`, seconds.
    timeout: u32,
    /// Why the row is there: the comment, free of `>` and `--`.
    why: String,
}

/// The rows of `plan` in file order, and what was left out.
fn rows(plan: &DialPlan) -> (Vec<Row>, Vec<String>) {
    let wait = plan.catch_all_timeout;
    let short = SHORT_TIMEOUT.min(wait);
    let mut lengths: Vec<usize> = plan
        .extension_lengths
        .iter()
        .copied()
        .filter(|length| *length > 0)
        .collect();
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    lengths.dedup();
    let longest = lengths.first().copied();
    let prefix = plan.outside_prefix.as_deref().filter(|p| !p.is_empty());

    let mut rows = Vec::new();
    let mut left_out = Vec::new();
    let mut push = |pattern: String, timeout: u32, why: String| {
        rows.push(Row {
            pattern,
            timeout,
            why,
        })
    };

    for (pattern, timeout) in &plan.extra {
        if pattern.is_empty() {
            left_out.push(
                "an empty extra pattern from the config, which the phones would dial as soon \
                 as the handset is lifted"
                    .to_string(),
            );
            continue;
        }
        push(
            pattern.clone(),
            *timeout,
            format!("from the config: {}", when(*timeout)),
        );
    }
    for number in plan.emergency.iter().filter(|n| !n.is_empty()) {
        push(
            literal(number),
            0,
            format!("emergency number {}: {}", shown(number), when(0)),
        );
    }
    if plan.feature_codes {
        for (code, what) in FEATURE_CODES {
            push(
                format!("\\*{code}"),
                0,
                format!("FreePBX *{code}, {what}: {}", when(0)),
            );
        }
        for &length in &lengths {
            let timeout = if Some(length) == longest { 0 } else { short };
            let after = if timeout == 0 {
                String::new()
            } else {
                " (a longer extension may follow)".to_string()
            };
            push(
                format!("\\*\\*{}", ".".repeat(length)),
                timeout,
                format!(
                    "FreePBX ** directed pickup of a {length}-digit extension: {}{after}",
                    when(timeout)
                ),
            );
        }
    }
    if let Some(prefix) = prefix {
        push(
            format!("{}*", literal(prefix)),
            wait,
            format!(
                "outside line {}: the number after it, {}",
                shown(prefix),
                when(wait)
            ),
        );
    }
    push(
        "\\**".to_string(),
        wait,
        format!(
            "other star codes (FreePBX *72 and a number, *98, ...): {}; a . matches * too, \
             and this row keeps the extension rows from cutting them",
            when(wait)
        ),
    );
    for &length in &lengths {
        let timeout = if prefix.is_some() && Some(length) == longest {
            0
        } else {
            short
        };
        let why = if timeout == 0 {
            format!(
                "{length}-digit extensions: {} (outside numbers start with the prefix)",
                when(0)
            )
        } else if prefix.is_some() {
            format!(
                "{length}-digit extensions: {}, a longer extension may follow",
                when(timeout)
            )
        } else {
            format!(
                "{length}-digit extensions: {}, without an outside-line prefix a longer \
                 number may follow",
                when(timeout)
            )
        };
        push(".".repeat(length), timeout, why);
    }
    push(
        "*".to_string(),
        wait,
        format!("anything else: {}", when(wait)),
    );
    (rows, left_out)
}

/// "dial at once" or "dial 3 s after the last key".
fn when(timeout: u32) -> String {
    if timeout == 0 {
        "dial at once".to_string()
    } else {
        format!("dial {timeout} s after the last key")
    }
}

/// A number as a pattern that matches only itself: the star key escaped.
fn literal(number: &str) -> String {
    number.replace('*', "\\*")
}

/// A value for a comment: keys only, so nothing in it can end the comment.
fn shown(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#'))
        .collect()
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

// A model of how the phones pick a row (sipcc `MatchDialTemplate`, see the module docs),
// written from its behaviour. Tie-breaking kinds, ordered as the firmware ranks them
// (`DIAL_WILDPATTERN` < `DIAL_FULLPATTERN` < `DIAL_FULLMATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The last wildcard of the pattern is a `*`.
    Wild,
    /// The last wildcard is a `.`.
    Dots,
    /// No wildcard.
    Exact,
}

/// How one row fits the keys typed so far (all of them consumed).
#[derive(Debug, Clone, Copy)]
struct Fit {
    kind: Kind,
    /// Literal keys matched (`.` and `*` count none).
    literals: usize,
    /// The row is used up too: it matches, rather than only could match.
    complete: bool,
}

/// How `pattern` fits `keys`, or `None` when a key contradicts it.
fn fit(pattern: &[char], keys: &[char]) -> Option<Fit> {
    let (mut key, mut at) = (0, 0);
    let mut kind = Kind::Exact;
    let mut literals = 0;
    while key < keys.len() {
        while pattern.get(at) == Some(&',') {
            at += 1;
        }
        match pattern.get(at) {
            Some('.') => kind = Kind::Dots,
            Some('*') => {
                kind = Kind::Wild;
                // It takes this key and every following one up to one equal to the
                // pattern's next character (an escaped star counts as `*`).
                let stop = match pattern.get(at + 1) {
                    Some('\\') => pattern.get(at + 2),
                    other => other,
                };
                while key + 1 < keys.len() && Some(&keys[key + 1]) != stop {
                    key += 1;
                }
            }
            _ => {
                if pattern.get(at) == Some(&'\\') && at + 1 < pattern.len() {
                    at += 1;
                }
                if pattern.get(at) != Some(&keys[key]) {
                    return None;
                }
                literals += 1;
            }
        }
        key += 1;
        at += 1;
    }
    Some(Fit {
        kind,
        literals,
        complete: at >= pattern.len(),
    })
}

/// The row that decides after `keys`, or `None` when the phone waits [`FIRMWARE_WAIT`] for
/// more keys (a row that could still match has matched more literal keys, or nothing fits).
fn select(rows: &[Row], keys: &str) -> Option<usize> {
    let keys: Vec<char> = keys.chars().collect();
    let mut result: Option<Kind> = None;
    let mut chosen = None;
    let mut best_literals = 0;
    let mut partial_literals = 0;
    let mut partial_kind: Option<Kind> = None;
    let mut partial_seen = false;
    for (index, row) in rows.iter().enumerate() {
        let pattern: Vec<char> = row.pattern.chars().collect();
        let Some(fit) = fit(&pattern, &keys) else {
            continue;
        };
        // Every fitting row could match; the one with most literals makes the phone wait.
        if fit.literals > partial_literals
            || (fit.literals == partial_literals && Some(fit.kind) > partial_kind)
        {
            partial_kind = Some(fit.kind);
            partial_literals = fit.literals;
            partial_seen = true;
            result = None;
            chosen = Some(index);
        }
        if fit.complete
            && (fit.literals > best_literals
                || (fit.literals == best_literals && Some(fit.kind) > result)
                || (fit.kind == Kind::Wild && result.is_none() && !partial_seen))
        {
            chosen = Some(index);
            best_literals = fit.literals;
            result = Some(fit.kind);
        }
        best_literals = best_literals.max(fit.literals);
    }
    result.and(chosen)
}

/// What happens when `keys` are typed at a normal pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A row with Timeout 0 sent the first `keys` keys before the rest was typed.
    Early { keys: usize, row: usize },
    /// All keys were typed; `row` decides and the phone dials `wait` seconds later (`None`:
    /// no row decided, the firmware's own wait).
    After { row: Option<usize>, wait: u32 },
}

fn outcome(rows: &[Row], keys: &str) -> Outcome {
    let keys: Vec<char> = keys.chars().collect();
    for typed in 1..keys.len() {
        let prefix: String = keys[..typed].iter().collect();
        if let Some(row) = select(rows, &prefix) {
            if rows[row].timeout == 0 {
                return Outcome::Early { keys: typed, row };
            }
        }
    }
    let all: String = keys.iter().collect();
    match select(rows, &all) {
        Some(row) => Outcome::After {
            row: Some(row),
            wait: rows[row].timeout,
        },
        None => Outcome::After {
            row: None,
            wait: FIRMWARE_WAIT,
        },
    }
}

/// Key sequences a row is meant for: each `.` and `*` filled with one digit, `\*` a star.
fn witnesses(pattern: &str) -> Vec<String> {
    let mut all: Vec<String> = ('0'..='9')
        .map(|fill| {
            let mut keys = String::new();
            let mut chars = pattern.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'*') => {
                        chars.next();
                        keys.push('*');
                    }
                    '.' | '*' => keys.push(fill),
                    ',' => {}
                    c => keys.push(c),
                }
            }
            keys
        })
        .filter(|keys| !keys.is_empty())
        .collect();
    all.dedup();
    all
}

/// Why row `index` never decides a call (`None`: some key sequence it is meant for reaches it).
fn unreachable(rows: &[Row], index: usize) -> Option<String> {
    let tries = witnesses(&rows[index].pattern);
    let mut first_reason = None;
    for keys in &tries {
        let reason = match outcome(rows, keys) {
            Outcome::After { row: Some(row), .. } if row == index => return None,
            Outcome::Early { keys: typed, row } => format!(
                "for {keys} the phones send {} early by {} ({})",
                &keys[..typed],
                rows[row].pattern,
                rows[row].why
            ),
            Outcome::After { row: Some(row), .. } => format!(
                "for {keys} the phones take {} ({})",
                rows[row].pattern, rows[row].why
            ),
            Outcome::After { row: None, .. } => {
                format!("for {keys} the phones wait for a longer row")
            }
        };
        first_reason.get_or_insert(reason);
    }
    Some(first_reason.unwrap_or_else(|| "it matches no keys".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(change: impl FnOnce(&mut DialPlan)) -> DialPlan {
        let mut plan = DialPlan::default();
        change(&mut plan);
        plan
    }

    /// What typing `keys` does, in words: `"<row> after <n> s"`, `"sends <keys> early by
    /// <row>"` or `"no row, <n> s"` (the firmware's own wait).
    fn describe(plan: &DialPlan, keys: &str) -> String {
        let (rows, _) = rows(plan);
        match outcome(&rows, keys) {
            Outcome::Early { keys: typed, row } => format!(
                "sends {} early by {}",
                keys.chars().take(typed).collect::<String>(),
                rows[row].pattern
            ),
            Outcome::After {
                row: Some(row),
                wait,
            } => format!("{} after {wait} s", rows[row].pattern),
            Outcome::After { row: None, wait } => format!("no row, {wait} s"),
        }
    }

    #[track_caller]
    fn check(plan: &DialPlan, table: &[(&str, &str)]) {
        for (keys, want) in table {
            assert_eq!(describe(plan, keys), *want, "keys {keys}");
        }
    }

    // The attributes the real files put on TEMPLATE: MATCH and Timeout (zencoffee-7965,
    // mkirbst-configs_cisco7961, teo-lkml-7960, provisioner/sip79x1G-dialplan.xml,
    // wazo_cisco_sip-dialplan.xml), TIMEOUT (buba0-freepbx), Rewrite (zencoffee-7965), match
    // and timeout (usecallmanager-tftpboot); usecallmanager-site/dial-template.txt documents
    // line, rewrite and tone too. sipcc reads these names without case and refuses others.
    const FIRMWARE_ATTRIBUTES: [&str; 7] = [
        "MATCH", "LINE", "TIMEOUT", "USER", "REWRITE", "ROUTE", "TONE",
    ];

    /// The rows of a dial template as an XML parser sees it, under the phones' rules: the
    /// root's name without case (a root that is not DIALTEMPLATE holds nothing the phone
    /// uses), TEMPLATE in capitals, attribute names without case and from the firmware's set.
    fn read_templates(xml: &str) -> Result<Vec<(String, u32)>, String> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
        let root = doc.root_element();
        if !root.tag_name().name().eq_ignore_ascii_case("DIALTEMPLATE") {
            return Ok(Vec::new());
        }
        let mut rows = Vec::new();
        for node in root.children().filter(|n| n.is_element()) {
            match node.tag_name().name() {
                "TEMPLATE" => {}
                name if name.eq_ignore_ascii_case("versionStamp") => continue,
                name => return Err(format!("element {name} in the dial template")),
            }
            let mut pattern = None;
            let mut timeout = FIRMWARE_WAIT;
            for attribute in node.attributes() {
                let name = attribute.name().to_ascii_uppercase();
                if !FIRMWARE_ATTRIBUTES.contains(&name.as_str()) {
                    return Err(format!("attribute {} on TEMPLATE", attribute.name()));
                }
                match name.as_str() {
                    "MATCH" => pattern = Some(attribute.value().to_string()),
                    "TIMEOUT" => timeout = attribute.value().parse().map_err(|_| "timeout")?,
                    _ => {}
                }
            }
            rows.push((pattern.ok_or("TEMPLATE without MATCH")?, timeout));
        }
        Ok(rows)
    }

    /// A token of sipcc's `parse_xml_tokens`, which the phones read the file with.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Token {
        Open,
        Close,
        End,
        Empty,
        Equals,
        Text(String),
        Word(String),
        Junk,
    }

    /// The file cut into tokens the way the phones do it: `<!` skips to the first `>`, a
    /// quoted value runs to the next `"` without entities, values are cut to 63 bytes.
    fn firmware_tokens(text: &str) -> Vec<Token> {
        let bytes = text.as_bytes();
        let cut = |s: &str| s.chars().take(MAX_PATTERN_LEN).collect::<String>();
        let mut tokens = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            if byte.is_ascii_whitespace() {
                at += 1;
            } else if byte == b'<' {
                at += 1;
                if bytes.get(at) == Some(&b'/') {
                    at += 1;
                    tokens.push(Token::Close);
                } else if bytes.get(at) != Some(&b'!') {
                    tokens.push(Token::Open);
                } else {
                    while at < bytes.len() && bytes[at] != b'>' {
                        at += 1;
                    }
                    at += 1;
                }
            } else if byte == b'/' && bytes.get(at + 1) == Some(&b'>') {
                at += 2;
                tokens.push(Token::Empty);
            } else if byte == b'>' {
                at += 1;
                tokens.push(Token::End);
            } else if byte == b'=' {
                at += 1;
                tokens.push(Token::Equals);
            } else if byte == b'"' {
                let Some(end) = text[at + 1..].find('"') else {
                    break;
                };
                tokens.push(Token::Text(cut(&text[at + 1..at + 1 + end])));
                at += end + 2;
            } else if byte.is_ascii_alphanumeric() || byte == b'{' {
                let start = at;
                at += 1;
                while at < bytes.len()
                    && (bytes[at].is_ascii_alphanumeric() || matches!(bytes[at], b'-' | b'}'))
                {
                    at += 1;
                }
                tokens.push(Token::Word(cut(&text[start..at])));
            } else {
                at += 1;
                tokens.push(Token::Junk);
            }
        }
        tokens
    }

    /// The rows the phones take from `text` (sipcc `ParseDialTemplate`/`ParseDialEntry`) and
    /// how many errors they count.
    fn firmware_read(text: &str) -> (Vec<(String, u32)>, usize) {
        let tokens = firmware_tokens(text);
        let mut at = 0;
        let (mut rows, mut errors) = (Vec::new(), 0);
        let (mut inside, mut look_key, mut look_end) = (false, false, false);
        while at < tokens.len() {
            let token = &tokens[at];
            at += 1;
            if look_end {
                match token {
                    Token::End => look_end = false,
                    Token::Word(w) if w.eq_ignore_ascii_case("DIALTEMPLATE") => inside = false,
                    _ => {}
                }
                continue;
            }
            match token {
                Token::Open => look_key = true,
                Token::Word(w) if look_key && w.eq_ignore_ascii_case("DIALTEMPLATE") => {
                    inside = true
                }
                Token::Word(w) if look_key && w == "TEMPLATE" => {
                    match firmware_entry(&tokens, &mut at) {
                        Some(row) if inside => rows.push(row),
                        _ => errors += 1,
                    }
                }
                Token::Word(w) if look_key && w.eq_ignore_ascii_case("versionStamp") => {
                    let want = [Token::End, Token::Close, Token::End];
                    let ok = inside
                        && tokens.get(at) == Some(&want[0])
                        && matches!(tokens.get(at + 1), Some(Token::Word(_)))
                        && tokens.get(at + 2) == Some(&want[1])
                        && tokens.get(at + 3) == Some(&Token::Word("versionStamp".into()))
                        && tokens.get(at + 4) == Some(&want[2]);
                    if ok {
                        at += 5;
                    } else {
                        errors += 1;
                    }
                }
                Token::Close => look_end = true,
                _ => look_key = false,
            }
        }
        (rows, errors)
    }

    /// One `<TEMPLATE …/>` after its name; `None` on a parse error.
    fn firmware_entry(tokens: &[Token], at: &mut usize) -> Option<(String, u32)> {
        let (mut pattern, mut timeout) = (String::new(), FIRMWARE_WAIT);
        let (mut name, mut equals) = (None::<String>, false);
        loop {
            let token = tokens.get(*at)?;
            *at += 1;
            match token {
                Token::Word(w) if name.is_none() => {
                    let upper = w.to_ascii_uppercase();
                    if !FIRMWARE_ATTRIBUTES.contains(&upper.as_str()) {
                        return None;
                    }
                    name = Some(upper);
                }
                Token::Equals if name.is_some() && !equals => equals = true,
                Token::Text(value) if equals => {
                    match name.as_deref() {
                        Some("MATCH") => pattern = value.clone(),
                        Some("TIMEOUT") => timeout = value.parse().ok()?,
                        _ => {}
                    }
                    name = None;
                    equals = false;
                }
                Token::Empty if name.is_none() => return Some((pattern, timeout)),
                _ => return None,
            }
        }
    }

    const GOLDEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by cisco-autoprov from [dialplan] in its config: edit that instead. A
     hand-edited copy of this file is left alone, and then no longer kept up to date.
     The dial template of every phone: when it sends the number being dialled. After
     each key the phone takes the matching row with the most literal keys (a . or *
     counts none) and dials when its Timeout passes without another key, at once for 0.
     While a row with more literal keys could still match, it waits for more. -->
<DIALTEMPLATE>
  <!-- emergency number 112: dial at once -->
  <TEMPLATE MATCH="112" Timeout="0"/>
  <!-- emergency number 911: dial at once -->
  <TEMPLATE MATCH="911" Timeout="0"/>
  <!-- FreePBX *97, my voicemail: dial at once -->
  <TEMPLATE MATCH="\*97" Timeout="0"/>
  <!-- FreePBX *76, do not disturb on/off: dial at once -->
  <TEMPLATE MATCH="\*76" Timeout="0"/>
  <!-- FreePBX *78, do not disturb on: dial at once -->
  <TEMPLATE MATCH="\*78" Timeout="0"/>
  <!-- FreePBX *79, do not disturb off: dial at once -->
  <TEMPLATE MATCH="\*79" Timeout="0"/>
  <!-- FreePBX *43, echo test: dial at once -->
  <TEMPLATE MATCH="\*43" Timeout="0"/>
  <!-- FreePBX *60, speaking clock: dial at once -->
  <TEMPLATE MATCH="\*60" Timeout="0"/>
  <!-- FreePBX *65, say my extension: dial at once -->
  <TEMPLATE MATCH="\*65" Timeout="0"/>
  <!-- FreePBX *69, call trace: dial at once -->
  <TEMPLATE MATCH="\*69" Timeout="0"/>
  <!-- FreePBX ** directed pickup of a 4-digit extension: dial at once -->
  <TEMPLATE MATCH="\*\*...." Timeout="0"/>
  <!-- other star codes (FreePBX *72 and a number, *98, ...): dial 3 s after the last key; a . matches * too, and this row keeps the extension rows from cutting them -->
  <TEMPLATE MATCH="\**" Timeout="3"/>
  <!-- 4-digit extensions: dial 2 s after the last key, without an outside-line prefix a longer number may follow -->
  <TEMPLATE MATCH="...." Timeout="2"/>
  <!-- anything else: dial 3 s after the last key -->
  <TEMPLATE MATCH="*" Timeout="3"/>
</DIALTEMPLATE>
"#;

    #[test]
    fn golden_default() {
        assert_eq!(dialplan_xml(&DialPlan::default()), GOLDEN);
        assert_eq!(check_plan(&DialPlan::default()), Vec::<String>::new());
    }

    /// The plans the tests look at: the default, outside-line prefixes, mixed extension
    /// lengths, no feature codes, no extensions, extra rows.
    fn plans() -> Vec<(&'static str, DialPlan)> {
        vec![
            ("default", DialPlan::default()),
            ("prefix 0", plan(|p| p.outside_prefix = Some("0".into()))),
            ("prefix 00", plan(|p| p.outside_prefix = Some("00".into()))),
            (
                "3 and 4 digits",
                plan(|p| p.extension_lengths = vec![3, 4, 3]),
            ),
            (
                "3 and 4 digits, prefix 0",
                plan(|p| {
                    p.extension_lengths = vec![4, 3];
                    p.outside_prefix = Some("0".into());
                }),
            ),
            (
                "2 digits, prefix 0",
                plan(|p| {
                    p.extension_lengths = vec![2];
                    p.outside_prefix = Some("0".into());
                }),
            ),
            ("no feature codes", plan(|p| p.feature_codes = false)),
            (
                "no extensions, no emergency numbers",
                plan(|p| {
                    p.extension_lengths.clear();
                    p.emergency.clear();
                }),
            ),
            (
                "extra rows, 5 s catch-all",
                plan(|p| {
                    p.extra = vec![("5..".into(), 0), ("001*".into(), 5)];
                    p.catch_all_timeout = 5;
                }),
            ),
        ]
    }

    // The rows' rules, each against its source, for the default plan (no outside-line prefix).
    #[test]
    fn dialling_the_default_plan() {
        check(
            &DialPlan::default(),
            &[
                // Emergency numbers at once: CUCM "SIP Dial Rules" (911 and 9911 with timeout
                // 0), wazo_cisco_sip-dialplan.xml `911` Timeout 0, zencoffee `000` Timeout 0.
                ("112", "112 after 0 s"),
                ("911", "911 after 0 s"),
                // FreePBX codes nothing longer starts with, at once (voicemail and
                // donotdisturb modules; wazo dials its `\*..` codes at once too).
                ("*97", "\\*97 after 0 s"),
                ("*78", "\\*78 after 0 s"),
                ("*79", "\\*79 after 0 s"),
                // Codes that take keys after them wait like the catch-all and are never cut:
                // FreePBX callforward generates `_*72.`, `_*73.` (extension), voicemail `*98`
                // prompts or takes a mailbox.
                ("*72", "\\** after 3 s"),
                ("*722001", "\\** after 3 s"),
                ("*7307111234567", "\\** after 3 s"),
                ("*98", "\\** after 3 s"),
                ("*8", "\\** after 3 s"),
                ("*740", "\\** after 3 s"),
                // Directed pickup (FreePBX core `**`) at once when the extension is complete.
                ("**2001", "\\*\\*.... after 0 s"),
                // Without a prefix a 4-digit extension waits SHORT_TIMEOUT: wazo `....` 1 s,
                // usecallmanager-site `...` 2 s next to `.......`.
                ("2000", ".... after 2 s"),
                // ... so an outside number is never cut at 4 digits.
                ("07111234567", "* after 3 s"),
                ("2025551234", "* after 3 s"),
                // The catch-all has a short timeout: buba0-freepbx `*` TIMEOUT 3, wazo `*` 3,
                // usecallmanager-tftpboot `*` 3.
                ("123", "* after 3 s"),
                ("5", "* after 3 s"),
                // Half-typed rows make the phone wait its own 10 s (sipcc DIAL_TIMEOUT).
                ("11", "no row, 10 s"),
                ("*9", "no row, 10 s"),
                // An emergency number cuts an extension that starts with it.
                ("1120", "sends 112 early by 112"),
            ],
        );
    }

    #[test]
    fn dialling_with_an_outside_line_prefix() {
        let with_prefix = plan(|p| p.outside_prefix = Some("0".into()));
        check(
            &with_prefix,
            &[
                // Extensions at once: outside numbers start with the prefix (zencoffee dials
                // its `5..` extensions at once because its outside rows all start otherwise).
                ("2000", ".... after 0 s"),
                ("200", "* after 3 s"),
                // The prefix row (one literal key) wins over `....` (none): never cut.
                ("07111234567", "0* after 3 s"),
                ("0711", "0* after 3 s"),
                ("0", "no row, 10 s"),
                ("112", "112 after 0 s"),
                ("0112", "0* after 3 s"),
                // `.` matches `*` too, so only the star row keeps `*722` from the extensions.
                ("*722", "\\** after 3 s"),
                ("*722001", "\\** after 3 s"),
                ("*97", "\\*97 after 0 s"),
                ("**2001", "\\*\\*.... after 0 s"),
            ],
        );
    }

    #[test]
    fn several_extension_lengths() {
        let mixed = plan(|p| p.extension_lengths = vec![3, 4]);
        check(
            &mixed,
            &[
                ("200", "... after 2 s"),
                ("2000", ".... after 2 s"),
                ("**200", "\\*\\*... after 2 s"),
                ("**2000", "\\*\\*.... after 0 s"),
                ("20000", "* after 3 s"),
            ],
        );
        let mixed_with_prefix = plan(|p| {
            p.extension_lengths = vec![3, 4];
            p.outside_prefix = Some("9".into());
            p.emergency = vec!["112".into()];
        });
        check(
            &mixed_with_prefix,
            &[
                // The shorter length is the start of the longer one: it waits.
                ("200", "... after 2 s"),
                ("2000", ".... after 0 s"),
                ("912125551234", "9* after 3 s"),
            ],
        );
        let xml = dialplan_xml(&mixed_with_prefix);
        assert!(xml.contains("<!-- 4-digit extensions: dial at once (outside numbers start with the prefix) -->\n  <TEMPLATE MATCH=\"....\" Timeout=\"0\"/>\n"), "{xml}");
        assert!(xml.contains("<!-- 3-digit extensions: dial 2 s after the last key, a longer extension may follow -->\n  <TEMPLATE MATCH=\"...\" Timeout=\"2\"/>\n"), "{xml}");
    }

    #[test]
    fn no_outside_line_prefix_never_cuts_a_longer_number() {
        for (name, plan) in plans() {
            if plan.outside_prefix.is_some() || !plan.extra.is_empty() {
                continue;
            }
            let (rows, _) = rows(&plan);
            assert!(
                rows.iter()
                    .filter(|r| r.pattern.chars().all(|c| c == '.'))
                    .all(|r| r.timeout == SHORT_TIMEOUT),
                "{name}"
            );
            for number in ["07111234567", "2025551234", "20001", "301234567"] {
                assert!(
                    matches!(outcome(&rows, number), Outcome::After { .. }),
                    "{name}: {number} {}",
                    describe(&plan, number)
                );
            }
        }
    }

    // "Patterns must not overlap in a way that makes one unreachable."
    #[test]
    fn every_row_is_reachable() {
        for (name, plan) in plans() {
            let (rows, _) = rows(&plan);
            for index in 0..rows.len() {
                assert_eq!(unreachable(&rows, index), None, "{name}: row {index}");
            }
            assert_eq!(check_plan(&plan), Vec::<String>::new(), "{name}");
        }
    }

    // The model against the examples Cisco's own code and documents give for the rule.
    #[test]
    fn the_model_picks_rows_as_the_firmware_says() {
        let rows_of = |rows: &[(&str, u32)]| -> Vec<Row> {
            rows.iter()
                .map(|(pattern, timeout)| Row {
                    pattern: pattern.to_string(),
                    timeout: *timeout,
                    why: String::new(),
                })
                .collect()
        };
        let pick = |rows: &[Row], keys: &str| select(rows, keys).map(|i| rows[i].pattern.clone());
        // sipcc dialplan.c: "9011*" and "9.11": 9011 goes with the first, though incomplete
        // (the phone waits), in either order.
        for rows in [
            rows_of(&[("9011*", 5), ("9.11", 0)]),
            rows_of(&[("9.11", 0), ("9011*", 5)]),
        ] {
            assert_eq!(pick(&rows, "9011"), None);
            assert_eq!(pick(&rows, "90111"), Some("9011*".into()));
            assert_eq!(pick(&rows, "9511"), Some("9.11".into()));
        }
        // A complete row loses only to one that could match with more literal keys: on equal
        // counts it decides, so 1120 can never be dialled next to 112.
        for rows in [
            rows_of(&[("112", 0), ("1120", 0)]),
            rows_of(&[("1120", 0), ("112", 0)]),
        ] {
            assert_eq!(pick(&rows, "112"), Some("112".into()));
        }
        // "*" must not beat "9......." for 94694210; "97." before "9..", in either order.
        for rows in [
            rows_of(&[("*", 3), ("9.......", 0)]),
            rows_of(&[("9.......", 0), ("*", 3)]),
        ] {
            assert_eq!(pick(&rows, "94694210"), Some("9.......".into()));
        }
        for rows in [
            rows_of(&[("9..", 1), ("97.", 0)]),
            rows_of(&[("97.", 0), ("9..", 1)]),
        ] {
            assert_eq!(pick(&rows, "971"), Some("97.".into()));
            assert_eq!(pick(&rows, "981"), Some("9..".into()));
        }
        // usecallmanager-site/dial-template.txt's example.
        let rows = rows_of(&[
            ("3..", 1),
            ("...", 2),
            (".......", 2),
            ("0........", 2),
            ("*", 3),
        ]);
        assert_eq!(pick(&rows, "300"), Some("3..".into()));
        assert_eq!(pick(&rows, "123"), Some("...".into()));
        assert_eq!(pick(&rows, "1234567"), Some(".......".into()));
        assert_eq!(pick(&rows, "012345678"), Some("0........".into()));
        assert_eq!(pick(&rows, "12345"), Some("*".into()));
        // zencoffee-7965's `*..` never matches fully (the `*` takes every key, as none equals
        // `.`): its star codes fall to the `*` row; check_pattern refuses such a pattern.
        let rows = rows_of(&[("*..", 0), ("*", 15)]);
        assert_eq!(pick(&rows, "*97"), Some("*".into()));
        assert!(check_pattern("*..").is_err());
        // An escaped star is the star key; a period matches it too (CUCM "SIP Dial Rules").
        let rows = rows_of(&[("\\*..", 0), ("....", 0)]);
        assert_eq!(pick(&rows, "*97"), Some("\\*..".into()));
        assert_eq!(pick(&rows, "*972"), Some("....".into()));
        // Commas are skipped; the phone waits at one.
        let rows = rows_of(&[("9,.......", 0)]);
        assert_eq!(pick(&rows, "9"), None);
        assert_eq!(pick(&rows, "95551234"), Some("9,.......".into()));
    }

    #[test]
    fn the_output_is_what_the_phones_and_an_xml_parser_read() {
        for (name, plan) in plans() {
            let xml = dialplan_xml(&plan);
            assert!(xml.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Generated by cisco-autoprov"
            ));
            let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "DIALTEMPLATE");
            for node in root.children().filter(|n| n.is_element()) {
                assert_eq!(node.tag_name().name(), "TEMPLATE", "{name}");
                let names: Vec<&str> = node.attributes().map(|a| a.name()).collect();
                assert_eq!(names, ["MATCH", "Timeout"], "{name}");
                assert!(
                    FIRMWARE_ATTRIBUTES.contains(&"MATCH")
                        && FIRMWARE_ATTRIBUTES.contains(&"TIMEOUT")
                );
                assert!(
                    check_pattern(node.attribute("MATCH").unwrap()).is_ok(),
                    "{name}"
                );
            }
            // A comment above each row; none holds a `>` before its end (the phones end a
            // comment at the first one) or a `--`.
            let comments: Vec<&str> = root
                .children()
                .filter(|n| n.is_comment())
                .filter_map(|n| n.text())
                .collect();
            let (rows, _) = rows(&plan);
            assert_eq!(comments.len(), rows.len(), "{name}");
            for comment in doc.descendants().filter(|n| n.is_comment()) {
                let text = comment.text().unwrap();
                assert!(!text.contains('>') && !text.contains('<'), "{name}: {text}");
            }
            // The phones' own reader takes the same rows, without an error.
            let xml_rows = read_templates(&xml).unwrap();
            let want: Vec<(String, u32)> = rows
                .iter()
                .map(|r| (r.pattern.clone(), r.timeout))
                .collect();
            assert_eq!(xml_rows, want, "{name}");
            assert_eq!(firmware_read(&xml), (want, 0), "{name}");
            assert!(xml.len() < MAX_FILE_LEN, "{name}: {} bytes", xml.len());
        }
    }

    /// A shape of a real file: what it is, the text, and the rows the reader must find.
    type Shape<'a> = (&'a str, &'a str, &'a [(&'a str, u32)]);

    // The test readers against the shapes the real files have (written here, not copied).
    #[test]
    fn the_readers_take_the_shapes_of_the_real_files() {
        let shapes: &[Shape] = &[
            (
                // teo-lkml-7960, provisioner/sip79x1G-dialplan.xml, mkirbst 7961.
                "capitals, a comment after the row",
                "<DIALTEMPLATE>\n  <TEMPLATE MATCH=\"*\" Timeout=\"4\"/> <!-- the rest -->\n</DIALTEMPLATE>\n",
                &[("*", 4)],
            ),
            (
                // buba0-freepbx.
                "TIMEOUT in capitals",
                "<DIALTEMPLATE>\n<TEMPLATE MATCH=\"*\" TIMEOUT=\"2\"/>\n</DIALTEMPLATE>",
                &[("*", 2)],
            ),
            (
                // usecallmanager-tftpboot/DialTemplate.xml.
                "declaration, lower-case root and attributes, versionStamp",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dialTemplate>\n  <versionStamp>0a1b-2c3d</versionStamp>\n  <TEMPLATE match=\"..\" timeout=\"1\" />\n  <TEMPLATE match=\"*\" timeout=\"4\" />\n</dialTemplate>\n",
                &[("..", 1), ("*", 4)],
            ),
            (
                // zencoffee-7965 (Rewrite), wazo (escaped star).
                "Rewrite, escaped star, blank lines",
                "<DIALTEMPLATE>\n\n <TEMPLATE MATCH=\"7.........\" Timeout=\"0\" Rewrite=\"0.........\"/>\n\t<TEMPLATE MATCH=\"\\*.\" Timeout=\"2\"/>\n</DIALTEMPLATE>",
                &[("7.........", 0), ("\\*.", 2)],
            ),
            (
                // german-fritzbox-7960: a root the phones do not look into.
                "another root",
                "<dialplan>\n</dialplan>\n",
                &[],
            ),
        ];
        for (name, text, want) in shapes {
            let want: Vec<(String, u32)> = want.iter().map(|(p, t)| (p.to_string(), *t)).collect();
            assert_eq!(read_templates(text), Ok(want.clone()), "{name}");
            assert_eq!(firmware_read(text), (want, 0), "{name}");
        }
        // The readers are strict where the phones are.
        let bad_attribute = "<DIALTEMPLATE><TEMPLATE MATCH=\"1\" Wait=\"1\"/></DIALTEMPLATE>";
        assert!(read_templates(bad_attribute).is_err());
        assert_eq!(firmware_read(bad_attribute), (vec![], 1));
        let lower_template = "<DIALTEMPLATE><template MATCH=\"1\" Timeout=\"1\"/></DIALTEMPLATE>";
        assert!(read_templates(lower_template).is_err());
        assert_eq!(firmware_read(lower_template).0, vec![]);
        // A `>` inside a comment ends it early for the phones, and a quote then swallows
        // the next row: what an XML parser reads is no longer what the phones read.
        let broken =
            "<DIALTEMPLATE><!-- a > \"b --><TEMPLATE MATCH=\"1\" Timeout=\"0\"/></DIALTEMPLATE>";
        assert_eq!(read_templates(broken), Ok(vec![("1".to_string(), 0)]));
        assert_ne!(firmware_read(broken).0, vec![("1".to_string(), 0)]);
    }

    #[test]
    fn check_pattern_accepts_what_the_phones_match() {
        for pattern in [
            "5..",
            "112",
            "\\*97",
            "\\*\\*....",
            "0*",
            "00*",
            "*",
            "9,1..........",
            "13........",
            "1.*5",
            "2*\\*1",
            "#",
            "*#",
            &"1".repeat(MAX_PATTERN_LEN),
        ] {
            assert_eq!(check_pattern(pattern), Ok(()), "{pattern}");
        }
    }

    #[test]
    fn check_pattern_refuses_hostile_and_dead_patterns() {
        // (pattern, what the message must name)
        let table: &[(&str, &str)] = &[
            ("", "must not be empty"),
            ("12\"3", "'\"'"),
            ("1<2", "'<'"),
            ("1>2", "'>'"),
            ("1&2", "'&'"),
            ("1831-", "'-'"),
            ("[1-8]..", "'['"),
            ("12 3", "' '"),
            ("9x", "'x'"),
            ("1\n2", "'\\n'"),
            ("2ü", "'ü'"),
            ("*..", "not '.'"),
            ("**", "not '*'"),
            ("9*,1", "not ','"),
            ("\\5", "'\\' must be followed by '*'"),
            ("12\\", "'\\' must be followed by '*'"),
            ("9,", "ends with ','"),
            (&"1".repeat(MAX_PATTERN_LEN + 1), "at most 63"),
        ];
        for (pattern, named) in table {
            let message = check_pattern(pattern).expect_err(pattern);
            assert!(message.contains(named), "{pattern:?}: {message}");
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(!message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn hostile_extra_patterns_are_escaped_anyway() {
        let hostile = plan(|p| {
            p.extra = vec![
                (
                    "1\"/><TEMPLATE MATCH=\"*\" Timeout=\"0\"/><x a=\"".into(),
                    1,
                ),
                ("a&b<c>'d".into(), 2),
                (String::new(), 0),
            ];
        });
        let xml = dialplan_xml(&hostile);
        let rows = read_templates(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(
            rows[0].0,
            "1\"/><TEMPLATE MATCH=\"*\" Timeout=\"0\"/><x a=\""
        );
        assert_eq!(rows[1], ("a&b<c>'d".to_string(), 2));
        assert!(xml.contains("&quot;/&gt;&lt;TEMPLATE"), "{xml}");
        // The empty one is left out with a comment: the phones would dial it off-hook.
        assert!(rows.iter().all(|(pattern, _)| !pattern.is_empty()));
        assert!(
            xml.contains("<!-- left out: an empty extra pattern"),
            "{xml}"
        );
        // The phones still see one row per generated row (no injected TEMPLATE).
        let (want, _) = super::rows(&hostile);
        assert_eq!(firmware_read(&xml).0.len(), want.len(), "{xml}");
        let problems = check_plan(&hostile);
        assert!(problems.iter().any(|p| p.contains("'\"'")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("'a'")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("must not be empty")),
            "{problems:?}"
        );
    }

    #[test]
    fn hostile_numbers_stay_out_of_comments() {
        let hostile = plan(|p| {
            p.emergency = vec!["11-->2<".into()];
            p.outside_prefix = Some("0-->".into());
        });
        let xml = dialplan_xml(&hostile);
        roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert!(
            xml.contains("<!-- emergency number 112: dial at once -->"),
            "{xml}"
        );
        let problems = check_plan(&hostile);
        assert_eq!(
            problems,
            [
                "emergency number \"11-->2<\" must be digits only",
                "outside-line prefix \"0-->\" must be digits only",
            ]
        );
    }

    #[test]
    fn check_plan_names_what_the_phones_would_get_wrong() {
        let table: Vec<(DialPlan, &str)> = vec![
            (plan(|p| p.extension_lengths = vec![0]), "extension length 0 is not usable"),
            (plan(|p| p.extension_lengths = vec![21]), "extension length 21 is not usable"),
            (plan(|p| p.catch_all_timeout = 0), "would dial after the first key"),
            (plan(|p| p.catch_all_timeout = 61), "more than 60 s"),
            (plan(|p| p.extra = vec![("5..".into(), 61)]), "waits 61 s"),
            (
                plan(|p| p.outside_prefix = Some("9".into())),
                "emergency number 911 starts with the outside-line prefix 9: the phones would call 911 for every outside number that starts with 11; leave 911 out of the emergency numbers or use another prefix",
            ),
            (
                plan(|p| p.outside_prefix = Some("1".into())),
                "emergency number 112 starts with the outside-line prefix 1",
            ),
            (
                plan(|p| p.outside_prefix = Some("1120".into())),
                "the outside-line prefix 1120 starts with the emergency number 112: the phones would call 112 before the prefix is complete",
            ),
            // A row that another one always beats.
            (
                plan(|p| p.extra = vec![("....".into(), 1)]),
                "the dial row .... (4-digit extensions",
            ),
            (
                plan(|p| p.extra = vec![("11".into(), 0)]),
                "the dial row 112 (emergency number 112: dial at once) never takes effect: for 112 the phones send 11 early by 11 (from the config: dial at once)",
            ),
            (
                plan(|p| {
                    p.extra = (0..80).map(|i| (format!("7{i:02}....."), 0)).collect();
                }),
                "bytes, more than the 8191 the phones read",
            ),
        ];
        for (plan, want) in table {
            let problems = check_plan(&plan);
            assert!(
                problems.iter().any(|p| p.contains(want)),
                "want {want:?} in {problems:?}"
            );
            for problem in &problems {
                assert!(problem.starts_with(char::is_lowercase), "{problem}");
            }
        }
    }

    #[test]
    fn check_extension_finds_extensions_the_phones_cut() {
        let default = DialPlan::default();
        for extension in ["2000", "2099", "1006", "100", "7777", "97"] {
            assert_eq!(check_extension(&default, extension), Ok(()), "{extension}");
        }
        assert_eq!(
            check_extension(&default, "1120"),
            Err("extension 1120 cannot be dialled from the phones: they send 112 as soon as it is typed (emergency number 112: dial at once)".to_string())
        );
        assert!(check_extension(&default, "9110").is_err());
        // With a prefix the longest extensions dial at once: a longer one is cut by them.
        let with_prefix = plan(|p| {
            p.outside_prefix = Some("0".into());
            p.extension_lengths = vec![4];
        });
        assert_eq!(check_extension(&with_prefix, "2000"), Ok(()));
        assert!(check_extension(&with_prefix, "20001").is_err());
    }

    #[test]
    fn feature_codes_off_leaves_the_star_row() {
        let off = plan(|p| p.feature_codes = false);
        let xml = dialplan_xml(&off);
        assert!(!xml.contains("\\*97") && !xml.contains("\\*\\*"), "{xml}");
        check(
            &off,
            &[
                ("*97", "\\** after 3 s"),
                ("*722001", "\\** after 3 s"),
                ("**2001", "\\** after 3 s"),
            ],
        );
    }

    #[test]
    fn the_file_name_is_the_one_the_phones_ask_for() {
        assert_eq!(FILE_NAME, "dialplan.xml");
        let sep = include_str!("../templates/SEP.cnf.xml");
        assert!(sep.contains(&format!("<dialTemplate>{FILE_NAME}</dialTemplate>")));
        let sip_default = include_str!("../templates/SIPDefault.cnf");
        assert!(sip_default.contains("dial_template: \"dialplan\""));
    }
}

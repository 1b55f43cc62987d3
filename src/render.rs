//! Phone files as text. Pure: values in, file contents out.
//!
//! `SEP<MAC>.cnf.xml` follows the structure of the working example in seed 000 (a 7941 on
//! SIP firmware registering to Asterisk), with the seed's defects left out: no default SSH
//! credentials, no mismatched tags. The registrar goes into `callManagerGroup` and every line
//! says `<proxy>USECALLMANAGER</proxy>`, as the 79x1-and-newer SIP firmware requires
//! (cisco-facts.md section 4b). Every value is XML-escaped.

use std::fmt::Write;

use crate::mac::Mac;

/// Longest `phoneLabel` the 79xx firmware shows (cisco-facts.md section 4b).
pub const MAX_PHONE_LABEL: usize = 12;

/// Site-wide values every phone file carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site<'a> {
    /// SIP registrar host or IP.
    pub pbx_host: &'a str,
    /// SIP registrar port.
    pub pbx_port: u16,
    /// Number the Messages key dials.
    pub voicemail: &'a str,
    /// NTP server.
    pub ntp_server: &'a str,
    /// Cisco time zone name.
    pub time_zone: &'a str,
}

/// One phone's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// SIP user name and extension.
    pub extension: &'a str,
    /// SIP secret.
    pub secret: &'a str,
    /// Caller name and button label; the extension when absent.
    pub label: Option<&'a str>,
}

/// The name of a phone's XML config file: `SEP001B0C18BDC1.cnf.xml` (MAC upper-case, as the
/// phones ask for it).
pub fn sep_file_name(mac: Mac) -> String {
    format!("SEP{mac}.cnf.xml")
}

/// The shared default file the XML firmware asks for when its own file is missing.
pub const XML_DEFAULT: &str = "XMLDefault.cnf.xml";

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0; config checks keep them out, this
            // keeps the output well-formed whatever comes in.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The `phoneLabel` (top right of the display): the label without spaces (the 7900 series
/// rejects them), else the extension, cut to 12 characters.
pub fn phone_label(line: &Line<'_>) -> String {
    let source = line.label.unwrap_or(line.extension);
    source
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(MAX_PHONE_LABEL)
        .collect()
}

/// `SEP<MAC>.cnf.xml` for the SIP firmware of 79x1/79x2/79x5/797x/7906/7911 and newer.
pub fn sep_cnf_xml(site: &Site<'_>, line: &Line<'_>) -> String {
    let e = xml_escape;
    let display = line.label.unwrap_or(line.extension);
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by cisco-autoprov. Edit the inventory in its config instead: a hand-edited copy
     of this file is left alone, and then no longer kept up to date. -->
<device xsi:type="axl:XIPPhone" ctiid="1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:axl="http://www.cisco.com/AXL/API/1.0">
  <deviceProtocol>SIP</deviceProtocol>
  <devicePool>
    <dateTimeSetting>
      <dateTemplate>D/M/Ya</dateTemplate>
      <timeZone>{time_zone}</timeZone>
      <ntps>
        <ntp>
          <name>{ntp}</name>
          <ntpMode>Unicast</ntpMode>
        </ntp>
      </ntps>
    </dateTimeSetting>
{call_manager_group}  </devicePool>
  <sipProfile>
    <sipProxies>
      <registerWithProxy>true</registerWithProxy>
    </sipProxies>
    <sipCallFeatures>
      <cnfJoinEnabled>true</cnfJoinEnabled>
      <callForwardURI>x-cisco-serviceuri-cfwdall</callForwardURI>
      <callPickupURI>x-cisco-serviceuri-pickup</callPickupURI>
      <callPickupListURI>x-cisco-serviceuri-opickup</callPickupListURI>
      <callPickupGroupURI>x-cisco-serviceuri-gpickup</callPickupGroupURI>
      <meetMeServiceURI>x-cisco-serviceuri-meetme</meetMeServiceURI>
      <abbreviatedDialURI>x-cisco-serviceuri-abbrdial</abbreviatedDialURI>
      <rfc2543Hold>false</rfc2543Hold>
      <callHoldRingback>2</callHoldRingback>
      <localCfwdEnable>true</localCfwdEnable>
      <semiAttendedTransfer>true</semiAttendedTransfer>
      <anonymousCallBlock>2</anonymousCallBlock>
      <callerIdBlocking>2</callerIdBlocking>
      <dndControl>0</dndControl>
      <remoteCcEnable>true</remoteCcEnable>
    </sipCallFeatures>
    <sipStack>
      <sipInviteRetx>6</sipInviteRetx>
      <sipRetx>10</sipRetx>
      <timerInviteExpires>180</timerInviteExpires>
      <timerRegisterExpires>3600</timerRegisterExpires>
      <timerRegisterDelta>5</timerRegisterDelta>
      <timerKeepAliveExpires>120</timerKeepAliveExpires>
      <timerSubscribeExpires>120</timerSubscribeExpires>
      <timerSubscribeDelta>5</timerSubscribeDelta>
      <timerT1>500</timerT1>
      <timerT2>4000</timerT2>
      <maxRedirects>70</maxRedirects>
      <remotePartyID>false</remotePartyID>
      <userInfo>None</userInfo>
    </sipStack>
    <autoAnswerTimer>1</autoAnswerTimer>
    <autoAnswerAltBehavior>false</autoAnswerAltBehavior>
    <autoAnswerOverride>true</autoAnswerOverride>
    <transferOnhookEnabled>false</transferOnhookEnabled>
    <enableVad>false</enableVad>
    <preferredCodec>g711ulaw</preferredCodec>
    <dtmfAvtPayload>101</dtmfAvtPayload>
    <dtmfDbLevel>3</dtmfDbLevel>
    <dtmfOutofBand>avt</dtmfOutofBand>
    <alwaysUsePrimeLine>false</alwaysUsePrimeLine>
    <alwaysUsePrimeLineVoiceMail>false</alwaysUsePrimeLineVoiceMail>
    <kpml>3</kpml>
    <natEnabled>false</natEnabled>
    <natAddress></natAddress>
    <phoneLabel>{phone_label}</phoneLabel>
    <stutterMsgWaiting>1</stutterMsgWaiting>
    <callStats>false</callStats>
    <silentPeriodBetweenCallWaitingBursts>10</silentPeriodBetweenCallWaitingBursts>
    <disableLocalSpeedDialConfig>false</disableLocalSpeedDialConfig>
    <startMediaPort>16384</startMediaPort>
    <stopMediaPort>32766</stopMediaPort>
    <sipLines>
      <line button="1">
        <featureID>9</featureID>
        <featureLabel>{display}</featureLabel>
        <proxy>USECALLMANAGER</proxy>
        <port>{port}</port>
        <name>{extension}</name>
        <displayName>{display}</displayName>
        <autoAnswer>
          <autoAnswerEnabled>2</autoAnswerEnabled>
        </autoAnswer>
        <callWaiting>3</callWaiting>
        <authName>{extension}</authName>
        <authPassword>{secret}</authPassword>
        <sharedLine>false</sharedLine>
        <messageWaitingLampPolicy>1</messageWaitingLampPolicy>
        <messagesNumber>{voicemail}</messagesNumber>
        <ringSettingIdle>4</ringSettingIdle>
        <ringSettingActive>5</ringSettingActive>
        <contact>{extension}</contact>
        <forwardCallInfoDisplay>
          <callerName>true</callerName>
          <callerNumber>true</callerNumber>
          <redirectedNumber>false</redirectedNumber>
          <dialedNumber>true</dialedNumber>
        </forwardCallInfoDisplay>
      </line>
    </sipLines>
    <voipControlPort>5060</voipControlPort>
    <dscpForAudio>184</dscpForAudio>
    <ringSettingBusyStationPolicy>0</ringSettingBusyStationPolicy>
    <dialTemplate>dialplan.xml</dialTemplate>
  </sipProfile>
  <commonProfile>
    <phonePassword></phonePassword>
    <backgroundImageAccess>true</backgroundImageAccess>
    <callLogBlfEnabled>2</callLogBlfEnabled>
  </commonProfile>
  <vendorConfig>
    <disableSpeaker>false</disableSpeaker>
    <disableSpeakerAndHeadset>false</disableSpeakerAndHeadset>
    <pcPort>0</pcPort>
    <settingsAccess>1</settingsAccess>
    <garp>0</garp>
    <voiceVlanAccess>0</voiceVlanAccess>
    <videoCapability>0</videoCapability>
    <autoSelectLineEnable>0</autoSelectLineEnable>
    <webAccess>0</webAccess>
    <spanToPCPort>1</spanToPCPort>
    <loggingDisplay>1</loggingDisplay>
    <loadServer></loadServer>
  </vendorConfig>
  <versionStamp></versionStamp>
  <userLocale>
    <name>English_United_States</name>
    <uid>1</uid>
    <langCode>en_US</langCode>
    <version>1.0.0.0-1</version>
    <winCharSet>iso-8859-1</winCharSet>
  </userLocale>
  <networkLocale>United_States</networkLocale>
  <networkLocaleInfo>
    <name>United_States</name>
    <uid>64</uid>
    <version>1.0.0.0-1</version>
  </networkLocaleInfo>
  <deviceSecurityMode>1</deviceSecurityMode>
  <authenticationURL></authenticationURL>
  <directoryURL></directoryURL>
  <idleURL></idleURL>
  <informationURL></informationURL>
  <messagesURL></messagesURL>
  <proxyServerURL></proxyServerURL>
  <servicesURL></servicesURL>
  <dscpForSCCPPhoneConfig>96</dscpForSCCPPhoneConfig>
  <dscpForSCCPPhoneServices>0</dscpForSCCPPhoneServices>
  <dscpForCm2Dvce>96</dscpForCm2Dvce>
  <transportLayerProtocol>2</transportLayerProtocol>
  <capfAuthMode>0</capfAuthMode>
  <capfList>
    <capf>
      <phonePort>3804</phonePort>
    </capf>
  </capfList>
  <certHash></certHash>
  <encrConfig>false</encrConfig>
</device>
"#,
        time_zone = e(site.time_zone),
        ntp = e(site.ntp_server),
        call_manager_group = call_manager_group(site, "    "),
        port = site.pbx_port,
        phone_label = e(&phone_label(line)),
        display = e(display),
        extension = e(line.extension),
        secret = e(line.secret),
        voicemail = e(site.voicemail),
    );
    out
}

/// The registrar as the XML firmware wants it, indented by `indent`: SIP goes to
/// `processNodeName` on `sipPort`.
fn call_manager_group(site: &Site<'_>, indent: &str) -> String {
    let lines = [
        "<callManagerGroup>".to_string(),
        "  <members>".to_string(),
        "    <member priority=\"0\">".to_string(),
        "      <callManager>".to_string(),
        "        <ports>".to_string(),
        "          <ethernetPhonePort>2000</ethernetPhonePort>".to_string(),
        format!("          <sipPort>{}</sipPort>", site.pbx_port),
        "          <securedSipPort>5061</securedSipPort>".to_string(),
        "        </ports>".to_string(),
        format!(
            "        <processNodeName>{}</processNodeName>",
            xml_escape(site.pbx_host)
        ),
        "      </callManager>".to_string(),
        "    </member>".to_string(),
        "  </members>".to_string(),
        "</callManagerGroup>".to_string(),
    ];
    lines
        .iter()
        .map(|line| format!("{indent}{line}\n"))
        .collect()
}

/// `XMLDefault.cnf.xml`: what a phone without its own file (or still on SCCP) reads. It
/// names the registrar; per-model `loadInformation` entries are added by the caller from the
/// firmware present in the TFTP root (`loads`: device type, model description, load name).
pub fn xml_default(site: &Site<'_>, loads: &[(u32, &str, &str)]) -> String {
    let e = xml_escape;
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by cisco-autoprov. -->
<Default>
{}"#,
        call_manager_group(site, "  ")
    );
    for (device_type, model, load) in loads {
        let _ = writeln!(
            out,
            "  <loadInformation{device_type} model=\"{}\">{}</loadInformation{device_type}>",
            e(model),
            e(load)
        );
    }
    out.push_str(
        "  <authenticationURL></authenticationURL>
  <directoryURL></directoryURL>
  <idleURL></idleURL>
  <informationURL></informationURL>
  <messagesURL></messagesURL>
  <servicesURL></servicesURL>
</Default>
",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site<'static> {
        Site {
            pbx_host: "198.18.0.10",
            pbx_port: 5060,
            voicemail: "*97",
            ntp_server: "198.18.0.1",
            time_zone: "Central Europe Standard/Daylight Time",
        }
    }

    /// Parses with a real XML parser and returns the text of the first element named `tag`.
    fn text_of(xml: &str, tag: &str) -> String {
        let doc = roxmltree::Document::parse(xml)
            .unwrap_or_else(|err| panic!("not well-formed: {err}\n{xml}"));
        doc.descendants()
            .find(|node| node.has_tag_name(tag))
            .and_then(|node| node.text().map(str::to_string))
            .unwrap_or_default()
    }

    #[test]
    fn sep_file_carries_the_line() {
        let line = Line {
            extension: "1006",
            secret: "s3cret",
            label: Some("Thomas"),
        };
        let xml = sep_cnf_xml(&site(), &line);
        assert_eq!(text_of(&xml, "processNodeName"), "198.18.0.10");
        assert_eq!(text_of(&xml, "sipPort"), "5060");
        assert_eq!(
            text_of(&xml, "name"),
            "198.18.0.1",
            "first <name> is the ntp server"
        );
        assert_eq!(text_of(&xml, "authName"), "1006");
        assert_eq!(text_of(&xml, "authPassword"), "s3cret");
        assert_eq!(text_of(&xml, "displayName"), "Thomas");
        assert_eq!(text_of(&xml, "phoneLabel"), "Thomas");
        assert_eq!(text_of(&xml, "proxy"), "USECALLMANAGER");
        assert!(!xml.contains("sshPassword"));
    }

    #[test]
    fn every_value_is_escaped() {
        let nasty = "a<b>&\"c'</authPassword>";
        let line = Line {
            extension: "1006",
            secret: nasty,
            label: Some("R&D <lab>"),
        };
        let site = Site {
            pbx_host: "pbx&co",
            time_zone: "<tz>",
            ..site()
        };
        let xml = sep_cnf_xml(&site, &line);
        assert_eq!(text_of(&xml, "authPassword"), nasty);
        assert_eq!(text_of(&xml, "displayName"), "R&D <lab>");
        assert_eq!(text_of(&xml, "timeZone"), "<tz>");
        assert_eq!(text_of(&xml, "processNodeName"), "pbx&co");
        let with_control = Line {
            secret: "a\u{1}b",
            ..line
        };
        assert_eq!(
            text_of(&sep_cnf_xml(&site, &with_control), "authPassword"),
            "ab"
        );
    }

    #[test]
    fn phone_label_fits_the_display() {
        let label = |label: Option<&str>, extension: &str| {
            phone_label(&Line {
                extension,
                secret: "x",
                label,
            })
        };
        assert_eq!(label(None, "1006"), "1006");
        assert_eq!(label(Some("Front Desk"), "1006"), "FrontDesk");
        assert_eq!(label(Some("Reception Main Hall"), "1"), "ReceptionMai");
        assert_eq!(label(Some("Zoë Ångström"), "1"), "ZoëÅngström");
    }

    #[test]
    fn xml_default_is_well_formed() {
        let xml = xml_default(
            &site(),
            &[
                (115, "Cisco 7941", "SIP41.9-4-2SR3-1S"),
                (8, "Cisco 7940", "P0S3-8-12-00"),
            ],
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let loads: Vec<(String, String)> = doc
            .descendants()
            .filter(|node| node.tag_name().name().starts_with("loadInformation"))
            .map(|node| {
                (
                    node.tag_name().name().to_string(),
                    node.text().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            loads,
            [
                (
                    "loadInformation115".to_string(),
                    "SIP41.9-4-2SR3-1S".to_string()
                ),
                ("loadInformation8".to_string(), "P0S3-8-12-00".to_string()),
            ]
        );
        assert_eq!(text_of(&xml, "processNodeName"), "198.18.0.10");
    }

    #[test]
    fn file_names() {
        assert_eq!(
            sep_file_name("00:1b:0c:18:bd:c1".parse().unwrap()),
            "SEP001B0C18BDC1.cnf.xml"
        );
    }
}

//! Golden files per family, and a table test over every model row.

use super::*;
use crate::config::SpeedDial;
use crate::models;

fn site() -> Site<'static> {
    let berlin = crate::timezone::resolve("Europe/Berlin").unwrap();
    Site {
        pbx_host: "198.18.0.10",
        pbx_port: 5060,
        voicemail: "*97",
        ntp_server: "198.18.0.1",
        time_zone: berlin.xml_zone,
        time_zone_7940: berlin.sip_zone,
        clock_7940: berlin.sipdefault_lines(),
        tftp_server: Some("198.18.0.1".into()),
        network_locale: "United_States",
    }
}

fn phone(model: Option<&str>, load: Option<&'static str>) -> PhoneView<'static> {
    let model = model.map(|name| Model::by_name(name).unwrap());
    PhoneView {
        mac: "001B0C18BDC1".parse().unwrap(),
        model,
        extension: "1006",
        secret: "s3cret",
        label: Some("Thomas Müller"),
        load,
        speed_dials: &[],
        addon_modules: &[],
        transport: crate::config::TransportChoice::Auto.for_model(model),
        lines: Vec::new(),
        phone_password: "7305",
        ring: crate::config::Ring::Ring,
    }
}

/// Compares with `tests/data/golden/NAME`; `UPDATE_GOLDEN=1` rewrites the files (review the
/// diff against cisco-facts.md before committing).
#[track_caller]
fn check_golden(name: &str, text: &str) {
    let path = format!("{}/tests/data/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{path}: {err} (run with UPDATE_GOLDEN=1)"));
    assert_eq!(text, expected, "{name} differs from its golden file");
}

fn text_of(xml: &str, tag: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml)
        .unwrap_or_else(|err| panic!("not well-formed: {err}\n{xml}"));
    doc.descendants()
        .find(|node| node.has_tag_name(tag))
        .map(|node| node.text().unwrap_or("").to_string())
}

#[test]
fn golden_files_per_family() {
    let templates = Templates::built_in();
    let files = phone_files(
        &templates,
        &site(),
        &phone(Some("7941"), Some("SIP41.9-4-2SR3-1S")),
    );
    assert_eq!(files.len(), 1);
    check_golden("SEP001B0C18BDC1-7941.cnf.xml", &files[0].1);

    let files = phone_files(
        &templates,
        &site(),
        &phone(Some("7940"), Some("P0S3-8-12-00")),
    );
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["SEP001B0C18BDC1.cnf.xml", "SIP001B0C18BDC1.cnf"]);
    check_golden("SIP001B0C18BDC1-7940.cnf", &files[1].1);
    assert_eq!(
        text_of(&files[0].1, "loadInformation").as_deref(),
        Some("P0S3-8-12-00"),
        "the SCCP firmware converts"
    );

    let shared = SharedView {
        loads: vec![
            (115, "Cisco 7941".into(), "SIP41.9-4-2SR3-1S".into()),
            (8, "Cisco 7940".into(), "P0S3-8-12-00".into()),
            (7, "Cisco 7960".into(), "P0S3-8-12-00".into()),
        ],
        image_7940: Some("P0S3-8-12-00".into()),
        universal_loader: Some("P003-8-12-00".into()),
        dialplan: None,
    };
    let files = shared_files(&templates, &site(), &shared);
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["XMLDefault.cnf.xml", "SIPDefault.cnf", "OS79XX.TXT"]
    );
    check_golden("XMLDefault.cnf.xml", &files[0].1);
    check_golden("SIPDefault.cnf", &files[1].1);
    // OS79XX.TXT names the universal loader, as the two working 8.12 guides do
    // (real-configs/teo-lkml-7960/OS79XX.TXT, german-fritzbox-7960/OS79XX.TXT): the SIP
    // load's own name has no .bin/.sbn to boot (field-evidence.md §3).
    assert_eq!(files[2].1, "P003-8-12-00\n");
    // No universal loader in the root: no OS79XX.TXT.
    let shared = SharedView {
        universal_loader: None,
        ..shared
    };
    let names: Vec<String> = shared_files(&templates, &site(), &shared)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["XMLDefault.cnf.xml", "SIPDefault.cnf"]);
}

#[test]
fn sep_file_carries_the_line_and_escapes_everything() {
    let templates = Templates::built_in();
    let mut view = phone(Some("7962"), None);
    view.secret = "a<b>&\"c'";
    view.label = Some("R&D <lab>");
    let site = Site {
        pbx_host: "pbx&co",
        ..site()
    };
    let files = phone_files(&templates, &site, &view);
    let xml = &files[0].1;
    assert_eq!(text_of(xml, "authPassword").as_deref(), Some("a<b>&\"c'"));
    assert_eq!(text_of(xml, "authName").as_deref(), Some("1006"));
    assert_eq!(text_of(xml, "displayName").as_deref(), Some("R&D <lab>"));
    assert_eq!(text_of(xml, "phoneLabel").as_deref(), Some("R&D<lab>"));
    assert_eq!(text_of(xml, "processNodeName").as_deref(), Some("pbx&co"));
    assert_eq!(text_of(xml, "proxy").as_deref(), Some("USECALLMANAGER"));
    assert_eq!(
        text_of(xml, "loadInformation"),
        None,
        "no load present, none named"
    );
    assert!(!xml.contains("sshPassword"));
}

/// Every row of the model table: the right files, each well-formed, the load where known.
#[test]
fn every_model_row() {
    let templates = Templates::built_in();
    for info in models::all() {
        let model = Model::by_name(info.name).unwrap();
        let view = PhoneView {
            model: Some(model),
            load: Some("LOAD.1-2-3"),
            ..phone(None, None)
        };
        let files = phone_files(&templates, &site(), &view);
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        let expected: &[&str] = match model.family() {
            Some(ConfigFamily::Sepxml) => &["SEP001B0C18BDC1.cnf.xml"],
            Some(ConfigFamily::Sipcnf) => &["SEP001B0C18BDC1.cnf.xml", "SIP001B0C18BDC1.cnf"],
            None => &[],
        };
        assert_eq!(names, expected, "model {}", info.name);
        for (name, text) in &files {
            if name.ends_with(".xml") {
                assert_eq!(
                    text_of(text, "loadInformation").as_deref(),
                    Some("LOAD.1-2-3"),
                    "{}",
                    info.name
                );
                assert_eq!(text_of(text, "authPassword").as_deref(), Some("s3cret"));
            } else {
                assert!(
                    text.contains("line1_password: \"s3cret\"\n"),
                    "{}",
                    info.name
                );
            }
        }
    }
    // Model not known yet: only the 7940/7960 SIP file; the XML phones read XMLDefault.
    let files = phone_files(&templates, &site(), &phone(None, None));
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["SIP001B0C18BDC1.cnf"]);
}

#[test]
fn labels_fit_the_displays() {
    assert_eq!(short_label(None, "1006", MAX_PHONE_LABEL), "1006");
    assert_eq!(
        short_label(Some("Front Desk"), "1", MAX_PHONE_LABEL),
        "FrontDesk"
    );
    assert_eq!(
        short_label(Some("Reception Main Hall"), "1", MAX_PHONE_LABEL),
        "ReceptionMai"
    );
    assert_eq!(
        short_label(Some("Reception Main Hall"), "1", MAX_PHONE_LABEL_7940),
        "ReceptionMa"
    );
    assert_eq!(
        short_label(Some("Zoë Ångström"), "1", MAX_PHONE_LABEL),
        "ZoëÅngström"
    );
    assert_eq!(
        sep_file_name("00:1b:0c:18:bd:c1".parse().unwrap()),
        "SEP001B0C18BDC1.cnf.xml"
    );
    assert_eq!(
        sip_file_name("00:1b:0c:18:bd:c1".parse().unwrap()),
        "SIP001B0C18BDC1.cnf"
    );
}

/// Speed dials fill the buttons after the line, as many as the model (and its expansion
/// modules) has; seed 000's BLF button is feature 21 with option mask 1.
#[test]
fn speed_dials_fit_the_buttons() {
    let templates = Templates::built_in();
    let dials: Vec<SpeedDial> = (0..30)
        .map(|n| SpeedDial {
            number: format!("{}", 100 + n),
            label: (n == 0).then(|| "11 Monika".to_string()),
            blf: n == 0,
        })
        .collect();
    let count_buttons = |model: Option<&str>, kems: &[String]| {
        let view = PhoneView {
            speed_dials: &dials,
            addon_modules: kems,
            ..phone(model, None)
        };
        let xml = &phone_files(&templates, &site(), &view)[0].1;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let lines: Vec<roxmltree::Node> = doc
            .descendants()
            .filter(|n| n.has_tag_name("line"))
            .collect();
        if lines.len() > 1 {
            let first = lines[1];
            let text = |tag: &str| {
                first
                    .descendants()
                    .find(|n| n.has_tag_name(tag))
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .to_string()
            };
            assert_eq!(first.attribute("button"), Some("2"));
            assert_eq!(text("featureID"), "21");
            assert_eq!(text("featureLabel"), "11 Monika");
            assert_eq!(text("speedDialNumber"), "100");
            assert_eq!(text("featureOptionMask"), "1");
        }
        lines.len()
    };
    assert_eq!(
        count_buttons(Some("7911"), &[]),
        1,
        "one button: the line only"
    );
    assert_eq!(count_buttons(Some("7941"), &[]), 2);
    assert_eq!(count_buttons(Some("7965"), &[]), 6);
    assert_eq!(count_buttons(Some("7965"), &["7914".to_string()]), 20);
    // Model unknown: no SEP file at all (the phone reads XMLDefault.cnf.xml, see render.rs);
    // the speed dials come with the file once the model is known.
    let unknown = PhoneView {
        speed_dials: &dials,
        ..phone(None, None)
    };
    assert!(phone_files(&templates, &site(), &unknown)
        .iter()
        .all(|(name, _)| !name.ends_with(".xml")));
}

/// The XML firmware's file names the transport its endpoint uses, and lights the lamp on a
/// waiting message. `transportLayerProtocol` 1 is TCP, 2 UDP; usecallmanager.nz
/// (`real-configs/usecallmanager-site/sepmac-cnf-xml.txt`) says to use TCP: the phones cause
/// SIP retransmit errors over UDP. `messageWaitingLampPolicy` 1 only shows a prompt, 3
/// lights the lamp too (same page; `real-configs/zencoffee-7965` and the usecallmanager
/// tftpboot use 3). field-evidence.md §1, §3.
#[test]
fn transport_and_message_lamp_from_the_evidence() {
    use crate::config::TransportChoice;
    let templates = Templates::built_in();
    for (model, choice, want) in [
        ("7941", TransportChoice::Auto, "1"),
        ("7965", TransportChoice::Auto, "1"),
        ("7911", TransportChoice::Tcp, "1"),
        ("7965", TransportChoice::Udp, "2"),
    ] {
        let view = PhoneView {
            transport: choice.for_model(Model::by_name(model)),
            ..phone(Some(model), None)
        };
        let xml = &phone_files(&templates, &site(), &view)[0].1;
        assert_eq!(
            text_of(xml, "transportLayerProtocol").as_deref(),
            Some(want),
            "{model} {choice:?}"
        );
        assert_eq!(
            text_of(xml, "messageWaitingLampPolicy").as_deref(),
            Some("3")
        );
    }
    // G.722 is advertised where the endpoint allows it (zencoffee-7965 and the usecallmanager
    // tftpboot set advertiseG722Codec 1; field-evidence.md §3), and only there.
    for (model, want) in [
        ("7965", "1"),
        ("7942", "1"),
        ("7975", "1"),
        ("7941", "0"),
        ("7970", "0"),
    ] {
        let xml = &phone_files(&templates, &site(), &phone(Some(model), None))[0].1;
        assert_eq!(
            text_of(xml, "advertiseG722Codec").as_deref(),
            Some(want),
            "{model}"
        );
        assert_eq!(
            crate::pbx::offers_g722(Some(model)),
            want == "1",
            "the endpoint allows g722 exactly where the phone offers it"
        );
        // The files are UTF-8 (labels like "Thomas Müller"): the locale says so
        // (usecallmanager tftpboot SEPMAC.cnf.xml: utf-8).
        assert_eq!(text_of(xml, "winCharSet").as_deref(), Some("utf-8"));
    }
    // The network locale is the site's (tones); the edge gives the default when the
    // locale's directory is not in the TFTP root.
    let germany = Site {
        network_locale: "Germany",
        ..site()
    };
    let xml = &phone_files(&templates, &germany, &phone(Some("7941"), None))[0].1;
    assert_eq!(text_of(xml, "networkLocale").as_deref(), Some("Germany"));
    // The 7940/7960 SIP firmware has no transport setting in any working configuration
    // (real-configs/teo-lkml-7960, german-fritzbox-7960, mkirbst-configs_cisco7960): UDP
    // whatever the choice, and its endpoint says so too.
    for choice in [TransportChoice::Auto, TransportChoice::Tcp] {
        assert_eq!(
            choice.for_model(Model::by_name("7940")),
            crate::config::SipTransport::Udp
        );
    }
    // A phone whose model is not known yet gets UDP, which every family does.
    assert_eq!(
        TransportChoice::Auto.for_model(None),
        crate::config::SipTransport::Udp
    );
}

/// Lines 2..n take the buttons after line 1, each with its own name, auth name and secret,
/// before the speed dials (usecallmanager.nz line-keys: a line is feature 9; with a plain
/// Asterisk every line registers with its own credentials). The model's buttons bound them
/// (data/cisco-models.toml `line_buttons`: 7941 two, 7965 six); the 7940/7960 SIP firmware
/// takes `lineN_*` keys (real-configs/teo-lkml-7960/SIP000E84C060A6.cnf has line1_*; the
/// same keys with N).
#[test]
fn extra_lines_take_the_buttons_before_the_speed_dials() {
    let templates = Templates::built_in();
    let lines = [
        LineView {
            extension: "1007",
            secret: "line-2",
            label: Some("Sales"),
        },
        LineView {
            extension: "1008",
            secret: "line-3",
            label: None,
        },
    ];
    let dials = [SpeedDial {
        number: "11".into(),
        label: None,
        blf: false,
    }];
    let view = |model: &str| PhoneView {
        lines: lines.to_vec(),
        speed_dials: &dials,
        ..phone(Some(model), None)
    };
    let xml = &phone_files(&templates, &site(), &view("7965"))[0].1;
    let doc = roxmltree::Document::parse(xml).unwrap();
    let buttons: Vec<(String, String, Option<String>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("line"))
        .map(|n| {
            let child = |tag: &str| {
                n.children()
                    .find(|c| c.has_tag_name(tag))
                    .and_then(|c| c.text())
                    .map(str::to_string)
            };
            (
                n.attribute("button").unwrap().to_string(),
                child("featureID").unwrap(),
                child("authPassword").or_else(|| child("speedDialNumber")),
            )
        })
        .collect();
    let row = |button: &str, feature: &str, value: &str| {
        (
            button.to_string(),
            feature.to_string(),
            Some(value.to_string()),
        )
    };
    assert_eq!(
        buttons,
        [
            row("1", "9", "s3cret"),
            row("2", "9", "line-2"),
            row("3", "9", "line-3"),
            row("4", "2", "11"),
        ]
    );
    // A 7941 has two buttons: line 1 and line 2; line 3 and the speed dial do not fit.
    let xml = &phone_files(&templates, &site(), &view("7941"))[0].1;
    assert!(xml.contains("<name>1007</name>") && !xml.contains("1008"));
    assert!(!xml.contains("<speedDialNumber>"));
    // The 7960 SIP firmware: line2_*/line3_* keys.
    let files = phone_files(&templates, &site(), &view("7960"));
    let cnf = &files
        .iter()
        .find(|(name, _)| name.ends_with(".cnf"))
        .unwrap()
        .1;
    for want in [
        "line2_name: \"1007\"\n",
        "line2_authname: \"1007\"\n",
        "line2_password: \"line-2\"\n",
        "line2_shortname: \"Sales\"\n",
        "line3_name: \"1008\"\n",
        "line3_password: \"line-3\"\n",
    ] {
        assert!(cnf.contains(want), "{want:?} missing:\n{cnf}");
    }
}

/// The settings password replaces the factory `cisco` (the 7940/7960 default, noted in
/// real-configs/mkirbst-configs_cisco7960/SIPDefault.cnf; the working files all set one),
/// and the ringer follows the config (usecallmanager.nz ringSettingIdle: 1 off, 2 flash,
/// 3 ring once, 4 ring). Background and idle URLs stay empty by default.
#[test]
fn phone_password_ring_and_urls() {
    let templates = Templates::built_in();
    let view = PhoneView {
        phone_password: "7305",
        ring: crate::config::Ring::Flash,
        ..phone(Some("7941"), None)
    };
    let xml = &phone_files(&templates, &site(), &view)[0].1;
    assert_eq!(text_of(xml, "phonePassword").as_deref(), Some("7305"));
    assert_eq!(text_of(xml, "ringSettingIdle").as_deref(), Some("2"));
    for url in [
        "idleURL",
        "authenticationURL",
        "informationURL",
        "servicesURL",
    ] {
        assert_eq!(text_of(xml, url).as_deref(), Some(""), "{url} empty");
    }
    let view = PhoneView {
        phone_password: "7305",
        ..phone(Some("7940"), None)
    };
    let files = phone_files(&templates, &site(), &view);
    let cnf = &files
        .iter()
        .find(|(name, _)| name.ends_with(".cnf"))
        .unwrap()
        .1;
    assert!(cnf.contains("phone_password: \"7305\"\n"), "{cnf}");
    assert!(!cnf.contains("\"cisco\""));
}

/// Every phone file names a dial template that exists in the root (issue 12: "every file
/// names a dial template that exists in the root"): the XML firmware reads the name in
/// `<dialTemplate>`, the 7940/7960 `dial_template: "dialplan"` + `.xml`
/// (real-configs/teo-lkml-7960-as-fetched: the 7960 fetched `dialplan.xml`). A user template
/// of that name wins over the generated one.
#[test]
fn every_file_names_a_dial_template_that_exists() {
    let templates = Templates::built_in();
    let shared = SharedView {
        dialplan: Some(crate::dialplan::dialplan_xml(
            &crate::dialplan::DialPlan::default(),
        )),
        ..SharedView::default()
    };
    let names: Vec<String> = shared_files(&templates, &site(), &shared)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for model in ["7941", "7965", "7940"] {
        for (name, text) in phone_files(&templates, &site(), &phone(Some(model), None)) {
            if name.ends_with(".xml") {
                let template = text_of(&text, "dialTemplate").unwrap();
                assert!(
                    names.contains(&template),
                    "{model}: {template} not in {names:?}"
                );
            }
        }
    }
    let sip_default = &shared_files(&templates, &site(), &shared)[1].1;
    let template = sip_default
        .lines()
        .find_map(|line| line.strip_prefix("dial_template: \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap();
    assert!(names.contains(&format!("{template}.xml")), "{names:?}");
    // The admin's own dialplan.xml template replaces the generated file.
    let own = Templates::with_overrides(&[(
        "dialplan.xml".to_string(),
        "<DIALTEMPLATE><TEMPLATE MATCH=\"*\" Timeout=\"5\"/></DIALTEMPLATE>\n".to_string(),
        "/etc/cisco-autoprov/templates/dialplan.xml".to_string(),
    )])
    .unwrap();
    let files = shared_files(&own, &site(), &shared);
    let dialplans: Vec<&String> = files
        .iter()
        .filter(|(name, _)| name == "dialplan.xml")
        .map(|(_, text)| text)
        .collect();
    assert_eq!(dialplans.len(), 1);
    assert!(dialplans[0].contains("Timeout=\"5\""));
}

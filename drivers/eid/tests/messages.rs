//! Every SDK message parsed from recorded JSON: the examples of AusweisApp's SDK
//! documentation (`tests/recorded/sdk-docs`) and messages recorded from AusweisApp 1.26.2
//! on Debian 12 (`tests/recorded/ausweisapp-1.26.2`); every command serialised as the
//! documentation shows it.

use std::path::Path;

use kiosk_eid::Secret;
use kiosk_eid::protocol::{
    AccessRight, Command, Message, ParseError, RunAuth, RunChangePin, SetCard, SimulatorCard,
    SimulatorFile, SimulatorKey,
};
use serde_json::{Value, json};

fn recorded(path: &str) -> Message {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/recorded")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    Message::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_recorded_file_parses_to_a_known_message_without_unknown_fields() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recorded");
    let mut count = 0;
    for dir in ["sdk-docs", "ausweisapp-1.26.2"] {
        for entry in std::fs::read_dir(base.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let message = recorded(&name);
            assert!(!matches!(message, Message::Unknown(_)), "{name}");
            // The Android-only "AusweisApp" field is known too: no file has unknown fields.
            assert_eq!(message.unknown_fields(), Vec::<String>::new(), "{name}");
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} recorded messages");
}

#[test]
fn access_rights_with_every_field() {
    let Message::AccessRights(rights) = recorded("sdk-docs/access_rights_full.json") else {
        panic!("not ACCESS_RIGHTS");
    };
    assert_eq!(rights.error.as_deref(), Some("some optional error message"));
    assert_eq!(
        rights.chat.required,
        [AccessRight::Address, AccessRight::FamilyName]
    );
    assert_eq!(
        rights.chat.optional,
        [
            AccessRight::GivenNames,
            AccessRight::AgeVerification,
            AccessRight::CanAllowed
        ]
    );
    assert_eq!(rights.chat.effective.len(), 5);
    assert_eq!(
        rights.transaction_info.as_deref(),
        Some("this is an example")
    );
    let aux = rights.aux.unwrap();
    assert_eq!(aux.age_verification_date.as_deref(), Some("1999-07-20"));
    assert_eq!(aux.required_age.as_deref(), Some("18"));
    assert_eq!(aux.validity_date.as_deref(), Some("2017-07-20"));
    assert_eq!(aux.community_id.as_deref(), Some("02760400110000"));

    let Message::AccessRights(plain) = recorded("sdk-docs/access_rights.json") else {
        panic!("not ACCESS_RIGHTS");
    };
    assert!(plain.error.is_none() && plain.aux.is_none() && plain.transaction_info.is_none());
}

#[test]
fn api_level() {
    let Message::ApiLevel(level) = recorded("sdk-docs/api_level.json") else {
        panic!("not API_LEVEL");
    };
    assert_eq!(level.available, Some(vec![1, 2, 3, 4]));
    assert_eq!(level.current, Some(4));
    assert!(level.error.is_some());
    let Message::ApiLevel(real) = recorded("ausweisapp-1.26.2/api_level.json") else {
        panic!("not API_LEVEL");
    };
    assert_eq!(real.available, Some(vec![1, 2]));
    let Message::ApiLevel(set) = recorded("ausweisapp-1.26.2/api_level_set.json") else {
        panic!("not API_LEVEL");
    };
    assert_eq!((set.available, set.current), (None, Some(2)));
}

#[test]
fn auth_start_error_success_and_failure() {
    let Message::Auth(started) = recorded("ausweisapp-1.26.2/auth_started.json") else {
        panic!("not AUTH");
    };
    assert!(!started.is_final() && started.error.is_none());
    let Message::Auth(refused) = recorded("sdk-docs/auth_started_error.json") else {
        panic!("not AUTH");
    };
    assert!(!refused.is_final() && refused.error.is_some());

    let Message::Auth(ok) = recorded("sdk-docs/auth_ok.json") else {
        panic!("not AUTH");
    };
    let result = ok.result.as_ref().unwrap();
    assert!(result.is_ok());
    assert_eq!(result.minor_code(), None);
    assert_eq!(
        ok.url.as_deref(),
        Some("https://test.governikus-eid.de/gov_autent/async?refID=_123456789")
    );

    let Message::Auth(failed) = recorded("sdk-docs/auth_error.json") else {
        panic!("not AUTH");
    };
    let result = failed.result.unwrap();
    assert!(!result.is_ok());
    assert_eq!(result.minor_code(), Some("internalError"));
    assert_eq!(result.reason.as_deref(), Some("Card_Removed"));
    assert_eq!(result.language.as_deref(), Some("en"));

    let Message::Auth(real) = recorded("ausweisapp-1.26.2/auth_http_refused.json") else {
        panic!("not AUTH");
    };
    let result = real.result.unwrap();
    assert_eq!(
        result.minor_code(),
        Some("trustedChannelEstablishmentFailed")
    );
    assert!(result.reason.is_none(), "1.26.2 has no reason field yet");
    assert!(real.url.is_none());
}

#[test]
fn error_messages_name_the_command() {
    let cases = [
        (
            "sdk-docs/bad_state.json",
            "BAD_STATE",
            "NAME_OF_YOUR_COMMAND",
        ),
        (
            "ausweisapp-1.26.2/bad_state_cancel.json",
            "BAD_STATE",
            "CANCEL",
        ),
        (
            "sdk-docs/unknown_command.json",
            "UNKNOWN_COMMAND",
            "get_INFo",
        ),
        (
            "ausweisapp-1.26.2/unknown_command.json",
            "UNKNOWN_COMMAND",
            "FOO",
        ),
    ];
    for (file, kind, command) in cases {
        let message = recorded(file);
        assert_eq!(message.name(), kind, "{file}");
        assert_eq!(message.rejected_command(), Some(command), "{file}");
    }
    let Message::Invalid(invalid) = recorded("sdk-docs/invalid.json") else {
        panic!("not INVALID");
    };
    assert!(invalid.error.unwrap().contains("unterminated"));
    let Message::InternalError(internal) = recorded("sdk-docs/internal_error.json") else {
        panic!("not INTERNAL_ERROR");
    };
    assert_eq!(internal.error.as_deref(), Some("Unexpected condition"));
    assert_eq!(recorded("ausweisapp-1.26.2/invalid.json").name(), "INVALID");
}

#[test]
fn certificate() {
    let Message::Certificate(certificate) = recorded("sdk-docs/certificate.json") else {
        panic!("not CERTIFICATE");
    };
    let description = &certificate.description;
    assert_eq!(description.issuer_name, "Governikus Test DVCA");
    assert_eq!(description.issuer_url, "http://www.governikus.de");
    assert_eq!(description.subject_name, "Governikus GmbH & Co. KG");
    assert_eq!(description.subject_url, "https://test.governikus-eid.de");
    assert_eq!(description.purpose, "Demonstration des eID-Service");
    assert!(description.terms_of_usage.contains("Arndtstraße 1"));
    assert_eq!(certificate.validity.effective_date, "2016-07-31");
    assert_eq!(certificate.validity.expiration_date, "2016-08-30");
}

#[test]
fn change_pin() {
    let Message::ChangePin(ok) = recorded("sdk-docs/change_pin_ok.json") else {
        panic!("not CHANGE_PIN");
    };
    assert_eq!((ok.success, ok.reason), (Some(true), None));
    let Message::ChangePin(failed) = recorded("sdk-docs/change_pin_failed.json") else {
        panic!("not CHANGE_PIN");
    };
    assert_eq!(failed.success, Some(false));
    assert_eq!(failed.reason.as_deref(), Some("Card_Removed"));
    let Message::ChangePin(started) = recorded("ausweisapp-1.26.2/change_pin_started.json") else {
        panic!("not CHANGE_PIN");
    };
    assert_eq!(started.success, None);
}

#[test]
fn enter_pin_can_puk_and_new_pin() {
    let Message::EnterPin(pin) = recorded("sdk-docs/enter_pin.json") else {
        panic!("not ENTER_PIN");
    };
    assert_eq!(pin.retry_counter(), Some(3));
    assert!(!pin.keypad());
    assert_eq!(pin.error.as_deref(), Some("You must provide 6 digits"));
    let reader = pin.reader.as_ref().unwrap();
    assert_eq!(reader.name, "NFC");
    assert!(reader.attached && reader.is_physical());

    let Message::EnterCan(can) = recorded("sdk-docs/enter_can.json") else {
        panic!("not ENTER_CAN");
    };
    assert_eq!(can.retry_counter(), Some(1));
    let Message::EnterPuk(puk) = recorded("sdk-docs/enter_puk.json") else {
        panic!("not ENTER_PUK");
    };
    assert_eq!(puk.retry_counter(), Some(0));
    let card = puk.reader.unwrap().card.unwrap();
    assert_eq!(card.inoperative, Some(false));
    let Message::EnterNewPin(new_pin) = recorded("sdk-docs/enter_new_pin.json") else {
        panic!("not ENTER_NEW_PIN");
    };
    assert_eq!(new_pin.retry_counter(), Some(3));

    let Message::EnterPin(simulator) = recorded("ausweisapp-1.26.2/enter_pin_simulator.json")
    else {
        panic!("not ENTER_PIN");
    };
    assert!(
        simulator.keypad(),
        "AusweisApp's Simulator reports a keypad"
    );
    assert!(!simulator.reader.unwrap().is_physical());
}

#[test]
fn info() {
    let Message::Info(info) = recorded("sdk-docs/info.json") else {
        panic!("not INFO");
    };
    let version = &info.version_info;
    assert_eq!(version.name.as_deref(), Some("AusweisApp2"));
    assert_eq!(version.implementation_title.as_deref(), Some("AusweisApp2"));
    assert_eq!(
        version.implementation_vendor.as_deref(),
        Some("Governikus GmbH & Co. KG")
    );
    assert_eq!(version.implementation_version.as_deref(), Some("2.0.0"));
    assert_eq!(version.specification_title.as_deref(), Some("TR-03124-1"));
    assert_eq!(
        version.specification_vendor.as_deref(),
        Some("Federal Office for Information Security")
    );
    assert_eq!(version.specification_version.as_deref(), Some("1.4"));
    assert_eq!(info.ausweis_app.as_deref(), Some("CONNECTED"));
    let Message::Info(real) = recorded("ausweisapp-1.26.2/info.json") else {
        panic!("not INFO");
    };
    assert_eq!(
        real.version_info.implementation_version.as_deref(),
        Some("1.26.2")
    );
}

#[test]
fn insert_card() {
    let Message::InsertCard(failed) = recorded("sdk-docs/insert_card.json") else {
        panic!("not INSERT_CARD");
    };
    assert_eq!(failed.error.as_deref(), Some("Name cannot be undefined"));
    let Message::InsertCard(plain) = recorded("ausweisapp-1.26.2/insert_card.json") else {
        panic!("not INSERT_CARD");
    };
    assert!(plain.error.is_none());
}

#[test]
fn reader_and_reader_list() {
    let Message::Reader(reader) = recorded("sdk-docs/reader.json") else {
        panic!("not READER");
    };
    assert_eq!(reader.name, "NFC");
    assert_eq!(reader.insertable, Some(false));
    assert_eq!(reader.keypad, Some(false));
    let card = reader.card.unwrap();
    assert!(card.is_eid());
    assert_eq!(
        (card.deactivated, card.inoperative, card.retry_counter),
        (Some(false), Some(false), Some(3))
    );

    let Message::ReaderList(list) = recorded("sdk-docs/reader_list.json") else {
        panic!("not READER_LIST");
    };
    assert_eq!(list.readers.len(), 2);
    assert!(list.readers[0].card.is_none());
    assert_eq!(list.readers[0].keypad, Some(true));

    let Message::ReaderList(vpcd) = recorded("ausweisapp-1.26.2/reader_list_vpcd.json") else {
        panic!("not READER_LIST");
    };
    let names: Vec<_> = vpcd.readers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["Simulator", "Virtual PCD 00 00", "Virtual PCD 00 01"]
    );

    let Message::Reader(simulator) = recorded("ausweisapp-1.26.2/reader_simulator_card.json")
    else {
        panic!("not READER");
    };
    assert!(!simulator.is_physical());
    assert!(simulator.card.unwrap().is_eid());
    let Message::Reader(empty) = recorded("ausweisapp-1.26.2/reader_simulator.json") else {
        panic!("not READER");
    };
    assert!(empty.card.is_none());
}

#[test]
fn reader_list_of_api_level_1_and_a_card_that_is_not_an_eid_card() {
    let level1 = r#"{"msg":"READER_LIST","reader":[{"name":"R","attached":true,"card":{}}]}"#;
    let Message::ReaderList(list) = Message::parse(level1).unwrap() else {
        panic!("not READER_LIST");
    };
    assert_eq!(list.readers.len(), 1);
    assert!(!list.readers[0].card.as_ref().unwrap().is_eid());
}

#[test]
fn status() {
    let Message::Status(status) = recorded("sdk-docs/status.json") else {
        panic!("not STATUS");
    };
    assert_eq!(status.workflow.as_deref(), Some("AUTH"));
    assert_eq!(status.progress, Some(25));
    assert_eq!(status.state.as_deref(), Some("ACCESS_RIGHTS"));
    let Message::Status(idle) = recorded("ausweisapp-1.26.2/status_idle.json") else {
        panic!("not STATUS");
    };
    assert_eq!(
        (idle.workflow, idle.progress, idle.state),
        (None, None, None)
    );
}

#[test]
fn unknown_fields_and_messages_are_kept_by_name_only() {
    let text = r#"{"msg":"READER","name":"R","attached":true,"future":"secret-ish 424242",
        "card":{"retryCounter":3,"newFlag":true}}"#;
    let message = Message::parse(text).unwrap();
    assert_eq!(message.unknown_fields(), ["card.newFlag", "future"]);
    assert!(!format!("{message:?}").contains("424242"));

    let unknown = Message::parse(r#"{"msg":"PAUSE","cause":"BadCardPosition"}"#).unwrap();
    let Message::Unknown(unknown) = unknown else {
        panic!("PAUSE is not known at API level 2");
    };
    assert_eq!(unknown.msg, "PAUSE");
    assert_eq!(unknown.fields, ["cause"]);
    assert!(!format!("{unknown:?}").contains("BadCardPosition"));
}

#[test]
fn parse_errors_never_quote_values() {
    let bad_type = r#"{"msg":"READER","name":"R","attached":"123456"}"#;
    let error = Message::parse(bad_type).unwrap_err();
    assert_eq!(
        error,
        ParseError::BadField {
            msg: "READER".into()
        }
    );
    assert!(!error.to_string().contains("123456"));
    let broken = Message::parse(r#"{"msg":"AUTH","url":"https://x/123456"#).unwrap_err();
    assert!(matches!(broken, ParseError::NotJson { .. }));
    assert!(!broken.to_string().contains("123456"), "{broken}");
    assert_eq!(
        Message::parse(r#"{"x":1}"#).unwrap_err(),
        ParseError::NoType
    );
    assert!(
        Message::parse(r#"[1]"#)
            .unwrap_err()
            .to_string()
            .contains("JSON")
    );
}

fn json_of(command: &Command) -> Value {
    serde_json::from_slice(&command.to_json().unwrap()).unwrap()
}

#[test]
fn every_command_serialises_as_documented() {
    let pin = || Secret::pin("123456").unwrap();
    let cases = [
        (Command::GetInfo, json!({"cmd": "GET_INFO"})),
        (Command::GetStatus, json!({"cmd": "GET_STATUS"})),
        (Command::GetApiLevel, json!({"cmd": "GET_API_LEVEL"})),
        (
            Command::SetApiLevel { level: 1 },
            json!({"cmd": "SET_API_LEVEL", "level": 1}),
        ),
        (
            Command::GetReader {
                name: "NAME OF THE READER".into(),
            },
            json!({"cmd": "GET_READER", "name": "NAME OF THE READER"}),
        ),
        (Command::GetReaderList, json!({"cmd": "GET_READER_LIST"})),
        (
            Command::RunAuth(RunAuth::new(
                "https://test.governikus-eid.de/Autent-DemoApplication/RequestServlet?provider=demo_epa_20&redirect=true",
            )),
            json!({"cmd": "RUN_AUTH", "tcTokenURL": "https://test.governikus-eid.de/Autent-DemoApplication/RequestServlet?provider=demo_epa_20&redirect=true"}),
        ),
        (
            Command::RunAuth(RunAuth {
                developer_mode: Some(true),
                status: Some(true),
                ..RunAuth::new("http://127.0.0.1:1/tc")
            }),
            json!({"cmd": "RUN_AUTH", "tcTokenURL": "http://127.0.0.1:1/tc", "developerMode": true, "status": true}),
        ),
        (
            Command::RunChangePin(RunChangePin::default()),
            json!({"cmd": "RUN_CHANGE_PIN"}),
        ),
        (
            Command::GetAccessRights,
            json!({"cmd": "GET_ACCESS_RIGHTS"}),
        ),
        (
            Command::SetAccessRights { chat: vec![] },
            json!({"cmd": "SET_ACCESS_RIGHTS", "chat": []}),
        ),
        (
            Command::SetAccessRights {
                chat: vec![AccessRight::FamilyName],
            },
            json!({"cmd": "SET_ACCESS_RIGHTS", "chat": ["FamilyName"]}),
        ),
        (Command::GetCertificate, json!({"cmd": "GET_CERTIFICATE"})),
        (
            Command::SetCard(SetCard::simulator()),
            json!({"cmd": "SET_CARD", "name": "Simulator"}),
        ),
        (
            Command::SetCard(SetCard {
                name: "Simulator".into(),
                simulator: Some(SimulatorCard {
                    files: vec![SimulatorFile {
                        file_id: "0101".into(),
                        short_file_id: "01".into(),
                        content: "6103130144".into(),
                    }],
                    keys: Some(vec![SimulatorKey {
                        id: 1,
                        content: "308201".into(),
                    }]),
                }),
            }),
            json!({"cmd": "SET_CARD", "name": "Simulator", "simulator": {
                "files": [{"fileId": "0101", "shortFileId": "01", "content": "6103130144"}],
                "keys": [{"id": 1, "content": "308201"}]}}),
        ),
        (Command::Accept, json!({"cmd": "ACCEPT"})),
        (Command::Cancel, json!({"cmd": "CANCEL"})),
        (Command::Interrupt, json!({"cmd": "INTERRUPT"})),
        (
            Command::SetPin { value: Some(pin()) },
            json!({"cmd": "SET_PIN", "value": "123456"}),
        ),
        (Command::SetPin { value: None }, json!({"cmd": "SET_PIN"})),
        (
            Command::SetNewPin { value: Some(pin()) },
            json!({"cmd": "SET_NEW_PIN", "value": "123456"}),
        ),
        (
            Command::SetCan {
                value: Some(Secret::can("123456").unwrap()),
            },
            json!({"cmd": "SET_CAN", "value": "123456"}),
        ),
        (
            Command::SetPuk {
                value: Some(Secret::puk("1234567890").unwrap()),
            },
            json!({"cmd": "SET_PUK", "value": "1234567890"}),
        ),
        (Command::SetPuk { value: None }, json!({"cmd": "SET_PUK"})),
    ];
    for (command, expected) in cases {
        assert_eq!(json_of(&command), expected, "{}", command.name());
        assert_eq!(expected["cmd"], command.name());
    }
}

#[test]
fn commands_never_show_secrets_in_debug() {
    let command = Command::SetPuk {
        value: Some(Secret::puk("9876543210").unwrap()),
    };
    assert!(command.carries_secret());
    let debug = format!("{command:?} {command:#?}");
    assert!(!debug.contains("9876543210"), "{debug}");
    assert!(!Command::SetPin { value: None }.carries_secret());
}

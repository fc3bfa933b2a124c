use super::*;

fn device(id: &str, account: &str, status: pb::DeviceStatus) -> pb::Device {
    pb::Device {
        name: format!("organizations/o/clinics/c/devices/{id}"),
        account: format!("organizations/o/clinics/c/accounts/{account}"),
        status: status.into(),
        institution_code: "1312345675".into(),
        facts: Some(pb::DeviceFacts {
            hostname: "uketsuke-1".into(),
            os: "linux x86_64".into(),
            agent_version: "0.1.0".into(),
            readers: vec!["ACS ACR39U".into(), "SONY RC-S300".into()],
        }),
        ..Default::default()
    }
}

const OLD: &str = "0190a000-0000-7000-8000-000000000001";
const NEW: &str = "0190a000-0000-7000-8000-000000000002";

#[test]
fn terminals_are_found_by_id_or_by_their_accounts_live_terminal() {
    let devices = [
        device(OLD, "W0000001", pb::DeviceStatus::Revoked),
        device(NEW, "W0000001", pb::DeviceStatus::Active),
        device(
            "0190a000-0000-7000-8000-000000000003",
            "W0000002",
            pb::DeviceStatus::Revoked,
        ),
    ];
    assert_eq!(last_segment(&find(&devices, OLD).unwrap().name), OLD);
    assert_eq!(
        last_segment(&find(&devices, &OLD.to_ascii_uppercase()).unwrap().name),
        OLD
    );
    assert_eq!(last_segment(&find(&devices, "w0000001").unwrap().name), NEW);
    assert!(find(&devices, "W0000002").is_none(), "only a revoked one");
    assert!(find(&devices, "W0000009").is_none());
}

#[test]
fn rows_and_details_read_in_japanese() {
    let mut d = device(NEW, "W0000001", pb::DeviceStatus::Suspended);
    d.status_cause = pb::StatusCause::Operator.into();
    d.status_reason = "tablet lost".into();
    let r = row(&d);
    assert_eq!(r[0], NEW);
    assert_eq!(r[1], "1312345675");
    assert_eq!(r[2], "W0000001");
    assert_eq!(r[3], "停止");
    assert_eq!(r[4], "", "never reported");
    assert_eq!(r[5], "ACS ACR39U, SONY RC-S300");
    assert_eq!(r[7], "0.1.0");
    let lines = details(&d);
    let status = lines.iter().find(|l| l[0] == "状態").unwrap();
    assert_eq!(status[1], "停止 (オペレーター操作: tablet lost)");
    let json = serde_json::to_value(DeviceView::from(&d)).unwrap();
    assert_eq!(json["status"], "suspended");
    assert_eq!(json["status_cause"], "operator");
    assert_eq!(json["account_id"], "W0000001");
    assert_eq!(json["readers"][1], "SONY RC-S300");
}

fn presence(online: bool) -> pb::DevicePresence {
    let ts = |seconds| mynafleet_proto::prost_types::Timestamp { seconds, nanos: 0 };
    pb::DevicePresence {
        online,
        readers: vec![
            pb::DeviceReader {
                name: "Virtual PCD 00 00".into(),
                card_present: true,
            },
            pb::DeviceReader {
                name: "Virtual PCD 00 01".into(),
                card_present: false,
            },
        ],
        // 2026-01-05 09:00:00 and 09:00:30 Japan time.
        last_scan_time: Some(ts(1_767_571_200)),
        agent_version: "0.2.0".into(),
        report_time: Some(ts(1_767_571_230)),
        proxy: "proxy-1:7443".into(),
    }
}

#[test]
fn the_list_shows_presence_beside_status_and_certificate_expiry() {
    let mut d = device(NEW, "W0000001", pb::DeviceStatus::Active);
    d.certificate_expire_time = Some(mynafleet_proto::prost_types::Timestamp {
        seconds: 1_767_657_600,
        nanos: 0,
    });
    d.presence = Some(presence(true));
    let r = row(&d);
    assert_eq!(HEADERS[4], "接続");
    assert_eq!(r[4], view::ONLINE);
    assert_eq!(r[5], "Virtual PCD 00 00 [カード], Virtual PCD 00 01");
    assert_eq!(r[6], "2026-01-05 09:00:00");
    assert_eq!(
        r[7], "0.2.0",
        "the reported version wins over the activation one"
    );
    assert_eq!(r[8], "2026-01-06 09:00:00");
    d.presence = Some(presence(false));
    assert_eq!(row(&d)[4], view::OFFLINE);
    let lines = details(&d);
    let connection = lines.iter().find(|l| l[0] == "接続").unwrap();
    assert_eq!(connection[1], "○ 未接続 (2026-01-05 09:00:30 proxy-1:7443)");
    let json = serde_json::to_value(DeviceView::from(&d)).unwrap();
    assert_eq!(json["presence"]["online"], false);
    assert_eq!(json["presence"]["readers"][0]["name"], "Virtual PCD 00 00");
    assert_eq!(json["presence"]["readers"][0]["card_present"], true);
    assert_eq!(json["presence"]["last_scan_time"], "2026-01-05T00:00:00Z");
    assert_eq!(json["presence"]["proxy"], "proxy-1:7443");
    let never = device(OLD, "W0000002", pb::DeviceStatus::Pending);
    assert!(serde_json::to_value(DeviceView::from(&never)).unwrap()["presence"].is_null());
}

//! The OpsGenie Schedule API, time off and iCal feeds: whole JSON bodies as strict clients
//! (Terraform, the backup tool, the SDK) read them, on every backend.

use crate::each_backend;
use crate::helpers::*;
use serde_json::{json, Value};

/// `body` without `took` and `requestId` (checked to be there), with every id in `names`
/// replaced by its placeholder, so that a whole body can be compared.
fn scrub(mut body: Value, names: &[(&str, &str)]) -> Value {
    if let Some(m) = body.as_object_mut() {
        assert!(m.remove("took").is_some_and(|t| t.is_number()), "no took");
        assert!(
            m.remove("requestId").is_some_and(|r| r.is_string()),
            "no requestId"
        );
    }
    fn walk(v: &mut Value, names: &[(&str, &str)]) {
        match v {
            Value::String(s) => {
                if let Some((_, to)) = names.iter().find(|(from, _)| from == s) {
                    *s = to.to_string();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, names)),
            Value::Object(m) => m.values_mut().for_each(|i| walk(i, names)),
            _ => {}
        }
    }
    walk(&mut body, names);
    body
}

async fn call(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    app.call(method, path, Some(ADMIN_KEY), body).await
}

/// A cumulative Berlin schedule: a weekly day rotation handing off Monday 09:00 local, and a
/// night rotation (21:00–07:00 local) with a `none` gap every other night.
fn primary() -> Value {
    json!({
        "name": "sre-primary",
        "description": "Primary pager",
        "timezone": "Europe/Berlin",
        "ownerTeam": {"name": "sre"},
        "rotations": [
            {
                "name": "weekdays", "type": "weekly", "startDate": "2026-01-05T09:00:00+01:00",
                "participants": [{"type": "user", "username": "alice@example.com"}, {"username": "bob@example.com"}]
            },
            {
                "name": "nights", "type": "daily", "length": 1,
                "startDate": "2026-01-05T20:00:00Z", "endDate": "2026-12-31T00:00:00Z",
                "participants": [{"type": "user", "username": "bob@example.com"}, {"type": "none"}],
                "timeRestriction": {"type": "time-of-day", "restriction": {"startHour": 21, "startMin": 0, "endHour": 7, "endMin": 0}}
            }
        ]
    })
}

/// Ids a created `primary()` schedule needs for whole-body comparisons.
struct Ids {
    schedule: String,
    team: String,
    alice: String,
    bob: String,
    weekdays: String,
    nights: String,
}

impl Ids {
    fn names(&self) -> Vec<(&str, &str)> {
        vec![
            (self.schedule.as_str(), "<schedule>"),
            (&self.team, "<team>"),
            (&self.alice, "<alice>"),
            (&self.bob, "<bob>"),
            (&self.weekdays, "<weekdays>"),
            (&self.nights, "<nights>"),
        ]
    }
}

async fn create_primary(app: &TestApp) -> Ids {
    let (s, v) = call(app, "POST", "/v2/schedules", Some(primary())).await;
    assert_eq!(s, 201, "{v}");
    let schedule = v["data"]["id"].as_str().expect("data.id").to_string();
    assert_eq!(
        scrub(v, &[(&schedule, "<schedule>")]),
        json!({"data": {"id": "<schedule>", "name": "sre-primary", "enabled": true}})
    );
    let (_, got) = app.get(&format!("/v2/schedules/{schedule}")).await;
    let d = &got["data"];
    let id = |v: &Value| v.as_str().expect("an id").to_string();
    Ids {
        schedule,
        team: id(&d["ownerTeam"]["id"]),
        alice: id(&d["rotations"][0]["participants"][0]["id"]),
        bob: id(&d["rotations"][0]["participants"][1]["id"]),
        weekdays: id(&d["rotations"][0]["id"]),
        nights: id(&d["rotations"][1]["id"]),
    }
}

fn expected_schedule() -> Value {
    json!({
        "id": "<schedule>",
        "name": "sre-primary",
        "description": "Primary pager",
        "timezone": "Europe/Berlin",
        "enabled": true,
        "mode": "cumulative",
        "managed": false,
        "ownerTeam": {"id": "<team>", "name": "sre"},
        "rotations": [
            {
                "id": "<weekdays>", "name": "weekdays", "startDate": "2026-01-05T08:00:00.000Z",
                "type": "weekly", "length": 1,
                "participants": [
                    {"type": "user", "id": "<alice>", "username": "alice@example.com"},
                    {"type": "user", "id": "<bob>", "username": "bob@example.com"}
                ]
            },
            {
                "id": "<nights>", "name": "nights", "startDate": "2026-01-05T20:00:00.000Z",
                "endDate": "2026-12-31T00:00:00.000Z", "type": "daily", "length": 1,
                "participants": [
                    {"type": "user", "id": "<bob>", "username": "bob@example.com"},
                    {"type": "none"}
                ],
                "timeRestriction": {"type": "time-of-day", "restriction": {"startHour": 21, "startMin": 0, "endHour": 7, "endMin": 0}}
            }
        ]
    })
}

#[tokio::test]
async fn a_schedule_is_created_read_listed_updated_and_deleted_in_opsgenie_shapes() {
    each_backend!(|app| {
        let ids = create_primary(&app).await;
        let names = ids.names();

        let (s, v) = app.get(&format!("/v2/schedules/{}", ids.schedule)).await;
        assert_eq!(s, 200);
        assert_eq!(scrub(v, &names), json!({"data": expected_schedule()}));
        // By name, and by an id that is really a name.
        for path in [
            "/v2/schedules/SRE-primary?identifierType=name",
            "/v2/schedules/sre-primary",
        ] {
            let (s, v) = app.get(path).await;
            assert_eq!(
                (s, scrub(v, &names)),
                (200, json!({"data": expected_schedule()})),
                "{path}"
            );
        }

        // The list carries `rotations: []` unless asked to expand them.
        let (_, v) = app.get("/v2/schedules").await;
        let mut summary = expected_schedule();
        summary["rotations"] = json!([]);
        assert_eq!(
            scrub(v, &names),
            json!({"data": [summary], "expandable": ["rotation"]})
        );
        let (_, v) = app.get("/v2/schedules/?expand=rotation").await;
        assert_eq!(scrub(v, &names)["data"], json!([expected_schedule()]));

        // PATCH changes what it names; `rotations` replaces them all, keeping the id of a
        // rotation that keeps its name.
        let (s, v) = call(
            &app,
            "PATCH",
            &format!("/v2/schedules/{}", ids.schedule),
            Some(json!({
                "description": "Now layered", "mode": "layered", "enabled": false,
                "rotations": [{"name": "weekdays", "type": "weekly", "length": 2, "startDate": "2026-01-05T08:00:00Z",
                               "participants": [{"id": ids.bob}]}]
            })),
        )
        .await;
        assert_eq!(
            (s, scrub(v, &names)),
            (
                200,
                json!({"data": {"id": "<schedule>", "name": "sre-primary", "enabled": false}})
            )
        );
        let (_, v) = app.get(&format!("/v2/schedules/{}", ids.schedule)).await;
        assert_eq!(
            scrub(v, &names)["data"],
            json!({
                "id": "<schedule>", "name": "sre-primary", "description": "Now layered",
                "timezone": "Europe/Berlin", "enabled": false, "mode": "layered", "managed": false,
                "ownerTeam": {"id": "<team>", "name": "sre"},
                "rotations": [{
                    "id": "<weekdays>", "name": "weekdays", "startDate": "2026-01-05T08:00:00.000Z",
                    "type": "weekly", "length": 2,
                    "participants": [{"type": "user", "id": "<bob>", "username": "bob@example.com"}]
                }]
            })
        );

        let (s, v) = call(
            &app,
            "DELETE",
            &format!("/v2/schedules/{}", ids.schedule),
            None,
        )
        .await;
        assert_eq!((s, scrub(v, &names)), (200, json!({"result": "Deleted"})));
        let (s, v) = app.get(&format!("/v2/schedules/{}", ids.schedule)).await;
        assert_eq!(s, 404, "{v}");
        assert!(v["message"]
            .as_str()
            .unwrap()
            .contains("No schedule exists"));
        // A schedule without rotations still says `rotations: []`.
        let (s, v) = app.post("/v2/schedules", json!({"name": "empty"})).await;
        assert_eq!(s, 201, "{v}");
        let (_, v) = app.get("/v2/schedules/empty?identifierType=name").await;
        assert_eq!(v["data"]["rotations"], json!([]));
        assert_eq!(v["data"]["timezone"], "UTC");
        assert!(v["data"].get("ownerTeam").is_none());
    });
}

#[tokio::test]
async fn bad_schedules_get_opsgenie_shaped_422s_naming_each_field() {
    each_backend!(|app| {
        let rotation = |extra: Value| {
            let mut r = json!({"type": "daily", "startDate": "2026-01-05T09:00:00Z",
                               "participants": [{"username": "alice@example.com"}]});
            for (k, v) in extra.as_object().unwrap() {
                r[k] = v.clone();
            }
            r
        };
        let (s, v) = app
            .post(
                "/v2/schedules",
                json!({
                    "name": "bad", "timezone": "Mars/Olympus_Mons",
                    "rotations": [
                        rotation(json!({"endDate": "2026-01-01T00:00:00Z"})),
                        rotation(json!({"timeRestriction": {"type": "time-of-day", "restriction": {"startHour": 25, "endHour": 7}}})),
                        rotation(json!({"participants": []})),
                        rotation(json!({"participants": [{"username": "carol@example.com"}, {"type": "team", "name": "sre"}]})),
                        rotation(json!({"type": "monthly"})),
                    ]
                }),
            )
            .await;
        assert_eq!(s, 422);
        assert_eq!(
            scrub(v, &[]),
            json!({
                "message": "Request body is not processable. Please check the errors.",
                "errors": {
                    "timezone": "unknown time zone `Mars/Olympus_Mons`: use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`",
                    "rotations[0].endDate": "rotation `Rotation 1` ends at 2026-01-01 00:00:00 UTC, which is not after its start 2026-01-05 09:00:00 UTC: the end must be later than the start",
                    "rotations[1].timeRestriction.restriction.startHour": "should be a whole number from 0 to 24",
                    "rotations[2].participants": "rotation `Rotation 3` has no participants: add at least one user (or `none` for a gap)",
                    "rotations[3].participants[1].type": "type \"team\" is not supported here: use user (with username or id) or none",
                    "rotations[3].participants[0]": "user \"carol@example.com\" does not exist",
                    "rotations[4].type": "should be one of [ hourly, daily, weekly ]"
                }
            })
        );
        let (s, v) = app.post("/v2/schedules", json!({"timezone": "UTC"})).await;
        assert_eq!((s, &v["errors"]), (422, &json!({"name": "is required"})));
        let (s, v) = app
            .post(
                "/v2/schedules",
                json!({"name": "x", "ownerTeam": {"name": "ghosts"}, "rotations": [
                    {"type": "weekly", "startDate": "2026-01-05T09:00:00Z", "participants": [{"type": "none"}],
                     "timeRestriction": {"type": "weekday-and-time-of-day", "restrictions": [
                        {"startDay": "friday", "startHour": 18, "endDay": "someday", "endHour": 9, "endMin": 75}]}}
                ]}),
            )
            .await;
        assert_eq!(s, 422);
        assert_eq!(
            v["errors"],
            json!({
                "ownerTeam": "team \"ghosts\" does not exist",
                "rotations[0].timeRestriction.restrictions[0].endDay": "should be a day of the week such as monday",
                "rotations[0].timeRestriction.restrictions[0].endMin": "should be a whole number from 0 to 59"
            })
        );
        // Nothing was written, and a taken name is refused too.
        let (_, v) = app.get("/v2/schedules").await;
        assert_eq!(v["data"], json!([]));
        create_primary(&app).await;
        let (s, v) = app
            .post("/v2/schedules", json!({"name": "SRE-Primary"}))
            .await;
        assert_eq!(
            (s, &v["errors"]),
            (
                422,
                &json!({"name": "a schedule named \"SRE-Primary\" already exists"})
            )
        );
        let (s, _) = app.get("/v2/schedules/x?identifierType=tiny").await;
        assert_eq!(s, 422);
    });
}

#[tokio::test]
async fn on_calls_next_on_calls_and_the_timeline_answer_in_opsgenie_shapes() {
    each_backend!(|app| {
        let ids = create_primary(&app).await;
        let names = ids.names();
        let parent = json!({"id": "<schedule>", "name": "sre-primary", "enabled": true});
        let alice = json!({"id": "<alice>", "name": "alice@example.com", "type": "user"});
        let bob = json!({"id": "<bob>", "name": "bob@example.com", "type": "user"});

        // 03:00 in Berlin on Tuesday 6 January: Alice's week, Bob's night. The `+` of the
        // offset is sent unencoded, so it arrives as a space.
        let on_calls = format!(
            "/v2/schedules/{}/on-calls?date=2026-01-06T03:00:00+01:00",
            ids.schedule
        );
        let (s, v) = app.get(&on_calls).await;
        assert_eq!(
            (s, scrub(v, &names)),
            (
                200,
                json!({"data": {"_parent": parent, "onCallParticipants": [alice, bob]}})
            )
        );
        let (_, v) = app.get(&format!("{on_calls}&flat=true")).await;
        assert_eq!(
            scrub(v, &names),
            json!({"data": {"_parent": parent, "onCallRecipients": ["alice@example.com", "bob@example.com"]}})
        );
        // By name, with the OpsGenie parameter name.
        let (_, v) = app
            .get("/v2/schedules/sre-primary/on-calls?scheduleIdentifierType=name&flat=true&date=2026-01-06T12:00:00Z")
            .await;
        assert_eq!(v["data"]["onCallRecipients"], json!(["alice@example.com"]));

        // Next: Bob's night ends at 07:00 local, leaving Alice alone.
        let (_, v) = app
            .get(&format!(
                "/v2/schedules/{}/next-on-calls?date=2026-01-06T02:00:00Z",
                ids.schedule
            ))
            .await;
        assert_eq!(
            scrub(v, &names),
            json!({"data": {"_parent": parent, "nextOnCallRecipients": [alice], "exactNextOnCallRecipients": [alice]}})
        );
        let (_, v) = app
            .get(&format!(
                "/v2/schedules/{}/next-on-calls?flat=true&date=2026-01-06T12:00:00Z",
                ids.schedule
            ))
            .await;
        assert_eq!(
            scrub(v, &names),
            json!({"data": {"_parent": parent,
                "nextOnCallParticipants": ["alice@example.com", "bob@example.com"],
                "exactNextOnCallParticipants": ["alice@example.com", "bob@example.com"]}})
        );

        // Every schedule at once.
        app.post("/v2/schedules", json!({"name": "empty"})).await;
        let (_, v) = app
            .get("/v2/schedules/on-calls?flat=true&date=2026-01-06T02:00:00Z")
            .await;
        let mut v = scrub(v, &names);
        let empty_id = v["data"][0]["_parent"]["id"].take();
        assert!(empty_id.is_string());
        assert_eq!(
            v,
            json!({"data": [
                {"_parent": {"id": null, "name": "empty", "enabled": true}, "onCallRecipients": []},
                {"_parent": parent, "onCallRecipients": ["alice@example.com", "bob@example.com"]}
            ]})
        );

        // Three days of timeline.
        let timeline = format!(
            "/v2/schedules/{}/timeline?date=2026-01-05T00:00:00Z&interval=3&intervalUnit=days",
            ids.schedule
        );
        let period = |start: &str, end: &str, kind: &str, who: &Value| json!({"startDate": start, "endDate": end, "type": kind, "recipient": who});
        let (s, v) = app.get(&timeline).await;
        assert_eq!(s, 200);
        assert_eq!(
            scrub(v, &names),
            json!({
                "data": {
                    "_parent": parent,
                    "startDate": "2026-01-05T00:00:00.000Z",
                    "endDate": "2026-01-08T00:00:00.000Z",
                    "finalTimeline": {"rotations": [
                        {"id": "<weekdays>", "name": "weekdays", "order": 1.0, "periods": [
                            period("2026-01-05T08:00:00.000Z", "2026-01-08T00:00:00.000Z", "default", &alice)
                        ]},
                        {"id": "<nights>", "name": "nights", "order": 2.0, "periods": [
                            period("2026-01-05T20:00:00.000Z", "2026-01-06T06:00:00.000Z", "default", &bob),
                            period("2026-01-07T20:00:00.000Z", "2026-01-08T00:00:00.000Z", "default", &bob)
                        ]}
                    ]}
                },
                "expandable": ["base", "forwarding", "override"]
            })
        );

        // A schedule-wide override, a rotation override to nobody, and Alice's time off with
        // Bob covering.
        let (s, v) = call(
            &app,
            "POST",
            &format!("/v2/schedules/{}/overrides", ids.schedule),
            Some(json!({
                "alias": "lunch", "user": {"type": "user", "username": "bob@example.com"},
                "startDate": "2026-01-06T12:00:00Z", "endDate": "2026-01-06T14:00:00Z"
            })),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let (s, _) = call(
            &app,
            "POST",
            &format!("/v2/schedules/{}/overrides", ids.schedule),
            Some(json!({
                "alias": "quiet", "user": {"type": "none"}, "rotations": [{"name": "nights"}],
                "startDate": "2026-01-05T22:00:00Z", "endDate": "2026-01-06T06:00:00Z"
            })),
        )
        .await;
        assert_eq!(s, 201);
        let (s, v) = app.post("/v2/time-off", json!({
            "user": "alice@example.com", "replacement": {"username": "bob@example.com"},
            "startDate": "2026-01-07T00:00:00Z", "endDate": "2026-01-08T00:00:00Z", "reason": "dentist"
        })).await;
        assert_eq!(s, 201, "{v}");

        let (_, v) = app.get(&format!("{timeline}&expand=base,override")).await;
        let v = scrub(v, &names);
        assert_eq!(
            v["data"]["finalTimeline"],
            json!({"rotations": [
                {"id": "<weekdays>", "name": "weekdays", "order": 1.0, "periods": [
                    period("2026-01-05T08:00:00.000Z", "2026-01-06T12:00:00.000Z", "default", &alice),
                    period("2026-01-06T14:00:00.000Z", "2026-01-07T00:00:00.000Z", "default", &alice),
                    period("2026-01-07T00:00:00.000Z", "2026-01-08T00:00:00.000Z", "override", &bob)
                ]},
                {"id": "<nights>", "name": "nights", "order": 2.0, "periods": [
                    period("2026-01-05T20:00:00.000Z", "2026-01-05T22:00:00.000Z", "default", &bob),
                    period("2026-01-07T20:00:00.000Z", "2026-01-08T00:00:00.000Z", "default", &bob)
                ]},
                {"id": "schedule-overrides", "name": "Schedule overrides", "order": 3.0, "periods": [
                    period("2026-01-06T12:00:00.000Z", "2026-01-06T14:00:00.000Z", "override", &bob)
                ]}
            ]})
        );
        // The base timeline is the rotations alone.
        assert_eq!(
            v["data"]["baseTimeline"]["rotations"][1]["periods"][0]["endDate"],
            "2026-01-06T06:00:00.000Z"
        );
        assert_eq!(
            v["data"]["overrideTimeline"]["rotations"][0]["periods"],
            json!([period(
                "2026-01-07T00:00:00.000Z",
                "2026-01-08T00:00:00.000Z",
                "override",
                &bob
            )])
        );
        assert!(v["data"].get("forwardingTimeline").is_none());

        // Alice is away and Bob covers her: he is on call once, not twice.
        let (_, v) = app
            .get(&format!(
                "/v2/schedules/{}/on-calls?flat=true&date=2026-01-07T21:00:00Z",
                ids.schedule
            ))
            .await;
        assert_eq!(v["data"]["onCallRecipients"], json!(["bob@example.com"]));
        let (_, v) = app
            .get(&format!(
                "/v2/schedules/{}/on-calls?flat=true&date=2026-01-06T13:00:00Z",
                ids.schedule
            ))
            .await;
        assert_eq!(v["data"]["onCallRecipients"], json!(["bob@example.com"]));

        // Bad windows are named.
        for (query, field) in [
            ("intervalUnit=years", "intervalUnit"),
            ("interval=0", "interval"),
            ("interval=30&intervalUnit=months", "interval"),
            ("date=yesterday", "date"),
        ] {
            let (s, v) = app
                .get(&format!("/v2/schedules/{}/timeline?{query}", ids.schedule))
                .await;
            assert_eq!(s, 422, "{query}: {v}");
            assert!(v["errors"][field].is_string(), "{query}: {v}");
        }
        // A disabled schedule puts nobody on call.
        call(
            &app,
            "PATCH",
            &format!("/v2/schedules/{}", ids.schedule),
            Some(json!({"enabled": false})),
        )
        .await;
        let (_, v) = app.get(&format!("{on_calls}&flat=true")).await;
        assert_eq!(v["data"]["onCallRecipients"], json!([]));
    });
}

#[tokio::test]
async fn rotations_are_managed_one_by_one() {
    each_backend!(|app| {
        let ids = create_primary(&app).await;
        let base = format!("/v2/schedules/{}/rotations", ids.schedule);
        let (s, v) = app
            .post(
                &base,
                json!({"type": "hourly", "length": 12, "startDate": "2026-01-05T08:00:00Z",
                                 "participants": [{"username": "bob@example.com"}]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let id = v["data"]["id"].as_str().unwrap().to_string();
        let mut names = ids.names();
        names.push((&id, "<new>"));
        assert_eq!(
            scrub(v, &names),
            json!({"data": {"id": "<new>", "name": "Rotation 3"}})
        );

        let (_, v) = app.get(&format!("{base}/{id}")).await;
        assert_eq!(
            scrub(v, &names),
            json!({"data": {
                "id": "<new>", "name": "Rotation 3", "startDate": "2026-01-05T08:00:00.000Z",
                "type": "hourly", "length": 12,
                "participants": [{"type": "user", "id": "<bob>", "username": "bob@example.com"}],
                "_parent": {"id": "<schedule>", "name": "sre-primary", "enabled": true}
            }})
        );
        let (s, v) = call(&app, "PATCH", &format!("{base}/{id}"), Some(json!({
            "name": "backup",
            "timeRestriction": {"type": "weekday-and-time-of-day", "restrictions": [
                {"startDay": "friday", "startHour": 18, "startMin": 0, "endDay": "monday", "endHour": 9, "endMin": 0}]}
        }))).await;
        assert_eq!(
            (s, scrub(v, &names)),
            (200, json!({"data": {"id": "<new>", "name": "backup"}}))
        );
        let (_, v) = app.get(&base).await;
        let v = scrub(v, &names);
        assert_eq!(v["data"].as_array().unwrap().len(), 3);
        assert_eq!(v["data"][2]["length"], 12);
        assert_eq!(
            v["data"][2]["timeRestriction"],
            json!({"type": "weekday-and-time-of-day", "restrictions": [
                {"startDay": "friday", "startHour": 18, "startMin": 0, "endDay": "monday", "endHour": 9, "endMin": 0}]})
        );
        // Removing the restriction, a clashing name, an end before the start.
        let (s, _) = call(
            &app,
            "PATCH",
            &format!("{base}/backup"),
            Some(json!({"timeRestriction": null})),
        )
        .await;
        assert_eq!(s, 200);
        let (_, v) = app.get(&format!("{base}/{id}")).await;
        assert!(v["data"].get("timeRestriction").is_none(), "{v}");
        let (s, v) = call(
            &app,
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"name": "Nights"})),
        )
        .await;
        assert_eq!(s, 422);
        assert!(
            v["errors"]["name"]
                .as_str()
                .unwrap()
                .contains("already has a rotation named"),
            "{v}"
        );
        let (s, v) = call(
            &app,
            "PATCH",
            &format!("{base}/{id}"),
            Some(json!({"endDate": "2026-01-01T00:00:00Z"})),
        )
        .await;
        assert_eq!(s, 422);
        assert!(
            v["errors"]["endDate"]
                .as_str()
                .unwrap()
                .contains("not after its start"),
            "{v}"
        );

        let (s, v) = call(&app, "DELETE", &format!("{base}/{id}"), None).await;
        assert_eq!((s, v["result"].clone()), (200, json!("Deleted")));
        let (s, _) = app.get(&format!("{base}/{id}")).await;
        assert_eq!(s, 404);
    });
}

#[tokio::test]
async fn overrides_are_created_read_replaced_and_deleted() {
    each_backend!(|app| {
        let ids = create_primary(&app).await;
        let names = ids.names();
        let base = format!("/v2/schedules/{}/overrides", ids.schedule);
        let (s, v) = app
            .post(
                &base,
                json!({
                    "alias": "swap", "user": {"type": "user", "username": "bob@example.com"},
                    "startDate": "2026-01-05T08:00:00Z", "endDate": "2026-01-06T08:00:00Z",
                    "rotations": [{"name": "weekdays"}]
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let id = v["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(v["data"]["alias"], "swap");

        let expected = json!({
            "_parent": {"id": "<schedule>", "name": "sre-primary", "enabled": true},
            "alias": "swap",
            "user": {"type": "user", "id": "<bob>", "name": "bob@example.com", "username": "bob@example.com"},
            "startDate": "2026-01-05T08:00:00.000Z",
            "endDate": "2026-01-06T08:00:00.000Z",
            "rotations": [{"id": "<weekdays>", "name": "weekdays"}],
            "managed": false
        });
        let (_, v) = app.get(&format!("{base}/swap")).await;
        assert_eq!(scrub(v, &names), json!({"data": expected}));
        let (_, v) = app.get(&base).await;
        assert_eq!(scrub(v, &names), json!({"data": [expected]}));
        let (_, v) = app
            .get(&format!(
                "/v2/schedules/{}/on-calls?flat=true&date=2026-01-05T12:00:00Z",
                ids.schedule
            ))
            .await;
        assert_eq!(v["data"]["onCallRecipients"], json!(["bob@example.com"]));

        // PUT replaces: no rotations now means the whole schedule.
        let (s, v) = call(&app, "PUT", &format!("{base}/swap"), Some(json!({
            "user": {"type": "none"}, "startDate": "2026-01-05T10:00:00Z", "endDate": "2026-01-05T11:00:00Z"
        }))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"], json!({"alias": "swap", "id": id}));
        let (_, v) = app.get(&format!("{base}/swap")).await;
        assert_eq!(v["data"]["user"], json!({"type": "none"}));
        assert_eq!(v["data"]["rotations"], json!([]));
        let (_, v) = app
            .get(&format!(
                "/v2/schedules/{}/on-calls?flat=true&date=2026-01-05T10:30:00Z",
                ids.schedule
            ))
            .await;
        assert_eq!(v["data"]["onCallRecipients"], json!([]));

        // Refusals: a taken alias, a backwards window, an unknown rotation or user.
        let (s, v) = app
            .post(
                &base,
                json!({"alias": "swap", "user": {"type": "none"},
            "startDate": "2026-01-05T10:00:00Z", "endDate": "2026-01-05T11:00:00Z"}),
            )
            .await;
        assert_eq!(
            (s, &v["errors"]),
            (
                422,
                &json!({"alias": "the schedule already has an override with alias \"swap\""})
            )
        );
        let (s, v) = app
            .post(
                &base,
                json!({"user": {"username": "carol@example.com"},
            "startDate": "2026-01-05T12:00:00Z", "endDate": "2026-01-05T11:00:00Z",
            "rotations": [{"name": "evenings"}]}),
            )
            .await;
        assert_eq!(s, 422);
        assert_eq!(
            v["errors"],
            json!({
                "user": "user \"carol@example.com\" does not exist",
                "rotations[0]": "schedule \"sre-primary\" has no rotation \"evenings\""
            })
        );

        let (s, v) = call(&app, "DELETE", &format!("{base}/swap"), None).await;
        assert_eq!((s, v["result"].clone()), (200, json!("Deleted")));
        let (s, _) = app.get(&format!("{base}/swap")).await;
        assert_eq!(s, 404);
    });
}

#[tokio::test]
async fn time_off_is_listed_changed_and_checked() {
    each_backend!(|app| {
        let (s, v) = app.post("/v2/time-off", json!({
            "user": {"username": "alice@example.com"},
            "startDate": "2026-02-01T00:00:00Z", "endDate": "2026-02-08T00:00:00Z", "reason": "ski"
        })).await;
        assert_eq!(s, 201, "{v}");
        let id = v["data"]["id"].as_str().unwrap().to_string();
        let (_, v) = app.get(&format!("/v2/time-off/{id}")).await;
        let alice_id = v["data"]["user"]["id"].as_str().unwrap().to_string();
        assert_eq!(
            scrub(v, &[(&id, "<id>"), (&alice_id, "<alice>")]),
            json!({"data": {
                "id": "<id>", "user": {"id": "<alice>", "username": "alice@example.com"}, "replacement": null,
                "startDate": "2026-02-01T00:00:00.000Z", "endDate": "2026-02-08T00:00:00.000Z",
                "reason": "ski", "managed": false
            }})
        );
        let (s, _) = call(
            &app,
            "PATCH",
            &format!("/v2/time-off/{id}"),
            Some(json!({"replacement": "bob@example.com"})),
        )
        .await;
        assert_eq!(s, 200);
        let (_, v) = app.get("/v2/time-off?user=alice@example.com").await;
        assert_eq!(v["data"][0]["replacement"]["username"], "bob@example.com");
        let (_, v) = app.get("/v2/time-off?from=2026-03-01T00:00:00Z").await;
        assert_eq!(v["data"], json!([]));

        let (s, v) = app
            .post(
                "/v2/time-off",
                json!({
                    "user": "alice@example.com", "replacement": "alice@example.com",
                    "startDate": "2026-02-08T00:00:00Z", "endDate": "2026-02-01T00:00:00Z"
                }),
            )
            .await;
        assert_eq!(s, 422);
        assert!(
            v["errors"]["endDate"]
                .as_str()
                .unwrap()
                .contains("not after its start"),
            "{v}"
        );
        let (s, v) = app
            .post(
                "/v2/time-off",
                json!({
                    "user": "alice@example.com", "replacement": "alice@example.com",
                    "startDate": "2026-02-01T00:00:00Z", "endDate": "2026-02-08T00:00:00Z"
                }),
            )
            .await;
        assert_eq!(s, 422);
        assert!(
            v["errors"]["replacement"]
                .as_str()
                .unwrap()
                .contains("name someone else"),
            "{v}"
        );
        let (s, v) = app
            .post("/v2/time-off", json!({"user": "nobody@example.com"}))
            .await;
        assert_eq!(s, 422);
        assert_eq!(
            v["errors"],
            json!({"user": "user \"nobody@example.com\" does not exist", "startDate": "is required", "endDate": "is required"})
        );

        let (s, _) = call(&app, "DELETE", &format!("/v2/time-off/{id}"), None).await;
        assert_eq!(s, 200);
        let (s, _) = app.get(&format!("/v2/time-off/{id}")).await;
        assert_eq!(s, 404);
    });
}

const DECLARED: &str = r#"
schedules:
  - name: declared
    time_zone: America/New_York
    mode: layered
    team: sre
    rotations:
      - name: weekly
        type: weekly
        start: 2026-01-05 09:00
        participants: [alice@example.com, bob@example.com]
    overrides:
      - {alias: handover, user: bob@example.com, start: 2026-01-06 09:00, end: 2026-01-06 17:00}
time_off:
  - {user: bob@example.com, start: 2026-01-20, end: 2026-01-22, reason: conference}
"#;

#[tokio::test]
async fn schedules_from_the_config_file_are_read_only_but_take_overrides() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn_with(backend, &config(DECLARED), None).await;
        let (s, v) = app.get("/v2/schedules/declared?identifierType=name").await;
        assert_eq!(s, 200, "{v}");
        let d = &v["data"];
        assert_eq!(
            (
                d["managed"].clone(),
                d["mode"].clone(),
                d["timezone"].clone()
            ),
            (json!(true), json!("layered"), json!("America/New_York"))
        );
        // 09:00 in New York in January is 14:00Z.
        assert_eq!(d["rotations"][0]["startDate"], "2026-01-05T14:00:00.000Z");
        let id = d["id"].as_str().unwrap().to_string();

        for (method, path, body) in [
            (
                "PATCH",
                format!("/v2/schedules/{id}"),
                Some(json!({"description": "x"})),
            ),
            ("DELETE", format!("/v2/schedules/{id}"), None),
            (
                "POST",
                format!("/v2/schedules/{id}/rotations"),
                Some(
                    json!({"type": "daily", "startDate": "2026-01-05T00:00:00Z", "participants": [{"type": "none"}]}),
                ),
            ),
            (
                "DELETE",
                format!("/v2/schedules/{id}/rotations/weekly"),
                None,
            ),
            (
                "DELETE",
                format!("/v2/schedules/{id}/overrides/handover"),
                None,
            ),
        ] {
            let (s, v) = call(&app, method, &path, body).await;
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert!(
                v["message"].as_str().unwrap().contains("config file"),
                "{v}"
            );
        }
        // The declared override is in force; an API override on top wins where they overlap.
        let on_call = format!("/v2/schedules/{id}/on-calls?flat=true&date=2026-01-06T15:00:00Z");
        let (_, v) = app.get(&on_call).await;
        assert_eq!(v["data"]["onCallRecipients"], json!(["bob@example.com"]));
        let (s, v) = app
            .post(
                &format!("/v2/schedules/{id}/overrides"),
                json!({
                    "alias": "swap", "user": {"username": "alice@example.com"},
                    "startDate": "2026-01-06T15:00:00Z", "endDate": "2026-01-06T16:00:00Z"
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (_, v) = app.get(&on_call).await;
        assert_eq!(v["data"]["onCallRecipients"], json!(["alice@example.com"]));
        // Declared time off is there and read-only; Bob's week 2 (12–19 Jan) is his, and on
        // 20–22 January (week 3) it is Alice's turn anyway.
        let (_, v) = app.get("/v2/time-off?from=2026-01-01T00:00:00Z").await;
        assert_eq!(v["data"][0]["reason"], "conference");
        assert_eq!(v["data"][0]["managed"], true);
        let toff = v["data"][0]["id"].as_str().unwrap().to_string();
        let (s, _) = call(&app, "DELETE", &format!("/v2/time-off/{toff}"), None).await;
        assert_eq!(s, 403);

        // A restart on the same database applies the file again: same ids, API override kept.
        let database = app.database.clone();
        app.stop().await;
        let app = TestApp::spawn_with(backend, &config(DECLARED), Some(database)).await;
        let (_, v) = app.get("/v2/schedules/declared?identifierType=name").await;
        assert_eq!(v["data"]["id"], json!(id));
        let (_, v) = app.get(&format!("/v2/schedules/{id}/overrides")).await;
        let aliases: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["alias"].as_str().unwrap())
            .collect();
        assert_eq!(aliases, ["handover", "swap"]);
        app.stop().await;
    }
}

/// A raw GET: status, content type and body text.
async fn fetch(app: &TestApp, path: &str, key: Option<&str>) -> (u16, String, String) {
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(k) = key {
        req = req.header("Authorization", format!("GenieKey {k}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|c| c.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, resp.text().await.unwrap())
}

/// (DTSTART, DTEND, SUMMARY) of every event, lines unfolded.
fn events(ics: &str) -> Vec<(String, String, String)> {
    let unfolded = ics.replace("\r\n ", "");
    let mut out = Vec::new();
    let mut cur = (String::new(), String::new(), String::new());
    for line in unfolded.split("\r\n") {
        if let Some(v) = line.strip_prefix("DTSTART:") {
            cur.0 = v.to_string();
        } else if let Some(v) = line.strip_prefix("DTEND:") {
            cur.1 = v.to_string();
        } else if let Some(v) = line.strip_prefix("SUMMARY:") {
            cur.2 = v.to_string();
        } else if line == "END:VEVENT" {
            out.push(std::mem::take(&mut cur));
        }
    }
    out
}

#[tokio::test]
async fn ical_feeds_list_the_timeline_and_open_with_a_calendar_token() {
    each_backend!(|app| {
        let ids = create_primary(&app).await;
        let window = "date=2026-01-05T00:00:00Z&interval=3&intervalUnit=days";
        let (s, ctype, ics) = fetch(
            &app,
            &format!("/v2/schedules/{}.ics?{window}", ids.schedule),
            Some(ADMIN_KEY),
        )
        .await;
        assert_eq!(s, 200, "{ics}");
        assert_eq!(ctype, "text/calendar; charset=utf-8");
        assert!(
            ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
            "{ics}"
        );
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics
            .split("\r\n")
            .all(|l| l.len() <= 75 && !l.contains('\n')));
        assert!(
            ics.contains("\r\nDTSTAMP:20260101T000000Z\r\n"),
            "the test clock's now"
        );
        assert_eq!(
            events(&ics),
            [
                (
                    "20260105T080000Z",
                    "20260108T000000Z",
                    "On call: sre-primary (alice@example.com)"
                ),
                (
                    "20260105T200000Z",
                    "20260106T060000Z",
                    "On call: sre-primary (bob@example.com)"
                ),
                (
                    "20260107T200000Z",
                    "20260108T000000Z",
                    "On call: sre-primary (bob@example.com)"
                ),
            ]
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );

        // Without a key or token: refused. With Bob's calendar token, no header needed.
        let (s, _, _) = fetch(&app, &format!("/v2/schedules/{}.ics", ids.schedule), None).await;
        assert_eq!(s, 401);
        let (s, v) = app
            .post(
                "/v2/schedules/on-calls/bob@example.com/calendar-token",
                json!({}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let token = v["data"]["token"].as_str().unwrap().to_string();
        assert_eq!(
            v["data"]["url"],
            json!(format!(
                "{}/v2/schedules/on-calls/bob@example.com.ics?token={token}",
                app.base
            ))
        );
        assert_eq!(v["data"]["user"]["username"], "bob@example.com");
        let (s, _, ics) = fetch(
            &app,
            &format!("/v2/schedules/on-calls/bob@example.com.ics?token={token}&{window}"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{ics}");
        assert!(
            ics.contains("X-WR-CALNAME:On call: bob@example.com\r\n"),
            "{ics}"
        );
        assert_eq!(
            events(&ics),
            [
                (
                    "20260105T200000Z",
                    "20260106T060000Z",
                    "On call: sre-primary"
                ),
                (
                    "20260107T200000Z",
                    "20260108T000000Z",
                    "On call: sre-primary"
                ),
            ]
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
        let (s, _, _) = fetch(
            &app,
            &format!("/v2/schedules/{}.ics?token={token}", ids.schedule),
            None,
        )
        .await;
        assert_eq!(s, 200, "a user's token opens schedule feeds too");
        // Bob's token does not open Alice's feed; a replaced token stops working.
        let (s, _, _) = fetch(
            &app,
            &format!("/v2/schedules/on-calls/alice@example.com.ics?token={token}"),
            None,
        )
        .await;
        assert_eq!(s, 403);
        let (_, v) = app
            .post(
                "/v2/schedules/on-calls/bob@example.com/calendar-token",
                json!({}),
            )
            .await;
        assert_ne!(v["data"]["token"], json!(token));
        let (s, _, body) = fetch(
            &app,
            &format!("/v2/schedules/on-calls/bob@example.com.ics?token={token}"),
            None,
        )
        .await;
        assert_eq!(s, 401, "{body}");
        let (s, _) = call(
            &app,
            "DELETE",
            "/v2/schedules/on-calls/bob@example.com/calendar-token",
            None,
        )
        .await;
        assert_eq!(s, 200);
        // The default window runs 30 days back from today to 90 days ahead.
        let (s, _, ics) = fetch(
            &app,
            "/v2/schedules/on-calls/alice@example.com.ics",
            Some(ADMIN_KEY),
        )
        .await;
        assert_eq!(s, 200);
        let alice = events(&ics);
        assert_eq!(
            alice.first().map(|e| e.0.as_str()),
            Some("20260105T080000Z")
        );
        assert_eq!(alice.last().map(|e| e.1.as_str()), Some("20260401T000000Z"));
    });
}

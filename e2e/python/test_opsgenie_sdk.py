"""The official `opsgenie-sdk` (2.1.5) against a real `klaxon serve`, both backends.

Only the base URL changes; everything else is what a team leaving OpsGenie already runs.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import opsgenie_sdk as og
import pytest
import requests
from opsgenie_sdk.exceptions import ApiException, AuthenticationException, ConfigurationException

from conftest import DBA_KEY, GLOBAL_KEY, PROM_KEY

UTC = dt.timezone.utc


def alert_api(klaxon, key: str = PROM_KEY, host: str | None = None) -> og.AlertApi:
    conf = og.Configuration()
    conf.host = host or klaxon.og_url
    # Fresh dicts: Configuration() is a *shallow* copy of a class-wide default, so
    # `conf.api_key[...] = key` would change the key of every other client too.
    conf.api_key = {"Authorization": key}
    conf.api_key_prefix = {"Authorization": "GenieKey"}
    # Fail fast and visibly: the SDK's default retries 5xx for up to a minute.
    conf.retry_http_response = ["429"]
    conf.short_polling_max_retries = 3
    return og.AlertApi(api_client=og.ApiClient(configuration=conf))


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(api: og.AlertApi, **fields) -> tuple[og.SuccessResponse, str]:
    """Create through the SDK; return the response and the alert id read via request status."""
    resp = api.create_alert(og.CreateAlertPayload(**fields))
    assert resp.result == "Request will be processed"
    assert isinstance(resp.request_id, str) and resp.request_id
    assert isinstance(resp.took, float)
    st = api.get_request_status(resp.request_id)
    assert st.data.is_success is True, st
    assert st.data.alert_id, st
    return resp, st.data.alert_id


def get(api: og.AlertApi, ident: str, kind: str = "id") -> og.Alert:
    r = api.get_alert(ident, identifier_type=kind)
    assert r.request_id
    return r.data


def ids(list_response) -> list[str]:
    return [a.id for a in list_response.data]


def aware(d: dt.datetime) -> bool:
    return d is not None and d.tzinfo is not None and d.utcoffset() == dt.timedelta(0)


# -------------------------------------------------------------------------------------------------


def test_sdk_full_alert_lifecycle(klaxon):
    api = alert_api(klaxon)
    alias = uniq("disk-db1")
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)

    resp, alert_id = create(
        api,
        message="Disk full on db1",
        alias=alias,
        description="/var is at 99%",
        responders=[og.TeamRecipient(name="sre"), og.UserRecipient(username="alice@example.com")],
        tags=["db", "disk"],
        details={"host": "db1", "runbook": "https://runbooks.example.com/disk"},
        entity="db1",
        source="pytest",
        priority="P1",
        actions=["restart"],
        user="alice@example.com",
        note="created by the e2e test",
    )

    # Request status, the way OpsGenie answers it.
    st = api.get_request_status(resp.request_id).data
    assert st.action == "Create"
    assert st.alias == alias
    assert st.alert_id == alert_id
    assert isinstance(st.processed_at, dt.datetime)
    # The SDK's own short polling (SuccessResponse.id) finds the same id.
    assert resp.id == alert_id

    # Get by id / alias / tiny id.
    a = get(api, alert_id)
    assert a.id == alert_id
    assert a.alias == alias
    assert a.message == "Disk full on db1"
    assert a.description == "/var is at 99%"
    assert a.status == "open"
    assert a.acknowledged is False
    assert a.snoozed is False
    assert a.count == 1
    assert a.priority == "P1"
    assert {"db", "disk"} <= set(a.tags)
    assert a.details["host"] == "db1"
    assert a.details["runbook"] == "https://runbooks.example.com/disk"
    assert a.entity == "db1"
    assert a.source == "pytest"
    assert a.actions == ["restart"]
    assert a.integration is not None and a.integration.name == "prom"
    assert isinstance(a.tiny_id, str) and a.tiny_id
    for f in ("created_at", "updated_at", "last_occurred_at"):
        v = getattr(a, f)
        assert aware(v), f"{f} = {v!r} is not an ISO-8601 UTC timestamp"
        assert before <= v <= dt.datetime.now(UTC) + dt.timedelta(seconds=5), (f, v)
    kinds = sorted(r.type for r in a.responders)
    assert "team" in kinds and "user" in kinds, a.responders
    assert all(r.id for r in a.responders)
    assert len({r.id for r in a.responders}) == len(a.responders), "responders repeated"

    assert get(api, alias, "alias").id == alert_id
    assert get(api, a.tiny_id, "tiny").id == alert_id

    # A second alert, for list / count queries.
    _, other_id = create(api, message="Web latency high", alias=uniq("web"), tags=["web"], priority="P3")

    listed = api.list_alerts(query="status:open AND priority:P1 AND tag:db")
    assert ids(listed) == [alert_id]
    assert listed.data[0].message == "Disk full on db1"
    assert ids(api.list_alerts(query="tag:web")) == [other_id]
    assert sorted(ids(api.list_alerts(query="status:open"))) == sorted([alert_id, other_id])
    assert api.count_alerts(query="status:open").data.count == 2
    assert api.count_alerts(query="priority:P1").data.count == 1

    # Notes.
    r = api.add_note(alert_id, og.AddNoteToAlertPayload(note="checking the disk", user="alice@example.com"))
    assert r.result == "Request will be processed"
    notes = api.list_notes(alert_id).data
    texts = [n.note for n in notes]
    assert "checking the disk" in texts, texts
    assert "created by the e2e test" in texts, f"the create `note` was not added as a note: {texts}"
    mine = [n for n in notes if n.note == "checking the disk"][0]
    assert mine.owner == "alice@example.com"
    assert aware(mine.created_at)

    # Tags.
    api.add_tags(alert_id, og.AddTagsToAlertPayload(tags=["critical", "pager"]))
    assert {"db", "disk", "critical", "pager"} <= set(get(api, alert_id).tags)
    api.remove_tags(alert_id, tags=["disk", "pager"])
    tags = set(get(api, alert_id).tags)
    assert {"db", "critical"} <= tags and not ({"disk", "pager"} & tags), tags
    assert ids(api.list_alerts(query="tag:critical")) == [alert_id]

    # Details.
    api.add_details(alert_id, og.AddDetailsToAlertPayload(details={"owner": "dba", "ticket": "OPS-1"}))
    d = get(api, alert_id).details
    assert d["owner"] == "dba" and d["ticket"] == "OPS-1" and d["host"] == "db1", d
    api.remove_details(alert_id, keys=["host", "ticket"])
    d = get(api, alert_id).details
    assert "host" not in d and "ticket" not in d and d["owner"] == "dba", d

    # Acknowledge.
    api.acknowledge_alert(alert_id, acknowledge_alert_payload=og.AcknowledgeAlertPayload(
        user="alice@example.com", note="on it"))
    a = get(api, alert_id)
    assert a.acknowledged is True
    assert a.status == "open"
    assert a.report is not None and a.report.acknowledged_by == "alice@example.com", a.report
    assert isinstance(a.report.ack_time, int) and a.report.ack_time >= 0
    assert api.count_alerts(query="acknowledged:true").data.count == 1

    # Snooze (aware end time → "…+00:00").
    until = (dt.datetime.now(UTC) + dt.timedelta(hours=1)).replace(microsecond=0)
    api.snooze_alert(alert_id, og.SnoozeAlertPayload(end_time=until, user="alice@example.com"))
    a = get(api, alert_id)
    assert a.snoozed is True
    assert a.snoozed_until is not None and abs((a.snoozed_until - until).total_seconds()) < 1, a.snoozed_until
    assert ids(api.list_alerts(query="snoozed:true")) == [alert_id]

    # Close.
    api.close_alert(alert_id, close_alert_payload=og.CloseAlertPayload(user="alice@example.com", note="fixed"))
    a = get(api, alert_id)
    assert a.status == "closed"
    assert a.report.closed_by == "alice@example.com", a.report
    assert isinstance(a.report.close_time, int) and a.report.close_time >= 0
    assert api.count_alerts(query="status:open").data.count == 1
    assert api.count_alerts(query="status:closed").data.count == 1
    assert ids(api.list_alerts(query="status:open")) == [other_id]

    # Every action wrote a log entry: create, note, 2×tags, 2×details, ack, snooze, close.
    logs = api.list_logs(alert_id, limit=100).data
    assert len(logs) >= 9, [x.log for x in logs]
    assert all(x.log and aware(x.created_at) for x in logs)


def test_sdk_identifier_types_and_actions_without_body(klaxon):
    """Aliases with characters the SDK percent-encodes; body-less POSTs (SDK sends no body)."""
    api = alert_api(klaxon, key=GLOBAL_KEY)
    alias = uniq("host/a b:c@x")
    _, alert_id = create(api, message="odd alias", alias=alias)
    assert get(api, alias, "alias").id == alert_id

    api.acknowledge_alert(alias, identifier_type="alias")  # no payload → no request body
    assert get(api, alert_id).acknowledged is True
    api.un_acknowledge_alert(alias, identifier_type="alias")
    assert get(api, alert_id).acknowledged is False
    api.close_alert(alias, identifier_type="alias")
    assert get(api, alert_id).status == "closed"


def test_sdk_snooze_with_naive_datetime(klaxon):
    """`datetime.utcnow()` is what many scripts pass; the SDK sends it without an offset
    (`2026-11-21T10:08:42.232317`). It must be read as UTC."""
    api = alert_api(klaxon, key=GLOBAL_KEY)
    _, alert_id = create(api, message="snooze me")
    until = dt.datetime.now(UTC).replace(tzinfo=None) + dt.timedelta(minutes=30)
    api.snooze_alert(alert_id, og.SnoozeAlertPayload(end_time=until))
    a = get(api, alert_id)
    assert a.snoozed is True
    assert abs((a.snoozed_until - until.replace(tzinfo=UTC)).total_seconds()) < 1, a.snoozed_until


def test_sdk_default_priority_from_integration(klaxon):
    _, a1 = create(alert_api(klaxon, key=PROM_KEY), message="prom default")
    _, a2 = create(alert_api(klaxon, key=GLOBAL_KEY), message="global default")
    api = alert_api(klaxon, key=GLOBAL_KEY)
    assert get(api, a1).priority == "P2"  # integration `prom` default
    assert get(api, a2).priority == "P3"  # OpsGenie default
    assert "prod" in get(api, a1).tags  # integration default tag


def test_deduplication_by_alias(klaxon):
    api = alert_api(klaxon)
    alias = uniq("dedup")
    _, first = create(api, message="first message", alias=alias)
    resp2, second = create(api, message="second message", alias=alias)
    assert second == first, "a create with the alias of an open alert must hit the same alert"

    a = get(api, alias, "alias")
    assert a.id == first
    assert a.count == 2
    assert a.message == "first message", "de-duplication keeps the message"
    assert a.last_occurred_at >= a.created_at
    assert ids(api.list_alerts(query=f"alias:{alias}")) == [first]
    assert api.count_alerts(query=f"alias:{alias}").data.count == 1

    # Acknowledged alerts still de-duplicate.
    api.acknowledge_alert(first)
    _, third = create(api, message="third", alias=alias)
    assert third == first
    assert get(api, first).count == 3

    # After close, the alias opens a new alert.
    api.close_alert(alias, identifier_type="alias")
    _, fresh = create(api, message="after close", alias=alias)
    assert fresh != first
    n = get(api, fresh)
    assert (n.count, n.status, n.message) == (1, "open", "after close")
    old = get(api, first)
    assert (old.count, old.status) == (3, "closed")
    assert get(api, alias, "alias").id == fresh, "the alias names the open alert"
    assert sorted(ids(api.list_alerts(query=f"alias:{alias}"))) == sorted([first, fresh])
    assert api.count_alerts(query=f"alias:{alias} AND status:open").data.count == 1


def test_action_on_unknown_alert_is_202_with_failed_request_status(klaxon):
    """Alertmanager treats a 4xx as permanent failure, so OpsGenie answers 202 and records
    the failure in the request status."""
    api = alert_api(klaxon)
    r = api.close_alert(uniq("nope"), identifier_type="alias")
    assert r.result == "Request will be processed"
    st = api.get_request_status(r.request_id).data
    assert st.is_success is False, st
    assert st.action == "Close"


def test_wrong_key_is_401_in_opsgenie_shape(klaxon):
    api = alert_api(klaxon, key="not-a-key")
    with pytest.raises(AuthenticationException) as ei:
        api.list_alerts()
    assert ei.value.status == 401
    body = json.loads(ei.value.body)
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("requestId"), str) and body["requestId"], body
    assert isinstance(body.get("took"), (int, float)), body

    with pytest.raises(AuthenticationException) as ei:
        api.create_alert(og.CreateAlertPayload(message="x"))
    assert ei.value.status == 401

    # No key at all.
    r = klaxon.og("GET", "/v2/alerts", key=None)
    assert r.status_code == 401
    assert set(r.json()) >= {"message", "took", "requestId"}
    assert r.headers.get("X-Request-Id") or r.headers.get("x-request-id")


def test_invalid_priority_is_422_with_opsgenie_errors(klaxon):
    # The SDK refuses P9 itself (enum on the model); send it through the SDK's transport.
    with pytest.raises(ValueError):
        og.CreateAlertPayload(message="x", priority="P9")
    api = alert_api(klaxon)
    with pytest.raises(ConfigurationException) as ei:
        api.api_client.call_api(
            "/v2/alerts", "POST", body={"message": "bad priority", "priority": "P9"},
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            auth_settings=["GenieKey"], response_type="SuccessResponse", _return_http_data_only=True)
    assert ei.value.status == 422
    body = json.loads(ei.value.body)
    body.pop("url", None)  # added by the SDK itself
    assert body["message"] == "Request body is not processable. Please check the errors."
    assert body["errors"] == {"priority": "should be one of [ P1, P2, P3, P4, P5 ]"}
    assert isinstance(body["took"], (int, float))
    assert isinstance(body["requestId"], str) and body["requestId"]
    assert set(body) == {"message", "errors", "took", "requestId"}, body

    # Nothing was written.
    assert api.count_alerts(query="message:\"bad priority\"").data.count == 0
    assert api.count_alerts().data.count == 0


def test_team_scoped_key_sees_only_its_teams_alerts(klaxon):
    sre = alert_api(klaxon, key=PROM_KEY)
    dba = alert_api(klaxon, key=DBA_KEY)
    glob = alert_api(klaxon, key=GLOBAL_KEY)

    _, private = create(sre, message="sre only", alias=uniq("private"))
    _, shared = create(sre, message="shared with dba", alias=uniq("shared"),
                       visible_to=[og.TeamRecipient(name="dba")])
    _, dbas = create(dba, message="dba own", alias=uniq("dbaown"))

    # dba cannot see the sre-only alert, by id or alias, in lists or counts.
    with pytest.raises(ApiException) as ei:
        dba.get_alert(private)
    assert ei.value.status in (403, 404), ei.value.status
    with pytest.raises(ApiException) as ei:
        dba.get_alert(get(sre, private).alias, identifier_type="alias")
    assert ei.value.status in (403, 404)
    assert sorted(ids(dba.list_alerts())) == sorted([shared, dbas])
    assert dba.count_alerts().data.count == 2

    # visibleTo names dba → visible.
    assert get(dba, shared).message == "shared with dba"

    # sre does not see dba's own alert; the global key sees everything.
    assert sorted(ids(sre.list_alerts())) == sorted([private, shared])
    with pytest.raises(ApiException) as ei:
        sre.get_alert(dbas)
    assert ei.value.status in (403, 404)
    assert sorted(ids(glob.list_alerts())) == sorted([private, shared, dbas])

    # An alert created with a team key has that team as responder.
    assert any(r.type == "team" for r in get(glob, dbas).responders)


def test_sdk_under_path_prefix(klaxon_factory):
    k = klaxon_factory(opsgenie_prefix="/og")
    api = alert_api(k, key=GLOBAL_KEY)
    assert api.api_client.configuration.host.endswith("/og")
    _, alert_id = create(api, message="prefixed", alias=uniq("pfx"))
    assert get(api, alert_id).message == "prefixed"
    # The unprefixed path is not the OpsGenie API any more.
    r = requests.get(k.base_url + "/v2/alerts", headers={"Authorization": f"GenieKey {GLOBAL_KEY}"}, timeout=5)
    assert r.status_code == 404
    assert isinstance(r.json(), dict)


def test_sdk_other_alert_actions(klaxon):
    """assign, responders, teams, custom actions, message/description/priority updates,
    unacknowledge, recipients, delete — each through the SDK, each checked by reading back."""
    api = alert_api(klaxon, key=GLOBAL_KEY)
    dba = alert_api(klaxon, key=DBA_KEY)
    alias = uniq("misc")
    _, alert_id = create(api, message="misc", alias=alias, actions=["restart", "page"],
                         responders=[og.TeamRecipient(name="sre")])

    def last_status(resp):
        return api.get_request_status(resp.request_id).data

    r = api.assign_alert(alert_id, og.AssignAlertPayload(owner=og.UserRecipient(username="bob@example.com"),
                                                         user="alice@example.com"))
    assert last_status(r).is_success is True
    assert get(api, alert_id).owner == "bob@example.com"

    r = api.add_responder(alert_id, og.AddResponderToAlertPayload(
        responder=og.UserRecipient(username="bob@example.com")))
    assert last_status(r).is_success is True
    a = get(api, alert_id)
    assert sorted(x.type for x in a.responders) == ["team", "user"], a.responders

    # Adding team dba makes the alert visible to dba's integration.
    with pytest.raises(ApiException):
        dba.get_alert(alert_id)
    r = api.add_team(alert_id, og.AddTeamToAlertPayload(team=og.TeamRecipient(name="dba")))
    assert last_status(r).is_success is True
    assert sorted(x.type for x in get(api, alert_id).responders) == ["team", "team", "user"]
    assert dba.get_alert(alert_id).data.id == alert_id

    r = api.execute_custom_alert_action(alert_id, "restart",
                                        execute_custom_alert_action_payload=og.ExecuteCustomAlertActionPayload(
                                            user="alice@example.com", note="restarting"))
    st = last_status(r)
    assert st.is_success is True, st
    r = api.execute_custom_alert_action(alert_id, "not-an-action")
    assert last_status(r).is_success is False

    api.update_alert_message(alert_id, og.UpdateAlertMessagePayload(message="misc, renamed"))
    api.update_alert_description(alert_id, og.UpdateAlertDescriptionPayload(description="new text"))
    api.update_alert_priority(alert_id, og.UpdateAlertPriorityPayload(priority="P5"))
    a = get(api, alert_id)
    assert (a.message, a.description, a.priority) == ("misc, renamed", "new text", "P5")

    api.acknowledge_alert(alert_id)
    assert get(api, alert_id).acknowledged is True
    api.un_acknowledge_alert(alert_id)
    assert get(api, alert_id).acknowledged is False

    rec = api.list_recipients(alert_id)
    assert isinstance(rec.data, list)

    logs = [x.log for x in api.list_logs(alert_id, limit=100).data]
    assert len(logs) >= 10, logs

    r = api.delete_alert(alert_id, user="alice@example.com")
    assert last_status(r).is_success is True
    with pytest.raises(ApiException) as ei:
        api.get_alert(alert_id)
    assert ei.value.status == 404
    assert api.count_alerts().data.count == 0

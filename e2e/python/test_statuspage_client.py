"""The official `atlassian-statuspage` Python client (1.0.2) against Klaxon's Statuspage API v1:
components, a component group, an incident with `components: {id: partial_outage}`, updates
through investigating → identified → monitoring → resolved, an edited update, and errors —
checked through the client's own models and through the public JSON under
/status/{page}/api/v2/.

Only the base URL changes (`Configuration().host = <klaxon>/v1`); the key goes in as the client
sends it: `Authorization: OAuth <key>`."""

from __future__ import annotations

import ast
import json

import atlassian_statuspage as sp
import pytest
import requests
from atlassian_statuspage.rest import ApiException

from conftest import GLOBAL_KEY, PROM_KEY

PAGE = "acme"
STATUS_PAGES = [{"id": PAGE, "name": "Acme", "branding": {"title": "Acme status"}}]


def api_client(k, key: str = GLOBAL_KEY) -> sp.ApiClient:
    cfg = sp.Configuration()
    cfg.host = k.base_url + "/v1"
    cfg.api_key["Authorization"] = key
    cfg.api_key_prefix["Authorization"] = "OAuth"
    return sp.ApiClient(cfg)


def public(k, path: str) -> dict:
    r = requests.get(f"{k.base_url}/status/{PAGE}/api/v2/{path}", timeout=10)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def new_component(api: sp.ComponentsApi, name: str, **kw) -> sp.Component:
    body = sp.PostPagesPageIdComponents(component=sp.PostPagesPageIdComponentsComponent(name=name, **kw))
    c = api.post_pages_page_id_components(body, PAGE)
    assert isinstance(c, sp.Component), type(c)
    return c


def update_incident(api: sp.IncidentsApi, incident_id: str, **fields) -> sp.Incident:
    body = sp.PatchPagesPageIdIncidents(incident=sp.PatchPagesPageIdIncidentsIncident(**fields))
    i = api.patch_pages_page_id_incidents_incident_id(body, PAGE, incident_id)
    assert isinstance(i, sp.Incident), type(i)
    return i


def test_incident_lifecycle_through_the_official_client(klaxon_factory):
    k = klaxon_factory(extra={"status_pages": STATUS_PAGES})
    client = api_client(k)
    components = sp.ComponentsApi(client)
    incidents = sp.IncidentsApi(client)

    # The page as the client reads it.
    page = sp.PagesApi(client).get_pages_page_id(PAGE)
    assert isinstance(page, sp.Page) and page.id == PAGE and page.name == "Acme", page

    # Components (one inside a group), read back through the client's models.
    api_c = new_component(components, "API", description="Public REST API", status="operational")
    web = new_component(components, "Website", showcase=True)
    db = new_component(components, "Database", only_show_if_degraded=False)
    assert (api_c.name, api_c.description, api_c.status, api_c.page_id) == \
        ("API", "Public REST API", "operational", PAGE)
    assert web.status == "operational" and web.showcase is True
    group = sp.ComponentGroupsApi(client).post_pages_page_id_component_groups(
        sp.PostPagesPageIdComponentGroups(
            component_group=sp.PostPagesPageIdComponentGroupsComponentGroup(
                name="Backend", components=[api_c.id, db.id]),
            description="Servers"),
        PAGE)
    assert isinstance(group, sp.GroupComponent) and group.name == "Backend"
    # The client's GroupComponent model types `components` as a string, so it holds str() of
    # the id list Statuspage (and Klaxon) send.
    assert sorted(ast.literal_eval(group.components)) == sorted([api_c.id, db.id]), group.components
    listed = components.get_pages_page_id_components(PAGE)
    assert all(isinstance(c, sp.Component) for c in listed)
    by_name = {c.name: c for c in listed}
    assert {"API", "Website", "Database", "Backend"} <= set(by_name), sorted(by_name)
    assert by_name["API"].group_id == group.id and by_name["Backend"].group is True

    # An incident that puts the API into partial outage.
    created = incidents.post_pages_page_id_incidents(
        sp.PostPagesPageIdIncidents(incident=sp.PostPagesPageIdIncidentsIncident(
            name="Elevated API errors",
            status="investigating",
            impact_override="minor",
            body="We are seeing 5xx responses from the API.",
            components={api_c.id: "partial_outage"},
            component_ids=[api_c.id],
            deliver_notifications=True,
            metadata={"jira": {"issue_id": "OPS-1"}})),
        PAGE)
    assert isinstance(created, sp.Incident), type(created)
    assert (created.name, created.status, created.impact, created.page_id) == \
        ("Elevated API errors", "investigating", "minor", PAGE)
    assert [c.id for c in created.components] == [api_c.id]
    assert isinstance(created.components[0], sp.Component)
    assert created.components[0].status == "partial_outage"
    assert len(created.incident_updates) == 1
    first = created.incident_updates[0]
    assert isinstance(first, sp.IncidentUpdate)
    assert (first.status, first.body, first.incident_id) == \
        ("investigating", "We are seeing 5xx responses from the API.", created.id)
    assert created.resolved_at is None
    assert created.shortlink == f"{k.base_url}/status/{PAGE}/incidents/{created.id}"
    assert components.get_pages_page_id_components_component_id(PAGE, api_c.id).status == "partial_outage"

    # The public JSON shows it at once.
    # The page rolls up the worst of components and open incidents: a partial outage is a
    # "major" indicator even though the incident's own impact is minor.
    summary = public(k, "summary.json")
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}, summary["status"]
    comps = {c["name"]: c for c in summary["components"]}
    assert comps["API"]["status"] == "partial_outage" and comps["Website"]["status"] == "operational"
    assert [i["id"] for i in summary["incidents"]] == [created.id]
    assert summary["incidents"][0]["incident_updates"][0]["body"] == "We are seeing 5xx responses from the API."
    assert public(k, "status.json")["status"]["indicator"] == "major"
    assert [i["id"] for i in public(k, "incidents/unresolved.json")["incidents"]] == [created.id]

    # Updates: identified, then monitoring (the API back to degraded), then resolved.
    identified = update_incident(incidents, created.id, status="identified",
                                 body="A bad deploy of the API; rolling back.")
    assert identified.status == "identified" and len(identified.incident_updates) == 2
    monitoring = update_incident(incidents, created.id, status="monitoring",
                                 body="Rolled back; watching error rates.",
                                 components={api_c.id: "degraded_performance"})
    assert monitoring.status == "monitoring" and monitoring.monitoring_at is not None
    assert monitoring.components[0].status == "degraded_performance"
    assert public(k, "components.json")["components"][[c["name"] for c in public(k, "components.json")
                                                       ["components"]].index("API")]["status"] \
        == "degraded_performance"

    resolved = update_incident(incidents, created.id, status="resolved",
                               body="Error rates are normal again.",
                               components={api_c.id: "operational"})
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert resolved.components[0].status == "operational"
    # Newest update first, as Statuspage lists them.
    assert [(u.status, u.body) for u in resolved.incident_updates] == [
        ("resolved", "Error rates are normal again."),
        ("monitoring", "Rolled back; watching error rates."),
        ("identified", "A bad deploy of the API; rolling back."),
        ("investigating", "We are seeing 5xx responses from the API."),
    ]

    # Editing an update's text through the incident-updates API.
    upd = resolved.incident_updates[1]
    edited = sp.IncidentUpdatesApi(client).patch_pages_page_id_incidents_incident_id_incident_updates_incident_update_id(
        sp.PatchPagesPageIdIncidentsIncidentIdIncidentUpdates(
            incident_update=sp.PatchPagesPageIdIncidentsIncidentIdIncidentUpdatesIncidentUpdate(
                body="Rolled back to 1.4.2; watching error rates.")),
        PAGE, created.id, upd.id)
    assert isinstance(edited, sp.IncidentUpdate)
    assert (edited.id, edited.status, edited.body) == (upd.id, "monitoring", "Rolled back to 1.4.2; watching error rates.")

    # The client's reads agree with the public JSON after resolution.
    got = incidents.get_pages_page_id_incidents_incident_id(PAGE, created.id)
    assert got.status == "resolved" and len(got.incident_updates) == 4
    assert incidents.get_pages_page_id_incidents_unresolved(PAGE) == []
    assert [i.id for i in incidents.get_pages_page_id_incidents(PAGE)] == [created.id]
    summary = public(k, "summary.json")
    assert summary["status"]["indicator"] == "none", summary["status"]
    assert summary["incidents"] == []
    assert {c["name"]: c["status"] for c in summary["components"]}["API"] == "operational"
    history = public(k, "incidents.json")["incidents"]
    assert [i["id"] for i in history] == [created.id]
    h = history[0]
    assert (h["status"], h["impact"]) == ("resolved", "minor")
    assert h["resolved_at"] is not None and h["monitoring_at"] is not None
    assert [u["status"] for u in h["incident_updates"]] == ["resolved", "monitoring", "identified", "investigating"]
    assert h["incident_updates"][1]["body"] == "Rolled back to 1.4.2; watching error rates."
    assert [c["id"] for c in h["components"]] == [api_c.id]
    assert "metadata" not in h  # internal fields stay off the public JSON


def test_client_errors_and_keys(klaxon_factory):
    k = klaxon_factory(extra={"status_pages": STATUS_PAGES})
    components = sp.ComponentsApi(api_client(k))
    incidents = sp.IncidentsApi(api_client(k))
    c = new_component(components, "API")

    # A component status Statuspage does not know (the client checks the incident's own
    # status itself, not the values of `components`): 422 in Statuspage's error shape, with
    # nothing written.
    with pytest.raises(ApiException) as e:
        incidents.post_pages_page_id_incidents(
            sp.PostPagesPageIdIncidents(incident=sp.PostPagesPageIdIncidentsIncident(
                name="Broken", status="investigating", components={c.id: "exploding"})),
            PAGE)
    assert e.value.status == 422, e.value
    err = json.loads(e.value.body)
    assert f"components[{c.id}]" in err["error"] and err["message"] == err["error"], err
    # A maintenance status on an incident without scheduled_for.
    with pytest.raises(ApiException) as e:
        incidents.post_pages_page_id_incidents(
            sp.PostPagesPageIdIncidents(incident=sp.PostPagesPageIdIncidentsIncident(
                name="Broken", status="in_progress", components={c.id: "major_outage"})),
            PAGE)
    assert e.value.status == 422, e.value
    assert "maintenance status" in json.loads(e.value.body)["error"]
    assert incidents.get_pages_page_id_incidents(PAGE) == []
    assert components.get_pages_page_id_components_component_id(PAGE, c.id).status == "operational"

    # An unknown component in `components` is refused, not silently dropped.
    with pytest.raises(ApiException) as e:
        incidents.post_pages_page_id_incidents(
            sp.PostPagesPageIdIncidents(incident=sp.PostPagesPageIdIncidentsIncident(
                name="Ghost", status="investigating", components={"no-such-component": "major_outage"})),
            PAGE)
    assert e.value.status in (404, 422), e.value
    assert incidents.get_pages_page_id_incidents(PAGE) == []

    # Unknown incident: 404. A team key: 403. A wrong key: 401.
    with pytest.raises(ApiException) as e:
        incidents.get_pages_page_id_incidents_incident_id(PAGE, "nope")
    assert e.value.status == 404
    with pytest.raises(ApiException) as e:
        sp.ComponentsApi(api_client(k, PROM_KEY)).get_pages_page_id_components(PAGE)
    assert e.value.status == 403
    with pytest.raises(ApiException) as e:
        sp.ComponentsApi(api_client(k, "wrong-key")).get_pages_page_id_components(PAGE)
    assert e.value.status == 401

"""The workflows designer pages: list, editor, check, save, publish, history, import, export, access."""

import io
import re

import pytest
import yaml

from referral.actors import Actor
from referral.designer import editing, service
from referral.designer.drawing import workflow_svg
from referral.designer.models import Workflow, WorkflowVersion
from referral.errors import Conflict
from referral.extensions import db
from workflows import validate


def small(key="foster-care", **changes) -> dict:
    document = {
        "key": key,
        "name": "Foster care placement",
        "stages": [
            {"key": "intake", "name": "Intake", "agency_type": "social", "start": True, "complete_within": "P3D"},
            {"key": "medical", "name": "Medical check", "agency_type": "health", "respond_within": "PT24H",
             "complete_within": {"high": "P2D", "medium": "P5D"}, "reminders": ["PT4H"]},
            {"key": "closed", "name": "Closed", "agency_type": "social", "terminal": True, "respond_within": "P5D"},
        ],
        "transitions": [
            {"from": "intake", "to": "medical", "label": "Refer for a medical check", "requires": ["consent"]},
            {"from": "medical", "to": "closed", "label": "Close"},
        ],
    }
    document.update(changes)
    return document


@pytest.fixture
def coordinator(make_user, make_agency):
    make_agency(type="health")
    return make_user(role="coordinator")


@pytest.fixture
def published(app, coordinator):
    """A workflow with version 1 published and no draft."""
    actor = Actor.of(coordinator)
    service.save_draft(small(), actor)
    service.publish("foster-care", actor, note="First version")
    db.session.commit()
    return "foster-care"


def table_fields(document: dict, **extra) -> dict:
    """Return the editor's table fields describing a document, as a browser would post them."""
    fields = {"view": "form", "key": document["key"], "name": document["name"], "format": "yaml"}
    for index, stage in enumerate(document["stages"]):
        prefix = f"stage-{index}-"
        fields[prefix + "key"] = stage["key"]
        fields[prefix + "name"] = stage["name"]
        fields[prefix + "agency_type"] = stage["agency_type"]
        if stage.get("start"):
            fields[prefix + "start"] = "1"
        if stage.get("terminal"):
            fields[prefix + "terminal"] = "1"
        for name in ("respond_within", "complete_within"):
            value = stage.get(name)
            if isinstance(value, dict):
                for level, text in value.items():
                    fields[f"{prefix}{name}-{level}"] = text
            elif value:
                fields[prefix + name] = value
        fields[prefix + "reminders"] = ", ".join(stage.get("reminders", []))
    for index, transition in enumerate(document["transitions"]):
        prefix = f"transition-{index}-"
        fields[prefix + "from"] = transition["from"]
        fields[prefix + "to"] = transition["to"]
        fields[prefix + "label"] = transition.get("label", "")
        fields[prefix + "mode"] = transition.get("mode", "handover")
        fields[prefix + "requires"] = ", ".join(transition.get("requires", []))
    fields.update(extra)
    return fields


def with_dead_end(document: dict) -> dict:
    """Add a non-terminal stage reached from intake that has no way out."""
    document["stages"].insert(2, {"key": "school", "name": "School enrolment", "agency_type": "education",
                                  "respond_within": "P2D"})
    document["transitions"].append({"from": "intake", "to": "school", "label": "Enrol"})
    return document


def stage_problem_row(html: str, kind: str, index: int) -> str:
    match = re.search(rf'<tr class="row-problems" data-problems-row="{kind}-{index}"\s*>(.*?)</tr>', html, re.S)
    assert match, f"no visible problems beside {kind} {index}"
    return match.group(1)


def svg_group(html: str, key: str) -> str:
    match = re.search(rf'<g class="([^"]*)" data-stage="{re.escape(key)}"', html)
    assert match, f"stage {key} is not drawn"
    return match.group(1)


def test_list_shows_latest_version_and_draft_state(client, login_as, make_user, published, coordinator):
    service.save_draft(small("other-flow", name="Another flow"), Actor.of(coordinator))
    db.session.commit()
    login_as(make_user(role="staff"))
    html = client.get("/designer/").get_data(as_text=True)
    foster = re.search(r'<tr data-workflow="foster-care">(.*?)</tr>', html, re.S).group(1)
    assert "version 1" in foster and "no draft" in foster
    other = re.search(r'<tr data-workflow="other-flow">(.*?)</tr>', html, re.S).group(1)
    assert "not published yet" in other and "draft" in other
    assert 'id="new-workflow"' not in html  # staff may look, not design
    assert ">Workflows</a>" in html  # in the navigation


def test_staff_may_view_but_not_edit_or_publish(client, login_as, make_user, published):
    login_as(make_user(role="staff"))
    assert client.get("/designer/foster-care").status_code == 200
    assert client.get("/designer/foster-care/versions/1").status_code == 200
    assert client.get("/designer/foster-care/edit").status_code == 403
    assert client.post("/designer/foster-care/edit", data=table_fields(small(), action="save")).status_code == 403
    assert client.post("/designer/foster-care/check", data={"view": "text", "text": "x"}).status_code == 403
    assert client.get("/designer/foster-care/publish").status_code == 403
    assert client.post("/designer/foster-care/publish").status_code == 403
    assert client.get("/designer/new").status_code == 403
    assert client.get("/designer/import").status_code == 403
    assert client.post("/designer/foster-care/discard").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, published):
    response = client.get("/designer/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_editor_shows_the_stored_draft_in_tables_text_and_picture(client, login_as, coordinator, published):
    login_as(coordinator)
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    assert 'name="stage-1-key" value="medical"' in html
    assert 'name="stage-1-complete_within-high-amount" value="2"' in html
    assert re.search(r'name="stage-1-complete_within-high-unit".*?<option value="days" selected>', html, re.S)
    assert 'name="transition-0-requires" value="consent"' in html
    assert "key: foster-care" in html  # the YAML text
    assert "start" in svg_group(html, "intake").split()
    assert "terminal" in svg_group(html, "closed").split()
    assert 'data-from="intake" data-to="medical"' in html
    assert "No problems." in html


def test_check_shows_each_problem_beside_its_stage_and_outlines_it(client, login_as, coordinator, published):
    login_as(coordinator)
    response = client.post("/designer/foster-care/edit", data=table_fields(with_dead_end(small()), action="check"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    beside = stage_problem_row(html, "stage", 2)
    assert 'data-code="dead_end"' in beside and "school" in beside
    assert '<tbody class="stage-row row-error" data-stage-row="2" data-stage="school">' in html
    assert "has-error" in svg_group(html, "school").split()
    assert "has-error" not in svg_group(html, "intake").split()
    # Nothing was stored by checking.
    assert db.session.get(Workflow, 1).draft is None


def test_problems_of_a_transition_and_of_shape_go_beside_their_rows(client, login_as, coordinator, published):
    login_as(coordinator)
    document = small()
    document["transitions"].append({"from": "medical", "to": "nowhere"})
    fields = table_fields(document, action="check")
    fields["stage-0-name"] = ""
    html = client.post("/designer/foster-care/edit", data=fields).get_data(as_text=True)
    assert "must not be blank" in stage_problem_row(html, "stage", 0)
    document["stages"][0]["name"] = "Intake"
    html = client.post("/designer/foster-care/edit", data=table_fields(document, action="check")).get_data(as_text=True)
    assert 'data-code="unknown_stage"' in stage_problem_row(html, "transition", 2)


def test_unreachable_stages_are_greyed_in_the_picture(app):
    document = small()
    document["stages"].insert(1, {"key": "orphan", "name": "Orphan", "agency_type": "justice",
                                  "respond_within": "P1D"})
    document["transitions"].append({"from": "orphan", "to": "closed"})
    svg = str(workflow_svg(document, validate(document), highlight={"medical"}))
    assert {"unreachable", "has-error"} <= set(svg_group(svg, "orphan").split())
    assert "highlighted" in svg_group(svg, "medical").split()
    assert "agency-justice" in svg_group(svg, "orphan").split()


def test_back_edges_are_curved(app):
    document = small()
    document["transitions"].append({"from": "medical", "to": "intake", "label": "Back for more", "return": True})
    svg = str(workflow_svg(document))
    back = re.search(r'<g class="transition mode-handover back-edge" data-from="medical" data-to="intake">.*?'
                     r'<path d="([^"]+)"', svg, re.S)
    assert back and " C" in back.group(1)
    assert "Back for more" in svg


def test_save_draft_from_the_tables_keeps_fields_the_tables_do_not_show(client, login_as, coordinator, published):
    login_as(coordinator)
    document = small(description="About foster care")
    document["stages"][1]["review_every"] = "P14D"
    document["stages"][1]["x-colour"] = "teal"
    service.save_draft(document, Actor.of(coordinator))
    db.session.commit()
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    rest = re.search(r'name="stage-1-rest" value="([^"]*)"', html).group(1)
    fields = table_fields(document, action="save", description="About foster care")
    fields["stage-1-rest"] = rest.replace("&#34;", '"')
    fields["stage-1-name"] = "Medical and mental-health check"
    response = client.post("/designer/foster-care/edit", data=fields)
    assert response.status_code == 302
    draft = db.session.get(Workflow, 1).draft
    assert draft["stages"][1]["name"] == "Medical and mental-health check"
    assert draft["stages"][1]["review_every"] == "P14D"
    assert draft["stages"][1]["x-colour"] == "teal"
    assert draft["stages"][1]["complete_within"] == {"high": "P2D", "medium": "P5D"}
    assert draft["transitions"][0]["requires"] == ["consent"]
    assert draft["description"] == "About foster care"
    assert "Draft saved" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_save_draft_from_the_text(client, login_as, coordinator, published):
    login_as(coordinator)
    text = service.render_document(with_dead_end(small()), "yaml")
    response = client.post("/designer/foster-care/edit", data={"view": "text", "text": text, "action": "save"})
    assert response.status_code == 302
    workflow = db.session.get(Workflow, 1)
    assert [stage["key"] for stage in workflow.draft["stages"]] == ["intake", "medical", "school", "closed"]
    assert "It has 1 error to fix" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_text_that_does_not_parse_or_changes_the_key_is_not_saved(client, login_as, coordinator, published):
    login_as(coordinator)
    response = client.post("/designer/foster-care/edit",
                           data={"view": "text", "text": "key: [unclosed", "action": "save"})
    assert response.status_code == 422
    assert "not valid YAML" in response.get_data(as_text=True)
    text = service.render_document(small("someone-else"), "yaml")
    response = client.post("/designer/foster-care/edit", data={"view": "text", "text": text, "action": "save"})
    assert response.status_code == 422
    assert "must stay foster-care" in response.get_data(as_text=True)
    assert db.session.get(Workflow, 1).draft is None
    assert service.find_workflow("someone-else") is None


def test_add_and_remove_rows_without_javascript(client, login_as, coordinator, published):
    login_as(coordinator)
    html = client.post("/designer/foster-care/edit",
                       data=table_fields(small(), action="add-stage")).get_data(as_text=True)
    assert 'name="stage-3-key" value=""' in html
    html = client.post("/designer/foster-care/edit",
                       data=table_fields(small(), action="add-transition")).get_data(as_text=True)
    assert 'name="transition-2-from" value=""' in html
    html = client.post("/designer/foster-care/edit",
                       data=table_fields(small(), action="remove-transition-1")).get_data(as_text=True)
    assert 'name="transition-1-from"' not in html
    assert 'data-code="dead_end"' in html  # medical now leads nowhere
    assert db.session.get(Workflow, 1).draft is None


def test_json_check_answers_problems_by_row_the_picture_and_the_other_view(client, login_as, coordinator, published):
    login_as(coordinator)
    response = client.post("/designer/foster-care/check", data=table_fields(with_dead_end(small())))
    assert response.status_code == 200
    result = response.get_json()
    assert result["errors"] == 1 and not result["valid"]
    dead_end = next(problem for problem in result["problems"] if problem["code"] == "dead_end")
    assert dead_end["stage_rows"] == [2] and dead_end["stages"] == ["school"]
    assert "school" in dead_end["message"]
    assert "has-error" in svg_group(result["svg"], "school").split()
    assert yaml.safe_load(result["text"])["stages"][2]["key"] == "school"
    assert result["tables"] is None

    text = service.render_document(small(), "json")
    result = client.post("/designer/foster-care/check", data={"view": "text", "text": text}).get_json()
    assert result["valid"] and result["text"] is None
    assert 'name="stage-2-key" value="closed"' in result["tables"]
    assert result["stage_keys"] == ["intake", "medical", "closed"]

    result = client.post("/designer/foster-care/check", data={"view": "text", "text": "{"}).get_json()
    assert result["svg"] is None and result["tables"] is None
    assert result["problems"][0]["code"] == "schema"


def test_publish_refused_with_errors_shows_them(client, login_as, coordinator, published):
    service.save_draft(with_dead_end(small()), Actor.of(coordinator))
    db.session.commit()
    login_as(coordinator)
    page = client.get("/designer/foster-care/publish").get_data(as_text=True)
    assert 'id="confirm-publish" disabled' in page
    response = client.post("/designer/foster-care/publish", data={"note": "try"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    refused = re.search(r'id="publish-refused">(.*?)</div>', html, re.S).group(1)
    assert 'data-code="dead_end"' in refused and "school" in refused
    assert db.session.query(WorkflowVersion).count() == 1


def test_publish_creates_a_version_and_the_history_shows_what_changed(client, login_as, coordinator, published):
    document = small()
    document["stages"][1]["respond_within"] = "PT12H"
    document["stages"].insert(2, {"key": "school", "name": "School", "agency_type": "education",
                                  "respond_within": "P2D"})
    document["transitions"][1:] = [{"from": "medical", "to": "school", "label": "Enrol"},
                                   {"from": "school", "to": "closed"}]
    service.save_draft(document, Actor.of(coordinator))
    db.session.commit()
    login_as(coordinator)
    confirm = client.get("/designer/foster-care/publish").get_data(as_text=True)
    assert 'class="diff-stage-added" data-stage="school"' in confirm
    response = client.post("/designer/foster-care/publish", data={"note": "Add school enrolment"})
    assert response.status_code == 302
    version = service.get_version("foster-care", 2)
    assert version.note == "Add school enrolment" and version.published_by_id == coordinator.id
    assert db.session.get(Workflow, 1).draft is None

    history = client.get("/designer/foster-care").get_data(as_text=True)
    assert '<tr data-version="2">' in history and "Add school enrolment" in history
    html = client.get("/designer/foster-care/diff?old=1&new=2").get_data(as_text=True)
    assert 'class="diff-stage-added" data-stage="school"' in html
    changed = re.search(r'class="diff-stage-changed" data-stage="medical">(.*?)</tr>', html, re.S).group(1)
    assert "respond_within" in changed and "PT24H" in changed and "PT12H" in changed
    assert 'class="diff-transition-added" data-from="medical" data-to="school"' in html
    assert 'class="diff-transition-removed" data-from="medical" data-to="closed"' in html
    assert "highlighted" in svg_group(html, "school").split()


def test_discard_draft_keeps_the_published_version(client, login_as, coordinator, published):
    service.save_draft(small(name="Renamed"), Actor.of(coordinator))
    db.session.commit()
    login_as(coordinator)
    response = client.post("/designer/foster-care/discard")
    assert response.status_code == 302
    workflow = db.session.get(Workflow, 1)
    assert workflow.draft is None and workflow.name == "Foster care placement"
    assert "no draft" in client.post("/designer/foster-care/discard", follow_redirects=True).get_data(as_text=True)


def test_new_workflow_starts_from_a_valid_template(client, login_as, coordinator, published):
    login_as(coordinator)
    response = client.post("/designer/new", data={"key": "family-reunification", "name": "Family reunification"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/designer/family-reunification/edit")
    workflow = service.get_workflow("family-reunification")
    assert workflow.latest_version == 0 and len(workflow.draft["stages"]) == 3
    assert not [problem for problem in validate(workflow.draft) if problem.is_error]
    before = service.get_workflow("foster-care").draft
    again = client.post("/designer/new", data={"key": "foster-care", "name": "Again"})
    assert again.status_code == 409 and "A workflow with this key exists already." in again.get_data(as_text=True)
    assert service.get_workflow("foster-care").draft == before and service.get_workflow("foster-care").name != "Again"
    assert client.post("/designer/new", data={"key": "Bad Key", "name": "x"}).status_code == 422


def test_creating_a_workflow_whose_key_is_taken_is_a_conflict_in_the_service(app, coordinator, published):
    with pytest.raises(Conflict) as refused:
        service.create_workflow(editing.starter_document("foster-care", "Again"), Actor.of(coordinator))
    assert refused.value.errors == {"key": ["A workflow with this key exists already."]}


def test_import_a_good_file_as_draft_or_published(client, login_as, coordinator, published):
    login_as(coordinator)
    text = service.render_document(small("respite-care", name="Respite care"), "yaml").encode()
    response = client.post("/designer/import", data={"file": (io.BytesIO(text), "respite.yaml")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("/designer/respite-care/edit")
    assert service.get_workflow("respite-care").draft["name"] == "Respite care"

    text = service.render_document(small("day-care", name="Day care"), "json").encode()
    response = client.post("/designer/import", data={"file": (io.BytesIO(text), "day.json"), "publish": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert service.get_workflow("day-care").latest_version == 1


@pytest.mark.parametrize(("content", "publish", "message"), [
    (b"key: [unclosed", False, "not valid YAML"),
    (b"stages: []\n", False, "needs a key"),
    (None, True, "cannot be published"),
    ("laughs", False, "anchor or alias"),
])
def test_import_a_bad_file_changes_nothing(client, login_as, coordinator, published, content, publish, message,
                                           billion_laughs):
    login_as(coordinator)
    if content == "laughs":
        content = billion_laughs.encode()
    content = content or service.render_document(with_dead_end(small(name="Broken")), "yaml").encode()
    data = {"file": (io.BytesIO(content), "bad.yaml")}
    if publish:
        data["publish"] = "y"
    response = client.post("/designer/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    workflow = db.session.get(Workflow, 1)
    db.session.refresh(workflow)
    assert workflow.draft is None and workflow.name == "Foster care placement"
    assert db.session.query(Workflow).count() == 1


def test_export_a_version_or_the_draft(client, login_as, make_user, coordinator, published):
    service.save_draft(small(name="Draft name"), Actor.of(coordinator))
    db.session.commit()
    login_as(make_user(role="staff"))
    response = client.get("/designer/foster-care/export?version=1&format=yaml")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=foster-care-v1.yaml"
    assert yaml.safe_load(response.get_data(as_text=True)) == small()
    response = client.get("/designer/foster-care/export?version=draft&format=json")
    assert response.headers["Content-Disposition"].endswith("foster-care-draft.json")
    assert response.get_json()["name"] == "Draft name"
    assert client.get("/designer/foster-care/export?version=7").status_code == 404


def test_post_without_csrf_token_is_refused(make_app, make_user, coordinator, published):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    client.post("/login", data={"email": coordinator.email, "password": "correct horse battery",
                                "csrf_token": token.group(1)})
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    check_token = re.search(r'data-csrf="([^"]+)"', html).group(1)
    text = service.render_document(small(name="Changed"), "yaml")

    assert client.post("/designer/foster-care/edit", data={"view": "text", "text": text, "action": "save"}
                       ).status_code == 400
    assert client.post("/designer/foster-care/check", data={"view": "text", "text": text}).status_code == 400
    assert client.post("/designer/foster-care/publish").status_code == 400
    assert client.post("/designer/foster-care/check", data={"view": "text", "text": text},
                       headers={"X-CSRFToken": check_token}).status_code == 200
    with app.app_context():
        assert db.session.get(Workflow, 1).draft is None


def unit_selected(html: str, name: str) -> str:
    """Return the unit a duration's list has selected."""
    match = re.search(rf'<select[^>]*name="{re.escape(name)}-unit"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no unit list {name}"
    return re.search(r'<option value="([a-z_]+)" selected>', match.group(1)).group(1)


def test_a_coordinator_types_deadlines_as_a_number_and_a_unit_in_russian(client, login_as, make_user, published):
    coordinator = make_user(role="coordinator", locale="ru")
    login_as(coordinator)
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    assert "рабочих дней" in html and "часов" in html  # the units in the reader's language
    assert 'name="stage-1-respond_within-amount" value="24"' in html
    assert unit_selected(html, "stage-1-respond_within") == "hours"
    assert unit_selected(html, "stage-1-reminders-0") == "hours"

    fields = table_fields(small(), action="save")
    for name in [name for name in fields if "_within" in name or name.endswith("reminders")]:
        del fields[name]
    fields.update({
        "stage-0-complete_within-amount": "3", "stage-0-complete_within-unit": "working_days",
        "stage-1-respond_within-amount": "12", "stage-1-respond_within-unit": "hours",
        "stage-1-complete_within-high-amount": "1", "stage-1-complete_within-high-unit": "weeks",
        "stage-1-complete_within-low-amount": "2", "stage-1-complete_within-low-unit": "months",
        "stage-1-complete_within-medium-amount": "", "stage-1-complete_within-medium-unit": "days",
        "stage-1-reminders-0-amount": "4", "stage-1-reminders-0-unit": "hours",
        "stage-1-reminders-1-amount": "30", "stage-1-reminders-1-unit": "minutes",
        "stage-2-respond_within-amount": "5", "stage-2-respond_within-unit": "days",
    })
    assert client.post("/designer/foster-care/edit", data=fields).status_code == 302
    draft = db.session.get(Workflow, 1).draft
    intake, medical, closed = draft["stages"]
    assert intake["complete_within"] == "3 working days"
    assert medical["respond_within"] == "PT12H"
    assert medical["complete_within"] == {"high": "P1W", "low": "P2M"}
    assert medical["reminders"] == ["PT4H", "PT30M"]
    assert closed["respond_within"] == "P5D"

    # Back in the editor, each reads as it was typed.
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    assert 'name="stage-0-complete_within-amount" value="3"' in html
    assert unit_selected(html, "stage-0-complete_within") == "working_days"
    assert unit_selected(html, "stage-1-complete_within-low") == "months"
    assert 'name="stage-1-reminders-1-amount" value="30"' in html
    assert 'name="stage-1-reminders-2-amount" value=""' in html  # room for one more


def test_a_duration_no_unit_can_say_stays_text_and_a_bad_number_is_named_in_words(
        client, login_as, coordinator, published):
    login_as(coordinator)
    service.save_draft(small(stages=[*small()["stages"][:1], {**small()["stages"][1], "respond_within": "P1DT12H"},
                                     small()["stages"][2]]), Actor.of(coordinator))
    db.session.commit()
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    assert 'name="stage-1-respond_within" value="P1DT12H"' in html  # a day and a half: kept as written

    fields = table_fields(small(), action="check")
    del fields["stage-1-respond_within"]
    fields.update({"stage-1-respond_within-amount": "three", "stage-1-respond_within-unit": "days"})
    response = client.post("/designer/foster-care/edit", data=fields)
    assert response.status_code == 422
    beside = stage_problem_row(response.get_data(as_text=True), "stage", 1)
    assert "Stage “Medical check”, respond within: three days is not a duration" in beside
    assert "stages[1]" not in beside


def test_problems_name_the_stage_and_the_field_in_the_readers_language(app):
    document = small()
    document["stages"][1]["name_ru"] = "Медосмотр"
    document["stages"][1]["complete_within"] = {"high": "P0D"}
    document["stages"][1]["reminders"] = ["P9D"]
    problems = [problem for problem in validate(document) if problem.code in ("invalid_duration",
                                                                              "reminder_not_before_deadline")]
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        messages = [item["message"] for item in editing.placed_problems(problems, document)]
    assert any(message.startswith("Этап «Медосмотр», срок выполнения, высокий риск") for message in messages), messages
    assert not any("stages[" in message for message in messages), messages
    with app.test_request_context(headers={"Accept-Language": "en"}):
        [api_message] = [item["message"] for item in service.problem_dicts(problems[:1])]
    assert "stages[1].complete_within.high" in api_message  # the API keeps the path (DESIGN section 5)


def test_stage_and_route_translations_are_edited_in_the_tables_and_a_missing_one_is_warned(
        client, login_as, coordinator, published):
    login_as(coordinator)
    document = small(name_ru="Приёмная семья", name_kk="Қабылдаушы отбасы")
    for item in document["stages"]:
        item["name_ru"], item["name_kk"] = item["name"] + " ru", item["name"] + " kk"
    for item in document["transitions"]:
        item["label_ru"], item["label_kk"] = item["label"] + " ru", item["label"] + " kk"
    fields = table_fields(document, action="save", name_ru=document["name_ru"], name_kk=document["name_kk"])
    for index, item in enumerate(document["stages"]):
        fields[f"stage-{index}-name_ru"], fields[f"stage-{index}-name_kk"] = item["name_ru"], item["name_kk"]
    for index, item in enumerate(document["transitions"]):
        fields[f"transition-{index}-label_ru"] = item["label_ru"]
        fields[f"transition-{index}-label_kk"] = item["label_kk"]
    fields["stage-1-name_kk"] = ""  # the Kazakh name left out
    assert client.post("/designer/foster-care/edit", data=fields).status_code == 302
    draft = db.session.get(Workflow, 1).draft
    assert draft["name_ru"] == "Приёмная семья" and draft["stages"][0]["name_kk"] == "Intake kk"
    assert "name_kk" not in draft["stages"][1]
    assert draft["transitions"][1]["label_ru"] == "Close ru"

    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    assert 'name="stage-0-name_ru" value="Intake ru"' in html
    assert 'name="transition-1-label_kk" value="Close kk"' in html
    beside = stage_problem_row(html, "stage", 1)
    assert 'data-code="missing_translation"' in beside and "Kazakh" in beside
    assert "The draft is saved and can be published." not in html  # a warning, but still publishable:
    assert "Warnings do not block publishing." in html


def test_after_saving_the_editor_says_the_draft_can_be_published(client, login_as, coordinator, published):
    login_as(coordinator)
    html = client.get("/designer/foster-care/edit").get_data(as_text=True)
    assert "Once saved as a draft, it can be published." in html  # showing version 1, no draft yet
    response = client.post("/designer/foster-care/edit", data=table_fields(small(), action="save"),
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The draft is saved and can be published." in html
    assert "Once saved as a draft" not in html
    checked = client.post("/designer/foster-care/check", data=table_fields(small(name="Foster care, changed")),
                          headers={"Accept": "application/json"}).json
    assert "Once saved as a draft, it can be published." in checked["summary"]  # typed since the save


def test_designer_pages_name_the_workflow_in_the_readers_language(client, login_as, make_user, make_agency):
    make_agency(type="health")
    coordinator = make_user(role="coordinator", locale="kk")
    actor = Actor.of(coordinator)
    service.save_draft(small(name_ru="Размещение в приёмной семье", name_kk="Қабылдаушы отбасыға орналастыру"),
                       actor)
    service.publish("foster-care", actor, note="v1")
    service.save_draft(small(name_ru="Размещение в приёмной семье", name_kk="Қабылдаушы отбасыға орналастыру",
                             description="v2"), actor)
    db.session.commit()
    login_as(coordinator)
    for url in ("/designer/", "/designer/foster-care", "/designer/foster-care/edit",
                "/designer/foster-care/versions/1", "/designer/foster-care/diff?old=1&new=draft",
                "/designer/foster-care/publish"):
        html = client.get(url).get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        if url == "/designer/":
            header = re.search(r'<tr data-workflow="foster-care">(.*?)</tr>', html, re.S).group(1)
        else:
            header = re.search(r'<ol class="breadcrumb.*?</h1>', html, re.S).group(0)
        assert "Қабылдаушы отбасыға орналастыру" in header, url
        assert "Foster care placement" not in header + title, url

"""Forms of the case pages: register a case, record a consent or an interview, write a note, refer, close.

The child, the consent and the interview are checked by their API schemas; these forms only draw them.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length

from ..web.forms import SchemaForm
from .notes import MAX_NOTE
from .schemas import (
    CaseCreateSchema,
    ChildInSchema,
    ConsentCreateSchema,
    ConsentWithdrawSchema,
    HoldSchema,
    InterviewCreateSchema,
)
from .stuck import MAX_CLOSE_REASON

#: Languages a child may speak, as ISO 639-1 codes with names marked for translation.
LANGUAGES = [
    SelectChoice("kk", _l("Kazakh")), SelectChoice("ru", _l("Russian")), SelectChoice("uz", _l("Uzbek")),
    SelectChoice("ky", _l("Kyrgyz")), SelectChoice("tg", _l("Tajik")), SelectChoice("ar", _l("Arabic")),
    SelectChoice("tr", _l("Turkish")), SelectChoice("en", _l("English")),
]


class CheckboxesField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CaseForm(SchemaForm):
    schema = CaseCreateSchema()

    workflow = SelectField(_l("Workflow"))
    risk_level = SelectField(_l("Risk level"))
    given_name = StringField(_l("Given name"))
    family_name = StringField(_l("Family name"))
    patronymic = StringField(_l("Patronymic"))
    birth_date = DateField(_l("Birth date"),
                           description=_l("Give the birth date or, if it is not known, an estimated age."))
    estimated_age = IntegerField(_l("Estimated age (years)"), description=_l("Only when the birth date is not known."))
    sex = SelectField(_l("Sex"))
    region = SelectField(_l("Region"))
    languages = CheckboxesField(_l("Languages the child speaks"), choices=LANGUAGES)
    #: The fingerprint of the record a duplicate check showed matches for: pressing again registers it.
    checked = HiddenField()


class GuardianForm(Form):
    """One guardian's row on the child's record (no CSRF of its own: it sits inside ``ChildForm``)."""

    name = StringField(_l("Guardian's name"))
    relationship = StringField(_l("Relationship to the child"))
    phone = StringField(_l("Phone"))


class ChildForm(SchemaForm):
    """The child's record, corrected by an agency that works on the case."""

    schema = ChildInSchema()

    version = HiddenField()
    given_name = StringField(_l("Given name"))
    family_name = StringField(_l("Family name"))
    patronymic = StringField(_l("Patronymic"))
    birth_date = DateField(_l("Birth date"),
                           description=_l("Give the birth date or, if it is not known, an estimated age."))
    estimated_age = IntegerField(_l("Estimated age (years)"), description=_l("Only when the birth date is not known."))
    sex = SelectField(_l("Sex"))
    region = SelectField(_l("Region"))
    settlement = StringField(_l("District or settlement"), description=_l("Where the child lives now."))
    returned_on = DateField(_l("Returned to Kazakhstan on"))
    languages = CheckboxesField(_l("Languages the child speaks"), choices=LANGUAGES)
    guardians = FieldList(FormField(GuardianForm), min_entries=3, max_entries=10)

    def guardians_posted(self) -> list[dict]:
        """Return the guardian rows that were filled in, for the schema."""
        rows = []
        for entry in self.guardians:
            row = {name: (entry.form[name].data or "").strip() for name in ("name", "relationship", "phone")}
            if any(row.values()):
                rows.append({name: value for name, value in row.items() if value})
        return rows

    def attach(self, messages: dict, owner: str | None = None) -> None:
        # A guardian's messages go on the row they name; the rows are numbered as they were filled in.
        rows = messages.pop("guardians", None) if owner is None else None
        filled = [entry for entry in self.guardians if any((entry.form[name].data or "").strip()
                                                           for name in ("name", "relationship", "phone"))]
        for index, fields in (rows or {}).items():
            if isinstance(index, int) and isinstance(fields, dict) and index < len(filled):
                for name, texts in fields.items():
                    target = filled[index].form[name]
                    target.errors = list(target.errors or []) + [str(text) for text in texts]
            else:
                super().attach({"guardians": fields})
        super().attach(messages, owner)


class ConsentForm(SchemaForm):
    schema = ConsentCreateSchema()

    given_by = StringField(_l("Given by"))
    relationship_to_child = StringField(_l("Relationship to the child"),
                                        description=_l("For example mother, guardian, the child."))
    agency_types = CheckboxesField(_l("Agency types covered"))
    given_on = DateField(_l("Given on"))
    expires_on = DateField(_l("Expires on"))


class InterviewForm(SchemaForm):
    schema = InterviewCreateSchema()

    kind = SelectField(_l("What it was"))
    topic = StringField(_l("Topic"), description=_l("What the child was asked about or assessed for."))
    held_on = DateField(_l("Held on"))
    summary = TextAreaField(_l("Findings"),
                            description=_l("What the next agency needs to know, so that it does not ask again."))
    shared_with = CheckboxesField(_l("Agency types that may read the findings"))
    acknowledged_prior = BooleanField(_l("I have read the earlier interviews above, and another interview of the "
                                         "child is still needed"))
    justification = TextAreaField(_l("Why another interview is needed"), description=_l(
        "It goes on the case's timeline and into the audit log."))


class ConsentWithdrawForm(SchemaForm):
    schema = ConsentWithdrawSchema()

    reason = TextAreaField(_l("Why it is withdrawn"))
    #: Which consent the posted form was for (set by the view, not posted).
    consent_id = None


class HoldForm(SchemaForm):
    schema = HoldSchema()

    reason = TextAreaField(_l("Why the data must be kept"),
                           description=_l("For example the court case or the inquiry that needs the file."))


class ReferForm(FlaskForm):
    from_stage = HiddenField()
    to_stage = HiddenField(validators=[DataRequired()])
    to_agency = SelectField(_l("Agency"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason for the referral"), validators=[DataRequired(), Length(max=5000)])


class CloseCaseForm(FlaskForm):
    reason = TextAreaField(_l("Why the case is closed"), validators=[DataRequired(), Length(max=MAX_CLOSE_REASON)],
                           description=_l("It stays on the case's timeline for those who see the case; "
                                          "notifications and e-mails say only that the case was closed."))


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=MAX_NOTE)],
                         description=_l("What was done or learned. Notes are never sent in notifications or e-mails, "
                                        "and cannot be changed: write a new note to correct one."))
    shared = BooleanField(_l("Share with every agency that sees the full record"))

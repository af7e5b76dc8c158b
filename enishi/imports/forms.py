"""Forms of the import wizard: they turn posted text into values; the rules live in services."""

from __future__ import annotations

from django import forms
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext_lazy as _

from enishi.imports import conf, decisions, files
from enishi.imports.models import ImportRun

KIND_CHOICES = (
    ("auto", _("Decide per row (a row with a person's name is a person, else a company)")),
    ("person", _("Persons (with their company)")),
    ("company", _("Companies")),
)


class UploadForm(forms.Form):
    target = forms.ChoiceField(
        label=_("The file contains"), choices=ImportRun.Target.choices, initial="customers"
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("Excel (.xlsx), CSV or TSV; UTF-8, Shift_JIS (cp932) or EUC-JP."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.csv,.tsv,.txt"}),
    )


class LayoutForm(forms.Form):
    encoding = forms.ChoiceField(label=_("Encoding"), choices=files.ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter"), choices=files.DELIMITERS, required=False)
    sheet = forms.CharField(label=_("Sheet"), required=False, max_length=100)
    header_row = forms.IntegerField(
        label=_("Header row"),
        min_value=0,
        max_value=files.HEADER_SCAN_ROWS,
        required=False,
        help_text=_("0: the file has no header row."),
    )


class MappingForm(forms.Form):
    default_kind = forms.ChoiceField(label=_("The rows are"), choices=KIND_CHOICES, initial="auto")
    template_name = forms.CharField(
        label=_("Save these columns as a template named"),
        max_length=100,
        required=False,
        help_text=_("Offered again when a file with the same headers is uploaded."),
    )

    def __init__(self, *args, columns: int, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index in range(columns):
            self.fields[f"col_{index}"] = forms.ChoiceField(choices=choices, required=False)

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}") or "" for i in range(self.columns)]


class RulesForm(forms.Form):
    def __init__(self, *args, target: str, **kwargs):
        super().__init__(*args, **kwargs)
        labels = (
            decisions.CHOICE_LABELS if target == "customers" else decisions.ACTIVITY_CHOICE_LABELS
        )
        rule_labels = decisions.RULE_LABELS
        if target == "orders":
            rule_labels = {**rule_labels, **decisions.ORDER_RULE_LABELS}
        for name, choices in decisions.RULE_CHOICES[target].items():
            self.fields[name] = forms.ChoiceField(
                label=rule_labels[name],
                choices=[(c, labels[c]) for c in choices],
                widget=forms.RadioSelect,
            )


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes the size limit, so a 200 MB file is refused
    without being stored first (the rest of the request body is read and thrown away)."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = conf.max_bytes()
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + 64 * 1024:
            self.request.import_too_big = content_length
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit or getattr(self.request, "import_too_big", None):
            self.request.import_too_big = max(
                self.received, getattr(self.request, "import_too_big", 0) or 0
            )
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None

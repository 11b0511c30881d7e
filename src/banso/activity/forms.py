"""The upload form of the import page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import import_entity_choices


class ImportUploadForm(forms.Form):
    entity = forms.ChoiceField(label=_("Records"), choices=import_entity_choices)
    source = forms.SlugField(
        label=_("Source"),
        max_length=50,
        help_text=_("Where the records come from (e.g. salesforce, pos, asp-a). Ids are unique per source."),
    )
    file = forms.FileField(label=_("File (CSV or XLSX)"))

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".txt", ".tsv", ".xlsx", ".xlsm")):
            raise forms.ValidationError(_("Choose a CSV or XLSX file."))
        return upload

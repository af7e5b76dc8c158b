from django import forms
from django.utils.translation import gettext_lazy as _


class VCardUploadForm(forms.Form):
    file = forms.FileField(
        label=_("vCard file (.vcf)"),
        error_messages={
            "required": _("Choose a .vcf file exported from an address book or a phone."),
            "empty": _("The file is empty."),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".vcf,.vcard,text/vcard,text/x-vcard"}),
    )


class CardSelectionForm(forms.Form):
    format = forms.ChoiceField(
        choices=[
            ("pdf", _("PDF")),
            ("vcard3", _("vCard 3.0")),
            ("vcard4", _("vCard 4.0")),
        ],
        error_messages={"required": _("Choose PDF or vCard.")},
    )

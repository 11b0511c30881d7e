"""The inbound-mail webhook: a mail provider (or a relay) POSTs the raw RFC 822 message, signed with
SupportSettings.inbound_secret (HMAC-SHA256 of the request body in X-Banso-Signature)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import channels_email, desk
from .models import SupportSettings

MAX_MAIL = 25 * 1024 * 1024


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> HttpResponse:
    if len(request.body) > MAX_MAIL:
        return JsonResponse({"error": {"field": "message", "message": "too large"}}, status=413)
    config = SupportSettings.load()
    if not channels_email.verify_signature(
        request.body, request.headers.get("X-Banso-Signature", ""), config.inbound_secret
    ):
        return JsonResponse(
            {"error": {"field": "X-Banso-Signature", "message": "bad or missing signature"}}, status=403
        )
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("message")
        raw = upload.read() if upload is not None else request.POST.get("message", "").encode()
    else:
        raw = request.body
    try:
        received = channels_email.receive(raw)
    except desk.DeskError as exc:
        return JsonResponse({"error": {"field": exc.field, "message": exc.message}}, status=422)
    return JsonResponse(
        {
            "inquiry": received.message.inquiry.number,
            "message": received.message.pk,
            "created": received.created,
            "new_inquiry": received.new_inquiry,
        },
        status=201 if received.created else 200,
    )

"""One message unit → an ``InboundContent``: the endpoint it was sent to, the person's
identity, the text, attachments downloaded through the Graph API and checked like any upload,
and notes for what is kept as a link (a location, a sticker, an audio, a refused file)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from ventanilla.channels import meta_graph
from ventanilla.channels.meta_graph import MediaUnavailable
from ventanilla.channels.selectors import endpoint_for
from ventanilla.channels.services import InboundContent
from ventanilla.channels.whatsapp.units import (
    MessageUnit,
    NotARequest,
    Unprocessable,
    as_dict,
    dicts,
    digits,
    epoch_time,
)
from ventanilla.citizens.models import ChannelIdentity, IdentityKind
from ventanilla.tickets.uploads import CheckedUpload, check_upload, safe_display_name

EXTENSION_FOR_TYPE = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
    "application/pdf": "pdf",
}
# Message types that are not a request: recorded as ignored, never a ticket message.
WHATSAPP_IGNORED_TYPES = {"reaction", "system", "request_welcome"}


@dataclass
class _Parts:
    """What a message carries, before it becomes an ``InboundContent``."""

    text: str = ""
    attachments: list[CheckedUpload] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def content_for(unit: MessageUnit) -> InboundContent:
    if unit.provider == "whatsapp":
        return _whatsapp_content(unit)
    return _social_content(unit)


def _whatsapp_content(unit: MessageUnit) -> InboundContent:
    value = unit.body["entry"][0]["changes"][0]["value"]
    message = value["messages"][0]
    contact = (value.get("contacts") or [{}])[0]
    wa_id = digits(contact.get("wa_id")) or unit.sender
    if not unit.message_id or not wa_id:
        raise Unprocessable(_("El mensaje de WhatsApp no trae identificador o remitente."))
    kind = str(message.get("type") or "unknown")
    if kind in WHATSAPP_IGNORED_TYPES:
        raise NotARequest(_("Mensaje de WhatsApp de tipo %(type)s (no es una solicitud).")
                          % {"type": kind})
    phone_number_id = str(as_dict(value.get("metadata")).get("phone_number_id") or "")
    endpoint = endpoint_for(provider="whatsapp", address=phone_number_id) if phone_number_id \
        else None
    if endpoint is None:
        raise Unprocessable(
            _("Ningún punto de entrada activo de WhatsApp para el número con id «%(id)s».")
            % {"id": phone_number_id[:60]})
    parts = _whatsapp_parts(message, kind)
    return InboundContent(
        endpoint=endpoint, provider_message_id=unit.message_id,
        identity_kind=IdentityKind.WHATSAPP, identity_value=wa_id, identity_verified=True,
        reply_channel="whatsapp", reply_address=wa_id,
        sender_name=str(as_dict(contact.get("profile")).get("name") or "")[:200],
        phone=f"+{wa_id}", text=parts.text, attachments=parts.attachments, notes=parts.notes,
        join_open_conversation=True, received_at=epoch_time(message.get("timestamp")),
        data={"message_type": kind}, problem="; ".join(parts.problems),
        raw=unit.raw if parts.problems else b"", raw_name=unit.raw_name,
    )


def _whatsapp_parts(message: dict, kind: str) -> _Parts:
    parts = _Parts()
    detail = as_dict(message.get(kind))
    if kind == "text":
        parts.text = str(detail.get("body") or "")
    elif kind in ("image", "document"):
        parts.text = str(detail.get("caption") or "")
        _whatsapp_media(parts, kind, detail)
    elif kind == "location":
        parts.notes.append(_location_note(detail.get("latitude"), detail.get("longitude"),
                                          detail.get("name"), detail.get("address")))
    elif kind == "interactive":
        reply = as_dict(detail.get(str(detail.get("type") or "")))
        parts.text = str(reply.get("title") or "")
        parts.notes.append(_("Respondió con una opción de WhatsApp (%(type)s, id %(id)s).")
                           % {"type": detail.get("type") or "?", "id": reply.get("id") or "?"})
    elif kind == "button":
        parts.text = str(detail.get("text") or "")
        parts.notes.append(_("Respondió con un botón de la plantilla de WhatsApp."))
    elif kind == "contacts":
        for shared in dicts(message.get("contacts")):
            name = as_dict(shared.get("name")).get("formatted_name") or "?"
            phones = ", ".join(str(p.get("phone")) for p in dicts(shared.get("phones"))
                               if p.get("phone"))
            parts.notes.append(_("Compartió un contacto de WhatsApp: %(name)s %(phones)s")
                               % {"name": name, "phones": f"({phones})" if phones else ""})
    else:
        parts.notes.append(_unkept_media_note(kind, detail, message))
    return parts


def _unkept_media_note(kind: str, detail: dict, message: dict) -> str:
    """Audio, video, stickers, unsupported and unknown types: kept as a link with a note."""
    media_id = str(detail.get("id") or "")
    if media_id:
        link = meta_graph.graph_url(media_id)
        return (_("La persona envió por WhatsApp un contenido de tipo «%(type)s» que la "
                  "plataforma no guarda. Medio %(id)s (%(mime)s): %(link)s")
                % {"type": kind, "id": media_id, "mime": detail.get("mime_type") or "?",
                   "link": link})
    errors = "; ".join(
        str(error.get("title") or error.get("message") or error.get("code"))
        for error in dicts(message.get("errors")))
    return (_("La persona envió por WhatsApp un mensaje de tipo «%(type)s» que la plataforma "
              "no puede mostrar%(errors)s. Véalo en la aplicación de WhatsApp Business.")
            % {"type": kind, "errors": f" ({errors})" if errors else ""})


def _whatsapp_media(parts: _Parts, kind: str, detail: dict) -> None:
    media_id = str(detail.get("id") or "")
    mime = str(detail.get("mime_type") or "")
    label = _("imagen") if kind == "image" else _("documento")
    if not media_id:
        parts.notes.append(_("Adjunto de WhatsApp (%(label)s) sin identificador de medio.")
                           % {"label": label})
        parts.problems.append("media without id")
        return
    fallback = f"whatsapp-{re.sub(r'[^A-Za-z0-9]', '', media_id)[:40]}"
    name = str(detail.get("filename") or fallback)
    try:
        content, content_type = meta_graph.whatsapp_media_download(media_id)
        parts.attachments.append(_checked(content, _file_name(name, content_type or mime,
                                                              fallback)))
    except (MediaUnavailable, ValidationError) as exc:
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        parts.notes.append(
            _("No se guardó el adjunto de WhatsApp (%(label)s «%(name)s», medio %(id)s, "
              "%(link)s): %(reason)s")
            % {"label": label, "name": safe_display_name(name), "id": media_id,
               "link": meta_graph.graph_url(media_id), "reason": reason})
        parts.problems.append(f"{kind} {media_id}: {reason}")


def _file_name(name: str, content_type: str, fallback: str) -> str:
    """A file name whose extension agrees with the content type Meta gave, since the upload
    check compares the extension with the bytes (which it checks itself)."""
    name = safe_display_name(name)
    wanted = EXTENSION_FOR_TYPE.get(content_type.lower())
    if not wanted:
        return name  # not an image or PDF: the upload check refuses it with its reason
    path = PurePath(name)
    suffix = path.suffix.lower().lstrip(".")
    if suffix == wanted or (wanted == "jpg" and suffix == "jpeg"):
        return name
    return f"{(path.stem if suffix else name) or fallback}.{wanted}"


def _checked(content: bytes, name: str) -> CheckedUpload:
    return check_upload(SimpleUploadedFile(name, content))


def _location_note(latitude, longitude, name=None, address=None) -> str:
    """A shared location as text, with an OpenStreetMap link to open by hand (our pages
    never load a map from outside)."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return _("La persona compartió una ubicación sin coordenadas legibles.")
    place = ", ".join(str(part) for part in (name, address) if part)
    return (_("Ubicación compartida: %(place)s%(lat).6f, %(lon).6f — "
              "https://www.openstreetmap.org/?mlat=%(lat).6f&mlon=%(lon).6f#map=17/%(lat).6f/"
              "%(lon).6f")
            % {"place": f"{place} — " if place else "", "lat": lat, "lon": lon})


def _social_content(unit: MessageUnit) -> InboundContent:
    provider = unit.provider
    entry = unit.body["entry"][0]
    event = entry["messaging"][0]
    message = event["message"]
    user_id = unit.sender
    if not unit.message_id or not user_id:
        raise Unprocessable(_("El mensaje de %(provider)s no trae identificador o remitente.")
                            % {"provider": provider})
    account_id = str(as_dict(event.get("recipient")).get("id") or entry.get("id") or "")
    endpoint = endpoint_for(provider=provider, address=account_id) if account_id else None
    if endpoint is None:
        raise Unprocessable(
            _("Ningún punto de entrada activo de %(provider)s para la cuenta «%(id)s».")
            % {"provider": provider, "id": account_id[:60]})
    identity_value = f"{provider}:{user_id}"
    parts = _Parts(text=str(message.get("text") or ""))
    for attachment in dicts(message.get("attachments")):
        _social_attachment(parts, provider, attachment)
    if message.get("is_unsupported"):
        parts.notes.append(_("La persona envió un contenido que %(provider)s no entrega a la "
                             "plataforma; véalo en la bandeja de la cuenta.")
                           % {"provider": provider.capitalize()})
    name = ""
    if not ChannelIdentity.objects.filter(kind=IdentityKind.SOCIAL,
                                          value=identity_value).exists():
        name = meta_graph.social_profile_name(user_id, instagram=provider == "instagram")
    return InboundContent(
        endpoint=endpoint, provider_message_id=unit.message_id,
        identity_kind=IdentityKind.SOCIAL, identity_value=identity_value,
        identity_verified=True, reply_channel=provider, reply_address=user_id,
        sender_name=name, text=parts.text, attachments=parts.attachments, notes=parts.notes,
        join_open_conversation=True,
        received_at=epoch_time(event.get("timestamp"), millis=True),
        data={"message_type": "attachments" if message.get("attachments") else "text"},
        problem="; ".join(parts.problems), raw=unit.raw if parts.problems else b"",
        raw_name=unit.raw_name,
    )


def _social_attachment(parts: _Parts, provider: str, attachment: dict) -> None:
    kind = str(attachment.get("type") or "unknown")
    payload = as_dict(attachment.get("payload"))
    url = str(payload.get("url") or "")
    if kind == "location":
        coordinates = as_dict(payload.get("coordinates"))
        parts.notes.append(_location_note(coordinates.get("lat"), coordinates.get("long"),
                                          attachment.get("title")))
        return
    if kind in ("image", "file") and url and not payload.get("sticker_id"):
        if len(parts.attachments) >= settings.ATTACHMENT_MAX_FILES:
            # The intake refuses more files than a person may attach; the rest stay links.
            parts.notes.append(_("Adjunto adicional de %(provider)s no guardado (máximo "
                                 "%(max)d por mensaje): %(link)s")
                               % {"provider": provider.capitalize(),
                                  "max": settings.ATTACHMENT_MAX_FILES, "link": url})
            return
        fallback = f"{provider}-{len(parts.attachments) + 1}"
        try:
            content, content_type = meta_graph.attachment_download(url)
            parts.attachments.append(_checked(
                content, _file_name(PurePath(url.split("?")[0]).name or fallback,
                                    content_type, fallback)))
            return
        except (MediaUnavailable, ValidationError) as exc:
            reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            parts.notes.append(_("No se guardó el adjunto de %(provider)s (%(type)s, "
                                 "%(link)s): %(reason)s")
                               % {"provider": provider.capitalize(), "type": kind,
                                  "link": url, "reason": reason})
            parts.problems.append(f"{kind} {url[:80]}: {reason}")
            return
    title = attachment.get("title") or payload.get("title") or ""
    parts.notes.append(_("La persona envió por %(provider)s un contenido de tipo «%(type)s» "
                         "que la plataforma no guarda%(title)s: %(link)s")
                       % {"provider": provider.capitalize(), "type": kind,
                          "title": f" («{title}»)" if title else "",
                          "link": url or _("sin enlace")})

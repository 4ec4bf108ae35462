"""The printable request form of one institution (A4 PDF, reportlab).

Built on every request from the institution's live catalog, so the paper asks exactly
what the web form asks (the same types, topics, requester types and urgencies). The text
is set in Helvetica with WinAnsi encoding, which carries every Spanish letter
(á é í ó ú ü ñ ¿ ¡). ``invariant`` output: the same catalog gives the same bytes, so the
response can carry an ETag and be cached.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable

from django.utils.translation import gettext as _
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from ventanilla.paper.selectors import PaperFormCatalog

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 40
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TOP = PAGE_HEIGHT - MARGIN
BOTTOM = MARGIN + 24  # room for the footer
FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
GREY = Color(0.35, 0.35, 0.35)
LIGHT = Color(0.9, 0.9, 0.9)
LINE_GAP = 22  # between lines to write on
BOX = 9  # tick box side
FOLIO_BOX = (190, 44)


class _NumberedCanvas(canvas.Canvas):
    """Holds every page until the end so each footer can say "Página N de M"."""

    def __init__(self, *args, footer_left: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._footer_left = footer_left

    def showPage(self):  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColor(GREY)
            self.drawString(MARGIN, MARGIN - 6, self._footer_left)
            self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 6,
                                 _("Página %(page)d de %(total)d") % {"page": number,
                                                                      "total": total})
            super().showPage()
        super().save()


class _FormWriter:
    """A cursor over the page: each block asks for its height and breaks the page."""

    def __init__(self, pdf: _NumberedCanvas, catalog: PaperFormCatalog):
        self.pdf = pdf
        self.catalog = catalog
        self.y = TOP

    # -- page furniture ---------------------------------------------------------------------

    def folio_box(self) -> None:
        width, height = FOLIO_BOX
        left, top = PAGE_WIDTH - MARGIN - width, TOP
        self.pdf.setStrokeColor(black)
        self.pdf.setLineWidth(1.2)
        self.pdf.rect(left, top - height, width, height)
        self.pdf.setFont(FONT_BOLD, 8)
        self.pdf.setFillColor(black)
        self.pdf.drawString(left + 5, top - 11, _("Folio (uso interno)"))

    def page_header(self, *, first: bool) -> None:
        self.folio_box()
        institution = self.catalog.institution
        self.pdf.setFillColor(black)
        if first:
            self.pdf.setFont(FONT_BOLD, 11)
            self.pdf.drawString(MARGIN, TOP - 10, institution.name[:70])
            self.pdf.setFont(FONT_BOLD, 18)
            self.pdf.drawString(MARGIN, TOP - 34, _("Formulario de solicitud"))
            self.pdf.setFont(FONT, 9)
            self.pdf.setFillColor(GREY)
            self.pdf.drawString(MARGIN, TOP - 48,
                                _("Atención ciudadana: reclamos, consultas, sugerencias y "
                                  "felicitaciones"))
            self.y = TOP - FOLIO_BOX[1] - 18
        else:
            self.pdf.setFont(FONT_BOLD, 10)
            self.pdf.drawString(MARGIN, TOP - 10, institution.name[:70])
            self.pdf.setFont(FONT, 9)
            self.pdf.drawString(MARGIN, TOP - 24, _("Formulario de solicitud (continuación)"))
            self.y = TOP - FOLIO_BOX[1] - 14

    def need(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.pdf.showPage()
            self.page_header(first=False)

    # -- blocks -----------------------------------------------------------------------------

    def paragraph(self, text: str, *, size: float = 9, bold: bool = False,
                  color=black, width: float = CONTENT_WIDTH, indent: float = 0) -> None:
        font = FONT_BOLD if bold else FONT
        lines = simpleSplit(text, font, size, width - indent)
        leading = size * 1.3
        self.need(leading * len(lines))
        self.pdf.setFont(font, size)
        self.pdf.setFillColor(color)
        for line in lines:
            self.y -= leading
            self.pdf.drawString(MARGIN + indent, self.y + 2, line)
        self.pdf.setFillColor(black)

    def section(self, title: str) -> None:
        self.need(60)  # never a heading alone at the foot of a page
        self.y -= 10
        self.pdf.setFillColor(LIGHT)
        self.pdf.rect(MARGIN, self.y - 16, CONTENT_WIDTH, 16, stroke=0, fill=1)
        self.pdf.setFillColor(black)
        self.pdf.setFont(FONT_BOLD, 10.5)
        self.pdf.drawString(MARGIN + 4, self.y - 12, title)
        self.y -= 20

    def _label(self, label: str, required: bool, hint: str = "") -> None:
        self.pdf.setFont(FONT_BOLD, 9)
        self.pdf.setFillColor(black)
        text = f"{label} *" if required else label
        self.pdf.drawString(MARGIN, self.y, text)
        if hint:
            offset = self.pdf.stringWidth(text, FONT_BOLD, 9) + 6
            self.pdf.setFont(FONT, 7.5)
            self.pdf.setFillColor(GREY)
            for line in simpleSplit(hint, FONT, 7.5, CONTENT_WIDTH - offset)[:1]:
                self.pdf.drawString(MARGIN + offset, self.y, line)
            self.pdf.setFillColor(black)

    def write_line(self, label: str, *, required: bool = False, hint: str = "",
                   lines: int = 1) -> None:
        self.need(12 + LINE_GAP * lines)
        self.y -= 12
        self._label(label, required, hint)
        self.pdf.setStrokeColor(GREY)
        self.pdf.setLineWidth(0.5)
        for _line in range(lines):
            self.y -= LINE_GAP
            self.pdf.line(MARGIN, self.y, PAGE_WIDTH - MARGIN, self.y)
        self.y -= 4

    def char_boxes(self, label: str, groups: Iterable[tuple[int, str]], *,
                   required: bool = False, hint: str = "") -> None:
        """Boxes for one character each, e.g. the RUT: 8 digits, "-", the check digit."""
        self.need(40)
        self.y -= 12
        self._label(label, required, hint)
        self.y -= 22
        x = MARGIN
        self.pdf.setStrokeColor(black)
        self.pdf.setLineWidth(0.7)
        for count, separator in groups:
            for _box in range(count):
                self.pdf.rect(x, self.y, 16, 18)
                x += 16
            if separator:
                self.pdf.setFont(FONT_BOLD, 12)
                self.pdf.drawCentredString(x + 6, self.y + 4, separator)
                x += 12
        self.y -= 4

    def tick_options(self, label: str, options: list[tuple[str, str, int]], *,
                     required: bool = False, hint: str = "", columns: int = 2) -> None:
        """Tick boxes: (text, small description, indent level), in newspaper columns (down
        the first column, then the next), so a program stays above its products."""
        self.need(32)
        self.y -= 12
        self._label(label, required, hint)
        self.y -= 6
        column_width = CONTENT_WIDTH / columns
        entries = []
        for text, description, level in options:
            indent = 12 * level
            width = column_width - BOX - 10 - indent
            text_lines = simpleSplit(text, FONT, 9, width)
            desc_lines = simpleSplit(description, FONT, 7.5, width) if description else []
            height = 11 * len(text_lines) + 9 * len(desc_lines) + 5
            entries.append((text_lines, desc_lines, indent, height))
        while entries:
            # Balance the columns over what is left, within the room left on this page.
            target = sum(entry[3] for entry in entries) / columns
            room = self.y - BOTTOM
            if room < entries[0][3]:
                self.need(entries[0][3])
                continue
            used = 0.0
            for column in range(columns):
                top = self.y
                height = 0.0
                while entries and height + entries[0][3] <= room and (
                        height < target or column == columns - 1):
                    text_lines, desc_lines, indent, entry_height = entries.pop(0)
                    self._tick_box(MARGIN + column * column_width + indent, top - height,
                                   text_lines, desc_lines)
                    height += entry_height
                used = max(used, height)
            self.y -= used
            if entries:
                self.need(self.y - BOTTOM + 1)  # the rest goes on the next page
        self.y -= 2

    def _tick_box(self, x: float, top: float, text_lines: list[str],
                  desc_lines: list[str]) -> None:
        self.pdf.setStrokeColor(black)
        self.pdf.setLineWidth(0.7)
        self.pdf.setFillColor(white)
        self.pdf.rect(x, top - BOX - 1, BOX, BOX, fill=1)
        self.pdf.setFillColor(black)
        self.pdf.setFont(FONT, 9)
        line_y = top - 9
        for line in text_lines:
            self.pdf.drawString(x + BOX + 5, line_y, line)
            line_y -= 11
        self.pdf.setFont(FONT, 7.5)
        self.pdf.setFillColor(GREY)
        for line in desc_lines:
            self.pdf.drawString(x + BOX + 5, line_y + 2, line)
            line_y -= 9
        self.pdf.setFillColor(black)


def paper_form_pdf(catalog: PaperFormCatalog, *, compress: bool = True) -> bytes:
    """The A4 form as PDF bytes. ``compress=False`` leaves the page text readable (tests)."""
    institution = catalog.institution
    buffer = io.BytesIO()
    version = paper_form_version(catalog)
    pdf = _NumberedCanvas(
        buffer, pagesize=A4, pageCompression=1 if compress else 0, invariant=1,
        footer_left=f"Ventanilla · {institution.short_name} · {_('versión')} {version}",
    )
    pdf.setTitle(_("Formulario de solicitud — %(name)s") % {"name": institution.name})
    pdf.setAuthor(institution.name)
    pdf.setSubject(_("Formulario en papel, equivalente al formulario web"))
    pdf.setCreator("Ventanilla")
    writer = _FormWriter(pdf, catalog)
    writer.page_header(first=True)

    writer.paragraph(_("Escriba con letra clara, de preferencia en mayúsculas, y marque con "
                       "una X las opciones que correspondan. Los campos marcados con * son "
                       "obligatorios. Deje en blanco el recuadro «Folio»: lo completa la "
                       "institución al ingresar su solicitud."), size=9)

    writer.section(_("1. Identificación y contacto"))
    writer.write_line(_("Nombre completo"), required=True)
    writer.char_boxes(_("RUT"), [(2, "."), (3, "."), (3, "-"), (1, "")],
                      hint=_("Con dígito verificador, por ejemplo 12.345.678-5."))
    writer.write_line(_("Correo electrónico"),
                      hint=_("Le enviaremos el folio a este correo; lo necesitará para el "
                             "seguimiento."))
    writer.write_line(_("Teléfono"), hint=_("Por ejemplo +56 9 1234 5678."))

    if catalog.requester_types:
        writer.section(_("2. Tipo de usuario"))
        writer.tick_options(_("¿Quién hace la solicitud?"),
                            [(entry.name, "", 0) for entry in catalog.requester_types],
                            required=True, hint=_("Marque una opción."), columns=3)

    writer.section(_("3. Ubicación y establecimiento"))
    writer.write_line(_("Región"), required=True)
    writer.write_line(_("Comuna"), required=True)
    writer.write_line(_("Establecimiento"),
                      hint=_("Si su solicitud se refiere a un establecimiento, escriba su "
                             "nombre (y su código o RBD si lo conoce)."))

    writer.section(_("4. Su solicitud"))
    writer.tick_options(_("Motivo"),
                        [(entry.name, entry.description, 0) for entry in catalog.ticket_types],
                        required=True, hint=_("Marque una opción."))
    writer.tick_options(_("Tema"),
                        [(entry.name, "", min(entry.depth, 3)) for entry in catalog.topics],
                        required=True, hint=_("Marque una opción."))
    writer.tick_options(_("Urgencia"), [(label, "", 0) for _value, label in catalog.urgencies],
                        required=True, hint=_("Marque una opción."), columns=3)
    writer.write_line(_("Asunto"), required=True,
                      hint=_("Un resumen en una línea."))
    writer.write_line(_("Detalle"), required=True,
                      hint=_("Cuéntenos qué pasó, cuándo y dónde."), lines=12)
    writer.paragraph(_("Si necesita más espacio, continúe en una hoja aparte y entréguela "
                       "junto con este formulario, igual que copias de documentos o fotos."),
                     size=8, color=GREY)

    writer.section(_("5. Fecha y firma"))
    writer.char_boxes(_("Fecha"), [(2, "/"), (2, "/"), (4, "")],
                      hint=_("Día / mes / año."))
    writer.write_line(_("Firma"))

    writer.section(_("Protección de sus datos"))
    writer.paragraph(_("Usaremos sus datos solo para responder esta solicitud. Al entregar "
                       "este formulario, usted acepta que %(name)s registre sus datos en su "
                       "plataforma de atención ciudadana con ese fin.")
                     % {"name": institution.name}, size=8.5)

    writer.section(_("Dónde entregarlo"))
    delivery = _("Entregue este formulario en cualquier oficina de atención de %(name)s. "
                 "La institución lo ingresará a su plataforma y le asignará un folio; el "
                 "plazo de respuesta se cuenta desde ese ingreso.") % {"name": institution.name}
    if institution.contact_email:
        delivery += " " + _("También puede enviarlo escaneado o fotografiado a %(email)s.") % {
            "email": institution.contact_email}
    writer.paragraph(delivery, size=8.5)
    writer.paragraph(_("Con el folio y su correo puede seguir su solicitud en línea."),
                     size=8.5)

    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def paper_form_version(catalog: PaperFormCatalog) -> str:
    """A short code that changes whenever the catalog the form shows changes, printed in
    the footer so a transcriber can tell an outdated printout."""
    parts = [catalog.institution.name, catalog.institution.contact_email]
    parts += [f"t:{entry.pk}:{entry.name}:{entry.description}" for entry in catalog.ticket_types]
    parts += [f"p:{entry.depth}:{entry.name}" for entry in catalog.topics]
    parts += [f"r:{entry.pk}:{entry.name}" for entry in catalog.requester_types]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]

"""The "caritas": what each score of a 3- or 5-face scale is called and which face it shows.
The label is the text a screen reader reads (the face picture itself is decorative)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Face:
    score: int
    label: object  # lazy text
    icon: str  # static path of the SVG

    @property
    def css_class(self) -> str:
        return "face-" + self.icon.rsplit("/", 1)[-1].removesuffix(".svg")


_VERY_BAD = "surveys/faces/very-bad.svg"
_BAD = "surveys/faces/bad.svg"
_NEUTRAL = "surveys/faces/neutral.svg"
_GOOD = "surveys/faces/good.svg"
_VERY_GOOD = "surveys/faces/very-good.svg"

FACES: dict[int, list[Face]] = {
    3: [Face(1, _("Mala"), _BAD), Face(2, _("Regular"), _NEUTRAL), Face(3, _("Buena"), _GOOD)],
    5: [Face(1, _("Muy mala"), _VERY_BAD), Face(2, _("Mala"), _BAD),
        Face(3, _("Regular"), _NEUTRAL), Face(4, _("Buena"), _GOOD),
        Face(5, _("Muy buena"), _VERY_GOOD)],
}


def faces_for(scale: int) -> list[Face]:
    return FACES[scale]


def face_label(scale: int, score: int):
    return FACES[scale][score - 1].label


def is_top_answer(scale: int, score: int) -> bool:
    """The answers counted as satisfied: the two best faces of five, the best of three."""
    return score >= (4 if scale == 5 else 3)

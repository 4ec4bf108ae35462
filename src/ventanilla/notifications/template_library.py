"""The tags editable message templates may use (``rendering.RestrictedEngine``).

Django's standard tags minus those that reach outside the message: ``load`` (other
libraries), ``debug`` (dumps the context), ``csrf_token``; ``include``/``extends``/``block``
are not offered at all (they live in ``loader_tags``, which the engine does not load).
"""

from django import template
from django.template import defaulttags

SAFE_TAGS = (
    "autoescape", "comment", "cycle", "filter", "firstof", "for", "if", "ifchanged", "lorem",
    "now", "regroup", "resetcycle", "spaceless", "templatetag", "url", "verbatim",
    "widthratio", "with",
)

register = template.Library()
for _name in SAFE_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]

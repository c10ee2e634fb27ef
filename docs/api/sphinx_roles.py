"""MkDocs hook: Sphinx cross-reference roles in the docstrings, as links or code.

The docstrings of symrep are numpydoc and use Sphinx roles (``:func:`solve```,
``:class:`~symrep.solvers.SolverError```). mkdocstrings renders them as literal text
followed by inline code (``:func:<code>solve</code>``). This hook, run on every page,
drops the role and, where the target is documented on the same page (an element whose
id is the target's dotted path, or ends with ``.<target>``, matching one object only),
turns the code into a link to it. ``~`` shows the last component only, as in Sphinx.
"""

from __future__ import annotations

import re

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc|const):<code>(~?)([\w.]+)(\(\))?</code>"
)
_ID = re.compile(r'\bid="([\w.]+)"')


def _resolve(target, ids):
    if target in ids:
        return target
    matches = [i for i in ids if i.endswith("." + target)]
    return matches[0] if len(matches) == 1 else None


def on_page_content(html, page, config, files, **kwargs):
    """MkDocs event: rewrite the roles in the rendered page."""
    if ":<code>" not in html:
        return html
    ids = set(_ID.findall(html))

    def replace(match):
        short, target, call = match.group(1), match.group(2), match.group(3) or ""
        shown = (target.rsplit(".", 1)[-1] if short else target) + call
        anchor = _resolve(target.lstrip("."), ids)
        code = f"<code>{shown}</code>"
        return f'<a href="#{anchor}">{code}</a>' if anchor else code

    return _ROLE.sub(replace, html)

"""MkDocs hook: render the committed LaTeX derivation (derivations/*.tex) as Markdown.

``docs/derivation.md`` holds an introduction and the marker line
``<!-- derivation-steps -->``; at build time :func:`on_page_markdown` replaces the marker
with the steps, read from ``derivations/main.tex`` and the files it ``\\input``s, in that
order. The marker ``<!-- derivation-model-steps -->`` is replaced with the sections of
the other models' documents (``derivations/<name>/``) that are their own. Nothing
generated is committed, so the page cannot go stale: it always shows the LaTeX that
``symrep derive`` last wrote. The math is left as LaTeX for MathJax
(``pymdownx.arithmatex`` in generic mode); only the text between equations is translated
(sections, ``\\texttt``, ``\\emph``, dashes, ties).

Run it directly to print the generated Markdown::

    python docs/gen_derivation.py > /tmp/derivation.md
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

MARKER = "<!-- derivation-steps -->"
MODEL_MARKER = "<!-- derivation-model-steps -->"
PAGE = "derivation.md"

log = logging.getLogger("mkdocs.hooks.gen_derivation")

# Display environments: rendered as their own Markdown paragraph (MathJax block).
_DISPLAY_ENVS = r"align\*?|equation\*?|gather\*?|multline\*?|eqnarray\*?"
# Math regions, in order of precedence; everything else is text.
_MATH = re.compile(
    r"(?P<display>\\\[.*?\\\]|\$\$.*?\$\$"
    rf"|\\begin\{{(?P<env>{_DISPLAY_ENVS})\}}.*?\\end\{{(?P=env)\}})"
    r"|(?P<inline>(?<!\\)\$.+?(?<!\\)\$|\\\(.*?\\\))",
    re.DOTALL,
)
_SECTION = re.compile(r"\\(section|subsection|subsubsection)\*?\{((?:[^{}]|\{[^{}]*\})*)\}")
# Text-mode commands translated to Markdown; anything else left in text is reported.
_TEXT_COMMANDS = [
    (re.compile(r"\\texttt\{([^{}]*)\}"), r"`\1`"),
    (re.compile(r"\\(?:emph|textit)\{([^{}]*)\}"), r"*\1*"),
    (re.compile(r"\\textbf\{([^{}]*)\}"), r"**\1**"),
    (re.compile(r"\\(?:noindent|medskip|smallskip|bigskip|par)\b\s*"), ""),
]
_TOC_SYMBOLS = {
    r"\to": "→", r"\infty": "∞", r"\alpha": "α", r"\beta": "β", r"\lambda": "λ",
    r"\rho": "ρ", r"\eta": "η", r"\epsilon": "ε", r"\chi": "χ",
}


def _toc_label(title: str) -> str:
    """Plain-text version of a section title (the table of contents shows no math)."""
    def plain(match):
        tex = match.group(0).strip("$")
        for cmd, char in _TOC_SYMBOLS.items():
            tex = re.sub(re.escape(cmd) + r"(?![a-zA-Z])", f" {char} ", tex)
        return re.sub(r"\s+", " ", tex.replace("{", "").replace("}", "")).strip()

    return re.sub(r"\$[^$]*\$", plain, title).replace('"', "'")


def _text(segment: str, where: str) -> str:
    """Translate a text (non-math) segment of LaTeX to Markdown."""
    for pattern, repl in _TEXT_COMMANDS:
        segment = pattern.sub(repl, segment)
    segment = segment.replace("---", "\u2014").replace("--", "\u2013").replace("~", "\u00a0")
    segment = segment.replace("``", "\u201c").replace("''", "\u201d")
    left = re.findall(r"\\[a-zA-Z]+", segment)
    if left:
        # would show up as raw LaTeX on the page: make the (strict) build say so
        log.warning("%s: text-mode LaTeX not translated: %s", where, ", ".join(sorted(set(left))))
    return segment


def _display(math: str) -> str:
    """A display-math region, dedented, as its own Markdown block."""
    lines = [line.strip() for line in math.strip().splitlines()]
    return "\n\n" + "\n".join(line for line in lines if line) + "\n\n"


def _body(tex: str, where: str) -> str:
    """Markdown for the body of one LaTeX file (comments, sections, text and math)."""
    tex = "\n".join(line for line in tex.splitlines() if not line.lstrip().startswith("%"))
    tex = re.sub(r"(?<!\\)%.*", "", tex)  # trailing comments
    out, pos = [], 0
    for match in _MATH.finditer(tex):
        out.append(("text", tex[pos:match.start()]))
        out.append(("display" if match.group("display") else "inline", match.group(0)))
        pos = match.end()
    out.append(("text", tex[pos:]))
    parts = []
    for k, (kind, chunk) in enumerate(out):
        if kind == "display":
            # punctuation right after a display ends the equation, not a new paragraph
            following = out[k + 1][1] if k + 1 < len(out) else ""
            punct = re.match(r"\s*([.,;:])", following)
            if punct:
                end = re.search(r"(\\\]|\$\$|\\end\{[^}]*\})\s*$", chunk)
                chunk = chunk[:end.start()] + punct.group(1) + "\n" + chunk[end.start():]
                out[k + 1] = ("text", following[punct.end():])
            parts.append(_display(chunk))
        elif kind == "inline":
            parts.append(chunk)
        else:
            parts.append(_text(chunk, where))
    md = re.sub(r"\n[ \t]+", "\n", "".join(parts))
    return re.sub(r"\n{3,}", "\n\n", md)


def derivation_markdown(root: Path, heading_level: int = 2) -> str:
    """The whole derivation (every ``\\input`` of main.tex, in order) as Markdown."""
    folder = Path(root) / "derivations"
    main = (folder / "main.tex").read_text(encoding="utf-8")
    inputs = re.findall(r"^\s*\\input\{([^}]+)\}", main, flags=re.MULTILINE)
    if not inputs:
        raise ValueError(f"{folder / 'main.tex'}: no \\input{{...}} steps found")
    blocks = []
    for number, name in enumerate(inputs, start=1):
        path = folder / (name if name.endswith(".tex") else name + ".tex")
        blocks.append(_step_block(path, number, heading_level, "step-", root))
    return "\n\n".join(blocks)


def _inputs(main: Path) -> list[str]:
    """The files ``main`` includes, in order (names without ``.tex`` as written)."""
    names = re.findall(r"^\s*\\input\{([^}]+)\}", main.read_text(encoding="utf-8"),
                       flags=re.MULTILINE)
    return [name if name.endswith(".tex") else name + ".tex" for name in names]


def _step_block(path: Path, number: int, heading_level: int, slug_prefix: str,
                root: Path) -> str:
    """One step file as a Markdown section: heading (numbered, with an anchor), source
    line and body."""
    tex = path.read_text(encoding="utf-8")
    where = path.resolve().relative_to(Path(root).resolve()).as_posix()
    body, title = tex, path.stem
    section = _SECTION.search(tex)
    if section:
        title = section.group(2)
        body = tex[:section.start()] + tex[section.end():]
    hashes = "#" * heading_level
    label = f"{number}. {_toc_label(title)}"
    slug = slug_prefix + path.stem.split("_", 1)[0]
    return (f'{hashes} {number}. {title} {{ #{slug} data-toc-label="{label}" }}\n\n'
            f"*Source: `{where}`.*\n\n" + _body(body, where).strip() + "\n")


def model_markdown(root: Path, heading_level: int = 3) -> str:
    """The sections of the other models' documents that are their own, as Markdown.

    Every subfolder of ``derivations/`` with a ``main.tex`` is the document of one model
    (written by ``symrep derive --model NAME``); the files it includes that are not the
    linear VAE's (not in ``derivations/`` itself) are rendered, numbered as in that
    document, under a heading naming the folder.
    """
    folder = Path(root) / "derivations"
    linear = {p.name for p in folder.glob("*.tex")}
    blocks = []
    for sub in sorted(p for p in folder.iterdir() if (p / "main.tex").is_file()):
        for number, name in enumerate(_inputs(sub / "main.tex"), start=1):
            if name not in linear:
                blocks.append(_step_block(sub / name, number, heading_level,
                                          f"{sub.name}-step-", root))
    return "\n\n".join(blocks)


def on_page_markdown(markdown, page, config, files, **kwargs):
    """MkDocs event: fill the marker of the derivation page."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        log.warning("%s: marker %s not found; derivation not inserted", PAGE, MARKER)
        return markdown
    root = Path(config["config_file_path"]).parent
    markdown = markdown.replace(MARKER, derivation_markdown(root))
    if MODEL_MARKER in markdown:
        markdown = markdown.replace(MODEL_MARKER, model_markdown(root))
    return markdown


if __name__ == "__main__":
    _root = Path(__file__).resolve().parent.parent
    sys.stdout.write(derivation_markdown(_root) + "\n\n" + model_markdown(_root) + "\n")

"""A local Sphinx extension for the book's website (listed in _config.yml, `local_extensions`).

- Sphinx 7.4 with sphinx-thebe and sphinx-togglebutton writes their inline configuration scripts
  twice into every page (`const THEBE_JS_URL` declared twice is a page error in the browser): the
  page's script list is deduplicated, keeping the first of each.
- The bibliography page labels entries like the citations in the text, "Goodfellow et al.,
  2015" (pybtex's default alpha labels, "[AHW96]", match nothing the reader saw); the style is
  registered here as "book" and selected by `bibtex_default_style` in _config.yml.
- MyST-NB gives a figure made by a code cell the image's file name as its alt text: an image in a
  numbered figure without a written alt text gets the figure's caption, so a screen reader says
  what the figure shows.
"""

from __future__ import annotations

from collections import Counter

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle


class AuthorYearLabels(BaseLabelStyle):
    """Labels as the text cites: "Saxe et al., 2013", "Baldi & Hornik, 1989"; a, b for repeats."""

    def format_label(self, entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(p.prelast_names + p.last_names) for p in people]
        names = [n.replace("{", "").replace("}", "") for n in names]
        who = (names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2
               else f"{names[0]} et al." if names else entry.key)
        return f"{who}, {entry.fields.get('year', 'n.d.')}"

    def format_labels(self, sorted_entries):
        labels = [self.format_label(e) for e in sorted_entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            yield label if count[label] == 1 else label + "abcdefghijklmnopqrstuvwxyz"[seen[label]]
            seen[label] += 1


class BookStyle(PlainStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = SortingStyle


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", script) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def _is_file_name(alt: str | None, uri: str) -> bool:
    return not alt or alt == uri or alt.rsplit(".", 1)[-1].lower() in ("png", "svg", "jpg", "jpeg", "gif")


def _alt_from_captions(app, doctree, docname) -> None:
    for figure in doctree.findall(nodes.figure):
        caption = next(iter(figure.findall(nodes.caption)), None)
        if caption is None:
            continue
        text = " ".join(caption.astext().split())
        for image in figure.findall(nodes.image):
            if _is_file_name(image.get("alt"), image.get("uri", "")):
                image["alt"] = text


def setup(app):
    register_plugin("pybtex.style.formatting", "book", BookStyle)
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    app.connect("doctree-resolved", _alt_from_captions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""A local Sphinx extension for the book's website (listed in _config.yml, `local_extensions`).

- Sphinx 7.4 with sphinx-thebe and sphinx-togglebutton writes their inline configuration scripts
  twice into every page (`const THEBE_JS_URL` declared twice is a page error in the browser): the
  page's script list is deduplicated, keeping the first of each.
- MyST-NB gives a figure made by a code cell the image's file name as its alt text: an image in a
  numbered figure without a written alt text gets the figure's caption, so a screen reader says
  what the figure shows.
"""

from __future__ import annotations

from docutils import nodes


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
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    app.connect("doctree-resolved", _alt_from_captions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""What every page shares on screen and on paper: injected once per run by the router (``apply``).

- the document's language is French (``<html lang="fr">``: screen readers, hyphenation, spelling);
- a smaller top band (Streamlit leaves 96 px empty above every title) and narrower side margins;
- a print stylesheet: no sidebar, no toolbar, no buttons, the map kept on one page, tables unclipped;
- projection mode (``?presentation=1``, and always on the presentation page): no sidebar, no top band,
  the whole screen for one message.

Style sheets go through ``st.html`` with nothing but ``<style>``: Streamlit puts them in its event
container, so they take no room on the page. Scripts (the language, the way out of projection mode) run
in a hidden container; « Copier le lien de cette vue » is a plain button with its script (no rerun).
The module also keeps a view in the address (``restore_list``, ``mirror``) and prints tables whole
(``printable_table``).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

from components import auth

PRESENTATION_PARAM = "presentation"

# Streamlit's own test ids (1.67), checked in the browser tests
CHROME = ('[data-testid="stSidebar"]', '[data-testid="stSidebarCollapsedControl"]',
          '[data-testid="stExpandSidebarButton"]', '[data-testid="stHeader"]', '[data-testid="stToolbar"]',
          '[data-testid="stDecoration"]', '[data-testid="stStatusWidget"]')

BASE_CSS = """
[data-testid="stMainBlockContainer"] { padding-top: 2.75rem !important; padding-bottom: 3rem !important;
  padding-left: 2.5rem !important; padding-right: 2.5rem !important; }
[data-testid="stHeader"] { height: 2.5rem !important; min-height: 2.5rem !important; }
[data-testid="stHeading"] h1 { padding-top: 0.25rem; padding-bottom: 0.5rem; }
/* every chosen value of a multiselect in view (the structures compared, the filters): chips wrap onto
   more lines instead of scrolling out of sight */
[data-testid="stMultiSelectTagsContainer"] { flex-wrap: wrap !important; overflow: visible !important;
  max-height: none !important; min-width: 0 !important; flex: 1 1 0 !important; }
[data-testid="stMultiSelectTagsContainer"] > span[role="group"] { flex-wrap: wrap !important; }
[data-testid="stMultiSelect"] div:has(> [data-testid="stMultiSelectTagsContainer"]) { height: auto !important;
  max-height: none !important; }
/* the comparison's four structures on two lines at most (its cards, below, give the names whole), so that
   the cards and the map still fit one 1280x720 screen */
.st-key-comparer-structures [data-tag] { max-width: calc(50% - 6px) !important; }
/* the hidden container of the page scripts (language, keyboard, link copy helpers) */
[class*="st-key-diag-scripts"] { display: none !important; }
/* a map that fills the height of the screen under the page's title and controls */
.st-key-carte-zone iframe { height: calc(100vh - 13.5rem) !important; min-height: 380px; }
.st-key-marches-zone iframe { height: min(620px, calc(100vh - 7rem)) !important; min-height: 380px; }
.st-key-comparer-zone iframe { height: calc(100vh - 8.75rem) !important; min-height: 380px; }
/* a structure's card beside the map: figures that never cut ("Population c…", "433…") */
[class*="st-key-fiche"] h3 { font-size: 1.4rem; }
[class*="st-key-fiche"] [data-testid="stMetricValue"] { font-size: 1.55rem; }
[class*="st-key-fiche"] [data-testid="stMetricLabel"] p, [class*="st-key-fiche"] [data-testid="stMetricLabel"] div {
  white-space: normal; overflow: visible; text-overflow: clip; }
[class*="st-key-fiche"] [data-testid="stMetric"] { min-width: 0; }
/* the legend of a map, outside the map */
.diag-legend { font-size: 16px; line-height: 1.35; }
.diag-legend .diag-legend-title { font-weight: 700; margin-bottom: 2px; }
.diag-legend .diag-legend-item { display: flex; align-items: center; gap: 8px; margin: 1px 0; }
.diag-legend .diag-swatch { flex: 0 0 22px; height: 14px; border: 1px solid #333; border-radius: 2px; }
.diag-legend .diag-swatch.line { height: 0; border: 0; border-top: 3px dashed; border-radius: 0; }
.diag-legend .diag-swatch.dot { flex: 0 0 14px; width: 14px; border-radius: 50%; }
.diag-legend .diag-legend-note { font-size: 13px; color: #444; margin-top: 4px; }
.diag-legend.columns .diag-legend-items { columns: 2; column-gap: 16px; }
.diag-legend .diag-legend-item { break-inside: avoid; }
/* the paper copy of a table (components.style.print_copy) takes no room on screen */
[data-testid="stElementContainer"]:has(.diag-print-only) { display: none; }
/* « Copier le lien de cette vue »: a plain button that looks like Streamlit's */
button.diag-copy { font: inherit; font-size: 1rem; padding: 0.3rem 0.75rem; min-height: 2.5rem; cursor: pointer;
  border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; background: #fff; color: #161616; }
button.diag-copy:hover { border-color: #000091; color: #000091; }
/* compact cards of the comparison page */
.diag-cards { display: grid; gap: 10px; }
.diag-card { border: 1px solid #ddd; border-left: 8px solid var(--c, #777); border-radius: 6px;
  padding: 6px 10px; background: #fff; }
.diag-card .diag-card-name { font-size: 17px; font-weight: 700; line-height: 1.2; }
.diag-card .diag-card-type { font-size: 13px; color: #3a3a3a; line-height: 1.3; }
.diag-card .diag-card-figures { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 2px 12px;
  margin-top: 4px; }
.diag-card .diag-card-value { font-size: 20px; font-weight: 700; line-height: 1.15; white-space: nowrap; }
.diag-card .diag-card-label { font-size: 13px; color: #333; line-height: 1.2; }
.diag-cards.two { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.diag-cards.two .diag-card-figures { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.diag-legend.inline { font-size: 14px; line-height: 1.25; margin-top: -4px; }
.diag-legend.inline .diag-legend-items { display: flex; flex-wrap: wrap; gap: 2px 14px; }
"""

PRINT_CSS = """
@page { size: A4 landscape; margin: 12mm; }
@media print {
  %(chrome)s, .stButton, .stDownloadButton, [data-testid="stPopover"], [data-testid="stTextInput"],
  [data-testid="stPageLink"], .diag-noprint { display: none !important; }
  html, body, #root, [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"],
  [data-testid="stMainBlockContainer"], [data-testid="stAppScrollToBottomContainer"] {
    position: static !important; overflow: visible !important; height: auto !important; max-height: none !important;
  }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: none !important; }
  /* a map is never cut between two pages, and fits one page */
  [data-testid="stElementContainer"]:has(iframe) { break-inside: avoid; page-break-inside: avoid; }
  iframe { break-inside: avoid; page-break-inside: avoid; max-height: 135mm !important; }
  /* tables in full: no inner scroll, no clipped cell */
  [data-testid="stTable"], [data-testid="stTable"] *, [data-testid="stDataFrame"],
  [data-testid="stDataFrameResizable"], .stDataFrame, [data-testid="stMarkdownContainer"] table {
    overflow: visible !important; max-height: none !important; }
  [data-testid="stTable"] tr, [data-testid="stMarkdownContainer"] tr { break-inside: avoid; }
  /* a printable table: its HTML copy with every row instead of the data grid (which prints its window) */
  [class*="st-key-imprimable"] [data-testid="stDataFrame"] { display: none !important; }
  [data-testid="stElementContainer"]:has(.diag-print-only) { display: block !important; }
  .diag-print-table { border-collapse: collapse; width: 100%%; font-size: 10pt; }
  .diag-print-table th, .diag-print-table td { border: 1px solid #999; padding: 2px 5px; text-align: left; }
  .diag-print-table td.num { text-align: right; white-space: nowrap; }
  .diag-print-table thead { display: table-header-group; }
  .diag-print-table tr { break-inside: avoid; }
  [data-testid="stExpander"]:has(.diag-legend) { display: none !important; }  /* its copy is printed */
  a[href]::after { content: none !important; }
}
""" % {"chrome": ", ".join(CHROME)}

PRESENTATION_CSS = """
%(chrome)s { display: none !important; }
a.diag-exit { position: fixed; bottom: 10px; right: 12px; z-index: 999991; font-size: 16px; padding: 4px 10px;
  background: #fff; border: 1px solid #999; border-radius: 6px; color: #000091; text-decoration: none; }
[data-testid="stMainBlockContainer"] { padding: 10px 24px 0 24px !important; max-width: none !important; }
[data-testid="stMain"] { padding-left: 0 !important; }
[data-testid="stAppViewContainer"] > section, [data-testid="stMain"] { margin-left: 0 !important; }
""" % {"chrome": ", ".join(CHROME)}

# Streamlit's own words that the app cannot set (no locale option): the data grids' toolbar and column
# menu, a select box's empty search. Each is replaced where it appears (text, tooltip, aria-label,
# placeholder), exact matches only, by one observer installed once per page.
STREAMLIT_FRENCH = {
    "No results": "Aucun résultat", "No options": "Aucune option", "No data": "Aucune donnée",
    "Download as CSV": "Télécharger en CSV", "Download as PNG": "Télécharger en PNG", "Search": "Rechercher",
    "Close Search": "Fermer la recherche", "Next Result": "Résultat suivant", "Previous Result": "Résultat précédent",
    "Fullscreen": "Plein écran", "Close fullscreen": "Quitter le plein écran",
    "Toggle fullscreen": "Plein écran", "Show/hide columns": "Afficher ou masquer des colonnes",
    "Select all": "Tout sélectionner", "Clear selection": "Effacer la sélection", "Show data": "Voir les données",
    "Show chart": "Voir le graphique", "Sort ascending": "Trier par ordre croissant",
    "Sort descending": "Trier par ordre décroissant", "Autosize": "Largeur automatique",
    "Pin column": "Épingler la colonne", "Unpin column": "Détacher la colonne", "Hide column": "Masquer la colonne",
    "Copy column name": "Copier le nom de la colonne", "Automatic": "Automatique", "Localized": "Selon la langue",
    "Plain": "Brut", "Scientific": "Scientifique", "Percent": "Pourcentage",
    "Accounting": "Comptable", "Copy to clipboard": "Copier", "Clear all": "Tout effacer",
    # a chart's menu, and the link a first press on Tab shows
    "Copy Vega-Lite spec": "Copier la description du graphique (Vega-Lite)", "Copied!": "Copié !",
    "Skip to main content": "Aller au contenu principal",
}
FRENCH_UI_SCRIPT = """<script>
(function () {
  document.documentElement.lang = 'fr';
  if (window.__diagFrench) return;
  window.__diagFrench = true;
  var words = %(words)s, attrs = ['aria-label', 'title', 'placeholder'];
  function element(el) {
    attrs.forEach(function (a) {
      var v = el.getAttribute && el.getAttribute(a);
      if (!v) return;
      if (words[v.trim()]) el.setAttribute(a, words[v.trim()]);
      else if (v.indexOf('Remove ') === 0) el.setAttribute(a, 'Retirer ' + v.slice(7));  // a chosen value's ×
    });
  }
  function node(n) {
    if (n.nodeType === 3) {
      var t = n.nodeValue.trim();
      if (t && words[t]) n.nodeValue = n.nodeValue.replace(t, words[t]);
      return;
    }
    if (n.nodeType !== 1 || n.tagName === 'SCRIPT' || n.tagName === 'STYLE') return;
    element(n);
    var walker = document.createTreeWalker(n, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    while (walker.nextNode()) {
      var c = walker.currentNode;
      if (c.nodeType === 3) { var u = c.nodeValue.trim(); if (u && words[u]) c.nodeValue = c.nodeValue.replace(u, words[u]); }
      else element(c);
    }
  }
  new MutationObserver(function (records) {
    records.forEach(function (r) {
      if (r.type === 'childList') r.addedNodes.forEach(node);
      else if (r.type === 'characterData') node(r.target);
      else element(r.target);
    });
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: attrs});
  node(document.body);
})();
</script>""" % {"words": json.dumps(STREAMLIT_FRENCH, ensure_ascii=False)}
# ?presentation=1 on any page hides the sidebar: a small way out, bottom right (the presentation page has
# its own « Quitter » and hides this one)
EXIT_SCRIPT = """<script>
(function () {
  var old = document.getElementById('diag-exit');
  if (old) old.remove();
  if (!%(on)s) return;
  var a = document.createElement('a');
  a.id = 'diag-exit'; a.className = 'diag-exit diag-noprint'; a.href = %(href)s;
  a.textContent = 'Quitter le mode présentation';
  document.body.appendChild(a);
})();
</script>"""


def presentation_mode() -> bool:
    """Projection mode asked by the address (``?presentation=1``)."""
    return st.query_params.get(PRESENTATION_PARAM) == "1"


def apply() -> None:
    """Once per run, before the page: language, top band, print stylesheet, projection mode, and the way
    back to a link opened before logging in (``components.auth.return_script``)."""

    css = BASE_CSS + PRINT_CSS + (PRESENTATION_CSS if presentation_mode() else "")
    st.html(f"<style>{css}</style>")
    on = presentation_mode()
    params = {k: st.query_params.get_all(k) for k in st.query_params if k != PRESENTATION_PARAM}
    with st.container(key="diag-scripts"):
        st.html(FRENCH_UI_SCRIPT + EXIT_SCRIPT % {"on": json.dumps(on), "href": json.dumps(
            "?" + urlencode([(k, v) for k, vals in params.items() for v in vals]) if on else "")}
            + auth.return_script(), unsafe_allow_javascript=True)


def hide_chrome() -> None:
    """Projection mode for the page that calls it (the presentation page), whatever the address."""
    st.html(f"<style>{PRESENTATION_CSS}</style>")


COPY_LABEL = "Copier le lien de cette vue"

# a plain button (no Streamlit rerun: the map is not drawn again) and its script, in the page's document
COPY_HTML = """
<button type="button" class="diag-copy diag-noprint" title="Le lien rouvre cette vue : même espace de travail, même page,
 mêmes structures et mêmes couches.">%(label)s</button>
<script>
(function () {
  var doc = document;
  function copy(text, done) {
    function fallback() {
      var t = doc.createElement('textarea'); t.value = text; t.setAttribute('readonly', '');
      t.style.position = 'fixed'; t.style.opacity = '0'; doc.body.appendChild(t); t.select();
      var ok = false; try { ok = doc.execCommand('copy'); } catch (e) {}
      doc.body.removeChild(t); done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else { fallback(); }
  }
  // one listener for the whole document, replaced (never added twice) when the page is drawn again
  if (window.__diagCopy) doc.removeEventListener('click', window.__diagCopy, true);
  window.__diagCopy = function (e) {
    var btn = e.target && e.target.closest && e.target.closest('button.diag-copy');
    if (!btn) return;
    var url = window.location.href;  // the address bar as it is now, bound widgets included
    btn.setAttribute('data-url', url);
    copy(url, function (ok) {
      btn.setAttribute('data-copie', ok ? 'ok' : 'echec');
      btn.textContent = ok ? 'Lien copié' : 'Copie impossible : copiez l\u2019adresse du navigateur';
      setTimeout(function () { btn.textContent = %(text)s; }, 2500);
    });
  };
  doc.addEventListener('click', window.__diagCopy, true);
})();
</script>
"""


def copy_link_button() -> None:
    """« Copier le lien de cette vue »: one click copies the address bar, which holds the workspace, the
    page, the selected structures and the layers (widgets bound to the query parameters)."""
    st.html(COPY_HTML % {"label": COPY_LABEL, "text": json.dumps(COPY_LABEL)},
            unsafe_allow_javascript=True)


# ---------------------------------------------------------------------------------------------
# Links that reopen a view: a page's selection mirrored in the address (``?structures=S01,S03``,
# ``?couches=qpv,zones_emploi``), read back when a link is opened. Codes, not names, in the address:
# short, stable, and two structures may share a name.


def restore_list(key: str, param: str, valid: list[str], default: list[str]) -> None:
    """Before the widget ``key`` is drawn for the first time in this session (a link just opened): its
    value from the address, unknown codes left out; ``default`` without the parameter."""
    if key in st.session_state:
        return
    raw = st.query_params.get(param)
    if raw is None:
        st.session_state[key] = list(default)
    else:
        known = set(valid)
        st.session_state[key] = list(dict.fromkeys(v for v in str(raw).split(",") if v in known))  # link's order


def restore_choice(key: str, param: str, valid: list[str]) -> None:
    """Same, for a single choice: the first known code of the parameter, or nothing."""
    if key in st.session_state:
        return
    raw = st.query_params.get(param)
    if raw is not None:
        known = [v for v in str(raw).split(",") if v in valid]
        st.session_state[key] = known[0] if known else None


def mirror(params: dict[str, list[str] | None]) -> None:
    """Write the view in the address (``None``: the parameter is removed)."""
    for name, values in params.items():
        if values is None:
            if name in st.query_params:
                del st.query_params[name]
            continue
        text = ",".join(str(v) for v in values)
        if st.query_params.get(name) != text:
            st.query_params[name] = text


# ---------------------------------------------------------------------------------------------
# Tables on paper: a data grid prints only the rows it shows, so a printable table carries an HTML
# copy of all its rows (French numbers, as on screen), hidden on screen and printed instead of the grid.

PRINT_ROWS = 2000


def print_copy(df, labels: dict | None = None, kinds: dict | None = None) -> str:
    """The whole table as HTML for paper: French headers and numbers, every cell escaped."""
    import html as _html

    import pandas as pd

    from components.tables import FORMATTERS
    from views.columns import french, kinds_of

    kinds_ = kinds_of(df, kinds)
    view = french(df, labels)
    head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in view.columns)
    rows = []
    for values in view.head(PRINT_ROWS).itertuples(index=False):
        cells = []
        for v, kind in zip(values, kinds_):
            if kind in FORMATTERS:
                text, cls = FORMATTERS[kind](v), ' class="num"'
            else:
                text, cls = ("" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)), ""
            cells.append(f"<td{cls}>{_html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="diag-print-note">… et {len(view) - PRINT_ROWS} lignes de plus : exportez le tableau '
            f"(CSV ou XLSX) pour les lire toutes.</p>") if len(view) > PRINT_ROWS else ""
    return (f'<div class="diag-print-only"><table class="diag-print-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{more}</div>')


def printable_table(df, key: str, **kwargs):
    """``components.tables.show_table`` whose rows all reach the paper when the page is printed."""
    from components.tables import show_table

    with st.container(key=f"imprimable-{key.replace('.', '-')}"):
        shown = show_table(df, key=key, **kwargs)
        st.html(print_copy(shown, kwargs.get("labels"), kwargs.get("kinds")))
    return shown


def printable_frame(df, key: str, **kwargs) -> None:
    """``components.tables.show_frame`` (no filter, no export), printable in full."""
    from components.tables import show_frame

    with st.container(key=f"imprimable-{key.replace('.', '-')}"):
        show_frame(df, key=key, **kwargs)
        st.html(print_copy(df, kwargs.get("labels"), kwargs.get("kinds")))

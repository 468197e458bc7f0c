"""The presentation floor: what the screens and the documents show, whatever draws it.

- ``fmt``: French number, date and percentage formats (``12 345,6``, ``16 %``, ``16/12/2024``), Markdown made inert;
- ``columns``: the French header and the kind of every column, the CSV a French Excel opens, the sheet spec
  that the one XLSX writer (``data.formats.xlsx``) writes;
- ``palette``: the structures', QPV's, zones blanches' and market classes' colours;
- ``charts``: the Altair (Vega-Lite) chart specifications, legible on a wall;
- ``text``: the documents' and screens' words (titles, definitions, messages, agreement of counts);
- ``content``: what the documents and the meeting's screens say, computed once from a workspace and its diagnosis;
- ``screens``: each screen of the launch meeting's figures and sentences.

It imports ``geo`` and ``data``, and neither Streamlit nor any document library (reportlab, python-pptx, openpyxl,
matplotlib). ``components`` (Streamlit) and ``reports`` (PDF, PPTX, XLSX) both build on it and never import each
other; ``tools/floors.py`` checks it.
"""

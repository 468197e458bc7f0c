"""Data as people bring it and as the product keeps it, without Streamlit: ``formats`` (reading and writing
files: tables, layers, DECP, the one XLSX writer), ``validation`` (strict and lenient rules, French reports),
``store`` (workspaces, versions, journal), ``demo``, ``referentiel`` (the shipped référentiel), ``access``.

Imports ``geo`` and ``data`` only.
"""

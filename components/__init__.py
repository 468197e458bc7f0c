"""Streamlit's floor: widgets, maps (folium), tables, the session's state and caches, login, the wall's screens.

Builds on ``views`` (what is shown), ``data`` and ``geo``; never imports ``reports`` (the pages do, for the
« Rapport » screen). Only this floor, ``app_pages/`` and ``app.py`` import Streamlit (``tools/floors.py``).
"""

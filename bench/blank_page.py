"""The benchmark's baseline (``bench.browser``): a Streamlit page with one line of text.

What any Streamlit page costs a browser before the app's own work (the frontend's scripts, the
websocket, one run of a script): the pages' times are also given against it.
"""

import streamlit as st

st.title("Page vide")

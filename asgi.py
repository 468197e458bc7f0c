"""The app behind its guard: what ``cli.py serve`` (``make run``) starts, as ``streamlit run asgi.py``
(or ``uvicorn asgi:app``).

``app.py`` is the Streamlit script; here it is served by Streamlit's ASGI application (``st.App``) with
the guard (``components.guard``) in front of Streamlit's own routes: with a login configured, uploads,
media and metrics are refused before login, uploads are bounded per session, and a logout ends the
session on the server. Without a login, the guard lets everything through: ``streamlit run app.py``
serves the same app for the single local user (with a login configured, the app refuses to be served
that way, see ``components.auth``).
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from components.guard import Guard

app = st.App(str(Path(__file__).resolve().parent / "app.py"), middleware=[Middleware(Guard)])

"""Sub-commands of ``cli.py`` grouped by subject (the entry point stays ``cli.py``: parser and dispatch). The same
floor as ``cli.py``: they call ``data``, ``geo``, ``views`` and ``reports``, never Streamlit."""

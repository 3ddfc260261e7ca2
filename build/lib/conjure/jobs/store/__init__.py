"""Where job state changes are written: one store per database backend behind one protocol.

``base.py`` is the protocol (one method per transition), ``postgres.py`` and ``sqlite.py`` the two
implementations side by side, ``pick.py`` the one place that chooses between them.
"""

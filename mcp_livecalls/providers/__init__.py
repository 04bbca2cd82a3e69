"""The provider adapters behind one interface (``base.LiveCallsProvider``), one folder each.

``providers/<name>/`` holds everything about one provider: its adapter (``adapter.py``: settings,
capabilities, error dialect, documented quirks) and its simulated API (``simulated.py``).
``families/`` holds what two providers share (the Plivo family: Vobiz and Plivo; the Retell
family: Zudu and Retell AI); ``registry`` loads the adapters named by ``core.catalog``.
"""

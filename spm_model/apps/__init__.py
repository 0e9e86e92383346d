"""Served apps (Voila): per-person access, scoped data, the disputes journal, app views.

Top layer. The app notebooks under ``notebooks/apps/`` hold no logic: they call
:func:`spm_model.apps.session.open_app`, which resolves the link's token on the
server, loads only the rows in scope and builds the page from
:mod:`spm_model.calc` figures.

* :mod:`spm_model.apps.access` - secret links, hashed at rest, resolved to a scope;
* :mod:`spm_model.apps.scope` - cut the company down to a scope (exactly);
* :mod:`spm_model.data.disputes` - the append-only disputes journal (bottom layer).
"""

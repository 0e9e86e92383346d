"""Open an app page for the link in the request: the only call an app notebook makes.

``spm serve`` starts Voila with the data source, plan folder, access file and
cache folder in environment variables (``SPM_APP_DATA``, ``SPM_APP_PLANS``,
``SPM_APP_ACCESS``, ``SPM_APP_CACHE``, optional ``SPM_APP_AS_OF``); Voila gives
each page's kernel the request's query string in ``QUERY_STRING``. The token
(``?key=...``) is resolved here, in the kernel, against the hashed access
file; a missing, unknown or wrong-app token gets the refusal page and nothing
is loaded. Otherwise only the scope's bundle is loaded (:mod:`spm_model.apps.bundle`).
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import parse_qs

from spm_model.apps.access import APPS, read_access, resolve_token

ENV = {
    "data": "SPM_APP_DATA",
    "plans": "SPM_APP_PLANS",
    "access": "SPM_APP_ACCESS",
    "cache": "SPM_APP_CACHE",
    "as_of": "SPM_APP_AS_OF",
}
QUERY_KEY = "key"
"""Query parameter carrying the token (``token`` is Jupyter's own)."""


def query_params(query: str | None = None) -> dict[str, str]:
    """Parameters of the request's query string (``QUERY_STRING``, first value of each)."""
    q = os.environ.get("QUERY_STRING", "") if query is None else query
    return {k: v[0] for k, v in parse_qs(q or "", keep_blank_values=False).items()}


def _wait_for_request() -> str:
    """In a pre-heated kernel: import what a page needs, then wait for the request's query.

    Voila starts such a kernel (``spm serve --preheat N``) before anyone asks for a page
    and runs the notebook up to here; the request then only pays for its own data.
    """
    import ipywidgets  # noqa: F401  (imported ahead of the request on purpose)
    from voila.utils import get_query_string

    import spm_model.apps.bundle
    import spm_model.calc

    del spm_model
    return get_query_string() or ""


def open_app(app: str, query: str | None = None) -> Any:
    """Return the page widget of ``app`` for the request's link, or the refusal page.

    Parameters
    ----------
    app : {"my_pay", "my_team", "comp_cost"}
        The app notebook's name.
    query : str, optional
        Query string (default ``QUERY_STRING`` from Voila).
    """
    from spm_model.apps import ui

    if app not in APPS:
        return ui.refusal_page()
    if query is None and os.environ.get("VOILA_PREHEAT") == "True":
        query = _wait_for_request()
    t0 = time.perf_counter()
    params = query_params(query)
    access = os.environ.get(ENV["access"], "")
    scope = resolve_token(params.get(QUERY_KEY), read_access(access)) if access else None
    if scope is None or not scope.allows(app):
        return ui.refusal_page()
    import ipywidgets

    from spm_model.apps.bundle import load_bundle
    from spm_model.errors import SpmError

    try:
        bundle = load_bundle(
            os.environ[ENV["data"]],
            os.environ[ENV["plans"]],
            scope,
            os.environ[ENV["cache"]],
            os.environ.get(ENV["as_of"]) or None,
        )
        if app == "my_pay":
            rep = params.get("rep") or scope.rep_id
            if rep not in bundle.reps:
                return ui.refusal_page()
            page: Any = ui.MyPayPage(bundle, rep)
        elif app == "my_team":
            page = ui.MyTeamPage(bundle)
        else:
            page = ui.CompCostPage(bundle)
    except SpmError as exc:
        return ui.error_page(_for_people(str(exc), scope))

    took = time.perf_counter() - t0
    stamp = ipywidgets.HTML(
        f'<span class="spm-built" data-seconds="{took:.3f}" style="display:none"></span>'
    )
    return ipywidgets.VBox([page.widget, stamp])


def _for_people(message: str, scope: Any) -> str:
    """Word an error for its reader: no server paths; a leaver is told what to do."""
    import re

    if "not employed on plan" in message and scope is not None and scope.rep_id:
        return (
            f"There is no statement for {scope.rep_id} in the current period: the records show "
            "you are not on a plan in it (for example after leaving). Ask your sales operations "
            "team for your final statement."
        )
    # "  - /srv/data/company, table reps: ..." -> "  - table reps: ..."
    return re.sub(r"(?m)(^\s*-\s*)(?:[^,\n]*[/\\][^,\n]*),\s*", r"\1", message)

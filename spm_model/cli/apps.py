"""``spm serve`` (the apps for reps, managers and finance) and ``spm disputes``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import typer

DEFAULT_APPS = Path(__file__).resolve().parents[2] / "notebooks" / "apps"


def register(app: typer.Typer) -> None:
    """Add the serve and disputes commands to ``app``."""

    @app.command()
    def serve(
        data: Path = typer.Option(..., "--data", help="Dataset folder or file."),
        plans: Path = typer.Option(..., "--plans", help="Folder of plan YAML files."),
        port: int = typer.Option(8866, "--port", help="Port to listen on."),
        access: Path = typer.Option(
            Path("access.yaml"), "--access", help="Access file (hashed link tokens)."
        ),
        host: str | None = typer.Option(
            None,
            "--host",
            help="Address to listen on (e.g. 0.0.0.0); default localhost only.",
        ),
        issue_links: bool = typer.Option(
            False,
            "--issue-links",
            help="Issue new links (everyone, or --for), store their hashes, print them once, exit.",
        ),
        for_: list[str] = typer.Option(
            [],
            "--for",
            help="With --issue-links: a rep id (a manager gets a team link) or 'finance'.",
        ),
        base_url: str = typer.Option(
            "", "--url", help="Public base URL printed in the links (default http://HOST:PORT)."
        ),
        cache: Path = typer.Option(
            Path(".spm_serve_cache"), "--cache", help="Folder for the per-scope data cache."
        ),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Date whose credit counts (default: the data's end date)."
        ),
        apps: Path = typer.Option(DEFAULT_APPS, "--apps", help="Folder of the app notebooks."),
        warm: bool = typer.Option(
            True, "--warm/--no-warm", help="Prepare every link's data before serving."
        ),
        preheat: int = typer.Option(
            1,
            "--preheat",
            help="Kernels kept started per app (imports done, waiting for a request); 0: none.",
        ),
    ) -> None:
        """Serve My pay, My team and Comp cost (Voila) to the people holding a link."""
        from spm_model.apps.access import Scope, read_access, scopes_for_company
        from spm_model.apps.access import issue_links as issue
        from spm_model.errors import SpmConfigError

        bind = host or "127.0.0.1"
        url = (base_url or f"http://{'localhost' if host is None else bind}:{port}").rstrip("/")
        if issue_links:
            from spm_model.data import load_dataset

            ds = load_dataset(data)
            reps = ds.reps
            everyone = {s.key: s for s in scopes_for_company(reps)}
            if for_:
                chosen = []
                for who in for_:
                    hit = [s for s in everyone.values() if who in (s.rep_id, s.kind)]
                    if not hit:
                        raise SpmConfigError(f"--for: {who!r} is not a rep id or 'finance'")
                    chosen += hit
            else:
                chosen = scopes_for_company(reps, as_of=ds.as_of)
                gone = len(everyone) - len(chosen)
                if gone:
                    typer.echo(
                        f"{gone} people who left before {ds.as_of} get no link (no current "
                        "statement; --for REP issues one)"
                    )
            typer.echo(f"Links (shown once; {access} stores only salted hashes):")
            for s, token in issue(access, chosen):
                for app_name in ("my_pay", "my_team", "comp_cost"):
                    if s.allows(app_name):
                        typer.echo(
                            f"  {s.name:<28} {app_name:<9} {url}/voila/render/{app_name}.ipynb"
                            f"?key={token}"
                        )
            return
        entries = read_access(access)
        if not entries:
            raise SpmConfigError(
                f"no links in {access}: issue them first with spm serve --issue-links"
            )
        if not apps.is_dir():
            raise SpmConfigError(f"--apps: no folder {apps}")
        env = dict(os.environ)
        env.update(
            SPM_APP_DATA=str(data.resolve()),
            SPM_APP_PLANS=str(plans.resolve()),
            SPM_APP_ACCESS=str(access.resolve()),
            SPM_APP_CACHE=str(cache.resolve()),
            SPM_APP_AS_OF=as_of or "",
        )
        if warm:
            import time

            from spm_model.apps.bundle import build_bundles

            t0 = time.perf_counter()
            scopes = [Scope(e["scope"], e.get("rep_id"), str(e.get("name", ""))) for e in entries]  # type: ignore[arg-type]
            build_bundles(data.resolve(), plans.resolve(), scopes, cache.resolve(), as_of)
            typer.echo(f"Prepared {len(scopes)} link(s) in {time.perf_counter() - t0:.1f} s")
        where = (
            "localhost only (use --host 0.0.0.0 to listen on every interface)"
            if host is None
            else f"{bind}: reachable from other machines"
        )
        typer.echo(f"Serving the apps on {url}/ , bound to {where}. Ctrl-C stops.")
        sys.stdout.flush()
        cmd = [
            sys.executable,
            "-m",
            "voila",
            str(apps),
            "--no-browser",
            f"--port={port}",
            f"--Voila.ip={bind}",
            "--show_tracebacks=False",
            "--Voila.log_level=WARN",
        ]
        if preheat > 0:
            # a page's kernel is started and has imported the package before the request
            # arrives; it then waits for the request's query string (the link's key)
            cmd += [
                "--VoilaConfiguration.preheat_kernel=True",
                f"--VoilaConfiguration.default_pool_size={preheat}",
            ]
        proc = subprocess.Popen(cmd, env=env)
        restore = _stop_child_on_signals(proc)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            code = proc.wait()
        finally:
            restore()
        raise typer.Exit(code)

    @app.command()
    def disputes(
        data: Path = typer.Option(..., "--data", help="Dataset folder or file."),
        status: str | None = typer.Option(
            None, "--status", help="Only this status: open, resolved or rejected."
        ),
        rep: list[str] = typer.Option([], "--rep", help="Only these reps (repeatable)."),
        summary: bool = typer.Option(
            False, "--summary", help="Counts, amounts and days to resolve by category, region."
        ),
        resolve: str | None = typer.Option(
            None, "--resolve", help="Resolve this journal dispute (with --grant)."
        ),
        grant: float | None = typer.Option(
            None, "--grant", help="Amount granted (currency; required with --resolve)."
        ),
        reject: str | None = typer.Option(None, "--reject", help="Reject this journal dispute."),
    ) -> None:
        """List disputes: the data's own table plus those raised in the apps (one table)."""
        from spm_model.data import load_dataset
        from spm_model.data.disputes import read_disputes, resolve_dispute
        from spm_model.errors import SpmConfigError

        if resolve and reject:
            raise SpmConfigError("--resolve and --reject: choose one")
        if resolve and grant is None:
            raise SpmConfigError(
                "--resolve needs --grant (the amount granted; --reject to grant nothing)"
            )
        if reject and grant is not None:
            raise SpmConfigError("--reject grants nothing: drop --grant")
        if resolve or reject:
            row = resolve_dispute(
                data, resolve or reject or "", "resolved" if resolve else "rejected", grant
            )
            typer.echo(f"{row['dispute_id']}: {row['status']} ({row['resolution_amount']:,.2f})")
            return
        ds = load_dataset(data)
        if summary:
            from spm_model.calc.replay import dispute_summary

            chosen = read_disputes(data, ds.disputes, status=status, reps=rep or None)
            if chosen.empty:
                typer.echo("no disputes")
                return
            out = dispute_summary(ds.replace(disputes=chosen))
            for key in ("overall", "by_category", "by_region", "by_status"):
                typer.echo(f"== {key}")
                typer.echo(out[key].to_string(index=False))
            return
        t = read_disputes(data, ds.disputes, status=status, reps=rep or None)
        if t.empty:
            typer.echo("no disputes")
            return
        cols = ["dispute_id", "rep_id", "period", "category", "amount", "opened_date", "status"]
        cols += ["line", "reason"]
        shown = t[cols].astype(object).where(t[cols].notna(), "")
        typer.echo(shown.to_string(index=False))
        typer.echo(f"{len(t)} dispute(s), {t['amount'].sum():,.2f} claimed")


def _stop_child_on_signals(proc: subprocess.Popen) -> Callable[[], None]:
    """Make SIGTERM and SIGHUP to ``spm serve`` stop the voila server it started.

    Python's default action for those signals ends this process at once and leaves its
    child running, port and kernels included (a ``kill``, ``docker stop``, a service
    manager's stop or a closed terminal). Now the child is asked to stop (it shuts its
    kernels down) and ``spm serve`` exits with its code. Returns a function that puts the
    previous handlers back.
    """
    import signal

    def stop(signum: int, frame: object) -> None:
        proc.terminate()

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            previous[sig] = signal.signal(sig, stop)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore

"""Reports (报表): the SPEC §3.10 KPIs by station, township or county and period, with charts and CSV export."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from printing.report_charts import CHART_ROWS, ReportChartText, report_charts

from ..auth import current_user, requires_roles
from ..roles import REVIEWERS
from ..services.reports import (
    GROUPS,
    PERIOD_KINDS,
    Report,
    ReportQuery,
    StationTree,
    build_report,
    china_today,
    export_report,
    kpi_cells,
    parse_period,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")


def kpi_labels() -> list[str]:
    """Column titles in KPI_FIELDS order (the reform reports' own terms in Chinese)."""
    return [
        _("Accepted"),
        _("Completion rate"),
        _("On-time completion rate"),
        _("Overdue cases"),
        _("Immediate cases share"),
        _("Accepted with gaps"),
        _("Proxy-handled cases"),
        _("Average steps"),
        _("Average materials"),
        _("Average trips"),
        _("Time-limit compression"),
        _("Satisfaction rate"),
        _("Bad rating rate"),
        _("Bad ratings rectified"),
        _("Completed without leaving the village"),
        _("Agent trips"),
        _("Average days held at the village"),
        _("Average days in transit per leg"),
    ]


def group_labels() -> dict[str, str]:
    return {"station": _("By station"), "township": _("By township"), "county": _("By county")}


def period_labels() -> dict[str, str]:
    return {"month": _("Month"), "quarter": _("Quarter"), "year": _("Year"), "custom": _("Custom range")}


def _form() -> dict[str, str]:
    today = china_today()
    kind = request.args.get("kind", "month")
    form = {
        "kind": kind if kind in PERIOD_KINDS else "month",
        "value": request.args.get("value", "").strip() or f"{today:%Y-%m}",
        "start": request.args.get("start", "").strip(),
        "end": request.args.get("end", "").strip(),
        "group": request.args.get("group", "station"),
        "scope": request.args.get("station", "").strip() or request.args.get("scope", "").strip(),
    }
    if not _is_station_code(form["scope"]):
        form["scope"] = ""
    if form["group"] not in GROUPS:
        form["group"] = "station"
    return form


def _is_station_code(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) == 12


def _query(form: dict[str, str]) -> ReportQuery | None:
    period = parse_period(form["kind"], form["value"], form["start"], form["end"])
    return None if period is None else ReportQuery(period, form["group"], form["scope"])


def chart_text() -> ReportChartText:
    return ReportChartText(
        trend_title=_("Accepted and completed by month"),
        accepted=_("Accepted"),
        completed_of_accepted=_("Completed (of those accepted)"),
        completed=_("Completed"),
        no_data=_("No data"),
        lights_title=_("Open cases by light and station"),
        lights_title_worst=_(
            "Open cases by light: the %(count)s stations with the most red and yellow lights",
            count=CHART_ROWS,
        ),
        light_names={
            "green": _("Green"),
            "yellow": _("Yellow (warning)"),
            "red": _("Red (overdue)"),
            "grey": _("Grey (paused)"),
        },
        no_running_clock=_("No open case has a running clock."),
        groups_title=_("Accepted and completed in the period"),
        route_title=_("Proxy route times (working days)"),
        village_hold=_("Held at the village before going up"),
        transit=_("In transit per leg"),
    )


def _charts(report: Report) -> dict[str, Markup]:
    # printing.charts escapes every label itself and returns a complete, script-free SVG element.
    charts = report_charts(report.trend, report.lights, report.rows, chart_text())
    return {name: Markup(svg) for name, svg in charts.items()}


@bp.route("/")
@requires_roles(*REVIEWERS)
def show():
    form = _form()
    query = _query(form)
    context = {
        "form": form,
        "groups": group_labels(),
        "kinds": period_labels(),
        "scopes": StationTree.load().choices(form["scope"]),
        "labels": kpi_labels(),
    }
    if query is None:
        return render_template(
            "reports/show.html",
            report=None,
            error=_("Enter a period like 2026-03 (month), 2026-Q1 (quarter), 2026 (year), or two dates."),
            **context,
        ), 422
    report = build_report(query)
    return render_template(
        "reports/show.html",
        report=report,
        error=None,
        total_cells=kpi_cells(report.total),
        rows=[(row, kpi_cells(row.kpis)) for row in report.rows],
        charts=_charts(report),
        **context,
    )


@bp.route("/export.csv")
@requires_roles(*REVIEWERS)
def export_csv():
    form = _form()
    query = _query(form)
    if query is None:
        return show()
    user = current_user()
    body = export_report(
        query,
        [_("Code"), _("Name"), *kpi_labels()],
        _("Total"),
        user.username if user else "",
        request.remote_addr or "",
    )
    name = (
        f"kpi-{query.scope or 'all'}-{query.group}-{query.period.start:%Y%m%d}-{query.period.end:%Y%m%d}.csv"
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )

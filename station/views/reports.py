"""The station's own report (本站报表): SPEC §3.10 KPIs for a period, computed offline, with charts and CSV."""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from printing.report_charts import CHART_ROWS, ReportChartText, report_charts

from ..auth import STATION_STAFF, requires_roles
from ..services.reference import today
from ..services.reports import (
    PERIOD_KINDS,
    StationReport,
    build_report,
    export_report,
    kpi_cells,
    parse_period,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")
REPORT_ROLES = (*STATION_STAFF, "auditor")


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


def period_labels() -> dict[str, str]:
    return {"month": _("Month"), "quarter": _("Quarter"), "year": _("Year"), "custom": _("Custom range")}


def _form() -> dict[str, str]:
    kind = request.args.get("kind", "month")
    return {
        "kind": kind if kind in PERIOD_KINDS else "month",
        "value": request.args.get("value", "").strip() or f"{today():%Y-%m}",
        "start": request.args.get("start", "").strip(),
        "end": request.args.get("end", "").strip(),
    }


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


def _charts(report: StationReport) -> dict[str, Markup]:
    # printing.charts escapes every label itself and returns a complete, script-free SVG element.
    charts = report_charts(report.trend, report.lights, report.rows, chart_text())
    return {name: Markup(svg) for name, svg in charts.items()}


def _invalid(form: dict[str, str]):
    message = _("Enter a period like 2026-03 (month), 2026-Q1 (quarter), 2026 (year), or two dates.")
    return render_template(
        "reports/show.html", form=form, kinds=period_labels(), labels=kpi_labels(), report=None, error=message
    ), 422


@bp.route("/")
@requires_roles(*REPORT_ROLES)
def show():
    form = _form()
    period = parse_period(form["kind"], form["value"], form["start"], form["end"])
    if period is None:
        return _invalid(form)
    report = build_report(period)
    return render_template(
        "reports/show.html",
        form=form,
        kinds=period_labels(),
        labels=kpi_labels(),
        report=report,
        error=None,
        total_cells=kpi_cells(report.total),
        rows=[(row, kpi_cells(row.kpis)) for row in report.rows],
        charts=_charts(report),
    )


@bp.route("/export.csv")
@requires_roles(*REPORT_ROLES)
def export_csv():
    form = _form()
    period = parse_period(form["kind"], form["value"], form["start"], form["end"])
    if period is None:
        return _invalid(form)
    body = export_report(
        period,
        [_("Station code"), _("Station"), *kpi_labels()],
        _("Total"),
        g.user.username,
        request.remote_addr or "",
    )
    name = f"kpi-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )

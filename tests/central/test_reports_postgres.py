"""The reports on PostgreSQL: the hand-computed table, grouping, trend, lights and incremental refresh re-run with
DATABASE_URL pointing at a real PostgreSQL server."""

from __future__ import annotations

import pytest
from peewee import PostgresqlDatabase

from central.db import bind_database, database
from central.instance import init_instance
from central.migrations import migrate

from .pg import postgres_cluster, postgres_url  # noqa: F401 - fixtures
from .test_reports import (  # noqa: F401 - re-run on PostgreSQL
    central_info,
    test_grouping_by_township_and_county_adds_the_villages_to_their_township,
    test_report_numbers_match_the_hand_computed_table,
    test_summaries_are_refolded_only_when_a_case_changes,
    test_trend_counts_each_month_and_lights_show_open_cases_by_station,
    worked,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_config(instance_path, postgres_url):  # noqa: F811 - overrides conftest's SQLite config
    init_instance(instance_path, network_id="test-net")
    bind_database(postgres_url)
    migrate()
    assert isinstance(database.obj, PostgresqlDatabase)
    return {
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": postgres_url,
        "HUEY_IMMEDIATE": True,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
    }

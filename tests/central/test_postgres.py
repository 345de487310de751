"""The same central on PostgreSQL: migrations, enrollment, ingest (gaps, forks, duplicates), projections, acks,
and the authorization matrix — the SQLite tests re-run with DATABASE_URL pointing at a real PostgreSQL server."""

from __future__ import annotations

import pytest
from peewee import PostgresqlDatabase

from central.db import bind_database, database
from central.instance import init_instance
from central.migrations import MIGRATIONS, applied_migrations, migrate
from central.models import AuditEntry
from central.services.audit import record_audit

from .pg import postgres_cluster, postgres_url  # noqa: F401 - fixtures
from .test_auth import test_authorization_matrix  # noqa: F401 - re-run on PostgreSQL
from .test_bundles import (  # noqa: F401, E402
    test_a_county_gets_only_the_cases_forwarded_to_it_or_it_acted_on_and_each_event_once,
    test_a_part_the_cap_cut_never_claims_a_version_past_an_event_it_left_behind,
    test_a_station_gets_a_snapshot_then_deltas_then_nothing,
)
from .test_conflicts import (  # noqa: F401, E402
    shared_case,
    test_a_restored_station_waits_for_a_person_who_authorizes_its_new_epoch,
    test_concurrent_legal_acts_wait_for_a_person_and_the_loser_is_not_applied,
    test_low_stakes_field_edits_resolve_automatically_last_writer_wins,
    township,
)
from .test_enrollment import (  # noqa: F401 - re-run on PostgreSQL
    test_a_used_code_cannot_enroll_another_key,
    test_enroll_issues_a_certificate_that_verifies_against_the_root,
    test_repeating_the_same_request_returns_the_same_certificate,
)
from .test_ingest import (  # noqa: F401 - re-run on PostgreSQL
    test_a_batch_from_an_unknown_station_waits_and_is_applied_after_enrollment,
    test_a_batch_is_stored_applied_projected_and_acked,
    test_a_fork_is_kept_as_evidence_and_the_newcomer_quarantined,
    test_a_gap_is_held_then_released_when_filled,
    test_overlapping_batches_apply_only_what_is_new,
    test_review_pages_show_batches_events_and_cases_in_chinese,
)
from .test_revocation import (  # noqa: F401, E402
    test_key_rotation_enrolls_the_announced_key,
    test_revoked_after_seq_keeps_earlier_work_and_quarantines_later_events,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_config(instance_path, postgres_url):  # noqa: F811 - overrides conftest's SQLite config
    init_instance(instance_path, network_id="test-net")
    bind_database(postgres_url)
    migrate()
    return {
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": postgres_url,
        "HUEY_IMMEDIATE": True,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
    }


def test_migrations_run_on_postgres_and_protect_the_audit_log(app):
    assert isinstance(database.obj, PostgresqlDatabase)
    assert applied_migrations() == sorted(m.__name__ for m in MIGRATIONS)
    assert migrate() == []
    with app.app_context():
        record_audit("admin", "login", "admin")
        with pytest.raises(Exception, match="append-only"), database.atomic():
            AuditEntry.delete().execute()

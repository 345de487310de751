"""Central's task queue in Redis (REDIS_URL; OPERATIONS.md §7) against a real ``redis-server`` started by the test:
a batch PUT over HTTP waits in Redis as an ingest task until a huey consumer takes it, then is applied and acked."""

from __future__ import annotations

import signal
import time
import urllib.request

import pytest
import redis
from huey.storage import RedisStorage

from central.models import Batch, LogEvent
from central.tasks import huey
from tests.support.redis import redis_server
from tests.support.servers import serve_app

from .conftest import make_instance
from .test_ingest import latest_ack

pytestmark = pytest.mark.usefixtures("stations")


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def app_config(instance_path, redis_url):
    """Overrides conftest's: the queue lives in Redis and tasks wait for a consumer instead of running inline."""
    return make_instance(instance_path, WTF_CSRF_ENABLED=False, REDIS_URL=redis_url, HUEY_IMMEDIATE=False)


def queued_ingests(name: str) -> int:
    return sum(1 for task in huey.pending() if task.args == (name,))


def test_a_batch_is_ingested_through_the_redis_queue(app, client, village, central_info, redis_url):
    assert isinstance(huey.storage, RedisStorage) and not huey.immediate
    case_id = village.receive_case()
    batch = village.batch(village.events, central_info)
    with serve_app(app) as url:
        request = urllib.request.Request(f"{url}/api/v1/files/{batch.name}", data=batch.data, method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
    with app.app_context():
        assert Batch.get(Batch.name == batch.name).status == "stored", "no consumer yet: nothing ran inline"
    assert queued_ingests(batch.name) == 1
    assert redis.Redis.from_url(redis_url).llen(huey.storage.queue_key) >= 1, "the task sits in Redis"

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.start()
    try:
        deadline = time.monotonic() + 30
        with app.app_context():
            while Batch.get(Batch.name == batch.name).status == "stored" and time.monotonic() < deadline:
                time.sleep(0.05)
            row = Batch.get(Batch.name == batch.name)
            assert (row.status, row.applied_count) == ("applied", len(village.events))
            assert LogEvent.select().where(LogEvent.aggregate_id == case_id).exists()
    finally:
        consumer.stop(graceful=True)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert queued_ingests(batch.name) == 0
    assert latest_ack(client, central_info).for_epoch(1).through == len(village.events)

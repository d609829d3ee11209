from performance.pools import PoolStats, pool_stats, register_pool, unregister_pool


def test_registered_pool_reports_its_stats() -> None:
    register_pool("test_pool", lambda: {"size": 2, "in_use": 1, "idle": 1, "waiting": 0, "max": 4})
    try:
        assert pool_stats()["test_pool"] == {"size": 2, "in_use": 1, "idle": 1, "waiting": 0, "max": 4}
    finally:
        unregister_pool("test_pool")


def test_failing_pool_reports_error_instead_of_breaking_others() -> None:
    def broken() -> PoolStats:
        raise ConnectionError("down")

    register_pool("test_broken", broken)
    try:
        assert pool_stats()["test_broken"] == {"error": "ConnectionError"}
    finally:
        unregister_pool("test_broken")

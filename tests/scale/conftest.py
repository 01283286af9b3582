"""A real two-node Ray cluster on this machine, started once for the tests of this folder and always shut down.

The head and the second node are separate raylets with their own object stores, one CPU each and a custom resource
each (`head_node`, `worker_node`), so a test can see which node ran what, and can kill the second node.
"""

import pytest

OBJECT_STORE = 100 * 2**20


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray")
    cluster = _start_cluster()
    try:
        cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE, resources={"worker_node": 1})
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace="codealign", log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _start_cluster(attempts: int = 3):
    """The head node. Ray gives a new raylet a fixed 30 s to register, which a heavily loaded machine can miss, so
    a start that times out is tried again from scratch."""
    from ray.cluster_utils import Cluster

    for attempt in range(attempts):
        try:
            return Cluster(initialize_head=True, head_node_args={
                "num_cpus": 1, "object_store_memory": OBJECT_STORE, "resources": {"head_node": 1},
                "include_dashboard": False,
                # a removed node is noticed within about two seconds, not the default half minute
                "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4},
            })  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception for this timeout
            if "timed out during startup" not in str(exc) or attempt == attempts - 1:
                raise
            import ray

            ray.shutdown()
    raise AssertionError("unreachable")


@pytest.fixture
def ray_address(ray_cluster):
    return ray_cluster.address


def node_ids(ray_cluster) -> dict[str, str]:
    """Node id -> which node it is ("head" or "worker"), for the nodes alive now."""
    import ray

    return {n["NodeID"]: ("head" if "head_node" in n["Resources"] else "worker") for n in ray.nodes() if n["Alive"]}

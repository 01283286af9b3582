import pytest

from codealign.measure import dataset_from_rows


def humaneval_rows():
    from codealign.evaluate.benchmarks import load_benchmark

    return [
        {
            "instruction": p["prompt"],
            "response": p["prompt"] + p["canonical_solution"],
            "tests": p["test"] + f"\ncheck({p['entry_point']})\n",
            "task_id": p["task_id"],
        }
        for p in load_benchmark("humaneval")
    ]


@pytest.fixture(scope="session")
def he_rows():
    return humaneval_rows()


@pytest.fixture(scope="session")
def he_dataset(he_rows):
    return dataset_from_rows(he_rows, "humaneval")

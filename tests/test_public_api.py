"""The public surface is exactly what we say it is: curated, sorted, importable."""

from __future__ import annotations

import importlib

import pytest

import neural_memory

PUBLIC_MODULES = [
    "neural_memory",
    "neural_memory.core",
    "neural_memory.storage",
    "neural_memory.engine.retrieval",
    "neural_memory.engine.lifecycle",
    "neural_memory.engine.consolidation",
    "neural_memory.core.limits",
]


def test_top_level_names() -> None:
    assert neural_memory.__all__ == [
        "AlreadyExistsError",
        "Brain",
        "BrainConfig",
        "BrainNotFoundError",
        "BrainNotSetError",
        "ConfigError",
        "Direction",
        "EmbeddingError",
        "Fiber",
        "LimitExceededError",
        "NeuralMemoryError",
        "Neuron",
        "NeuronType",
        "NotFoundError",
        "SnapshotFormatError",
        "StorageClosedError",
        "StorageError",
        "StorageUnavailableError",
        "Synapse",
        "SynapseType",
        "ValidationError",
        "__version__",
    ]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_every_name_exists_and_is_documented(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for item in exported:
        value = getattr(module, item)
        if callable(value):
            assert value.__doc__, f"{name}.{item} has no docstring"


def test_every_error_derives_from_the_package_base() -> None:
    errors = [getattr(neural_memory, n) for n in neural_memory.__all__ if n.endswith("Error")]
    assert all(issubclass(e, neural_memory.NeuralMemoryError) for e in errors)
    assert issubclass(neural_memory.ValidationError, ValueError)
    assert issubclass(neural_memory.NotFoundError, LookupError)


def test_importing_the_package_does_not_import_heavy_extras() -> None:
    import subprocess
    import sys

    code = (
        "import sys, neural_memory, neural_memory.storage, neural_memory.engine.retrieval;"
        "heavy = {'torch', 'sentence_transformers', 'redis', 'fastapi', 'sqlalchemy', 'asyncpg'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Every training config in configs/ reads under the command its own header names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docsearch.training.query_tower import TowerConfig
from docsearch.training.question_distill import QuestionDistillConfig
from docsearch.training.train import TrainConfig

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))
CLASS_OF = {
    "teacher": TrainConfig,
    "train": TrainConfig,
    "whiten": TrainConfig,
    "query-tower": TowerConfig,
    "question-distill": QuestionDistillConfig,
}


def test_the_repository_has_configs() -> None:
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_config_reads_under_its_own_command(path: Path) -> None:
    commands = re.findall(r"python -m docsearch\.training ([a-z-]+)", path.read_text("utf-8"))
    assert commands, f"{path.name} does not say which command runs it"
    config = CLASS_OF[commands[-1]].from_toml(path)
    assert config.data_dir.endswith("shared/data/train")

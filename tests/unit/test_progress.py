"""Progress on long work: done/total, rate and time left, as a bar on a terminal and as log lines otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from features.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_say_done_total_rate_and_time_left():
    clock, lines = Clock(), []
    with Progress("DenseNet121 embeddings", 623, unit="images", log=lines.append, every_s=10, bar=False,
                  clock=clock) as bar:
        bar.update(64)
        assert lines == [], "nothing before every_s has passed"
        clock.now = 32.0
        bar.update(64)
        clock.now = 40.0
        bar.update(32)
        clock.now = 62.3
        bar.update(463)
    assert lines == ["DenseNet121 embeddings: 128/623 images (21%), 4.0 images/s, about 2m 04s left",
                     # none at 40 s (8 s after the last line), none for 623/623: the closing line says it
                     "DenseNet121 embeddings: 623 images in 1m 02s (10.0 images/s)"]


def test_a_total_known_shard_by_shard_and_a_failed_step_says_nothing_more():
    clock, lines = Clock(), []
    with pytest.raises(RuntimeError), Progress("x", unit="rows", log=lines.append, every_s=1, bar=False,
                                               clock=clock) as bar:
        bar.add_total(10)
        clock.now = 1.0
        bar.update(5)
        raise RuntimeError
    assert lines == ["x: 5/10 rows (50%), 5.0 rows/s, about 1s left"]


def test_on_a_terminal_it_is_a_tqdm_bar(capsys):
    with Progress("note embeddings", 50, unit="chunks", log=lambda m: pytest.fail("no log lines"), bar=True) as bar:
        bar.update(20)
        bar.update(30)
    err = capsys.readouterr().err
    assert "note embeddings" in err and "50/50" in err


def test_densenet_embeddings_report_every_image():
    from features.cxr.densenet import embed_arrays, random_densenet

    class Count:
        done = 0

        def update(self, n):
            self.done += n

    count = Count()
    images = np.random.default_rng(0).integers(0, 256, (5, 224, 224), dtype=np.uint8)
    embed_arrays(images, random_densenet(), "cpu", batch_size=2, progress=count)
    assert count.done == 5


def test_training_lines_give_the_time_left(tmp_path):
    from tests.unit.test_models_train import make_data, run

    lines: list[str] = []
    run(make_data(), tmp_path / "t", progress=lines.append)
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert "left" in epoch_lines[0] and "left" not in epoch_lines[-1]

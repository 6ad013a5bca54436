"""models.train: determinism, exact resume after a kill, checkpoint refusal, early stopping, LR schedule,
the uncertainty loss's own parameter group, prediction order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch import nn

from models.data import FrameArrays, FusionDataset, ImageStore
from models.losses import UncertaintyLoss
from models.train import (
    CheckpointMismatch,
    TrainConfig,
    build_optimizer,
    fit,
    history_without_timing,
    load_checkpoint,
    predict,
)
from warehouse.lake import ClinfuseError

N_ROWS, N_LABELS, SIZE = 40, 3, 32
LINEAGE = {"frame": {"sha256": "abc", "rows": N_ROWS}, "model": {"family": "tiny", "hidden": 8}}


class TinyNet(nn.Module):
    """Follows the batch contract: masked mean of the steps -> Linear, a tiny conv on the image, dropout."""

    def __init__(self, n_labels: int = N_LABELS):
        super().__init__()
        self.ts = nn.Linear(76, 8)
        self.conv = nn.Conv2d(1, 4, 5, stride=4)
        self.img = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(8, n_labels)

    def forward(self, batch: dict) -> torch.Tensor:
        ts, lengths = batch["ts"], batch["lengths"]
        mask = (torch.arange(ts.shape[1], device=ts.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        pooled = (ts * mask).sum(1) / lengths[:, None].to(ts.dtype)
        v_img = self.img(torch.relu(self.conv(batch["image"])).mean((2, 3)))
        v_img = v_img * batch["has_cxr"][:, None].to(v_img.dtype)
        return self.head(self.drop(torch.relu(self.ts(pooled)) + v_img))


def make_data(val_labels: np.ndarray | None = None):
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 7, N_ROWS)
    steps = [rng.normal(0.0, 1.0, (k, 76)).astype(np.float32) for k in lengths]
    y = rng.integers(0, 2, (N_ROWS, N_LABELS)).astype(np.int8)
    y[:, 0] = (np.array([s[:, 3].mean() if len(s) else 0.0 for s in steps]) > 0).astype(np.int8)  # learnable
    y[24:26] = [[0] * N_LABELS, [1] * N_LABELS]
    if val_labels is not None:
        y[24:32] = val_labels
    has = rng.random(N_ROWS) < 0.5
    dicom = [f"d{i}" if h else None for i, h in enumerate(has)]
    table = pa.table({
        "stay_id": pa.array(range(N_ROWS), pa.int64()), "subject_id": pa.array(range(N_ROWS), pa.int64()),
        "split": ["train"] * 24 + ["val"] * 8 + ["test"] * 8, "ts_length": pa.array(lengths, pa.int32()),
        "ts_values": pa.array([s.tolist() if len(s) else None for s in steps], pa.list_(pa.list_(pa.float32(), 76))),
        "has_cxr": has, "dicom_id": pa.array(dicom, pa.string()),
        **{f"y{j}": pa.array(y[:, j], pa.int8()) for j in range(N_LABELS)},
    })
    arrays = FrameArrays(table, [f"y{j}" for j in range(N_LABELS)])
    ids = [d for d in dicom if d]
    store = ImageStore(ids, rng.integers(0, 256, (len(ids), 224, 224), dtype=np.uint8))
    train = FusionDataset(arrays, arrays.rows("train"), images=store, image_size=SIZE, augment="medfuse")
    val = FusionDataset(arrays, arrays.rows("val"), images=store, image_size=SIZE)
    return train, val


@pytest.fixture(scope="module")
def data():
    return make_data()


def config(**overrides) -> TrainConfig:
    values = {"epochs": 4, "batch_size": 8, "lr": 5e-3, "patience": None, "device": "cpu", "image_size": SIZE,
              "augment": "medfuse", "seed": 5}
    return TrainConfig(**{**values, **overrides})


def tiny(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet()


def run(data, out, cfg=None, model=None, progress=None, loss=None):
    model = model or tiny()
    return model, fit(model, loss or nn.BCEWithLogitsLoss(), data[0], data[1], cfg or config(), out,
                      LINEAGE, progress=progress or (lambda line: None))


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].numpy().tobytes() == b[k].numpy().tobytes() for k in a)


class Killed(Exception):
    pass


def test_two_fits_are_identical(data, tmp_path):
    model_a, a = run(data, tmp_path / "a")
    model_b, b = run(data, tmp_path / "b")
    assert a.epochs_run == 4 and len(a.history) == 4 and not a.stopped_early and a.resumed_from is None
    assert history_without_timing(a.history) == history_without_timing(b.history)
    assert same_weights(model_a.state_dict(), model_b.state_dict())
    assert same_weights(load_checkpoint(a.last_path)["model"], load_checkpoint(b.last_path)["model"])
    assert a.history[0]["train_loss"] != a.history[-1]["train_loss"]  # it did train
    assert set(a.history[0]) >= {"epoch", "train_loss", "val_loss", "val_auroc", "lr", "seconds", "samples_per_s"}
    best = load_checkpoint(a.best_path)
    assert best["epoch"] == a.best_epoch and same_weights(best["model"], model_a.state_dict())
    assert a.best_val_auroc == max(r["val_auroc"] for r in a.history)


def test_worker_processes_are_reproducible(data, tmp_path):
    """Augmentation in DataLoader workers is seeded from the epoch's generator: two runs agree (a run with
    other num_workers draws other augmentations, which is why num_workers is part of the fingerprint)."""
    model_a, a = run(data, tmp_path / "a", cfg=config(num_workers=2, epochs=2))
    model_b, b = run(data, tmp_path / "b", cfg=config(num_workers=2, epochs=2))
    assert history_without_timing(a.history) == history_without_timing(b.history)
    assert same_weights(model_a.state_dict(), model_b.state_dict())


def test_resume_after_kill_matches_uninterrupted_run(data, tmp_path):
    _, whole = run(data, tmp_path / "whole")
    lines: list[str] = []

    def killer(line: str) -> None:
        lines.append(line)
        if line.startswith("epoch 2/"):
            raise Killed

    with pytest.raises(Killed):
        run(data, tmp_path / "resumed", progress=killer)
    last = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert last["epoch"] == 2 and not last["complete"]
    lines.clear()
    model, resumed = run(data, tmp_path / "resumed", model=tiny(seed=99), progress=lines.append)
    assert resumed.resumed_from == 2 and "resuming" in lines[0] and "after epoch 2/4" in lines[0]
    assert history_without_timing(resumed.history) == history_without_timing(whole.history)
    assert same_weights(load_checkpoint(resumed.last_path)["model"], load_checkpoint(whole.last_path)["model"])
    assert same_weights(load_checkpoint(resumed.best_path)["model"], load_checkpoint(whole.best_path)["model"])
    assert load_checkpoint(resumed.last_path)["complete"]

    # a finished run is retrained from scratch by the next materialisation
    lines.clear()
    _, again = run(data, tmp_path / "resumed", progress=lines.append)
    assert again.resumed_from is None and "finished run" in lines[0]
    assert history_without_timing(again.history) == history_without_timing(whole.history)


def test_other_config_starts_fresh_and_is_refused(data, tmp_path):
    out = tmp_path / "run"

    def killer(line: str) -> None:
        if line.startswith("epoch 1/"):
            raise Killed

    with pytest.raises(Killed):
        run(data, out, progress=killer)
    (out / "best.pt").unlink()  # a last.pt without its best.pt cannot be resumed
    lines: list[str] = []
    with pytest.raises(Killed):
        run(data, out, progress=lambda line: (lines.append(line), killer(line)))
    assert "no matching best.pt; starting fresh" in lines[0]
    lines.clear()
    _, result = run(data, out, cfg=config(lr=1e-3, epochs=2), progress=lines.append)
    assert result.resumed_from is None
    assert lines[0].startswith("checkpoint from another config/frame: differing keys")
    assert "config.lr" in lines[0] and "config.epochs" in lines[0] and lines[0].endswith("starting fresh")

    ckpt = load_checkpoint(result.best_path, expect={"config": {"lr": 1e-3}, "lineage": LINEAGE})
    assert ckpt["config"]["lr"] == 1e-3 and ckpt["lineage"] == LINEAGE
    with pytest.raises(CheckpointMismatch, match=r"best\.pt.*config\.lr") as err:
        load_checkpoint(result.best_path, expect={"config": {"lr": 5e-3}})
    assert "\n" not in str(err.value)
    with pytest.raises(CheckpointMismatch, match=r"lineage\.frame\.sha256"):
        load_checkpoint(result.best_path, expect={"lineage": {"frame": {"sha256": "other"}}})
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ClinfuseError, match="cannot be read") as err:
        load_checkpoint(tmp_path / "corrupt.pt")
    assert not isinstance(err.value, CheckpointMismatch)
    with pytest.raises(ClinfuseError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


def test_early_stopping_and_lr_schedule(data, tmp_path):
    # lr so small that the weights cannot move: the validation AUROC and loss never improve after epoch 1
    _, result = run(data, tmp_path / "es", cfg=config(lr=1e-12, epochs=20, patience=3, lr_patience=0))
    assert result.stopped_early and result.epochs_run == 4 and result.best_epoch == 1
    assert [r["improved"] for r in result.history] == [True, False, False, False]
    assert [r["lr"] for r in result.history] == pytest.approx([1e-12, 1e-12, 5e-13, 2.5e-13])
    assert load_checkpoint(result.last_path)["complete"] and load_checkpoint(result.best_path)["epoch"] == 1


def test_uncertainty_loss_gets_its_own_param_group(data, tmp_path):
    cfg = config(loss="uncertainty", uncertainty_lr=0.05, betas=(0.9, 0.9), epochs=2)
    loss = UncertaintyLoss(N_LABELS)
    groups = build_optimizer(tiny(), loss, cfg).param_groups
    assert len(groups) == 2
    assert groups[0]["lr"] == cfg.lr and groups[0]["betas"] == (0.9, 0.9)
    assert groups[1]["params"] == [loss.log_var] and groups[1]["lr"] == 0.05 and groups[1]["betas"] == (0.9, 0.999)
    assert len(build_optimizer(tiny(), nn.BCEWithLogitsLoss(), cfg).param_groups) == 1

    _, result = run(data, tmp_path / "u", cfg=cfg, loss=loss)
    saved = load_checkpoint(result.last_path)
    assert not torch.equal(saved["loss"]["log_var"], torch.zeros(N_LABELS))  # it learned
    assert len(saved["optimizer"]["param_groups"]) == 2
    # loss_fn=None builds the configured loss
    model = tiny()
    built = fit(model, None, data[0], data[1], cfg, tmp_path / "u2", LINEAGE, progress=lambda line: None)
    assert "log_var" in load_checkpoint(built.last_path)["loss"]


def test_undefined_auroc_selects_on_loss(tmp_path):
    data = make_data(val_labels=np.zeros((8, N_LABELS), np.int8))
    lines: list[str] = []
    _, result = run(data, tmp_path / "one-class", cfg=config(epochs=2), progress=lines.append)
    assert result.selected_on == "val_loss" and any("selecting on validation loss" in line for line in lines)
    assert all(np.isnan(r["val_auroc"]) and r["selected_on"] == "val_loss" for r in result.history)


def test_predict_in_dataset_order(data):
    model = tiny()
    probs = predict(model, data[1], batch_size=3, device="cpu")
    assert probs.shape == (8, N_LABELS) and probs.dtype == np.float64
    assert ((probs > 0) & (probs < 1)).all() and not model.training
    with torch.no_grad():
        expected = torch.sigmoid(model(data[1].__getitems__(list(range(8)))).double()).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-6)


def test_config_checks(data, tmp_path):
    with pytest.raises(ClinfuseError, match="loss"):
        TrainConfig(loss="focal")
    assert TrainConfig(betas=[0.9, 0.9]).to_dict()["betas"] == [0.9, 0.9]
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
    _, result = run(data, tmp_path / "ok", cfg=config(epochs=1))
    saved = load_checkpoint(result.last_path)["config"]
    assert TrainConfig.from_dict(saved) == config(epochs=1)
    assert saved["datasets"]["train"]["augment"] == "medfuse" and saved["datasets"]["val"]["rows"] == 8
    # another validation subset is another run: the differing key names it
    lines: list[str] = []
    train, val = data
    fewer = FusionDataset(val.arrays, val.rows[:6], images=val.images, image_size=SIZE)
    fit(tiny(), nn.BCEWithLogitsLoss(), train, fewer, config(epochs=1), tmp_path / "ok", LINEAGE,
        progress=lines.append)
    assert lines[0] == ("checkpoint from another config/frame: differing keys config.datasets.val.rows, "
                        "config.datasets.val.rows_sha256; starting fresh")
    with pytest.raises(ClinfuseError, match="image_size"):
        run(data, tmp_path / "x", cfg=config(image_size=64))

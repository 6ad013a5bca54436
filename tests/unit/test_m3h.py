"""M3H's pieces on toys: the cross-task attention against a hand computation, shapes and losses of every branch
(masking of missing labels and modalities), the output bias, task selection, TIM, clustering scores."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
import torch

from features.m3h.frame import MODALITIES, modality_columns
from features.m3h.tasks import THORAX_CLASSES, all_tasks
from models.m3h.data import M3HData
from models.m3h.nets import CrossTaskAttention, M3HNet, info_nce, task_loss
from models.m3h.settings import resolve_settings
from models.m3h.tim import rank_matrix, sample_subsets, tim_matrix
from warehouse.lake import ClinfuseError

SETTINGS = resolve_settings("demo", {"threads": 1})


@pytest.fixture(autouse=True)
def one_thread():
    from models.m3h.runner import torch_threads

    with torch_threads(1):  # tiny networks: more threads only contend on a shared CPU
        yield


def test_cross_task_attention_equals_a_hand_computation_on_three_tasks():
    torch.manual_seed(0)
    att = CrossTaskAttention(n_tasks=3, dim=4, alpha=0.1)
    x = torch.randn(2, 3, 4)
    out = att(x).detach().numpy()
    e = att.tokens.weight.detach().numpy()
    wq, wk, wv = (lin.weight.detach().numpy() for lin in (att.w_q, att.w_k, att.w_v))
    q = e @ wq.T                                        # [T, F]: nn.Linear computes x W^T
    for b in range(2):
        k, v = x[b].numpy() @ wk.T, x[b].numpy() @ wv.T
        m = q @ k.T                                     # [T query, T key]
        logits = np.eye(3) + 0.1 * m / (np.abs(m).max() + 1e-8)
        w = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # softmax over the key axis
        np.testing.assert_allclose(out[b], w @ v, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(att.last_weights[b].numpy().sum(axis=1), 1.0, rtol=1e-6)
    # the identity favours each task's own value: the diagonal is the largest weight of its row
    weights = att.last_weights.numpy()
    assert all((weights[b].argmax(axis=1) == np.arange(3)).all() for b in range(2))


def test_one_task_attention_passes_its_value_through():
    att = CrossTaskAttention(n_tasks=1, dim=4)
    x = torch.randn(5, 1, 4)
    torch.testing.assert_close(att(x), att.w_v(x))


def _dims() -> dict[str, int]:
    return {"tabular": 3, "time_series": 5, "vision": 7, "language": 4}


def _batch(n: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    inputs = {m: torch.randn(n, d, generator=g) for m, d in _dims().items()}
    present = {m: torch.ones(n, dtype=torch.bool) for m in _dims()}
    present["language"][:3] = False
    return inputs, present


def test_every_branch_has_its_shape():
    tasks = [("anaemia", "binary", 1), ("thorax8", "multiclass", 8), ("los", "regression", 1)]
    net = M3HNet(_dims(), tasks, SETTINGS, clustering=True)
    inputs, present = _batch()
    out = net(inputs, present)
    assert out["outputs"]["anaemia"].shape == (6,) and out["outputs"]["los"].shape == (6,)
    assert out["outputs"]["thorax8"].shape == (6, 8)
    torch.testing.assert_close(out["outputs"]["thorax8"].exp().sum(1), torch.ones(6))  # log-probabilities
    assert all(z.shape == (6, SETTINGS["projection"]) for z in out["z"].values())
    assert out["latent"].shape == (6, SETTINGS["ae_latent"]) and out["recon"].shape == (6, sum(_dims().values()))
    assert net.attention.last_weights.shape == (6, 3, 3)


def test_an_absent_modality_does_not_reach_the_tasks_or_the_contrastive_loss():
    net = M3HNet(_dims(), [("anaemia", "binary", 1)], SETTINGS).eval()
    inputs, present = _batch()
    changed = {**inputs, "language": inputs["language"] + 100.0 * (~present["language"])[:, None].float()}
    a, b = net(inputs, present), net(changed, present)
    torch.testing.assert_close(a["outputs"]["anaemia"], b["outputs"]["anaemia"])
    torch.testing.assert_close(info_nce(a["z"], present, 0.1), info_nce(b["z"], present, 0.1))
    # ... and a present one does
    moved = {**inputs, "vision": inputs["vision"] + 1.0}
    assert not torch.allclose(net(moved, present)["outputs"]["anaemia"], a["outputs"]["anaemia"])


def test_info_nce_is_symmetric_and_low_for_aligned_pairs():
    z = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    present = {"a": torch.ones(8, dtype=torch.bool), "b": torch.ones(8, dtype=torch.bool)}
    aligned = info_nce({"a": z, "b": z}, present, 0.1)
    shuffled = info_nce({"a": z, "b": z[torch.randperm(8, generator=torch.Generator().manual_seed(1))]}, present, 0.1)
    assert aligned < shuffled
    torch.testing.assert_close(info_nce({"a": z, "b": 2 * z}, present, 0.1), info_nce({"b": 2 * z, "a": z}, present, 0.1))
    # no pair with two rows present: no loss (0), not NaN
    none = {"a": torch.tensor([True] + [False] * 7), "b": torch.ones(8, dtype=torch.bool)}
    assert float(info_nce({"a": z, "b": z}, none, 0.1)) == 0.0


def test_losses_per_kind_are_masked_to_labelled_rows():
    logits = torch.tensor([0.3, -1.0, 2.0, 5.0])
    y = torch.tensor([1.0, 0.0, float("nan"), float("nan")])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:2], y[:2])
    torch.testing.assert_close(task_loss("binary", logits, y), expected)
    logp = torch.log_softmax(torch.randn(4, 8), dim=1)
    yc = torch.tensor([3.0, float("nan"), 0.0, float("nan")])
    torch.testing.assert_close(task_loss("multiclass", logp, yc), -(logp[0, 3] + logp[2, 0]) / 2)
    values = torch.tensor([1.0, 5.0, 9.0])
    yr = torch.tensor([2.0, float("nan"), 7.0])
    torch.testing.assert_close(task_loss("regression", values, yr), torch.tensor(1.5))
    assert task_loss("binary", logits, torch.full((4,), float("nan"))) is None


def test_a_rare_binary_task_starts_at_its_prevalence():
    net = M3HNet(_dims(), [("hiv", "binary", 1), ("anaemia", "binary", 1)], SETTINGS)
    net.init_binary_bias("hiv", 0.05)
    net.init_binary_bias("anaemia", 0.30)  # >= 10 %: left as initialised
    assert float(net.heads["hiv"].bias.detach()) == pytest.approx(math.log(0.05 / 0.95))
    assert float(net.heads["anaemia"].bias.detach()) != pytest.approx(math.log(0.30 / 0.70))


# ---------------------------------------------------------------- a hand-made frame


def toy_frame(n: int = 240, seed: int = 0, scarce: float = 0.08, noise: float = 0.5) -> pa.Table:
    """A frames.m3h-shaped table: random modality blocks, one latent signal s in the vision block; heart_failure
    (every row) and anaemia (a `scarce` fraction of the training rows labelled) both equal s > 0; los = 3 + 2 s; thorax8 from
    the sign of two columns; language missing on half the rows."""
    rng = np.random.default_rng(seed)
    cols = {"sample_id": [f"s{i}" for i in range(n)], "subject_id": np.arange(n, dtype=np.int64),
            "split": rng.choice(["train", "val", "test"], n, p=[0.6, 0.2, 0.2]).tolist(),
            "sex": rng.choice(["F", "M"], n).tolist(), "age": rng.uniform(20, 90, n), "race": ["WHITE"] * n}
    blocks = modality_columns(("radiology",))  # the full HAIM layout, one note type
    signal = rng.standard_normal(n)
    for m, names in blocks.items():
        x = rng.standard_normal((n, len(names))).astype(np.float32)
        if m == "vision":  # the signal in 64 columns, so that 4,000 noise columns do not drown it
            x[:, :64] = signal[:, None] + noise * rng.standard_normal((n, 64))
        present = np.ones(n, bool) if m != "language" else rng.random(n) < 0.5
        cols[f"has_{m}"] = present.tolist()
        for j, name in enumerate(names):
            cols[name] = pa.array(x[:, j], pa.float32(), mask=~present)
    labels = {t.name: np.full(n, np.nan) for t in all_tasks()}
    labels["heart_failure"] = (signal > 0).astype(float)
    # scarce on the training rows only: validation and test keep every label (a stable score)
    kept = (rng.random(n) < scarce) | (np.asarray(cols["split"]) != "train")
    labels["anaemia"] = np.where(kept, (signal > 0).astype(float), np.nan)
    labels["los"] = 3.0 + 2.0 * signal
    labels["thorax8"] = np.where(rng.random(n) < 0.5, (cols["vd_100"].to_numpy(zero_copy_only=False) > 0) * 3.0, np.nan)
    for name, y in labels.items():
        cols[name] = pa.array(y, pa.float64(), mask=np.isnan(y))
    return pa.table(cols)


def test_data_standardises_on_training_rows_and_imputes_missing_values_with_their_mean():
    data = M3HData(None, toy_frame())
    train = data.rows("train")
    assert data.dims["language"] == 768 and not np.isnan(data.inputs["language"]).any()
    np.testing.assert_allclose(data.inputs["vision"][train].mean(0), 0.0, atol=1e-5)
    absent = ~data.present["language"]
    assert (data.inputs["language"][absent] == 0.0).all()


def test_tasks_with_too_few_training_positives_are_skipped_with_a_reason():
    data = M3HData(None, toy_frame())
    trained, skipped = data.select_tasks(min_train_positives=10)
    assert trained == ["los", "thorax8", "heart_failure"]
    assert "< min_train_positives = 10" in skipped["anaemia"] and "0 training positives" in skipped["sepsis"]
    capped, why = data.select_tasks(min_train_positives=1, max_tasks=2)
    assert capped == ["los", "thorax8"] and why["heart_failure"].startswith("beyond max_tasks")
    assert set(trained) | set(skipped) == {t.name for t in all_tasks()}


def test_training_masks_missing_labels_and_learns_the_signal():
    from models.m3h.train import fit, predict, scores

    data = M3HData(None, toy_frame(n=300, scarce=1.0))
    tasks = ["los", "thorax8", "heart_failure"]
    model, history = fit(data, tasks, {**SETTINGS, "epochs": 10}, clustering=True, score_rows=data.rows("val"))
    assert {"train_contrastive", "train_reconstruction", "train_los", "train_thorax8"} <= set(history[0])
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    test = data.rows("test")
    pred = predict(model, data, test)
    assert pred["thorax8"].shape == (len(test), len(THORAX_CLASSES)) and pred["latent"].shape[0] == len(test)
    assert scores(data, pred, test, tasks)["heart_failure"] > 0.8


def test_tim_is_positive_for_a_helpful_task_on_a_toy():
    """anaemia has few labels; heart_failure (every row labelled) is the same function of the inputs, so
    training with it helps anaemia; thorax8 (unrelated) helps it less."""
    from models.m3h.train import fit, predict, scores

    data = M3HData(None, toy_frame(n=400, seed=3, scarce=0.1, noise=3.0))  # 13 training labels of anaemia
    rows = data.rows("val")
    settings = {**SETTINGS, "epochs": 8}

    def score_of(task_set):
        tasks = [t for t in ("anaemia", "heart_failure", "thorax8") if t in task_set]
        model, _ = fit(data, tasks, settings)
        return scores(data, predict(model, data, rows), rows, tasks)

    tim = tim_matrix(["anaemia", "heart_failure", "thorax8"], score_of)
    delta = tim["delta"]
    assert delta[0, 1] > 0.05, delta
    assert delta[0, 1] > delta[0, 2]
    assert tim["sets_trained"] == 6  # 3 singletons + 3 pairs, each trained once


def test_tim_averages_over_sampled_subsets_and_ranks_per_row():
    # f_i(set) = 0.5 + 0.1 * [b in set] for i = a: b adds 0.1 whatever else is in the set, c adds nothing
    def score_of(task_set):
        return {t: 0.5 + (0.1 if t == "a" and "b" in task_set else 0.0) for t in task_set}

    tim = tim_matrix(["a", "b", "c", "d"], score_of, max_subset=2, n_subsets=3, seed=0)
    delta = tim["delta"]
    assert delta[0, 1] == pytest.approx(0.1) and delta[0, 2] == pytest.approx(0.0) and np.isnan(delta[0, 0])
    assert len(tim["subsets"]["a|b"]) == 4 and tim["subsets"]["a|b"][0] == []
    assert all(set(s) <= {"c", "d"} for s in tim["subsets"]["a|b"])
    ranks = rank_matrix(np.array([[np.nan, 0.2, -0.1, 0.3], [0.0, np.nan, -0.2, -0.4]]))
    np.testing.assert_array_equal(ranks, [[0, 2, -1, 1], [0, 0, -2, -1]])
    assert sample_subsets(["x", "y"], 0, 5, np.random.default_rng(0)) == [()]


def test_clustering_scores_separate_clear_clusters():
    from models.m3h.cluster import clustering_scores

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 20, (3, 2))
    train = np.vstack([c + rng.normal(0, 0.5, (30, 2)) for c in centres])
    test = np.vstack([c + rng.normal(0, 0.5, (10, 2)) for c in centres])
    result = clustering_scores(train, test, test, np.full(30, 0.2), clusters=3, seed=0)
    assert result["silhouette_latent"] > 0.8 and result["reconstruction_mse"] == pytest.approx(0.2)
    assert sorted(result["cluster_sizes"]) == [10, 10, 10]


def test_settings_refuse_unknown_keys_and_bad_values():
    assert resolve_settings("paper")["epochs"] == 15 and resolve_settings("paper")["attention_alpha"] == 0.1
    with pytest.raises(ClinfuseError, match="unknown setting 'alpha'"):
        resolve_settings("demo", {"alpha": 0.2})
    with pytest.raises(ClinfuseError, match="mode must be fixed or faithful"):
        resolve_settings("demo", {"mode": "leaky"})
    with pytest.raises(ClinfuseError, match="epochs must be >= 1"):
        resolve_settings("demo", {"epochs": 0})


def test_modalities_are_the_papers_four():
    assert MODALITIES == ("tabular", "time_series", "vision", "language")

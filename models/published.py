"""The papers' published figures, as data, for the leaderboard's context columns.

Source: Rasekh et al., "Robust Fusion of Time Series and Image Data" (IEEE Access 2024), Tables 2-4, as
recorded in shared/docs/models-reference.md B5. All figures are on the test set of real MIMIC-IV (+ MIMIC-CXR)
in the paper's set-up; the paper does not say whether they are on the PAIRED or the PARTIAL test subset, so
`subset` is "unstated". Its MedFuse rows are the TSF authors' re-run of MedFuse.

Model names are ours where we run the model (`medfuse`, `tsfusion`, `uni_ehr`, `uni_cxr`); the paper's row
name is kept in `variant`. `primary` marks the one variant per (model, task) that our default configuration
corresponds to (tsfusion: CLAHE'd images; the uncertainty loss only for the 25-label task, models-reference
B6 #4), and only primary rows are matched to our runs. Task names follow `features.frames`: `ihm`, `pheno`.
Metric names follow `models.metrics`; for phenotyping the paper's "binary F1" is undefined (B6 #10), ours
is micro F1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NOT_COMPARABLE = "published on real MIMIC-IV; not comparable with a synthetic run"
TSF_IHM = "Rasekh et al. 2024, Table 2"
TSF_PHENO = "Rasekh et al. 2024, Tables 3-4"


@dataclass(frozen=True)
class PublishedFigure:
    model: str
    variant: str
    task: str
    subset: str
    metric: str
    value: float
    ci_low: float | None
    ci_high: float | None
    source: str
    note: str = NOT_COMPARABLE
    primary: bool = False
    ours: bool = True  # a model this project runs

    def as_dict(self) -> dict:
        return asdict(self)


def _rows(model: str, variant: str, task: str, source: str, figures: dict, *, primary: bool = False,
          ours: bool = True, note: str = NOT_COMPARABLE) -> list[PublishedFigure]:
    """figures: {metric: value or (value, ci_low, ci_high)}."""
    rows = []
    for metric, figure in figures.items():
        value, low, high = figure if isinstance(figure, tuple) else (figure, None, None)
        rows.append(PublishedFigure(model, variant, task, "unstated", metric, value, low, high, source, note,
                                    primary, ours))
    return rows


_MEDFUSE_NOTE = NOT_COMPARABLE + "; MedFuse as re-run by Rasekh et al."

PUBLISHED: tuple[PublishedFigure, ...] = tuple(
    # Table 2: in-hospital mortality
    _rows("medfuse", "MedFuse", "ihm", TSF_IHM, {
        "f1_macro": 0.677, "f1_binary": 0.412, "auroc": (0.857, 0.842, 0.871), "auprc": (0.507, 0.470, 0.543),
    }, primary=True, note=_MEDFUSE_NOTE)
    + _rows("contrastive_vit", "Contrastive + ViT", "ihm", TSF_IHM, {
        "f1_macro": 0.690, "f1_binary": 0.441, "auroc": 0.852, "auprc": 0.520}, ours=False)
    + _rows("card", "CARD (multimodal)", "ihm", TSF_IHM, {
        "f1_macro": 0.660, "f1_binary": 0.400, "auroc": 0.690, "auprc": 0.341}, ours=False)
    + _rows("tsfusion", "Attention", "ihm", TSF_IHM, {
        "f1_macro": 0.691, "f1_binary": 0.438, "auroc": (0.857, 0.842, 0.872), "auprc": (0.514, 0.476, 0.556),
    })
    + _rows("tsfusion", "Attention + CLAHE", "ihm", TSF_IHM, {
        "f1_macro": 0.685, "f1_binary": 0.453, "auroc": (0.858, 0.831, 0.886), "auprc": (0.524, 0.457, 0.594),
    }, primary=True)
    # Tables 3-4: 25 phenotypes (macro F1 / "binary" F1 / macro AUROC / macro AUPRC)
    + _rows("medfuse", "MedFuse (multimodal LSTM fusion)", "pheno", TSF_PHENO, {
        "f1_macro": 0.589, "f1_binary": 0.282, "auroc": (0.763, 0.752, 0.775), "auprc": (0.422, 0.401, 0.445),
    }, primary=True, note=_MEDFUSE_NOTE)
    + _rows("card", "CARD", "pheno", TSF_PHENO, {
        "f1_macro": 0.585, "f1_binary": 0.344, "auroc": 0.600, "auprc": 0.310}, ours=False)
    + _rows("uni_ehr", "Time series only", "pheno", TSF_PHENO, {
        "f1_macro": 0.581, "f1_binary": 0.270, "auroc": 0.759, "auprc": 0.421}, primary=True)
    + _rows("uni_cxr", "Image only", "pheno", TSF_PHENO, {
        "f1_macro": 0.535, "f1_binary": 0.200, "auroc": 0.670, "auprc": 0.358}, primary=True)
    + _rows("tsfusion", "Attention", "pheno", TSF_PHENO, {
        "f1_macro": 0.604, "f1_binary": 0.314, "auroc": 0.765, "auprc": 0.424})
    + _rows("tsfusion", "Attention + uncertainty", "pheno", TSF_PHENO, {
        "f1_macro": 0.604, "f1_binary": 0.311, "auroc": 0.767, "auprc": 0.427})
    + _rows("tsfusion", "Attention + CLAHE", "pheno", TSF_PHENO, {
        "f1_macro": 0.611, "f1_binary": 0.327, "auroc": (0.770, 0.758, 0.781), "auprc": 0.431})
    + _rows("tsfusion", "Attention + uncertainty + CLAHE", "pheno", TSF_PHENO, {
        "f1_macro": 0.614, "f1_binary": 0.362, "auroc": (0.759, 0.742, 0.776), "auprc": (0.466, 0.433, 0.502),
    }, primary=True)
)


def published_for(model: str, task: str, metric: str) -> PublishedFigure | None:
    """The primary published figure our run of (model, task) is shown next to, if any."""
    for figure in PUBLISHED:
        if figure.primary and (figure.model, figure.task, figure.metric) == (model, task, metric):
            return figure
    return None

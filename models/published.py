"""The papers' published figures, as data, for the leaderboard's context columns.

Sources: TSF (below), M3T-LM Tables III-IV and M3H Fig. 4 (see the end of this docstring).

TSF source: Rasekh et al., "Robust Fusion of Time Series and Image Data" (IEEE Access 2024), Tables 2-4, as
recorded in shared/docs/models-reference.md B5. All figures are on the test set of real MIMIC-IV (+ MIMIC-CXR)
in the paper's set-up; the paper does not say whether they are on the PAIRED or the PARTIAL test subset, so
`subset` is "unstated". Its MedFuse rows are the TSF authors' re-run of MedFuse.

Model names are ours where we run the model (`medfuse`, `tsfusion`, `uni_ehr`, `uni_cxr`); the paper's row
name is kept in `variant`. `primary` marks the one variant per (model, task) that our default configuration
corresponds to (tsfusion: CLAHE'd images; the uncertainty loss only for the 25-label task, models-reference
B6 #4), and only primary rows are matched to our runs. Task names follow `features.frames`: `ihm`, `pheno`.
Metric names follow `models.metrics`; for phenotyping the paper's "binary F1" is undefined (B6 #10), ours
is micro F1.

M3T-LM (Chen et al. 2024 preprint, models-reference.md A5): the **test** rows of Table III (LoS: MAE, RMSE,
R², explained variance; days) and Table IV (mortality: accuracy, precision, recall, F1 of the positive
class = our `f1_binary`; the paper's percentages as fractions). One run, no CI. Our names: `m3tlm` (tasks
`los`, `mortality`); its tabular baselines `baseline_mlp`, `baseline_xgboost`, `baseline_random_forest`,
matched only to rows of the report `baselines_m3tlm` (`report`), so the M3H frame's baselines of the
same task names are not shown beside M3T-LM's figures. VGG-style CNN and 1D-CNN are not run here.

M3H (Bertsimas & Ma 2024, models-reference.md C2 Fig. 4): single-task (`m3h_single`) and best multi-task
(`m3h`) test scores per task; AUROC for binary tasks, mean one-vs-rest AUROC for `thorax8`, R² for `los`,
silhouette for `phenotype_clusters`; bounds are point ± 1 SD over 5 bootstraps of 90 % of the test set,
not 95 % CIs (C5), kept in ci_low / ci_high and said in `note`. Task names: `M3H_TASK_NAMES`.
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
    report: str = ""  # when set, matched only to rows from this report (e.g. "baselines_m3tlm")

    def as_dict(self) -> dict:
        return asdict(self)


def _rows(model: str, variant: str, task: str, source: str, figures: dict, *, primary: bool = False,
          ours: bool = True, note: str = NOT_COMPARABLE, subset: str = "unstated",
          report: str = "") -> list[PublishedFigure]:
    """figures: {metric: value or (value, ci_low, ci_high)}."""
    rows = []
    for metric, figure in figures.items():
        value, low, high = figure if isinstance(figure, tuple) else (figure, None, None)
        rows.append(PublishedFigure(model, variant, task, subset, metric, value, low, high, source, note,
                                    primary, ours, report))
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


# ---------------------------------------------------------------------------------------------------- M3T-LM
M3TLM_LOS = "Chen et al. 2024 (M3T-LM), Table III (test)"
M3TLM_MORTALITY = "Chen et al. 2024 (M3T-LM), Table IV (test)"
_M3TLM_NOTE = (NOT_COMPARABLE + "; one run without CI, random sample-level 7:2:1 split, total hospital LoS, "
               "same-admission ICD titles and whole-stay inputs (leaks, models-reference A6)")
_M3TLM_BASELINE_NOTE = _M3TLM_NOTE + "; the paper's tabular baseline, on another test draw (A6 #8)"


def _m3tlm(model: str, variant: str, los: tuple, mortality: tuple, *, ours: bool = True,
           report: str = "") -> list[PublishedFigure]:
    """los = (MAE, RMSE, R², explained variance); mortality = (accuracy, precision, recall, F1) in %."""
    note = _M3TLM_NOTE if model == "m3tlm" else _M3TLM_BASELINE_NOTE
    return (_rows(model, variant, "los", M3TLM_LOS, dict(zip(("mae", "rmse", "r2", "explained_variance"), los,
                                                             strict=True)),
                  primary=ours, ours=ours, note=note, subset="test", report=report)
            + _rows(model, variant, "mortality", M3TLM_MORTALITY,
                    {m: round(v / 100, 4) for m, v in zip(("accuracy", "precision", "recall", "f1_binary"),
                                                           mortality, strict=True)},
                    primary=ours, ours=ours, note=note, subset="test", report=report))


M3TLM_PUBLISHED: tuple[PublishedFigure, ...] = tuple(
    _m3tlm("m3tlm", "M3T-LM", (5.54, 7.18, 0.62, 0.63), (95.42, 91.78, 83.75, 87.58))
    + _m3tlm("baseline_mlp", "MLP", (5.65, 7.64, 0.58, 0.61), (73.01, 33.87, 22.82, 27.27),
             report="baselines_m3tlm")
    + _m3tlm("baseline_xgboost", "XGBoost", (5.01, 7.21, 0.62, 0.66), (70.84, 28.98, 21.73, 24.84),
             report="baselines_m3tlm")
    + _m3tlm("baseline_random_forest", "RF", (6.28, 9.22, 0.38, 0.43), (70.12, 27.77, 21.73, 24.39),
             report="baselines_m3tlm")
    + _m3tlm("vgg_cnn", "VGG-style CNN", (10.62, 15.41, -0.71, 0.08), (77.83, 22.72, 6.25, 9.80), ours=False)
    + _m3tlm("cnn_1d", "1D-CNN", (9.40, 14.02, -0.41, 0.12), (78.31, 27.27, 7.50, 11.76), ours=False)
)

# ---------------------------------------------------------------------------------------------------- M3H
M3H_FIG4 = "Bertsimas & Ma 2024 (M3H), Fig. 4 (test)"
_M3H_NOTE = (NOT_COMPARABLE + "; real MIMIC-IV; point ± 1 SD (5 bootstraps of 90 % of the test set, "
                             "not a 95 % CI); HAIM-MIMIC-MM samples")
# task name -> (Fig. 4 name, metric, single (value, low, high), multi (value, low, high)), in Fig. 4's order
M3H_FIGURE4: dict[str, tuple[str, str, tuple, tuple]] = {
    "hai": ("HAI", "auroc", (0.78, 0.74, 0.82), (0.88, 0.87, 0.89)),
    "los": ("LoS", "r2", (0.56, 0.56, 0.57), (0.58, 0.57, 0.59)),
    "mortality_48h": ("Mortality 48 h", "auroc", (0.81, 0.77, 0.84), (0.85, 0.83, 0.87)),
    "phenotype_clusters": ("Phenotyping clusters", "silhouette", (0.41, 0.41, 0.42), (0.67, 0.67, 0.68)),
    "thorax8": ("Thoracic 8-class (mean AUROC)", "auroc", (0.77, 0.76, 0.78), (0.79, 0.78, 0.80)),
    "anaemia": ("Anaemia", "auroc", (0.79, 0.78, 0.79), (0.81, 0.81, 0.81)),
    "heart_failure": ("Heart failure", "auroc", (0.89, 0.89, 0.90), (0.91, 0.90, 0.91)),
    "ischaemic_heart_disease": ("Ischaemic heart disease", "auroc", (0.79, 0.78, 0.80), (0.83, 0.82, 0.84)),
    "sepsis": ("Sepsis", "auroc", (0.89, 0.88, 0.90), (0.90, 0.90, 0.91)),
    "stroke": ("Stroke", "auroc", (0.83, 0.82, 0.84), (0.87, 0.86, 0.87)),
    "psoriasis": ("Psoriasis", "auroc", (0.69, 0.60, 0.77), (0.93, 0.90, 0.97)),
    "diabetes": ("Diabetes", "auroc", (0.88, 0.87, 0.89), (0.89, 0.88, 0.90)),
    "obesity": ("Obesity", "auroc", (0.87, 0.86, 0.88), (0.91, 0.90, 0.92)),
    "osteoporosis": ("Osteoporosis", "auroc", (0.76, 0.74, 0.78), (0.87, 0.86, 0.88)),
    "chronic_liver_disease": ("Chronic liver disease", "auroc", (0.90, 0.89, 0.91), (0.93, 0.92, 0.94)),
    "inflammatory_bowel_disease": ("Inflammatory bowel disease", "auroc", (0.67, 0.57, 0.77), (0.84, 0.82, 0.87)),
    "antimicrobial_resistance": ("Antimicrobial resistance", "auroc", (0.70, 0.69, 0.72), (0.86, 0.85, 0.88)),
    "bacterial_intestinal_infection": ("Bacterial intestinal infection", "auroc", (0.78, 0.77, 0.78),
                                       (0.79, 0.79, 0.80)),
    "hepatitis_b_c": ("Hepatitis B/C", "auroc", (0.89, 0.87, 0.90), (0.91, 0.90, 0.92)),
    "hiv": ("HIV", "auroc", (0.95, 0.94, 0.97), (0.97, 0.97, 0.98)),
    "tuberculosis": ("Tuberculosis", "auroc", (0.75, 0.70, 0.80), (0.95, 0.94, 0.96)),
    "fibromyalgia": ("Fibromyalgia", "auroc", (0.91, 0.90, 0.92), (0.96, 0.94, 0.97)),
    "hypertension": ("Hypertension", "auroc", (0.81, 0.81, 0.82), (0.85, 0.85, 0.85)),
    "chronic_kidney_disease": ("Chronic kidney disease", "auroc", (0.88, 0.87, 0.88), (0.90, 0.90, 0.91)),
    "alzheimer_disease": ("Alzheimer disease", "auroc", (0.97, 0.96, 0.99), (1.00, 1.00, 1.00)),
    "epilepsy": ("Epilepsy", "auroc", (0.80, 0.76, 0.83), (0.86, 0.83, 0.88)),
    "multiple_sclerosis": ("Multiple sclerosis", "auroc", (0.62, 0.57, 0.66), (0.87, 0.79, 0.95)),
    "parkinson_disease": ("Parkinson disease", "auroc", (0.84, 0.75, 0.93), (0.99, 0.98, 1.00)),
    "breast_cancer": ("Breast cancer", "auroc", (0.89, 0.85, 0.92), (0.90, 0.88, 0.92)),
    "leukaemia": ("Leukaemia", "auroc", (0.81, 0.78, 0.84), (0.87, 0.85, 0.90)),
    "lung_cancer": ("Lung cancer", "auroc", (0.79, 0.77, 0.81), (0.89, 0.88, 0.90)),
    "lymphoma": ("Lymphoma", "auroc", (0.78, 0.75, 0.81), (0.90, 0.88, 0.92)),
    "melanoma": ("Melanoma", "auroc", (0.90, 0.88, 0.92), (0.98, 0.97, 0.99)),
    "prostate_cancer": ("Prostate cancer", "auroc", (0.89, 0.87, 0.90), (0.90, 0.90, 0.91)),
    "glaucoma": ("Glaucoma", "auroc", (0.68, 0.65, 0.72), (0.85, 0.83, 0.87)),
    "macular_degeneration": ("Macular degeneration", "auroc", (0.85, 0.83, 0.88), (0.94, 0.93, 0.95)),
    "bipolar_disorder": ("Bipolar disorder", "auroc", (0.73, 0.70, 0.75), (0.89, 0.87, 0.91)),
    "major_depressive_disorder": ("Major depressive disorder", "auroc", (0.88, 0.86, 0.89), (0.90, 0.88, 0.91)),
    "schizophrenia": ("Schizophrenia", "auroc", (0.79, 0.65, 0.93), (0.97, 0.94, 0.99)),
    "asthma": ("Asthma", "auroc", (0.78, 0.77, 0.79), (0.84, 0.83, 0.84)),
    "copd": ("COPD", "auroc", (0.87, 0.85, 0.89), (0.89, 0.88, 0.90)),
    "pneumonia": ("Pneumonia", "auroc", (0.85, 0.84, 0.86), (0.88, 0.87, 0.89)),
    "lupus": ("Lupus", "auroc", (0.78, 0.75, 0.81), (0.90, 0.89, 0.92)),
    "urinary_incontinence": ("Urinary incontinence", "auroc", (0.66, 0.61, 0.71), (0.86, 0.85, 0.88)),
}
# The task names M3H's heads use (leaderboard `task`), in Fig. 4's order: 5 operations / thoracic tasks,
# then the 39 diagnoses (warehouse/resources/m3h_tasks.csv).
M3H_TASK_NAMES: tuple[str, ...] = tuple(M3H_FIGURE4)
M3H_PUBLISHED: tuple[PublishedFigure, ...] = tuple(
    figure
    for task, (title, metric, single, multi) in M3H_FIGURE4.items()
    for figure in (_rows("m3h_single", f"M3H single-task: {title}", task, M3H_FIG4, {metric: single},
                         primary=True, note=_M3H_NOTE, subset="test")
                   + _rows("m3h", f"M3H multi-task: {title}", task, M3H_FIG4, {metric: multi}, primary=True,
                           note=_M3H_NOTE, subset="test"))
)

PUBLISHED = PUBLISHED + M3TLM_PUBLISHED + M3H_PUBLISHED


def published_for(model: str, task: str, metric: str, report: str | None = None) -> PublishedFigure | None:
    """The primary published figure our run of (model, task) is shown next to, if any; a figure bound to a
    report (`PublishedFigure.report`) only for rows of that report."""
    for figure in PUBLISHED:
        if figure.primary and (figure.model, figure.task, figure.metric) == (model, task, metric) \
                and (not figure.report or figure.report == report):
            return figure
    return None


def paper_of(figure: PublishedFigure) -> str:
    """The paper a figure comes from: its source up to the first comma."""
    return figure.source.split(",")[0]

"""M3T-LM (models-reference.md part A): length of stay + in-hospital mortality from numeric, categorical,
ICD-title and chest X-ray inputs, with GradNorm task weights.

    settings.py  paper / demo profiles, fixed / faithful modes
    nets.py      AttConv1d, TextBranch, ImageBranch, M3TLM
    gradnorm.py  GradNorm task weighting (Eqs. 3-6)
    data.py      frame -> arrays, vocabulary, scaler, oversampling, dataset; tabular_task for the baselines
    train.py     the training loop (RMSprop, Huber + BCE, GradNorm, selection on validation)
    runner.py    what the assets call: train_m3tlm, evaluate_m3tlm
"""

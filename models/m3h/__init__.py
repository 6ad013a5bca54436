"""M3H (Bertsimas & Ma): multimodal multitask learning over frozen HAIM embeddings (models-reference.md part C).

    settings.py  paper / demo settings, fixed / faithful modes
    data.py      frames.m3h -> arrays per modality (standardised, imputed) + masks + labels; tabular_task
    nets.py      modality nets, contrastive loss, shared + task nets, CrossTaskAttention, heads, autoencoder
    train.py     one model over a task set: masked multi-task loss, fit, predict, validation scores
    tim.py       the task-interaction (TIM) score over sampled task subsets, chosen on validation
    cluster.py   K-means on the autoencoder latent: silhouettes (latent and a fixed PCA space), MSE
    runner.py    what the Dagster assets call: train_m3h, evaluate_m3h
"""

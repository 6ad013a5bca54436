"""M3H's task labels (`cohorts.m3h_tasks`) and training frame (`frames.m3h`): models-reference.md part C."""

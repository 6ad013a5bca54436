"""Dagster only: definitions, resources, IO, partitions, assets per layer, checks, schedules, sensors."""

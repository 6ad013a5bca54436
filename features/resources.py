"""Old name of `features.mimic3_benchmarks` (the vendored mimic3-benchmarks tables: discretizer config, item
map, variable ranges, phenotype definitions), not to be confused with `pipelines/resources.py` (Dagster
resources). Re-exported so code written against the old name keeps importing; new code imports
`features.mimic3_benchmarks`."""

from features.mimic3_benchmarks import *  # noqa: F403
from features.mimic3_benchmarks import RESOURCE_DIR, resource_path  # noqa: F401  (names import * may miss)

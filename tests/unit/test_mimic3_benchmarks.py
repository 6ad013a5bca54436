"""Golden static checks on the vendored resources (reference-pipelines.md §5 items 1, 4, 5, 7)."""

import polars as pl

from features import mimic3_benchmarks as r

CHANNELS = [
    "Capillary refill rate", "Diastolic blood pressure", "Fraction inspired oxygen",
    "Glascow coma scale eye opening", "Glascow coma scale motor response", "Glascow coma scale total",
    "Glascow coma scale verbal response", "Glucose", "Heart Rate", "Height", "Mean blood pressure",
    "Oxygen saturation", "Respiratory rate", "Systolic blood pressure", "Temperature", "Weight", "pH",
]

MIMIC_IV_IDS = {
    "Capillary refill rate": [],
    "Diastolic blood pressure": [220051, 220180, 224643, 225310],
    "Fraction inspired oxygen": [223835],
    "Glascow coma scale eye opening": [220739],
    "Glascow coma scale motor response": [223901],
    "Glascow coma scale total": [],
    "Glascow coma scale verbal response": [223900],
    "Glucose": [50809, 50931, 51478, 220621, 225664, 226537],
    "Heart Rate": [220045],
    "Height": [226707, 226730],
    "Mean blood pressure": [220052, 220181, 224322, 225312],
    "Oxygen saturation": [50817, 220227, 220277],
    "Respiratory rate": [220210, 224422, 224689, 224690],
    "Systolic blood pressure": [220050, 220179, 224167, 225309, 227243],
    "Temperature": [223761, 223762],
    "Weight": [224639, 226512, 226531],
    "pH": [50820, 50831, 51094, 51491, 220274, 223830],
}

PHENOTYPES = [
    "Acute and unspecified renal failure", "Acute cerebrovascular disease", "Acute myocardial infarction",
    "Cardiac dysrhythmias", "Chronic kidney disease",
    "Chronic obstructive pulmonary disease and bronchiectasis",
    "Complications of surgical procedures or medical care", "Conduction disorders",
    "Congestive heart failure; nonhypertensive", "Coronary atherosclerosis and other heart disease",
    "Diabetes mellitus with complications", "Diabetes mellitus without complication",
    "Disorders of lipid metabolism", "Essential hypertension", "Fluid and electrolyte disorders",
    "Gastrointestinal hemorrhage", "Hypertension with complications and secondary hypertension",
    "Other liver diseases", "Other lower respiratory disease", "Other upper respiratory disease",
    "Pleurisy; pneumothorax; pulmonary collapse",
    "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)",
    "Respiratory failure; insufficiency; arrest (adult)", "Septicemia (except in labor)", "Shock",
]
ICD9_COUNTS = [6, 25, 40, 13, 19, 15, 145, 28, 16, 20, 57, 12, 5, 2, 15, 40, 38, 24, 62, 60, 17, 62, 16, 26, 4]
ICD10_COUNTS = [6, 20, 6, 12, 15, 11, 119, 22, 15, 16, 35, 10, 5, 2, 13, 25, 11, 21, 56, 49, 15, 47, 11, 24, 4]


def test_channels_in_config_order_with_categories():
    cfg = r.discretizer_config()
    assert list(cfg.channels) == CHANNELS
    assert [len(cfg.possible_values[c]) for c in cfg.categorical_channels] == [2, 8, 12, 13, 12]
    assert cfg.categorical_channels == (
        "Capillary refill rate", "Glascow coma scale eye opening", "Glascow coma scale motor response",
        "Glascow coma scale total", "Glascow coma scale verbal response",
    )


def test_normal_values():
    normal = r.discretizer_config().normal_values
    assert normal["Glascow coma scale eye opening"] == "4 Spontaneously"
    assert normal["Glascow coma scale total"] == "15"
    expected = {"Diastolic blood pressure": 59.0, "Fraction inspired oxygen": 0.21, "Glucose": 128.0,
                "Heart Rate": 86.0, "Height": 170.0, "Mean blood pressure": 77.0, "Oxygen saturation": 98.0,
                "Respiratory rate": 19.0, "Systolic blood pressure": 118.0, "Temperature": 36.6,
                "Weight": 81.0, "pH": 7.4}
    assert {k: float(normal[k]) for k in expected} == expected


def test_ready_item_map_and_mimic_iv_ids():
    assert r.ready_item_map().height == 114
    assert r.ready_item_map()["itemid"].n_unique() == 114
    assert len(r.mimic_iv_itemids()) == 44
    assert r.itemids_by_variable() == MIMIC_IV_IDS
    assert sum(len(v) for v in MIMIC_IV_IDS.values()) == 44


def test_phenotype_names_and_code_counts():
    assert list(r.phenotype_names()) == PHENOTYPES
    defs = r.phenotype_definitions()
    counts = defs.group_by("phenotype", "icd_version").len()
    per = {(p, v): n for p, v, n in counts.iter_rows()}
    assert [per[(p, 9)] for p in PHENOTYPES] == ICD9_COUNTS
    assert [per[(p, 10)] for p in PHENOTYPES] == ICD10_COUNTS


def test_phenotype_codes_belong_to_one_group_and_versions_do_not_collide():
    defs = r.phenotype_definitions()
    assert defs.group_by("icd_code").agg(pl.col("phenotype").n_unique()).filter(pl.col("phenotype") > 1).height == 0
    assert defs.group_by("icd_code").agg(pl.col("icd_version").n_unique()).filter(pl.col("icd_version") > 1).height == 0


def test_ami_icd10_codes_as_documented():
    defs = r.phenotype_definitions().filter(
        (pl.col("phenotype") == "Acute myocardial infarction") & (pl.col("icd_version") == 10))
    assert set(defs["icd_code"]) == {"I2109", "I2111", "I2119", "I2129", "I214", "I21A9"}


def test_medfuse_levels_differ_from_yaml_type_for_five_groups():
    defs = r.phenotype_definitions().unique("phenotype").sort("phenotype")
    differ = [i for i, (lvl, typ) in enumerate(zip(defs["level"], defs["yaml_type"], strict=False)) if lvl != typ]
    assert differ == [3, 7, 8, 10, 17]
    assert set(r.PHENOTYPE_LEVELS) == set(PHENOTYPES)


def test_reference_split_files():
    test, val = r.reference_test_set(), r.reference_val_set()
    assert (test.height, int(test["flag"].sum())) == (47_046, 9_409)
    assert (val.height, int(val["flag"].sum())) == (37_300, 3_730)
    assert test["subject_id"].is_unique().all()


def test_variable_ranges_first_row_per_variable():
    ranges = r.variable_ranges()
    assert ranges["variable"].is_unique().all()
    fio2 = ranges.filter(pl.col("variable") == "Fraction inspired oxygen").row(0, named=True)
    assert (fio2["outlier_low"], fio2["valid_low"], fio2["valid_high"], fio2["outlier_high"]) == (0.2, 0.21, 1.0, 1.1)

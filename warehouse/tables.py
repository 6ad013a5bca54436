"""The raw tables clinfuse knows: where each lives per source layout, and its one typed schema.

Every version of MIMIC-IV is read into the same schema (the v2.2 column set, lower-case names):
columns a version lacks are filled with typed NULLs, renamed columns are mapped back
(`ethnicity` -> `race`), and moved tables (v1.0 `core/`) are found where they are.

A column written `name?` is optional: older releases lack it and it becomes NULL. Any other
missing column is an error that names the file and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column spec: "name TYPE" per line; a trailing "?" on the name marks it optional.
_SPECS: dict[str, str] = {
    # ---- MIMIC-IV hosp
    "hosp_patients": """subject_id BIGINT, gender VARCHAR, anchor_age INTEGER, anchor_year INTEGER,
        anchor_year_group VARCHAR, dod DATE""",
    "hosp_admissions": """subject_id BIGINT, hadm_id BIGINT, admittime TIMESTAMP, dischtime TIMESTAMP,
        deathtime TIMESTAMP, admission_type VARCHAR, admit_provider_id? VARCHAR,
        admission_location VARCHAR, discharge_location VARCHAR, insurance VARCHAR, language VARCHAR,
        marital_status VARCHAR, race VARCHAR, edregtime TIMESTAMP, edouttime TIMESTAMP,
        hospital_expire_flag INTEGER""",
    "hosp_transfers": """subject_id BIGINT, hadm_id BIGINT, transfer_id BIGINT, eventtype VARCHAR,
        careunit VARCHAR, intime TIMESTAMP, outtime TIMESTAMP""",
    "hosp_diagnoses_icd": """subject_id BIGINT, hadm_id BIGINT, seq_num INTEGER, icd_code VARCHAR,
        icd_version INTEGER""",
    "hosp_procedures_icd": """subject_id BIGINT, hadm_id BIGINT, seq_num INTEGER, chartdate DATE,
        icd_code VARCHAR, icd_version INTEGER""",
    "hosp_d_icd_diagnoses": "icd_code VARCHAR, icd_version INTEGER, long_title VARCHAR",
    "hosp_d_icd_procedures": "icd_code VARCHAR, icd_version INTEGER, long_title VARCHAR",
    "hosp_labevents": """labevent_id BIGINT, subject_id BIGINT, hadm_id BIGINT, specimen_id BIGINT,
        itemid INTEGER, order_provider_id? VARCHAR, charttime TIMESTAMP, storetime TIMESTAMP,
        value VARCHAR, valuenum DOUBLE, valueuom VARCHAR, ref_range_lower DOUBLE,
        ref_range_upper DOUBLE, flag VARCHAR, priority VARCHAR, comments VARCHAR""",
    "hosp_d_labitems": "itemid INTEGER, label VARCHAR, fluid VARCHAR, category VARCHAR",
    "hosp_services": """subject_id BIGINT, hadm_id BIGINT, transfertime TIMESTAMP,
        prev_service VARCHAR, curr_service VARCHAR""",
    "hosp_d_hcpcs": """code VARCHAR, category INTEGER, long_description VARCHAR,
        short_description VARCHAR""",
    "hosp_drgcodes": """subject_id BIGINT, hadm_id BIGINT, drg_type VARCHAR, drg_code VARCHAR,
        description VARCHAR, drg_severity INTEGER, drg_mortality INTEGER""",
    "hosp_hcpcsevents": """subject_id BIGINT, hadm_id BIGINT, chartdate DATE, hcpcs_cd VARCHAR,
        seq_num INTEGER, short_description VARCHAR""",
    "hosp_microbiologyevents": """microevent_id BIGINT, subject_id BIGINT, hadm_id BIGINT,
        micro_specimen_id BIGINT, order_provider_id? VARCHAR, chartdate TIMESTAMP,
        charttime TIMESTAMP, spec_itemid INTEGER, spec_type_desc VARCHAR, test_seq INTEGER,
        storedate TIMESTAMP, storetime TIMESTAMP, test_itemid INTEGER, test_name VARCHAR,
        org_itemid INTEGER, org_name VARCHAR, isolate_num INTEGER, quantity VARCHAR,
        ab_itemid INTEGER, ab_name VARCHAR, dilution_text VARCHAR, dilution_comparison VARCHAR,
        dilution_value DOUBLE, interpretation VARCHAR, comments VARCHAR""",
    "hosp_omr": """subject_id BIGINT, chartdate DATE, seq_num INTEGER, result_name VARCHAR,
        result_value VARCHAR""",
    "hosp_prescriptions": """subject_id BIGINT, hadm_id BIGINT, pharmacy_id BIGINT, poe_id VARCHAR,
        poe_seq INTEGER, order_provider_id? VARCHAR, starttime TIMESTAMP, stoptime TIMESTAMP,
        drug_type VARCHAR, drug VARCHAR, formulary_drug_cd VARCHAR, gsn VARCHAR, ndc VARCHAR,
        prod_strength VARCHAR, form_rx VARCHAR, dose_val_rx VARCHAR, dose_unit_rx VARCHAR,
        form_val_disp VARCHAR, form_unit_disp VARCHAR, doses_per_24_hrs DOUBLE, route VARCHAR""",
    "hosp_provider": "provider_id VARCHAR",
    "hosp_emar": """subject_id BIGINT, hadm_id BIGINT, emar_id VARCHAR, emar_seq INTEGER, poe_id VARCHAR,
        pharmacy_id BIGINT, enter_provider_id? VARCHAR, charttime TIMESTAMP, medication VARCHAR,
        event_txt VARCHAR, scheduletime TIMESTAMP, storetime TIMESTAMP""",
    "hosp_emar_detail": """subject_id BIGINT, emar_id VARCHAR, emar_seq INTEGER, parent_field_ordinal VARCHAR,
        administration_type VARCHAR, pharmacy_id BIGINT, barcode_type VARCHAR,
        reason_for_no_barcode VARCHAR, complete_dose_not_given VARCHAR, dose_due VARCHAR,
        dose_due_unit VARCHAR, dose_given VARCHAR, dose_given_unit VARCHAR,
        will_remainder_of_dose_be_given VARCHAR, product_amount_given VARCHAR, product_unit VARCHAR,
        product_code VARCHAR, product_description VARCHAR, product_description_other VARCHAR,
        prior_infusion_rate VARCHAR, infusion_rate VARCHAR, infusion_rate_adjustment VARCHAR,
        infusion_rate_adjustment_amount VARCHAR, infusion_rate_unit VARCHAR, route VARCHAR,
        infusion_complete VARCHAR, completion_interval VARCHAR, new_iv_bag_hung VARCHAR,
        continued_infusion_in_other_location VARCHAR, restart_interval VARCHAR, side VARCHAR,
        site VARCHAR, non_formulary_visual_verification VARCHAR""",
    "hosp_pharmacy": """subject_id BIGINT, hadm_id BIGINT, pharmacy_id BIGINT, poe_id VARCHAR,
        starttime TIMESTAMP, stoptime TIMESTAMP, medication VARCHAR, proc_type VARCHAR, status VARCHAR,
        entertime TIMESTAMP, verifiedtime TIMESTAMP, route VARCHAR, frequency VARCHAR,
        disp_sched VARCHAR, infusion_type VARCHAR, sliding_scale VARCHAR, lockout_interval VARCHAR,
        basal_rate DOUBLE, one_hr_max VARCHAR, doses_per_24_hrs DOUBLE, duration DOUBLE,
        duration_interval VARCHAR, expiration_value INTEGER, expiration_unit VARCHAR,
        expirationdate TIMESTAMP, dispensation VARCHAR, fill_quantity VARCHAR""",
    "hosp_poe": """poe_id VARCHAR, poe_seq INTEGER, subject_id BIGINT, hadm_id BIGINT, ordertime TIMESTAMP,
        order_type VARCHAR, order_subtype VARCHAR, transaction_type VARCHAR,
        discontinue_of_poe_id VARCHAR, discontinued_by_poe_id VARCHAR, order_provider_id? VARCHAR,
        order_status VARCHAR""",
    "hosp_poe_detail": """poe_id VARCHAR, poe_seq INTEGER, subject_id BIGINT, field_name VARCHAR,
        field_value VARCHAR""",
    # ---- MIMIC-IV icu
    "icu_icustays": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, first_careunit VARCHAR,
        last_careunit VARCHAR, intime TIMESTAMP, outtime TIMESTAMP, los DOUBLE""",
    "icu_chartevents": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, caregiver_id? BIGINT,
        charttime TIMESTAMP, storetime TIMESTAMP, itemid INTEGER, value VARCHAR, valuenum DOUBLE,
        valueuom VARCHAR, warning INTEGER""",
    "icu_d_items": """itemid INTEGER, label VARCHAR, abbreviation VARCHAR, linksto VARCHAR,
        category VARCHAR, unitname VARCHAR, param_type VARCHAR, lownormalvalue DOUBLE,
        highnormalvalue DOUBLE""",
    "icu_procedureevents": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, caregiver_id? BIGINT,
        starttime TIMESTAMP, endtime TIMESTAMP, storetime TIMESTAMP, itemid INTEGER, value DOUBLE,
        valueuom VARCHAR, location VARCHAR, locationcategory VARCHAR, orderid BIGINT,
        linkorderid BIGINT, ordercategoryname VARCHAR, ordercategorydescription VARCHAR,
        patientweight DOUBLE, isopenbag INTEGER, continueinnextdept INTEGER,
        statusdescription VARCHAR, originalamount DOUBLE, originalrate DOUBLE""",
    "icu_inputevents": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, caregiver_id? BIGINT,
        starttime TIMESTAMP, endtime TIMESTAMP, storetime TIMESTAMP, itemid INTEGER, amount DOUBLE,
        amountuom VARCHAR, rate DOUBLE, rateuom VARCHAR, orderid BIGINT, linkorderid BIGINT,
        ordercategoryname VARCHAR, secondaryordercategoryname VARCHAR,
        ordercomponenttypedescription VARCHAR, ordercategorydescription VARCHAR,
        patientweight DOUBLE, totalamount DOUBLE, totalamountuom VARCHAR, isopenbag INTEGER,
        continueinnextdept INTEGER, statusdescription VARCHAR, originalamount DOUBLE,
        originalrate DOUBLE""",
    "icu_outputevents": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, caregiver_id? BIGINT,
        charttime TIMESTAMP, storetime TIMESTAMP, itemid INTEGER, value DOUBLE, valueuom VARCHAR""",
    "icu_datetimeevents": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, caregiver_id? BIGINT,
        charttime TIMESTAMP, storetime TIMESTAMP, itemid INTEGER, value TIMESTAMP,
        valueuom VARCHAR, warning INTEGER""",
    "icu_caregiver": "caregiver_id BIGINT",
    "icu_ingredientevents": """subject_id BIGINT, hadm_id BIGINT, stay_id BIGINT, caregiver_id? BIGINT,
        starttime TIMESTAMP, endtime TIMESTAMP, storetime TIMESTAMP, itemid INTEGER, amount DOUBLE,
        amountuom VARCHAR, rate DOUBLE, rateuom VARCHAR, orderid BIGINT, linkorderid BIGINT,
        statusdescription VARCHAR, originalamount DOUBLE, originalrate DOUBLE""",
    # ---- MIMIC-IV-Note
    "note_discharge": """note_id VARCHAR, subject_id BIGINT, hadm_id BIGINT, note_type VARCHAR,
        note_seq INTEGER, charttime TIMESTAMP, storetime TIMESTAMP, text VARCHAR""",
    "note_radiology": """note_id VARCHAR, subject_id BIGINT, hadm_id BIGINT, note_type VARCHAR,
        note_seq INTEGER, charttime TIMESTAMP, storetime TIMESTAMP, text VARCHAR""",
    "note_discharge_detail": """note_id VARCHAR, subject_id BIGINT, field_name VARCHAR,
        field_value VARCHAR, field_ordinal INTEGER""",
    "note_radiology_detail": """note_id VARCHAR, subject_id BIGINT, field_name VARCHAR,
        field_value VARCHAR, field_ordinal INTEGER""",
    # ---- MIMIC-CXR-JPG (original column names kept: users know them as ViewPosition, StudyDate)
    "cxr_metadata": """dicom_id VARCHAR, subject_id BIGINT, study_id BIGINT,
        PerformedProcedureStepDescription VARCHAR, ViewPosition VARCHAR, Rows INTEGER,
        Columns INTEGER, StudyDate INTEGER, StudyTime DOUBLE,
        ProcedureCodeSequence_CodeMeaning VARCHAR, ViewCodeSequence_CodeMeaning VARCHAR,
        PatientOrientationCodeSequence_CodeMeaning VARCHAR""",
    "cxr_split": "dicom_id VARCHAR, study_id BIGINT, subject_id BIGINT, split VARCHAR",
}

CHEXPERT_LABELS: tuple[str, ...] = (
    "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
    "Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other",
    "Pneumonia", "Pneumothorax", "Support Devices",
)
_LABEL_COLS = ", ".join(f"{name} DOUBLE" for name in CHEXPERT_LABELS)
_SPECS["cxr_chexpert"] = f"subject_id BIGINT, study_id BIGINT, {_LABEL_COLS}"
_SPECS["cxr_negbio"] = f"subject_id BIGINT, study_id BIGINT, {_LABEL_COLS}"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    optional: bool = False


@dataclass(frozen=True)
class Table:
    """One raw table: its view name `raw.<name>`, file stem, where it lives, and its schema."""

    name: str  # e.g. "hosp_admissions"
    source: str  # "mimic_iv" | "mimic_note" | "mimic_cxr"
    stem: str  # file name without .csv / .csv.gz
    folders: tuple[str, ...]  # candidate folders relative to the source root, tried in order
    columns: tuple[Column, ...]
    required: bool = False  # ingest fails when the source lacks the file
    renames: dict[str, str] = field(default_factory=dict)  # old name -> current name

    @property
    def per_patient(self) -> bool:
        return any(c.name == "subject_id" for c in self.columns) and not self.stem.startswith("d_")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _parse(spec: str) -> tuple[Column, ...]:
    cols = []
    for item in spec.replace("\n", " ").split(","):
        name, dtype = item.strip().rsplit(None, 1)
        cols.append(Column(name.rstrip("?"), dtype, name.endswith("?")))
    return tuple(cols)


# Tables without which no cohort can be built: ingest refuses a MIMIC-IV source that lacks one.
REQUIRED_MIMIC_IV = frozenset({
    "hosp_patients", "hosp_admissions", "hosp_diagnoses_icd", "hosp_d_icd_diagnoses",
    "hosp_labevents", "hosp_d_labitems", "icu_icustays", "icu_chartevents", "icu_d_items",
})
# v1.0 kept these three under core/.
_CORE_TABLES = frozenset({"hosp_patients", "hosp_admissions", "hosp_transfers"})
_RENAMES = {"hosp_admissions": {"ethnicity": "race"}}


def _make(name: str) -> Table:
    module, stem = name.split("_", 1)
    if module in ("hosp", "icu"):
        source = "mimic_iv"
        folders = ("hosp", "core") if name in _CORE_TABLES else (module,)
    elif module == "note":
        source, folders = "mimic_note", ("note", ".")
    else:
        source, folders = "mimic_cxr", (".",)
        stem = f"mimic-cxr-2.0.0-{stem}"
    return Table(
        name=name, source=source, stem=stem, folders=folders, columns=_parse(_SPECS[name]),
        required=name in REQUIRED_MIMIC_IV, renames=_RENAMES.get(name, {}),
    )


TABLES: dict[str, Table] = {name: _make(name) for name in _SPECS}

# raw.cxr_images is not read from a CSV: it is a scan of files/pXX/pSUBJECT/sSTUDY/*.jpg.
CXR_IMAGES_COLUMNS = (
    Column("dicom_id", "VARCHAR"), Column("subject_id", "BIGINT"), Column("study_id", "BIGINT"),
    Column("path", "VARCHAR"), Column("size_bytes", "BIGINT"), Column("readable", "BOOLEAN"),
)


def tables_for(source: str) -> list[Table]:
    return [t for t in TABLES.values() if t.source == source]

"""Dictionary rows copied from the MIMIC-IV Clinical Database Demo v2.2 (PhysioNet, ODbL v1.0):
the real item ids, labels and ICD titles of the items and codes the generator emits. Facts, not data
about patients. Generated once from the demo; the generator never reads the demo."""

# fmt: off
# itemid,label,abbreviation,linksto,category,unitname,param_type,lownormalvalue,highnormalvalue
D_ITEMS: tuple[tuple[str, ...], ...] = (
    ('220045', 'Heart Rate', 'HR', 'chartevents', 'Routine Vital Signs', 'bpm', 'Numeric', '', ''),
    ('220050', 'Arterial Blood Pressure systolic', 'ABPs', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '90', '140'),
    ('220051', 'Arterial Blood Pressure diastolic', 'ABPd', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '60', '90'),
    ('220052', 'Arterial Blood Pressure mean', 'ABPm', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('220179', 'Non Invasive Blood Pressure systolic', 'NBPs', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('220180', 'Non Invasive Blood Pressure diastolic', 'NBPd', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('220181', 'Non Invasive Blood Pressure mean', 'NBPm', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('220210', 'Respiratory Rate', 'RR', 'chartevents', 'Respiratory', 'insp/min', 'Numeric', '', ''),
    ('220277', 'O2 saturation pulseoxymetry', 'SpO2', 'chartevents', 'Respiratory', '%', 'Numeric', '', ''),
    ('223761', 'Temperature Fahrenheit', 'Temperature F', 'chartevents', 'Routine Vital Signs', '°F', 'Numeric', '', ''),
    ('223762', 'Temperature Celsius', 'Temperature C', 'chartevents', 'Routine Vital Signs', '°C', 'Numeric', '', ''),
    ('220739', 'GCS - Eye Opening', 'Eye Opening', 'chartevents', 'Neurological', '', 'Text', '', ''),
    ('223900', 'GCS - Verbal Response', 'Verbal Response', 'chartevents', 'Neurological', '', 'Text', '', ''),
    ('223901', 'GCS - Motor Response', 'Motor Response', 'chartevents', 'Neurological', '', 'Text', '', ''),
    ('223835', 'Inspired O2 Fraction', 'FiO2', 'chartevents', 'Respiratory', 'None', 'Numeric', '', ''),
    ('224689', 'Respiratory Rate (spontaneous)', 'Respiratory Rate (spontaneous)', 'chartevents', 'Respiratory', 'insp/min', 'Numeric', '', ''),
    ('224690', 'Respiratory Rate (Total)', 'Respiratory Rate (Total)', 'chartevents', 'Respiratory', 'insp/min', 'Numeric', '', '36'),
    ('224422', 'Spont RR', 'Spont RR', 'chartevents', 'Respiratory', 'bpm', 'Numeric', '', ''),
    ('225664', 'Glucose finger stick (range 70-100)', 'Glucose FS (range 70 -100)', 'chartevents', 'Labs', 'None', 'Numeric', '', ''),
    ('220621', 'Glucose (serum)', 'Glucose (serum)', 'chartevents', 'Labs', 'None', 'Numeric', '', ''),
    ('226537', 'Glucose (whole blood)', 'Glucose (whole blood)', 'chartevents', 'Labs', 'None', 'Numeric', '', ''),
    ('223830', 'PH (Arterial)', 'PH (Arterial)', 'chartevents', 'Labs', 'None', 'Numeric', '', ''),
    ('220274', 'PH (Venous)', 'PH (Venous)', 'chartevents', 'Labs', 'None', 'Numeric', '', ''),
    ('220227', 'Arterial O2 Saturation', 'SaO2', 'chartevents', 'Labs', '%', 'Numeric', '', ''),
    ('225309', 'ART BP Systolic', 'ART BP Systolic', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('225310', 'ART BP Diastolic', 'ART BP Diastolic', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('225312', 'ART BP Mean', 'ART BP Mean', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('224322', 'IABP Mean', 'MAP - Assisted', 'chartevents', 'IABP', 'mmHg', 'Numeric', '', ''),
    ('224643', 'Manual Blood Pressure Diastolic Left', 'Manual BPd L', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('224167', 'Manual Blood Pressure Systolic Left', 'Manual BPs L', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('227243', 'Manual Blood Pressure Systolic Right', 'Manual BPs R', 'chartevents', 'Routine Vital Signs', 'mmHg', 'Numeric', '', ''),
    ('224639', 'Daily Weight', 'Daily Weight', 'chartevents', 'General', 'kg', 'Numeric', '', ''),
    ('226512', 'Admission Weight (Kg)', 'Admission Weight (Kg)', 'chartevents', 'General', 'kg', 'Numeric', '', ''),
    ('226531', 'Admission Weight (lbs.)', 'Admission Weight (lbs.)', 'chartevents', 'General', 'None', 'Numeric', '', ''),
    ('226707', 'Height', 'Height', 'chartevents', 'General', 'Inch', 'Numeric', '', ''),
    ('226730', 'Height (cm)', 'Height (cm)', 'chartevents', 'General', 'cm', 'Numeric', '', ''),
    ('220048', 'Heart Rhythm', 'Heart Rhythm', 'chartevents', 'Routine Vital Signs', '', 'Text', '', ''),
    ('227969', 'Safety Measures', 'Safety Measures', 'chartevents', 'Restraint/Support Systems', '', 'Text', '', ''),
    ('224650', 'Ectopy Type 1', 'Ectopy Type 1', 'chartevents', 'Routine Vital Signs', '', 'Text', '', ''),
    ('224080', 'Head of Bed', 'HOB', 'chartevents', 'Treatments', '', 'Text', '', ''),
    ('224082', 'Turn', 'Turn', 'chartevents', 'Treatments', '', 'Text', '', ''),
    ('229351', 'Foley Catheter', 'Indwelling Urinary Catheter', 'procedureevents', 'GI/GU', 'None', 'Processes', '', ''),
    ('224264', 'PICC Line', 'PICC Line', 'procedureevents', 'Access Lines - Invasive', 'None', 'Processes', '', ''),
    ('224385', 'Intubation', 'Intubation', 'procedureevents', '1-Intubation/Extubation', 'None', 'Processes', '', ''),
    ('225805', 'Peritoneal Dialysis', 'Peritoneal Dialysis', 'procedureevents', 'Dialysis', 'None', 'Processes', '', ''),
    ('225400', 'Bronchoscopy', 'Bronchoscopy', 'procedureevents', '4-Procedures', 'None', 'Processes', '', ''),
    ('221223', 'EEG', 'EEG', 'procedureevents', '4-Procedures', 'None', 'Processes', '', ''),
    ('225802', 'Dialysis - CRRT', 'Dialysis - CRRT', 'procedureevents', 'Dialysis', 'None', 'Processes', '', ''),
    ('224270', 'Dialysis Catheter', 'Dialysis Catheter', 'procedureevents', 'Access Lines - Invasive', 'None', 'Processes', '', ''),
    ('227712', 'Chest Tube Removed', 'Chest Tube Removed', 'procedureevents', '4-Procedures', 'None', 'Processes', '', ''),
    ('225441', 'Hemodialysis', 'Hemodialysis', 'procedureevents', '4-Procedures', 'None', 'Processes', '', ''),
    ('225792', 'Invasive Ventilation', 'Invasive Ventilation', 'procedureevents', '2-Ventilation', 'None', 'Processes', '', ''),
    ('225459', 'Chest X-Ray', 'Chest X-Ray', 'procedureevents', '5-Imaging', 'None', 'Processes', '', ''),
    ('225752', 'Arterial Line', 'Arterial Line', 'procedureevents', 'Access Lines - Invasive', 'None', 'Processes', '', ''),
    ('224275', '20 Gauge', '20 Gauge', 'procedureevents', 'Access Lines - Peripheral', 'None', 'Processes', '', ''),
    ('225158', 'NaCl 0.9%', 'NaCl 0.9%', 'inputevents', 'Fluids/Intake', 'mL', 'Solution', '', ''),
    ('220949', 'Dextrose 5%', 'Dextrose 5%', 'inputevents', 'Fluids/Intake', 'mL', 'Solution', '', ''),
    ('221906', 'Norepinephrine', 'Norepinephrine', 'inputevents', 'Medications', 'mg', 'Solution', '', ''),
    ('222168', 'Propofol', 'Propofol', 'inputevents', 'Medications', 'mg', 'Solution', '', ''),
    ('221749', 'Phenylephrine', 'Phenylephrine', 'inputevents', 'Medications', 'mg', 'Solution', '', ''),
    ('221744', 'Fentanyl', 'Fentanyl', 'inputevents', 'Medications', 'mg', 'Solution', '', ''),
    ('226559', 'Foley', 'Foley', 'outputevents', 'Output', 'mL', 'Numeric', '', ''),
    ('226560', 'Void', 'Void', 'outputevents', 'Output', 'mL', 'Numeric', '', ''),
    ('226588', 'Chest Tube #1', 'Chest Tube #1', 'outputevents', 'Output', 'mL', 'Numeric', '', ''),
)

# itemid,label,fluid,category
D_LABITEMS: tuple[tuple[str, ...], ...] = (
    ('50931', 'Glucose', 'Blood', 'Chemistry'),
    ('50809', 'Glucose', 'Blood', 'Blood Gas'),
    ('51478', 'Glucose', 'Urine', 'Hematology'),
    ('50817', 'Oxygen Saturation', 'Blood', 'Blood Gas'),
    ('50820', 'pH', 'Blood', 'Blood Gas'),
    ('51491', 'pH', 'Urine', 'Hematology'),
    ('50831', 'pH', 'Other Body Fluid', 'Blood Gas'),
    ('51094', 'pH', 'Urine', 'Chemistry'),
    ('50813', 'Lactate', 'Blood', 'Blood Gas'),
    ('50971', 'Potassium', 'Blood', 'Chemistry'),
    ('50983', 'Sodium', 'Blood', 'Chemistry'),
    ('50902', 'Chloride', 'Blood', 'Chemistry'),
    ('50912', 'Creatinine', 'Blood', 'Chemistry'),
    ('51006', 'Urea Nitrogen', 'Blood', 'Chemistry'),
    ('50882', 'Bicarbonate', 'Blood', 'Chemistry'),
    ('50868', 'Anion Gap', 'Blood', 'Chemistry'),
    ('51222', 'Hemoglobin', 'Blood', 'Hematology'),
    ('51221', 'Hematocrit', 'Blood', 'Hematology'),
    ('50960', 'Magnesium', 'Blood', 'Chemistry'),
    ('51265', 'Platelet Count', 'Blood', 'Hematology'),
    ('50970', 'Phosphate', 'Blood', 'Chemistry'),
    ('51301', 'White Blood Cells', 'Blood', 'Hematology'),
    ('50893', 'Calcium, Total', 'Blood', 'Chemistry'),
    ('51248', 'MCH', 'Blood', 'Hematology'),
    ('51279', 'Red Blood Cells', 'Blood', 'Hematology'),
    ('51249', 'MCHC', 'Blood', 'Hematology'),
    ('51250', 'MCV', 'Blood', 'Hematology'),
    ('51277', 'RDW', 'Blood', 'Hematology'),
    ('51256', 'Neutrophils', 'Blood', 'Hematology'),
    ('51009', 'Vancomycin', 'Blood', 'Chemistry'),
)

# non-phenotype diagnosis codes common in the demo (fillers)
FILLER_DX_9: tuple[str, ...] = ('V1582', '311', 'V5861', 'V5867', '3051', '2859', '53081', '27800', '5990', 'E8497', 'V5866', '2449',
 '49390', '30000', '30500', 'V707', '4240', 'E8798', '2749', '2875', 'V4986', 'V8741', '78820', 'V08', '2809',
 '4589', 'V103', '00845', '04149', '20300', '28860', '33829', '34830', 'E8490', 'V1046', 'V1581', '28529',
 '2930', '32723', '4241', '5601', '5770', '70715', '78791', '79902')
FILLER_DX_10: tuple[str, ...] = ('E039', 'Z794', 'Z87891', 'F329', 'F419', 'Z955', 'E669', 'F17210', 'Z7901', 'D62', 'C9110', 'G4733', 'M109',
 'Z7902', 'D649', 'E1122', 'K219', 'D696', 'Z66', 'I480', 'N390', 'G8929', 'Z9884', 'Z8673', 'Y92230', 'Z853',
 'E1142', 'I272', 'J45909', 'J9601', 'Z86718', 'E43', 'Y929', 'Z515', 'D631', 'E11621', 'I959', 'E11649',
 'E6601', 'E780', 'G40909', 'G4700', 'I340', 'K7031', 'Y848')

# icd_code<TAB>icd_version<TAB>long_title, for every benchmark-phenotype code of icd_9_10_definitions_2.yaml
# that MIMIC-IV lists, and the fillers above
D_ICD_DIAGNOSES = """\
0031	9	Salmonella septicemia
00322	9	Salmonella pneumonia
00845	9	Intestinal infection due to Clostridium difficile
0202	9	Septicemic plague
0203	9	Primary pneumonic plague
0204	9	Secondary pneumonic plague
0205	9	Pneumonic plague, unspecified
0212	9	Pulmonary tularemia
0221	9	Pulmonary anthrax
0223	9	Anthrax septicemia
0310	9	Pulmonary diseases due to other mycobacteria
0362	9	Meningococcemia
0380	9	Streptococcal septicemia
03810	9	Staphylococcal septicemia, unspecified
03811	9	Methicillin susceptible Staphylococcus aureus septicemia
03812	9	Methicillin resistant Staphylococcus aureus septicemia
03819	9	Other staphylococcal septicemia
0382	9	Pneumococcal septicemia [Streptococcus pneumoniae septicemia]
0383	9	Septicemia due to anaerobes
03840	9	Septicemia due to gram-negative organism, unspecified
03841	9	Septicemia due to hemophilus influenzae [H. influenzae]
03842	9	Septicemia due to escherichia coli [E. coli]
03843	9	Septicemia due to pseudomonas
03844	9	Septicemia due to serratia
03849	9	Other septicemia due to gram-negative organisms
0388	9	Other specified septicemias
0389	9	Unspecified septicemia
0391	9	Pulmonary actinomycotic infection
04149	9	Other and unspecified Escherichia coli [E. coli]
0521	9	Varicella (hemorrhagic) pneumonitis
0545	9	Herpetic septicemia
0551	9	Postmeasles pneumonia
0730	9	Ornithosis with pneumonia
0830	9	Q fever
1124	9	Candidiasis of lung
1140	9	Primary coccidioidomycosis (pulmonary)
1144	9	Chronic pulmonary coccidioidomycosis
1145	9	Pulmonary coccidioidomycosis, unspecified
11505	9	Infection by Histoplasma capsulatum, pneumonia
11515	9	Infection by Histoplasma duboisii, pneumonia
11595	9	Histoplasmosis, unspecified, pneumonia
1304	9	Pneumonitis due to toxoplasmosis
1363	9	Pneumocystosis
20300	9	Multiple myeloma, without mention of having achieved remission
2449	9	Unspecified acquired hypothyroidism
24900	9	Secondary diabetes mellitus without mention of complication, not stated as uncontrolled, or unspecified
24901	9	Secondary diabetes mellitus without mention of complication, uncontrolled
24910	9	Secondary diabetes mellitus with ketoacidosis, not stated as uncontrolled, or unspecified
24911	9	Secondary diabetes mellitus with ketoacidosis, uncontrolled
24920	9	Secondary diabetes mellitus with hyperosmolarity, not stated as uncontrolled, or unspecified
24921	9	Secondary diabetes mellitus with hyperosmolarity, uncontrolled
24930	9	Secondary diabetes mellitus with other coma, not stated as uncontrolled, or unspecified
24931	9	Secondary diabetes mellitus with other coma, uncontrolled
24940	9	Secondary diabetes mellitus with renal manifestations, not stated as uncontrolled, or unspecified
24941	9	Secondary diabetes mellitus with renal manifestations, uncontrolled
24950	9	Secondary diabetes mellitus with ophthalmic manifestations, not stated as uncontrolled, or unspecified
24951	9	Secondary diabetes mellitus with ophthalmic manifestations, uncontrolled
24960	9	Secondary diabetes mellitus with neurological manifestations, not stated as uncontrolled, or unspecified
24961	9	Secondary diabetes mellitus with neurological manifestations, uncontrolled
24970	9	Secondary diabetes mellitus with peripheral circulatory disorders, not stated as uncontrolled, or unspecified
24971	9	Secondary diabetes mellitus with peripheral circulatory disorders, uncontrolled
24980	9	Secondary diabetes mellitus with other specified manifestations, not stated as uncontrolled, or unspecified
24981	9	Secondary diabetes mellitus with other specified manifestations, uncontrolled
24990	9	Secondary diabetes mellitus with unspecified complication, not stated as uncontrolled, or unspecified
24991	9	Secondary diabetes mellitus with unspecified complication, uncontrolled
25000	9	Diabetes mellitus without mention of complication, type II or unspecified type, not stated as uncontrolled
25001	9	Diabetes mellitus without mention of complication, type I [juvenile type], not stated as uncontrolled
25002	9	Diabetes mellitus without mention of complication, type II or unspecified type, uncontrolled
25003	9	Diabetes mellitus without mention of complication, type I [juvenile type], uncontrolled
25010	9	Diabetes with ketoacidosis, type II or unspecified type, not stated as uncontrolled
25011	9	Diabetes with ketoacidosis, type I [juvenile type], not stated as uncontrolled
25012	9	Diabetes with ketoacidosis, type II or unspecified type, uncontrolled
25013	9	Diabetes with ketoacidosis, type I [juvenile type], uncontrolled
25020	9	Diabetes with hyperosmolarity, type II or unspecified type, not stated as uncontrolled
25021	9	Diabetes with hyperosmolarity, type I [juvenile type], not stated as uncontrolled
25022	9	Diabetes with hyperosmolarity, type II or unspecified type, uncontrolled
25023	9	Diabetes with hyperosmolarity, type I [juvenile type], uncontrolled
25030	9	Diabetes with other coma, type II or unspecified type, not stated as uncontrolled
25031	9	Diabetes with other coma, type I [juvenile type], not stated as uncontrolled
25032	9	Diabetes with other coma, type II or unspecified type, uncontrolled
25033	9	Diabetes with other coma, type I [juvenile type], uncontrolled
25040	9	Diabetes with renal manifestations, type II or unspecified type, not stated as uncontrolled
25041	9	Diabetes with renal manifestations, type I [juvenile type], not stated as uncontrolled
25042	9	Diabetes with renal manifestations, type II or unspecified type, uncontrolled
25043	9	Diabetes with renal manifestations, type I [juvenile type], uncontrolled
25050	9	Diabetes with ophthalmic manifestations, type II or unspecified type, not stated as uncontrolled
25051	9	Diabetes with ophthalmic manifestations, type I [juvenile type], not stated as uncontrolled
25052	9	Diabetes with ophthalmic manifestations, type II or unspecified type, uncontrolled
25053	9	Diabetes with ophthalmic manifestations, type I [juvenile type], uncontrolled
25060	9	Diabetes with neurological manifestations, type II or unspecified type, not stated as uncontrolled
25061	9	Diabetes with neurological manifestations, type I [juvenile type], not stated as uncontrolled
25062	9	Diabetes with neurological manifestations, type II or unspecified type, uncontrolled
25063	9	Diabetes with neurological manifestations, type I [juvenile type], uncontrolled
25070	9	Diabetes with peripheral circulatory disorders, type II or unspecified type, not stated as uncontrolled
25071	9	Diabetes with peripheral circulatory disorders, type I [juvenile type], not stated as uncontrolled
25072	9	Diabetes with peripheral circulatory disorders, type II or unspecified type, uncontrolled
25073	9	Diabetes with peripheral circulatory disorders, type I [juvenile type], uncontrolled
25080	9	Diabetes with other specified manifestations, type II or unspecified type, not stated as uncontrolled
25081	9	Diabetes with other specified manifestations, type I [juvenile type], not stated as uncontrolled
25082	9	Diabetes with other specified manifestations, type II or unspecified type, uncontrolled
25083	9	Diabetes with other specified manifestations, type I [juvenile type], uncontrolled
25090	9	Diabetes with unspecified complication, type II or unspecified type, not stated as uncontrolled
25091	9	Diabetes with unspecified complication, type I [juvenile type], not stated as uncontrolled
25092	9	Diabetes with unspecified complication, type II or unspecified type, uncontrolled
25093	9	Diabetes with unspecified complication, type I [juvenile type], uncontrolled
2720	9	Pure hypercholesterolemia
2721	9	Pure hyperglyceridemia
2722	9	Mixed hyperlipidemia
2723	9	Hyperchylomicronemia
2724	9	Other and unspecified hyperlipidemia
2749	9	Gout, unspecified
2760	9	Hyperosmolality and/or hypernatremia
2761	9	Hyposmolality and/or hyponatremia
2762	9	Acidosis
2763	9	Alkalosis
2764	9	Mixed acid-base balance disorder
27650	9	Volume depletion, unspecified
27651	9	Dehydration
27652	9	Hypovolemia
2766	9	Fluid overload disorder
27661	9	Transfusion associated circulatory overload
27669	9	Other fluid overload
2767	9	Hyperpotassemia
2768	9	Hypopotassemia
2769	9	Electrolyte and fluid disorders not elsewhere classified
27783	9	Iatrogenic carnitine deficiency
27788	9	Tumor lysis syndrome
27800	9	Obesity, unspecified
2809	9	Iron deficiency anemia, unspecified
28529	9	Anemia of other chronic disease
2853	9	Antineoplastic chemotherapy induced anemia
2859	9	Anemia, unspecified
28741	9	Posttransfusion purpura
2875	9	Thrombocytopenia, unspecified
28860	9	Leukocytosis, unspecified
2930	9	Delirium due to conditions classified elsewhere
30000	9	Anxiety state, unspecified
30500	9	Alcohol abuse, unspecified
3051	9	Tobacco use disorder
311	9	Depressive disorder, not elsewhere classified
32723	9	Obstructive sleep apnea (adult)(pediatric)
33829	9	Other chronic pain
34660	9	Persistent migraine aura with cerebral infarction, without mention of intractable migraine without mention of status migrainosus
34661	9	Persistent migraine aura with cerebral infarction, with intractable migraine, so stated, without mention of status migrainosus
34662	9	Persistent migraine aura with cerebral infarction, without mention of intractable migraine with status migrainosus
34663	9	Persistent migraine aura with cerebral infarction, with intractable migraine, so stated, with status migrainosus
34830	9	Encephalopathy, unspecified
3490	9	Reaction to spinal or lumbar puncture
3491	9	Nervous system complications from surgically implanted device
34931	9	Accidental puncture or laceration of dura during a procedure
39891	9	Rheumatic heart failure (congestive)
4010	9	Malignant essential hypertension
4011	9	Benign essential hypertension
4019	9	Unspecified essential hypertension
40200	9	Malignant hypertensive heart disease without heart failure
40201	9	Malignant hypertensive heart disease with heart failure
40210	9	Benign hypertensive heart disease without heart failure
40211	9	Benign hypertensive heart disease with heart failure
40290	9	Unspecified hypertensive heart disease without heart failure
40291	9	Unspecified hypertensive heart disease with heart failure
40300	9	Hypertensive chronic kidney disease, malignant, with chronic kidney disease stage I through stage IV, or unspecified
40301	9	Hypertensive chronic kidney disease, malignant, with chronic kidney disease stage V or end stage renal disease
40310	9	Hypertensive chronic kidney disease, benign, with chronic kidney disease stage I through stage IV, or unspecified
40311	9	Hypertensive chronic kidney disease, benign, with chronic kidney disease stage V or end stage renal disease
40390	9	Hypertensive chronic kidney disease, unspecified, with chronic kidney disease stage I through stage IV, or unspecified
40391	9	Hypertensive chronic kidney disease, unspecified, with chronic kidney disease stage V or end stage renal disease
40400	9	Hypertensive heart and chronic kidney disease, malignant, without heart failure and with chronic kidney disease stage I through stage IV, or unspecified
40401	9	Hypertensive heart and chronic kidney disease, malignant, with heart failure and with chronic kidney disease stage I through stage IV, or unspecified
40402	9	Hypertensive heart and chronic kidney disease, malignant, without heart failure and with chronic kidney disease stage V or end stage renal disease
40403	9	Hypertensive heart and chronic kidney disease, malignant, with heart failure and with chronic kidney disease stage V or end stage renal disease
40410	9	Hypertensive heart and chronic kidney disease, benign, without heart failure and with chronic kidney disease stage I through stage IV, or unspecified
40411	9	Hypertensive heart and chronic kidney disease, benign, with heart failure and with chronic kidney disease stage I through stage IV, or unspecified
40412	9	Hypertensive heart and chronic kidney disease, benign, without heart failure and with chronic kidney disease stage V or end stage renal disease
40413	9	Hypertensive heart and chronic kidney disease, benign, with heart failure and chronic kidney disease stage V or end stage renal disease
40490	9	Hypertensive heart and chronic kidney disease, unspecified, without heart failure and with chronic kidney disease stage I through stage IV, or unspecified
40491	9	Hypertensive heart and chronic kidney disease, unspecified, with heart failure and with chronic kidney disease stage I through stage IV, or unspecified
40492	9	Hypertensive heart and chronic kidney disease, unspecified, without heart failure and with chronic kidney disease stage V or end stage renal disease
40493	9	Hypertensive heart and chronic kidney disease, unspecified, with heart failure and chronic kidney disease stage V or end stage renal disease
40501	9	Malignant renovascular hypertension
40509	9	Other malignant secondary hypertension
40511	9	Benign renovascular hypertension
40519	9	Other benign secondary hypertension
40591	9	Unspecified renovascular hypertension
40599	9	Other unspecified secondary hypertension
41000	9	Acute myocardial infarction of anterolateral wall, episode of care unspecified
41001	9	Acute myocardial infarction of anterolateral wall, initial episode of care
41002	9	Acute myocardial infarction of anterolateral wall, subsequent episode of care
41010	9	Acute myocardial infarction of other anterior wall, episode of care unspecified
41011	9	Acute myocardial infarction of other anterior wall, initial episode of care
41012	9	Acute myocardial infarction of other anterior wall, subsequent episode of care
41020	9	Acute myocardial infarction of inferolateral wall, episode of care unspecified
41021	9	Acute myocardial infarction of inferolateral wall, initial episode of care
41022	9	Acute myocardial infarction of inferolateral wall, subsequent episode of care
41030	9	Acute myocardial infarction of inferoposterior wall, episode of care unspecified
41031	9	Acute myocardial infarction of inferoposterior wall, initial episode of care
41032	9	Acute myocardial infarction of inferoposterior wall, subsequent episode of care
41040	9	Acute myocardial infarction of other inferior wall, episode of care unspecified
41041	9	Acute myocardial infarction of other inferior wall, initial episode of care
41042	9	Acute myocardial infarction of other inferior wall, subsequent episode of care
41050	9	Acute myocardial infarction of other lateral wall, episode of care unspecified
41051	9	Acute myocardial infarction of other lateral wall, initial episode of care
41052	9	Acute myocardial infarction of other lateral wall, subsequent episode of care
41060	9	True posterior wall infarction, episode of care unspecified
41061	9	True posterior wall infarction, initial episode of care
41062	9	True posterior wall infarction, subsequent episode of care
41070	9	Subendocardial infarction, episode of care unspecified
41071	9	Subendocardial infarction, initial episode of care
41072	9	Subendocardial infarction, subsequent episode of care
41080	9	Acute myocardial infarction of other specified sites, episode of care unspecified
41081	9	Acute myocardial infarction of other specified sites, initial episode of care
41082	9	Acute myocardial infarction of other specified sites, subsequent episode of care
41090	9	Acute myocardial infarction of unspecified site, episode of care unspecified
41091	9	Acute myocardial infarction of unspecified site, initial episode of care
41092	9	Acute myocardial infarction of unspecified site, subsequent episode of care
4110	9	Postmyocardial infarction syndrome
4111	9	Intermediate coronary syndrome
41181	9	Acute coronary occlusion without myocardial infarction
41189	9	Other acute and subacute forms of ischemic heart disease, other
412	9	Old myocardial infarction
4130	9	Angina decubitus
4131	9	Prinzmetal angina
4139	9	Other and unspecified angina pectoris
41400	9	Coronary atherosclerosis of unspecified type of vessel, native or graft
41401	9	Coronary atherosclerosis of native coronary artery
41406	9	Coronary atherosclerosis of native coronary artery of transplanted heart
4142	9	Chronic total occlusion of coronary artery
4143	9	Coronary atherosclerosis due to lipid rich plaque
4144	9	Coronary atherosclerosis due to calcified coronary lesion
4148	9	Other specified forms of chronic ischemic heart disease
4149	9	Chronic ischemic heart disease, unspecified
41511	9	Iatrogenic pulmonary embolism and infarction
4240	9	Mitral valve disorders
4241	9	Aortic valve disorders
4260	9	Atrioventricular block, complete
42610	9	Atrioventricular block, unspecified
42611	9	First degree atrioventricular block
42612	9	Mobitz (type) II atrioventricular block
42613	9	Other second degree atrioventricular block
4262	9	Left bundle branch hemiblock
4263	9	Other left bundle branch block
4264	9	Right bundle branch block
42650	9	Bundle branch block, unspecified
42651	9	Right bundle branch block and left posterior fascicular block
42652	9	Right bundle branch block and left anterior fascicular block
42653	9	Other bilateral bundle branch block
42654	9	Trifascicular block
4266	9	Other heart block
4267	9	Anomalous atrioventricular excitation
42681	9	Lown-Ganong-Levine syndrome
42682	9	Long QT syndrome
42689	9	Other specified conduction disorders
4269	9	Conduction disorder, unspecified
4270	9	Paroxysmal supraventricular tachycardia
4271	9	Paroxysmal ventricular tachycardia
4272	9	Paroxysmal tachycardia, unspecified
42731	9	Atrial fibrillation
42732	9	Atrial flutter
42760	9	Premature beats, unspecified
42761	9	Supraventricular premature beats
42769	9	Other premature beats
42781	9	Sinoatrial node dysfunction
42789	9	Other specified cardiac dysrhythmias
4279	9	Cardiac dysrhythmia, unspecified
4280	9	Congestive heart failure, unspecified
4281	9	Left heart failure
42820	9	Systolic heart failure, unspecified
42821	9	Acute systolic heart failure
42822	9	Chronic systolic heart failure
42823	9	Acute on chronic systolic heart failure
42830	9	Diastolic heart failure, unspecified
42831	9	Acute diastolic heart failure
42832	9	Chronic diastolic heart failure
42833	9	Acute on chronic diastolic heart failure
42840	9	Combined systolic and diastolic heart failure, unspecified
42841	9	Acute combined systolic and diastolic heart failure
42842	9	Chronic combined systolic and diastolic heart failure
42843	9	Acute on chronic combined systolic and diastolic heart failure
4289	9	Heart failure, unspecified
4294	9	Functional disturbances following cardiac surgery
430	9	Subarachnoid hemorrhage
431	9	Intracerebral hemorrhage
4320	9	Nontraumatic extradural hemorrhage
4321	9	Subdural hemorrhage
4329	9	Unspecified intracranial hemorrhage
43301	9	Occlusion and stenosis of basilar artery with cerebral infarction
43311	9	Occlusion and stenosis of carotid artery with cerebral infarction
43321	9	Occlusion and stenosis of vertebral artery with cerebral infarction
43331	9	Occlusion and stenosis of multiple and bilateral precerebral arteries with cerebral infarction
43381	9	Occlusion and stenosis of other specified precerebral artery with cerebral infarction
43391	9	Occlusion and stenosis of unspecified precerebral artery with cerebral infarction
43400	9	Cerebral thrombosis without mention of cerebral infarction
43401	9	Cerebral thrombosis with cerebral infarction
43410	9	Cerebral embolism without mention of cerebral infarction
43411	9	Cerebral embolism with cerebral infarction
43490	9	Cerebral artery occlusion, unspecified without mention of cerebral infarction
43491	9	Cerebral artery occlusion, unspecified with cerebral infarction
436	9	Acute, but ill-defined, cerebrovascular disease
4372	9	Hypertensive encephalopathy
449	9	Septic arterial embolism
4560	9	Esophageal varices with bleeding
45620	9	Esophageal varices in diseases classified elsewhere, with bleeding
45821	9	Hypotension of hemodialysis
45829	9	Other iatrogenic hypotension
4589	9	Hypotension, unspecified
470	9	Deviated nasal septum
4710	9	Polyp of nasal cavity
4711	9	Polypoid sinus degeneration
4718	9	Other polyp of sinus
4719	9	Unspecified nasal polyp
4720	9	Chronic rhinitis
4721	9	Chronic pharyngitis
4722	9	Chronic nasopharyngitis
4760	9	Chronic laryngitis
4761	9	Chronic laryngotracheitis
4770	9	Allergic rhinitis due to pollen
4772	9	Allergic rhinitis due to animal (cat) (dog) hair and dander
4778	9	Allergic rhinitis due to other allergen
4779	9	Allergic rhinitis, cause unspecified
4780	9	Hypertrophy of nasal turbinates
47811	9	Nasal mucositis (ulcerative)
47819	9	Other disease of nasal cavity and sinuses
47820	9	Unspecified disease of pharynx
47821	9	Cellulitis of pharynx or nasopharynx
47822	9	Parapharyngeal abscess
47824	9	Retropharyngeal abscess
47825	9	Edema of pharynx or nasopharynx
47826	9	Cyst of pharynx or nasopharynx
47829	9	Other diseases of pharynx, not elsewhere classified
47830	9	Paralysis of vocal cords or larynx, unspecified
47831	9	Unilateral paralysis of vocal cords or larynx, partial
47832	9	Unilateral paralysis of vocal cords or larynx, complete
47833	9	Bilateral paralysis of vocal cords or larynx, partial
47834	9	Bilateral paralysis of vocal cords or larynx, complete
4784	9	Polyp of vocal cord or larynx
4785	9	Other diseases of vocal cords
4786	9	Edema of larynx
47870	9	Unspecified disease of larynx
47871	9	Cellulitis and perichondritis of larynx
47874	9	Stenosis of larynx
47875	9	Laryngeal spasm
47879	9	Other diseases of larynx, not elsewhere classified
4788	9	Upper respiratory tract hypersensitivity reaction, site unspecified
4789	9	Other and unspecified diseases of upper respiratory tract
4800	9	Pneumonia due to adenovirus
4801	9	Pneumonia due to respiratory syncytial virus
4802	9	Pneumonia due to parainfluenza virus
4803	9	Pneumonia due to SARS-associated coronavirus
4808	9	Pneumonia due to other virus not elsewhere classified
4809	9	Viral pneumonia, unspecified
481	9	Pneumococcal pneumonia [Streptococcus pneumoniae pneumonia]
4820	9	Pneumonia due to Klebsiella pneumoniae
4821	9	Pneumonia due to Pseudomonas
4822	9	Pneumonia due to Hemophilus influenzae [H. influenzae]
48230	9	Pneumonia due to Streptococcus, unspecified
48231	9	Pneumonia due to Streptococcus, group A
48232	9	Pneumonia due to Streptococcus, group B
48239	9	Pneumonia due to other Streptococcus
48240	9	Pneumonia due to Staphylococcus, unspecified
48241	9	Methicillin susceptible pneumonia due to Staphylococcus aureus
48242	9	Methicillin resistant pneumonia due to Staphylococcus aureus
48249	9	Other Staphylococcus pneumonia
48281	9	Pneumonia due to anaerobes
48282	9	Pneumonia due to escherichia coli [E. coli]
48283	9	Pneumonia due to other gram-negative bacteria
48284	9	Pneumonia due to Legionnaires' disease
48289	9	Pneumonia due to other specified bacteria
4829	9	Bacterial pneumonia, unspecified
4830	9	Pneumonia due to mycoplasma pneumoniae
4831	9	Pneumonia due to chlamydia
4838	9	Pneumonia due to other specified organism
4841	9	Pneumonia in cytomegalic inclusion disease
4843	9	Pneumonia in whooping cough
4845	9	Pneumonia in anthrax
4846	9	Pneumonia in aspergillosis
4847	9	Pneumonia in other systemic mycoses
4848	9	Pneumonia in other infectious diseases classified elsewhere
485	9	Bronchopneumonia, organism unspecified
486	9	Pneumonia, organism unspecified
490	9	Bronchitis, not specified as acute or chronic
4910	9	Simple chronic bronchitis
4911	9	Mucopurulent chronic bronchitis
49120	9	Obstructive chronic bronchitis without exacerbation
49121	9	Obstructive chronic bronchitis with (acute) exacerbation
49122	9	Obstructive chronic bronchitis with acute bronchitis
4918	9	Other chronic bronchitis
4919	9	Unspecified chronic bronchitis
4920	9	Emphysematous bleb
4928	9	Other emphysema
49390	9	Asthma, unspecified type, unspecified
4940	9	Bronchiectasis without acute exacerbation
4941	9	Bronchiectasis with acute exacerbation
496	9	Chronic airway obstruction, not elsewhere classified
5100	9	Empyema with fistula
5109	9	Empyema without mention of fistula
5110	9	Pleurisy without mention of effusion or current tuberculosis
5111	9	Pleurisy with effusion, with mention of a bacterial cause other than tuberculosis
5118	9	Pleural effus nec not tb
51189	9	Other specified forms of effusion, except tuberculous
5119	9	Unspecified pleural effusion
5120	9	Spontaneous tension pneumothorax
5121	9	Iatrogenic pneumothorax
5122	9	Postoperative air leak
5128	9	Other spontaneous pneumothorax
51281	9	Primary spontaneous pneumothorax
51282	9	Secondary spontaneous pneumothorax
51283	9	Chronic pneumothorax
51284	9	Other air leak
51289	9	Other pneumothorax
5130	9	Abscess of lung
5131	9	Abscess of mediastinum
514	9	Pulmonary congestion and hypostasis
515	9	Postinflammatory pulmonary fibrosis
5160	9	Pulmonary alveolar proteinosis
5161	9	Idiopathic pulmonary hemosiderosis
5162	9	Pulmonary alveolar microlithiasis
5163	9	Idiopathic fibrosing alveolitis
51630	9	Idiopathic interstitial pneumonia, not otherwise specified
51631	9	Idiopathic pulmonary fibrosis
51632	9	Idiopathic non-specific interstitial pneumonitis
51633	9	Acute interstitial pneumonitis
51634	9	Respiratory bronchiolitis interstitial lung disease
51635	9	Idiopathic lymphoid interstitial pneumonia
51636	9	Cryptogenic organizing pneumonia
51637	9	Desquamative interstitial pneumonia
5164	9	Lymphangioleiomyomatosis
5165	9	Adult pulmonary Langerhans cell histiocytosis
51661	9	Neuroendocrine cell hyperplasia of infancy
51662	9	Pulmonary interstitial glycogenosis
51663	9	Surfactant mutations of the lung
51664	9	Alveolar capillary dysplasia with vein misalignment
51669	9	Other interstitial lung diseases of childhood
5168	9	Other specified alveolar and parietoalveolar pneumonopathies
5169	9	Unspecified alveolar and parietoalveolar pneumonopathy
5171	9	Rheumatic pneumonia
5172	9	Lung involvement in systemic sclerosis
5173	9	Acute chest syndrome
5178	9	Lung involvement in other diseases classified elsewhere
5180	9	Pulmonary collapse
5181	9	Interstitial emphysema
5182	9	Compensatory emphysema
5183	9	Pulmonary eosinophilia
5184	9	Acute edema of lung, unspecified
5185	9	Pulmonary insufficiency following trauma and surgery
51851	9	Acute respiratory failure following trauma and surgery
51852	9	Other pulmonary insufficiency, not elsewhere classified, following trauma and surgery
51853	9	Acute and chronic respiratory failure following trauma and surgery
5187	9	Transfusion related acute lung injury (TRALI)
51881	9	Acute respiratory failure
51882	9	Other pulmonary insufficiency, not elsewhere classified
51883	9	Chronic respiratory failure
51884	9	Acute and chronic respiratory failure
51889	9	Other diseases of lung, not elsewhere classified
51900	9	Tracheostomy complication, unspecified
51901	9	Infection of tracheostomy
51902	9	Mechanical complication of tracheostomy
51909	9	Other tracheostomy complications
51911	9	Acute bronchospasm
51919	9	Other diseases of trachea and bronchus
5192	9	Mediastinitis
5193	9	Other diseases of mediastinum, not elsewhere classified
5194	9	Disorders of diaphragm
5198	9	Other diseases of respiratory system, not elsewhere classified
5199	9	Unspecified disease of respiratory system
5307	9	Gastroesophageal laceration-hemorrhage syndrome
53081	9	Esophageal reflux
53082	9	Esophageal hemorrhage
53086	9	Infection of esophagostomy
53087	9	Mechanical complication of esophagostomy
53100	9	Acute gastric ulcer with hemorrhage, without mention of obstruction
53101	9	Acute gastric ulcer with hemorrhage, with obstruction
53120	9	Acute gastric ulcer with hemorrhage and perforation, without mention of obstruction
53121	9	Acute gastric ulcer with hemorrhage and perforation, with obstruction
53140	9	Chronic or unspecified gastric ulcer with hemorrhage, without mention of obstruction
53141	9	Chronic or unspecified gastric ulcer with hemorrhage, with obstruction
53160	9	Chronic or unspecified gastric ulcer with hemorrhage and perforation, without mention of obstruction
53161	9	Chronic or unspecified gastric ulcer with hemorrhage and perforation, with obstruction
53200	9	Acute duodenal ulcer with hemorrhage, without mention of obstruction
53201	9	Acute duodenal ulcer with hemorrhage, with obstruction
53220	9	Acute duodenal ulcer with hemorrhage and perforation, without mention of obstruction
53221	9	Acute duodenal ulcer with hemorrhage and perforation, with obstruction
53240	9	Chronic or unspecified duodenal ulcer with hemorrhage, without mention of obstruction
53241	9	Chronic or unspecified duodenal ulcer with hemorrhage, with obstruction
53260	9	Chronic or unspecified duodenal ulcer with hemorrhage and perforation, without mention of obstruction
53261	9	Chronic or unspecified duodenal ulcer with hemorrhage and perforation, with obstruction
53300	9	Acute peptic ulcer of unspecified site with hemorrhage, without mention of obstruction
53301	9	Acute peptic ulcer of unspecified site with hemorrhage, with obstruction
53320	9	Acute peptic ulcer of unspecified site with hemorrhage and perforation, without mention of obstruction
53321	9	Acute peptic ulcer of unspecified site with hemorrhage and perforation, with obstruction
53340	9	Chronic or unspecified peptic ulcer of unspecified site with hemorrhage, without mention of obstruction
53341	9	Chronic or unspecified peptic ulcer of unspecified site with hemorrhage, with obstruction
53360	9	Chronic or unspecified peptic ulcer of unspecified site with hemorrhage and perforation, without mention of obstruction
53361	9	Chronic or unspecified peptic ulcer of unspecified site with hemorrhage and perforation, with obstruction
53400	9	Acute gastrojejunal ulcer with hemorrhage, without mention of obstruction
53401	9	Acute gastrojejunal ulcer, with hemorrhage, with obstruction
53420	9	Acute gastrojejunal ulcer with hemorrhage and perforation, without mention of obstruction
53421	9	Acute gastrojejunal ulcer with hemorrhage and perforation, with obstruction
53440	9	Chronic or unspecified gastrojejunal ulcer with hemorrhage, without mention of obstruction
53441	9	Chronic or unspecified gastrojejunal ulcer, with hemorrhage, with obstruction
53460	9	Chronic or unspecified gastrojejunal ulcer with hemorrhage and perforation, without mention of obstruction
53461	9	Chronic or unspecified gastrojejunal ulcer with hemorrhage and perforation, with obstruction
53640	9	Gastrostomy complication, unspecified
53641	9	Infection of gastrostomy
53642	9	Mechanical complication of gastrostomy
53649	9	Other gastrostomy complications
53901	9	Infection due to gastric band procedure
53909	9	Other complications of gastric band procedure
53981	9	Infection due to other bariatric procedure
53989	9	Other complications of other bariatric procedure
5601	9	Paralytic ileus
5642	9	Postgastric surgery syndromes
5643	9	Vomiting following gastrointestinal surgery
5644	9	Other postoperative functional disorders
5693	9	Hemorrhage of rectum and anus
56962	9	Mechanical complication of colostomy and enterostomy
56971	9	Pouchitis
56979	9	Other complications of intestinal pouch
570	9	Acute and subacute necrosis of liver
5715	9	Cirrhosis of liver without mention of alcohol
5716	9	Biliary cirrhosis
5718	9	Other chronic nonalcoholic liver disease
5719	9	Unspecified chronic liver disease without mention of alcohol
5720	9	Abscess of liver
5721	9	Portal pyemia
5722	9	Hepatic encephalopathy
5723	9	Portal hypertension
5724	9	Hepatorenal syndrome
5728	9	Other sequelae of chronic liver disease
5730	9	Chronic passive congestion of liver
5734	9	Hepatic infarction
5735	9	Hepatopulmonary syndrome
5738	9	Other specified disorders of liver
5739	9	Unspecified disorder of liver
5770	9	Acute pancreatitis
5780	9	Hematemesis
5781	9	Blood in stool
5789	9	Hemorrhage of gastrointestinal tract, unspecified
5793	9	Other and unspecified postsurgical nonabsorption
5845	9	Acute kidney failure with lesion of tubular necrosis
5846	9	Acute kidney failure with lesion of renal cortical necrosis
5847	9	Acute kidney failure with lesion of renal medullary [papillary] necrosis
5848	9	Acute kidney failure with other specified pathological lesion in kidney
5849	9	Acute kidney failure, unspecified
5851	9	Chronic kidney disease, Stage I
5852	9	Chronic kidney disease, Stage II (mild)
5853	9	Chronic kidney disease, Stage III (moderate)
5854	9	Chronic kidney disease, Stage IV (severe)
5855	9	Chronic kidney disease, Stage V
5856	9	End stage renal disease
5859	9	Chronic kidney disease, unspecified
586	9	Renal failure, unspecified
59681	9	Infection of cystostomy
5990	9	Urinary tract infection, site not specified
70715	9	Ulcer of other part of foot
77181	9	Septicemia [sepsis] of newborn
78062	9	Postprocedural fever
78063	9	Postvaccination fever
78066	9	Febrile nonhemolytic transfusion reaction
7824	9	Jaundice, unspecified, not of newborn
7825	9	Cyanosis
7841	9	Throat pain
78440	9	Voice and resonance disorder, unspecified
78441	9	Aphonia
78442	9	Dysphonia
78443	9	Hypernasality
78444	9	Hyponasality
78449	9	Other voice and resonance disorders
7847	9	Epistaxis
7848	9	Hemorrhage from throat
78499	9	Other symptoms involving head and neck
7850	9	Tachycardia, unspecified
7851	9	Palpitations
78550	9	Shock, unspecified
78551	9	Cardiogenic shock
78552	9	Septic shock
78559	9	Other shock without mention of trauma
78600	9	Respiratory abnormality, unspecified
78601	9	Hyperventilation
78602	9	Orthopnea
78603	9	Apnea
78604	9	Cheyne-Stokes respiration
78605	9	Shortness of breath
78606	9	Tachypnea
78607	9	Wheezing
78609	9	Other respiratory abnormalities
7861	9	Stridor
7862	9	Cough
7863	9	Hemoptysis
78630	9	Hemoptysis, unspecified
78631	9	Acute idiopathic pulmonary hemorrhage in infants [AIPHI]
78639	9	Other hemoptysis
7864	9	Abnormal sputum
78652	9	Painful respiration
7866	9	Swelling, mass, or lump in chest
7867	9	Abnormal chest sounds
7868	9	Hiccough
7869	9	Other symptoms involving respiratory system and chest
78791	9	Diarrhea
78820	9	Retention of urine, unspecified
7891	9	Hepatomegaly
78959	9	Other ascites
79021	9	Impaired fasting glucose
79022	9	Impaired glucose tolerance test (oral)
79029	9	Other abnormal glucose
7904	9	Nonspecific elevation of levels of transaminase or lactic acid dehydrogenase [LDH]
7905	9	Other nonspecific abnormal serum enzyme levels
7907	9	Bacteremia
7915	9	Glycosuria
7916	9	Acetonuria
7925	9	Cloudy (hemodialysis) (peritoneal) dialysis effluent
7931	9	Nonspecific (abnormal) findings on radiological and other examination of lung field
79311	9	Solitary pulmonary nodule
79319	9	Other nonspecific abnormal finding of lung field
7942	9	Nonspecific abnormal results of pulmonary function study
7948	9	Nonspecific abnormal results of function study of liver
79902	9	Hypoxemia
7991	9	Respiratory arrest
9093	9	Late effect of complications of surgical and medical care
9951	9	Angioneurotic edema, not elsewhere classified
99524	9	Failed moderate sedation during procedure
9954	9	Shock due to anesthesia, not elsewhere classified
99586	9	Malignant hyperthermia
99591	9	Sepsis
99592	9	Severe sepsis
99700	9	Nervous system complication, unspecified
99701	9	Central nervous system complication
99702	9	Iatrogenic cerebrovascular infarction or hemorrhage
99709	9	Other nervous system complications
9971	9	Cardiac complications, not elsewhere classified
9972	9	Peripheral vascular complications, not elsewhere classified
9973	9	Surg complic-respir syst
99731	9	Ventilator associated pneumonia
99732	9	Postprocedural aspiration pneumonia
99739	9	Other respiratory complications
9974	9	Digestive system complications, not elsewhere classified
99741	9	Retained cholelithiasis following cholecystectomy
99749	9	Other digestive system complications
9975	9	Urinary complications, not elsewhere classified
99760	9	Unspecified complication of amputation stump
99761	9	Neuroma of amputation stump
99762	9	Infection (chronic) of amputation stump
99769	9	Other amputation stump complication
99771	9	Vascular complications of mesenteric artery
99772	9	Vascular complications of renal artery
99779	9	Vascular complications of other vessels
99791	9	Complications affecting other specified body systems, not elsewhere classified, hypertension
99799	9	Complications affecting other specified body systems, not elsewhere classified
9980	9	Postoperative shock, not elsewhere classified
99800	9	Postoperative shock, unspecified
99801	9	Postoperative shock, cardiogenic
99802	9	Postoperative shock, septic
99809	9	Postoperative shock, other
99811	9	Hemorrhage complicating a procedure
99812	9	Hematoma complicating a procedure
99813	9	Seroma complicating a procedure
9982	9	Accidental puncture or laceration during a procedure, not elsewhere classified
99830	9	Disruption of wound, unspecified
99831	9	Disruption of internal operation (surgical) wound
99832	9	Disruption of external operation (surgical) wound
99833	9	Disruption of traumatic injury wound repair
9984	9	Foreign body accidentally left during a procedure
99851	9	Infected postoperative seroma
99859	9	Other postoperative infection
9986	9	Persistent postoperative fistula
9987	9	Acute reaction to foreign substance accidentally left during a procedure
99881	9	Emphysema (subcutaneous) (surgical) resulting from procedure
99882	9	Cataract fragments in eye following cataract surgery
99883	9	Non-healing surgical wound
99889	9	Other specified complications of procedures not elsewhere classified
9989	9	Unspecified complication of procedure, not elsewhere classified
9990	9	Generalized vaccinia as a complication of medical care, not elsewhere classified
9991	9	Air embolism as a complication of medical care, not elsewhere classified
9992	9	Other vascular complications of medical care, not elsewhere classified
99934	9	Acute infection following transfusion, infusion, or injection of blood and blood products
99939	9	Infection following other infusion, injection, transfusion, or vaccination
9994	9	Anaphylactic shock due to serum
99941	9	Anaphylactic reaction due to administration of blood and blood products
99942	9	Anaphylactic reaction due to vaccination
99949	9	Anaphylactic reaction due to other serum
9995	9	Other serum reaction, not elsewhere classified
99951	9	Other serum reaction due to administration of blood and blood products
99952	9	Other serum reaction due to vaccination
99959	9	Other serum reaction
9996	9	Abo incompatibility reaction
99960	9	ABO incompatibility reaction, unspecified
99961	9	ABO incompatibility with hemolytic transfusion reaction not specified as acute or delayed
99962	9	ABO incompatibility with acute hemolytic transfusion reaction
99963	9	ABO incompatibility with delayed hemolytic transfusion reaction
99969	9	Other ABO incompatibility reaction
9997	9	Rh incompatibility reaction
99970	9	Rh incompatibility reaction, unspecified
99971	9	Rh incompatibility with hemolytic transfusion reaction not specified as acute or delayed
99972	9	Rh incompatibility with acute hemolytic transfusion reaction
99973	9	Rh incompatibility with delayed hemolytic transfusion reaction
99974	9	Other Rh incompatibility reaction
99975	9	Non-ABO incompatibility reaction, unspecified
99976	9	Non-ABO incompatibility with hemolytic transfusion reaction not specified as acute or delayed
99977	9	Non-ABO incompatibility with acute hemolytic transfusion reaction
99978	9	Non-ABO incompatibility with delayed hemolytic transfusion reaction
99979	9	Other non-ABO incompatibility reaction
9998	9	Transfusion reaction nec
99980	9	Transfusion reaction, unspecified
99981	9	Extravasation of vesicant chemotherapy
99982	9	Extravasation of other vesicant agent
99983	9	Hemolytic transfusion reaction, incompatibility unspecified
99984	9	Acute hemolytic transfusion reaction, incompatibility unspecified
99985	9	Delayed hemolytic transfusion reaction, incompatibility unspecified
99988	9	Other infusion reaction
99989	9	Other transfusion reaction
9999	9	Other and unspecified complications of medical care, not elsewhere classified
E8490	9	Home accidents
E8497	9	Accidents occurring in residential institution
E8798	9	Other specified procedures as the cause of abnormal reaction of patient, or of later complication, without mention of misadventure at time of procedure
V08	9	Asymptomatic human immunodeficiency virus [HIV] infection status
V103	9	Personal history of malignant neoplasm of breast
V1046	9	Personal history of malignant neoplasm of prostate
V1260	9	Personal history of unspecified disease of respiratory system
V1261	9	Personal history of pneumonia (recurrent)
V1269	9	Personal history of other diseases of respiratory system
V1553	9	Personal history of retained foreign body fully removed
V1580	9	Personal history of failed moderate sedation
V1581	9	Personal history of noncompliance with medical treatment, presenting hazards to health
V1582	9	Personal history of tobacco use
V1583	9	Personal history of underimmunization status
V414	9	Problems with voice production
V420	9	Kidney replaced by transplant
V426	9	Lung replaced by transplant
V427	9	Liver replaced by transplant
V440	9	Tracheostomy status
V4500	9	Unspecified cardiac device in situ
V4501	9	Cardiac pacemaker in situ
V4502	9	Automatic implantable cardiac defibrillator in situ
V4509	9	Other specified cardiac device in situ
V451	9	Renal dialysis status
V4511	9	Renal dialysis status
V4512	9	Noncompliance with renal dialysis
V4581	9	Aortocoronary bypass status
V4582	9	Percutaneous transluminal coronary angioplasty status
V4585	9	Insulin pump status
V4611	9	Dependence on respirator, status
V4612	9	Encounter for respirator dependence during power failure
V4613	9	Encounter for weaning from respirator [ventilator]
V4614	9	Mechanical complication of respirator [ventilator]
V462	9	Other dependence on machines, supplemental oxygen
V4986	9	Do not resuscitate status
V5331	9	Fitting and adjustment of cardiac pacemaker
V5332	9	Fitting and adjustment of automatic implantable cardiac defibrillator
V5339	9	Fitting and adjustment of other cardiac device
V5391	9	Fitting and adjustment of insulin pump
V550	9	Attention to tracheostomy
V560	9	Encounter for extracorporeal dialysis
V561	9	Fitting and adjustment of extracorporeal dialysis catheter
V562	9	Fitting and adjustment of peritoneal dialysis catheter
V5631	9	Encounter for adequacy testing for hemodialysis
V5632	9	Encounter for adequacy testing for peritoneal dialysis
V568	9	Encounter for other dialysis
V5861	9	Long-term (current) use of anticoagulants
V5866	9	Long-term (current) use of aspirin
V5867	9	Long-term (current) use of insulin
V6546	9	Encounter for insulin pump training
V707	9	Examination of participant in clinical trial
V8741	9	Personal history of antineoplastic chemotherapy
V9001	9	Retained depleted uranium fragments
V9009	9	Other retained radioactive fragments
A021	10	Salmonella sepsis
A0222	10	Salmonella pneumonia
A202	10	Pneumonic plague
A207	10	Septicemic plague
A212	10	Pulmonary tularemia
A221	10	Pulmonary anthrax
A227	10	Anthrax sepsis
A310	10	Pulmonary mycobacterial infection
A3791	10	Whooping cough, unspecified species with pneumonia
A394	10	Meningococcemia, unspecified
A403	10	Sepsis due to Streptococcus pneumoniae
A409	10	Streptococcal sepsis, unspecified
A4101	10	Sepsis due to Methicillin susceptible Staphylococcus aureus
A4102	10	Sepsis due to Methicillin resistant Staphylococcus aureus
A411	10	Sepsis due to other specified staphylococcus
A412	10	Sepsis due to unspecified staphylococcus
A413	10	Sepsis due to Hemophilus influenzae
A414	10	Sepsis due to anaerobes
A4150	10	Gram-negative sepsis, unspecified
A4151	10	Sepsis due to Escherichia coli [E. coli]
A4152	10	Sepsis due to Pseudomonas
A4153	10	Sepsis due to Serratia
A4159	10	Other Gram-negative sepsis
A4189	10	Other specified sepsis
A419	10	Sepsis, unspecified organism
A420	10	Pulmonary actinomycosis
A481	10	Legionnaires' disease
A78	10	Q fever
B007	10	Disseminated herpesviral disease
B012	10	Varicella pneumonia
B052	10	Measles complicated by pneumonia
B250	10	Cytomegaloviral pneumonitis
B371	10	Pulmonary candidiasis
B380	10	Acute pulmonary coccidioidomycosis
B381	10	Chronic pulmonary coccidioidomycosis
B382	10	Pulmonary coccidioidomycosis, unspecified
B392	10	Pulmonary histoplasmosis capsulati, unspecified
B440	10	Invasive pulmonary aspergillosis
B583	10	Pulmonary toxoplasmosis
B59	10	Pneumocystosis
C9110	10	Chronic lymphocytic leukemia of B-cell type not having achieved remission
D62	10	Acute posthemorrhagic anemia
D631	10	Anemia in chronic kidney disease
D6481	10	Anemia due to antineoplastic chemotherapy
D649	10	Anemia, unspecified
D6951	10	Posttransfusion purpura
D696	10	Thrombocytopenia, unspecified
E039	10	Hypothyroidism, unspecified
E0901	10	Drug or chemical induced diabetes mellitus with hyperosmolarity with coma
E0910	10	Drug or chemical induced diabetes mellitus with ketoacidosis without coma
E0921	10	Drug or chemical induced diabetes mellitus with diabetic nephropathy
E0939	10	Drug or chemical induced diabetes mellitus with other diabetic ophthalmic complication
E0940	10	Drug or chemical induced diabetes mellitus with neurological complications with diabetic neuropathy, unspecified
E0951	10	Drug or chemical induced diabetes mellitus with diabetic peripheral angiopathy without gangrene
E0965	10	Drug or chemical induced diabetes mellitus with hyperglycemia
E0969	10	Drug or chemical induced diabetes mellitus with other specified complication
E098	10	Drug or chemical induced diabetes mellitus with unspecified complications
E1010	10	Type 1 diabetes mellitus with ketoacidosis without coma
E1029	10	Type 1 diabetes mellitus with other diabetic kidney complication
E1039	10	Type 1 diabetes mellitus with other diabetic ophthalmic complication
E1040	10	Type 1 diabetes mellitus with diabetic neuropathy, unspecified
E1051	10	Type 1 diabetes mellitus with diabetic peripheral angiopathy without gangrene
E10641	10	Type 1 diabetes mellitus with hypoglycemia with coma
E1065	10	Type 1 diabetes mellitus with hyperglycemia
E1069	10	Type 1 diabetes mellitus with other specified complication
E108	10	Type 1 diabetes mellitus with unspecified complications
E109	10	Type 1 diabetes mellitus without complications
E1101	10	Type 2 diabetes mellitus with hyperosmolarity with coma
E1122	10	Type 2 diabetes mellitus with diabetic chronic kidney disease
E1129	10	Type 2 diabetes mellitus with other diabetic kidney complication
E1139	10	Type 2 diabetes mellitus with other diabetic ophthalmic complication
E1140	10	Type 2 diabetes mellitus with diabetic neuropathy, unspecified
E1142	10	Type 2 diabetes mellitus with diabetic polyneuropathy
E1151	10	Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene
E11621	10	Type 2 diabetes mellitus with foot ulcer
E11641	10	Type 2 diabetes mellitus with hypoglycemia with coma
E11649	10	Type 2 diabetes mellitus with hypoglycemia without coma
E1165	10	Type 2 diabetes mellitus with hyperglycemia
E1169	10	Type 2 diabetes mellitus with other specified complication
E118	10	Type 2 diabetes mellitus with unspecified complications
E119	10	Type 2 diabetes mellitus without complications
E1300	10	Other specified diabetes mellitus with hyperosmolarity without nonketotic hyperglycemic-hyperosmolar coma (NKHHC)
E1310	10	Other specified diabetes mellitus with ketoacidosis without coma
E1339	10	Other specified diabetes mellitus with other diabetic ophthalmic complication
E1349	10	Other specified diabetes mellitus with other diabetic neurological complication
E1359	10	Other specified diabetes mellitus with other circulatory complications
E13641	10	Other specified diabetes mellitus with hypoglycemia with coma
E1369	10	Other specified diabetes mellitus with other specified complication
E138	10	Other specified diabetes mellitus with unspecified complications
E139	10	Other specified diabetes mellitus without complications
E43	10	Unspecified severe protein-calorie malnutrition
E6601	10	Morbid (severe) obesity due to excess calories
E669	10	Obesity, unspecified
E7143	10	Iatrogenic carnitine deficiency
E780	10	Pure hypercholesterolemia
E7801	10	Familial hypercholesterolemia
E781	10	Pure hyperglyceridemia
E782	10	Mixed hyperlipidemia
E783	10	Hyperchylomicronemia
E785	10	Hyperlipidemia, unspecified
E860	10	Dehydration
E861	10	Hypovolemia
E869	10	Volume depletion, unspecified
E870	10	Hyperosmolality and hypernatremia
E871	10	Hypo-osmolality and hyponatremia
E872	10	Acidosis
E873	10	Alkalosis
E874	10	Mixed disorder of acid-base balance
E875	10	Hyperkalemia
E876	10	Hypokalemia
E8771	10	Transfusion associated circulatory overload
E8779	10	Other fluid overload
E878	10	Other disorders of electrolyte and fluid balance, not elsewhere classified
E883	10	Tumor lysis syndrome
F17210	10	Nicotine dependence, cigarettes, uncomplicated
F329	10	Major depressive disorder, single episode, unspecified
F419	10	Anxiety disorder, unspecified
G40909	10	Epilepsy, unspecified, not intractable, without status epilepticus
G43601	10	Persistent migraine aura with cerebral infarction, not intractable, with status migrainosus
G43609	10	Persistent migraine aura with cerebral infarction, not intractable, without status migrainosus
G43611	10	Persistent migraine aura with cerebral infarction, intractable, with status migrainosus
G43619	10	Persistent migraine aura with cerebral infarction, intractable, without status migrainosus
G4700	10	Insomnia, unspecified
G4733	10	Obstructive sleep apnea (adult) (pediatric)
G8929	10	Other chronic pain
G971	10	Other reaction to spinal and lumbar puncture
G9741	10	Accidental puncture or laceration of dura during a procedure
G9781	10	Other intraoperative complications of nervous system
G9782	10	Other postprocedural complications and disorders of nervous system
H59029	10	Cataract (lens) fragments in eye following cataract surgery, unspecified eye
I0981	10	Rheumatic heart failure
I10	10	Essential (primary) hypertension
I110	10	Hypertensive heart disease with heart failure
I119	10	Hypertensive heart disease without heart failure
I120	10	Hypertensive chronic kidney disease with stage 5 chronic kidney disease or end stage renal disease
I129	10	Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease
I130	10	Hypertensive heart and chronic kidney disease with heart failure and stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease
I1310	10	Hypertensive heart and chronic kidney disease without heart failure, with stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease
I1311	10	Hypertensive heart and chronic kidney disease without heart failure, with stage 5 chronic kidney disease, or end stage renal disease
I132	10	Hypertensive heart and chronic kidney disease with heart failure and with stage 5 chronic kidney disease, or end stage renal disease
I150	10	Renovascular hypertension
I158	10	Other secondary hypertension
I169	10	Hypertensive crisis, unspecified
I200	10	Unstable angina
I201	10	Angina pectoris with documented spasm
I208	10	Other forms of angina pectoris
I209	10	Angina pectoris, unspecified
I2109	10	ST elevation (STEMI) myocardial infarction involving other coronary artery of anterior wall
I2111	10	ST elevation (STEMI) myocardial infarction involving right coronary artery
I2119	10	ST elevation (STEMI) myocardial infarction involving other coronary artery of inferior wall
I2129	10	ST elevation (STEMI) myocardial infarction involving other sites
I214	10	Non-ST elevation (NSTEMI) myocardial infarction
I21A9	10	Other myocardial infarction type
I240	10	Acute coronary thrombosis not resulting in myocardial infarction
I241	10	Dressler's syndrome
I248	10	Other forms of acute ischemic heart disease
I2510	10	Atherosclerotic heart disease of native coronary artery without angina pectoris
I252	10	Old myocardial infarction
I25811	10	Atherosclerosis of native coronary artery of transplanted heart without angina pectoris
I2582	10	Chronic total occlusion of coronary artery
I2583	10	Coronary atherosclerosis due to lipid rich plaque
I2584	10	Coronary atherosclerosis due to calcified coronary lesion
I259	10	Chronic ischemic heart disease, unspecified
I272	10	Other secondary pulmonary hypertension
I340	10	Nonrheumatic mitral (valve) insufficiency
I440	10	Atrioventricular block, first degree
I441	10	Atrioventricular block, second degree
I442	10	Atrioventricular block, complete
I4430	10	Unspecified atrioventricular block
I4469	10	Other fascicular block
I447	10	Left bundle-branch block, unspecified
I4510	10	Unspecified right bundle-branch block
I452	10	Bifascicular block
I453	10	Trifascicular block
I454	10	Nonspecific intraventricular block
I455	10	Other specified heart block
I456	10	Pre-excitation syndrome
I4581	10	Long QT syndrome
I4589	10	Other specified conduction disorders
I459	10	Conduction disorder, unspecified
I471	10	Supraventricular tachycardia
I472	10	Ventricular tachycardia
I479	10	Paroxysmal tachycardia, unspecified
I480	10	Paroxysmal atrial fibrillation
I4891	10	Unspecified atrial fibrillation
I4892	10	Unspecified atrial flutter
I491	10	Atrial premature depolarization
I4940	10	Unspecified premature depolarization
I4949	10	Other premature depolarization
I499	10	Cardiac arrhythmia, unspecified
I501	10	Left ventricular failure, unspecified
I5020	10	Unspecified systolic (congestive) heart failure
I5021	10	Acute systolic (congestive) heart failure
I5022	10	Chronic systolic (congestive) heart failure
I5023	10	Acute on chronic systolic (congestive) heart failure
I5030	10	Unspecified diastolic (congestive) heart failure
I5031	10	Acute diastolic (congestive) heart failure
I5032	10	Chronic diastolic (congestive) heart failure
I5033	10	Acute on chronic diastolic (congestive) heart failure
I5040	10	Unspecified combined systolic (congestive) and diastolic (congestive) heart failure
I5041	10	Acute combined systolic (congestive) and diastolic (congestive) heart failure
I5042	10	Chronic combined systolic (congestive) and diastolic (congestive) heart failure
I5043	10	Acute on chronic combined systolic (congestive) and diastolic (congestive) heart failure
I509	10	Heart failure, unspecified
I609	10	Nontraumatic subarachnoid hemorrhage, unspecified
I619	10	Nontraumatic intracerebral hemorrhage, unspecified
I6200	10	Nontraumatic subdural hemorrhage, unspecified
I621	10	Nontraumatic extradural hemorrhage
I629	10	Nontraumatic intracranial hemorrhage, unspecified
I6320	10	Cerebral infarction due to unspecified occlusion or stenosis of unspecified precerebral arteries
I63219	10	Cerebral infarction due to unspecified occlusion or stenosis of unspecified vertebral artery
I6322	10	Cerebral infarction due to unspecified occlusion or stenosis of basilar artery
I63239	10	Cerebral infarction due to unspecified occlusion or stenosis of unspecified carotid artery
I6330	10	Cerebral infarction due to thrombosis of unspecified cerebral artery
I6340	10	Cerebral infarction due to embolism of unspecified cerebral artery
I6350	10	Cerebral infarction due to unspecified occlusion or stenosis of unspecified cerebral artery
I6359	10	Cerebral infarction due to unspecified occlusion or stenosis of other cerebral artery
I6629	10	Occlusion and stenosis of unspecified posterior cerebral artery
I669	10	Occlusion and stenosis of unspecified cerebral artery
I674	10	Hypertensive encephalopathy
I6789	10	Other cerebrovascular disease
I76	10	Septic arterial embolism
I8501	10	Esophageal varices with bleeding
I8511	10	Secondary esophageal varices with bleeding
I953	10	Hypotension of hemodialysis
I9581	10	Postprocedural hypotension
I959	10	Hypotension, unspecified
I97190	10	Other postprocedural cardiac functional disturbances following cardiac surgery
I973	10	Postprocedural hypertension
I97821	10	Postprocedural cerebrovascular infarction following other surgery
I9789	10	Other postprocedural complications and disorders of the circulatory system, not elsewhere classified
J120	10	Adenoviral pneumonia
J121	10	Respiratory syncytial virus pneumonia
J122	10	Parainfluenza virus pneumonia
J1281	10	Pneumonia due to SARS-associated coronavirus
J1289	10	Other viral pneumonia
J129	10	Viral pneumonia, unspecified
J14	10	Pneumonia due to Hemophilus influenzae
J150	10	Pneumonia due to Klebsiella pneumoniae
J151	10	Pneumonia due to Pseudomonas
J1520	10	Pneumonia due to staphylococcus, unspecified
J15211	10	Pneumonia due to Methicillin susceptible Staphylococcus aureus
J15212	10	Pneumonia due to Methicillin resistant Staphylococcus aureus
J1529	10	Pneumonia due to other staphylococcus
J153	10	Pneumonia due to streptococcus, group B
J154	10	Pneumonia due to other streptococci
J155	10	Pneumonia due to Escherichia coli
J156	10	Pneumonia due to other Gram-negative bacteria
J157	10	Pneumonia due to Mycoplasma pneumoniae
J158	10	Pneumonia due to other specified bacteria
J159	10	Unspecified bacterial pneumonia
J160	10	Chlamydial pneumonia
J168	10	Pneumonia due to other specified infectious organisms
J17	10	Pneumonia in diseases classified elsewhere
J180	10	Bronchopneumonia, unspecified organism
J181	10	Lobar pneumonia, unspecified organism
J189	10	Pneumonia, unspecified organism
J301	10	Allergic rhinitis due to pollen
J3081	10	Allergic rhinitis due to animal (cat) (dog) hair and dander
J3089	10	Other allergic rhinitis
J309	10	Allergic rhinitis, unspecified
J310	10	Chronic rhinitis
J311	10	Chronic nasopharyngitis
J312	10	Chronic pharyngitis
J330	10	Polyp of nasal cavity
J331	10	Polypoid sinus degeneration
J338	10	Other polyp of sinus
J339	10	Nasal polyp, unspecified
J342	10	Deviated nasal septum
J343	10	Hypertrophy of nasal turbinates
J3481	10	Nasal mucositis (ulcerative)
J3489	10	Other specified disorders of nose and nasal sinuses
J370	10	Chronic laryngitis
J371	10	Chronic laryngotracheitis
J3800	10	Paralysis of vocal cords and larynx, unspecified
J3801	10	Paralysis of vocal cords and larynx, unilateral
J3802	10	Paralysis of vocal cords and larynx, bilateral
J381	10	Polyp of vocal cord and larynx
J383	10	Other diseases of vocal cords
J384	10	Edema of larynx
J385	10	Laryngeal spasm
J386	10	Stenosis of larynx
J387	10	Other diseases of larynx
J390	10	Retropharyngeal and parapharyngeal abscess
J391	10	Other abscess of pharynx
J392	10	Other diseases of pharynx
J393	10	Upper respiratory tract hypersensitivity reaction, site unspecified
J399	10	Disease of upper respiratory tract, unspecified
J40	10	Bronchitis, not specified as acute or chronic
J410	10	Simple chronic bronchitis
J411	10	Mucopurulent chronic bronchitis
J418	10	Mixed simple and mucopurulent chronic bronchitis
J42	10	Unspecified chronic bronchitis
J439	10	Emphysema, unspecified
J440	10	Chronic obstructive pulmonary disease with (acute) lower respiratory infection
J441	10	Chronic obstructive pulmonary disease with (acute) exacerbation
J449	10	Chronic obstructive pulmonary disease, unspecified
J45909	10	Unspecified asthma, uncomplicated
J471	10	Bronchiectasis with (acute) exacerbation
J479	10	Bronchiectasis, uncomplicated
J810	10	Acute pulmonary edema
J811	10	Chronic pulmonary edema
J82	10	Pulmonary eosinophilia, not elsewhere classified
J8401	10	Alveolar proteinosis
J8402	10	Pulmonary alveolar microlithiasis
J8403	10	Idiopathic pulmonary hemosiderosis
J8409	10	Other alveolar and parieto-alveolar conditions
J84111	10	Idiopathic interstitial pneumonia, not otherwise specified
J84112	10	Idiopathic pulmonary fibrosis
J84113	10	Idiopathic non-specific interstitial pneumonitis
J84114	10	Acute interstitial pneumonitis
J84115	10	Respiratory bronchiolitis interstitial lung disease
J84116	10	Cryptogenic organizing pneumonia
J84117	10	Desquamative interstitial pneumonia
J842	10	Lymphoid interstitial pneumonia
J8481	10	Lymphangioleiomyomatosis
J8482	10	Adult pulmonary Langerhans cell histiocytosis
J8483	10	Surfactant mutations of the lung
J84841	10	Neuroendocrine cell hyperplasia of infancy
J84842	10	Pulmonary interstitial glycogenosis
J84843	10	Alveolar capillary dysplasia with vein misalignment
J84848	10	Other interstitial lung diseases of childhood
J8489	10	Other specified interstitial pulmonary diseases
J849	10	Interstitial pulmonary disease, unspecified
J852	10	Abscess of lung without pneumonia
J853	10	Abscess of mediastinum
J860	10	Pyothorax with fistula
J869	10	Pyothorax without fistula
J918	10	Pleural effusion in other conditions classified elsewhere
J930	10	Spontaneous tension pneumothorax
J9311	10	Primary spontaneous pneumothorax
J9312	10	Secondary spontaneous pneumothorax
J9381	10	Chronic pneumothorax
J9382	10	Other air leak
J939	10	Pneumothorax, unspecified
J942	10	Hemothorax
J948	10	Other specified pleural conditions
J9500	10	Unspecified tracheostomy complication
J9502	10	Infection of tracheostomy stoma
J9503	10	Malfunction of tracheostomy stoma
J9509	10	Other tracheostomy complication
J953	10	Chronic pulmonary insufficiency following surgery
J95811	10	Postprocedural pneumothorax
J95812	10	Postprocedural air leak
J9584	10	Transfusion-related acute lung injury (TRALI)
J95850	10	Mechanical complication of respirator
J95851	10	Ventilator associated pneumonia
J9589	10	Other postprocedural complications and disorders of respiratory system, not elsewhere classified
J9600	10	Acute respiratory failure, unspecified whether with hypoxia or hypercapnia
J9601	10	Acute respiratory failure with hypoxia
J9610	10	Chronic respiratory failure, unspecified whether with hypoxia or hypercapnia
J9620	10	Acute and chronic respiratory failure, unspecified whether with hypoxia or hypercapnia
J9690	10	Respiratory failure, unspecified, unspecified whether with hypoxia or hypercapnia
J9801	10	Acute bronchospasm
J9809	10	Other diseases of bronchus, not elsewhere classified
J9819	10	Other pulmonary collapse
J982	10	Interstitial emphysema
J983	10	Compensatory emphysema
J984	10	Other disorders of lung
J9851	10	Mediastinitis
J9859	10	Other diseases of mediastinum, not elsewhere classified
J986	10	Disorders of diaphragm
J988	10	Other specified respiratory disorders
J989	10	Respiratory disorder, unspecified
J99	10	Respiratory disorders in diseases classified elsewhere
K219	10	Gastro-esophageal reflux disease without esophagitis
K226	10	Gastro-esophageal laceration-hemorrhage syndrome
K228	10	Other specified diseases of esophagus
K250	10	Acute gastric ulcer with hemorrhage
K252	10	Acute gastric ulcer with both hemorrhage and perforation
K254	10	Chronic or unspecified gastric ulcer with hemorrhage
K256	10	Chronic or unspecified gastric ulcer with both hemorrhage and perforation
K260	10	Acute duodenal ulcer with hemorrhage
K262	10	Acute duodenal ulcer with both hemorrhage and perforation
K264	10	Chronic or unspecified duodenal ulcer with hemorrhage
K266	10	Chronic or unspecified duodenal ulcer with both hemorrhage and perforation
K270	10	Acute peptic ulcer, site unspecified, with hemorrhage
K272	10	Acute peptic ulcer, site unspecified, with both hemorrhage and perforation
K274	10	Chronic or unspecified peptic ulcer, site unspecified, with hemorrhage
K276	10	Chronic or unspecified peptic ulcer, site unspecified, with both hemorrhage and perforation
K280	10	Acute gastrojejunal ulcer with hemorrhage
K282	10	Acute gastrojejunal ulcer with both hemorrhage and perforation
K284	10	Chronic or unspecified gastrojejunal ulcer with hemorrhage
K286	10	Chronic or unspecified gastrojejunal ulcer with both hemorrhage and perforation
K56699	10	Other intestinal obstruction unspecified as to partial versus complete obstruction
K625	10	Hemorrhage of anus and rectum
K7031	10	Alcoholic cirrhosis of liver with ascites
K7290	10	Hepatic failure, unspecified without coma
K7291	10	Hepatic failure, unspecified with coma
K745	10	Biliary cirrhosis, unspecified
K7469	10	Other cirrhosis of liver
K750	10	Abscess of liver
K751	10	Phlebitis of portal vein
K761	10	Chronic passive congestion of liver
K762	10	Central hemorrhagic necrosis of liver
K763	10	Infarction of liver
K766	10	Portal hypertension
K767	10	Hepatorenal syndrome
K7681	10	Hepatopulmonary syndrome
K7689	10	Other specified diseases of liver
K769	10	Liver disease, unspecified
K910	10	Vomiting following gastrointestinal surgery
K911	10	Postgastric surgery syndromes
K912	10	Postsurgical malabsorption, not elsewhere classified
K91850	10	Pouchitis
K91858	10	Other complications of intestinal pouch
K9186	10	Retained cholelithiasis following cholecystectomy
K9189	10	Other postprocedural complications and disorders of digestive system
K920	10	Hematemesis
K921	10	Melena
K922	10	Gastrointestinal hemorrhage, unspecified
K9413	10	Enterostomy malfunction
K9420	10	Gastrostomy complication, unspecified
K9422	10	Gastrostomy infection
K9423	10	Gastrostomy malfunction
K9429	10	Other complications of gastrostomy
K9432	10	Esophagostomy infection
K9433	10	Esophagostomy malfunction
K9501	10	Infection due to gastric band procedure
K9509	10	Other complications of gastric band procedure
K9581	10	Infection due to other bariatric procedure
K9589	10	Other complications of other bariatric procedure
M109	10	Gout, unspecified
M3481	10	Systemic sclerosis with lung involvement
M9689	10	Other intraoperative and postprocedural complications and disorders of the musculoskeletal system
N170	10	Acute kidney failure with tubular necrosis
N171	10	Acute kidney failure with acute cortical necrosis
N172	10	Acute kidney failure with medullary necrosis
N178	10	Other acute kidney failure
N179	10	Acute kidney failure, unspecified
N181	10	Chronic kidney disease, stage 1
N182	10	Chronic kidney disease, stage 2 (mild)
N183	10	Chronic kidney disease, stage 3 (moderate)
N184	10	Chronic kidney disease, stage 4 (severe)
N185	10	Chronic kidney disease, stage 5
N186	10	End stage renal disease
N189	10	Chronic kidney disease, unspecified
N19	10	Unspecified kidney failure
N390	10	Urinary tract infection, site not specified
N99511	10	Cystostomy infection
N99821	10	Postprocedural hemorrhage of a genitourinary system organ or structure following other procedure
N99841	10	Postprocedural hematoma of a genitourinary system organ or structure following other procedure
N9989	10	Other postprocedural complications and disorders of genitourinary system
P369	10	Bacterial sepsis of newborn, unspecified
R000	10	Tachycardia, unspecified
R001	10	Bradycardia, unspecified
R002	10	Palpitations
R040	10	Epistaxis
R041	10	Hemorrhage from throat
R0481	10	Acute idiopathic pulmonary hemorrhage in infants
R0489	10	Hemorrhage from other sites in respiratory passages
R049	10	Hemorrhage from respiratory passages, unspecified
R05	10	Cough
R0601	10	Orthopnea
R0602	10	Shortness of breath
R0603	10	Acute respiratory distress
R061	10	Stridor
R062	10	Wheezing
R063	10	Periodic breathing
R064	10	Hyperventilation
R066	10	Hiccough
R0681	10	Apnea, not elsewhere classified
R0682	10	Tachypnea, not elsewhere classified
R0689	10	Other abnormalities of breathing
R069	10	Unspecified abnormalities of breathing
R070	10	Pain in throat
R0781	10	Pleurodynia
R091	10	Pleurisy
R092	10	Respiratory arrest
R093	10	Abnormal sputum
R0989	10	Other specified symptoms and signs involving the circulatory and respiratory systems
R160	10	Hepatomegaly, not elsewhere classified
R17	10	Unspecified jaundice
R188	10	Other ascites
R196	10	Halitosis
R222	10	Localized swelling, mass and lump, trunk
R230	10	Cyanosis
R4789	10	Other speech disturbances
R490	10	Dysphonia
R491	10	Aphonia
R4921	10	Hypernasality
R4922	10	Hyponasality
R498	10	Other voice and resonance disorders
R499	10	Unspecified voice and resonance disorder
R5082	10	Postprocedural fever
R5083	10	Postvaccination fever
R5084	10	Febrile nonhemolytic transfusion reaction
R570	10	Cardiogenic shock
R578	10	Other shock
R579	10	Shock, unspecified
R6520	10	Severe sepsis without septic shock
R6521	10	Severe sepsis with septic shock
R7301	10	Impaired fasting glucose
R7302	10	Impaired glucose tolerance (oral)
R7309	10	Other abnormal glucose
R740	10	Nonspecific elevation of levels of transaminase and lactic acid dehydrogenase [LDH]
R748	10	Abnormal levels of other serum enzymes
R7881	10	Bacteremia
R81	10	Glycosuria
R824	10	Acetonuria
R880	10	Cloudy (hemodialysis) (peritoneal) dialysis effluent
R911	10	Solitary pulmonary nodule
R918	10	Other nonspecific abnormal finding of lung field
R942	10	Abnormal results of pulmonary function studies
R945	10	Abnormal results of liver function studies
T783XXA	10	Angioneurotic edema, initial encounter
T800XXA	10	Air embolism following infusion, transfusion and therapeutic injection, initial encounter
T801XXA	10	Vascular complications following infusion, transfusion and therapeutic injection, initial encounter
T8022XA	10	Acute infection following transfusion, infusion, or injection of blood and blood products, initial encounter
T8030XA	10	ABO incompatibility reaction due to transfusion of blood or blood products, unspecified, initial encounter
T80310A	10	ABO incompatibility with acute hemolytic transfusion reaction, initial encounter
T80311A	10	ABO incompatibility with delayed hemolytic transfusion reaction, initial encounter
T80319A	10	ABO incompatibility with hemolytic transfusion reaction, unspecified, initial encounter
T8039XA	10	Other ABO incompatibility reaction due to transfusion of blood or blood products, initial encounter
T8040XA	10	Rh incompatibility reaction due to transfusion of blood or blood products, unspecified, initial encounter
T80410A	10	Rh incompatibility with acute hemolytic transfusion reaction, initial encounter
T80411A	10	Rh incompatibility with delayed hemolytic transfusion reaction, initial encounter
T80419A	10	Rh incompatibility with hemolytic transfusion reaction, unspecified, initial encounter
T8049XA	10	Other Rh incompatibility reaction due to transfusion of blood or blood products, initial encounter
T8051XA	10	Anaphylactic reaction due to administration of blood and blood products, initial encounter
T8052XA	10	Anaphylactic reaction due to vaccination, initial encounter
T8059XA	10	Anaphylactic reaction due to other serum, initial encounter
T8061XA	10	Other serum reaction due to administration of blood and blood products, initial encounter
T8062XA	10	Other serum reaction due to vaccination, initial encounter
T8069XA	10	Other serum reaction due to other serum, initial encounter
T80810A	10	Extravasation of vesicant antineoplastic chemotherapy, initial encounter
T80818A	10	Extravasation of other vesicant agent, initial encounter
T8089XA	10	Other complications following infusion, transfusion and therapeutic injection, initial encounter
T8090XA	10	Unspecified complication following infusion and therapeutic injection, initial encounter
T80910A	10	Acute hemolytic transfusion reaction, unspecified incompatibility, initial encounter
T80911A	10	Delayed hemolytic transfusion reaction, unspecified incompatibility, initial encounter
T80919A	10	Hemolytic transfusion reaction, unspecified incompatibility, unspecified as acute or delayed, initial encounter
T8092XA	10	Unspecified transfusion reaction, initial encounter
T80A0XA	10	Non-ABO incompatibility reaction due to transfusion of blood or blood products, unspecified, initial encounter
T80A10A	10	Non-ABO incompatibility with acute hemolytic transfusion reaction, initial encounter
T80A11A	10	Non-ABO incompatibility with delayed hemolytic transfusion reaction, initial encounter
T80A19A	10	Non-ABO incompatibility with hemolytic transfusion reaction, unspecified, initial encounter
T80A9XA	10	Other non-ABO incompatibility reaction due to transfusion of blood or blood products, initial encounter
T8110XA	10	Postprocedural shock unspecified, initial encounter
T8111XA	10	Postprocedural cardiogenic shock, initial encounter
T8112XA	10	Postprocedural septic shock, initial encounter
T8119XA	10	Other postprocedural shock, initial encounter
T8130XA	10	Disruption of wound, unspecified, initial encounter
T8131XA	10	Disruption of external operation (surgical) wound, not elsewhere classified, initial encounter
T8132XA	10	Disruption of internal operation (surgical) wound, not elsewhere classified, initial encounter
T8133XA	10	Disruption of traumatic injury wound repair, initial encounter
T814XXA	10	Infection following a procedure, initial encounter
T81539A	10	Perforation due to foreign body accidentally left in body following unspecified procedure, initial encounter
T8169XA	10	Other acute reaction to foreign substance accidentally left during a procedure, initial encounter
T81710A	10	Complication of mesenteric artery following a procedure, not elsewhere classified, initial encounter
T81711A	10	Complication of renal artery following a procedure, not elsewhere classified, initial encounter
T8172XA	10	Complication of vein following a procedure, not elsewhere classified, initial encounter
T8182XA	10	Emphysema (subcutaneous) resulting from a procedure, initial encounter
T8183XA	10	Persistent postprocedural fistula, initial encounter
T8189XA	10	Other complications of procedures, not elsewhere classified, initial encounter
T819XXA	10	Unspecified complication of procedure, initial encounter
T82818A	10	Embolism due to vascular prosthetic devices, implants and grafts, initial encounter
T8730	10	Neuroma of amputation stump, unspecified extremity
T8740	10	Infection of amputation stump, unspecified extremity
T8789	10	Other complications of amputation stump
T879	10	Unspecified complications of amputation stump
T880XXA	10	Infection following immunization, initial encounter
T881XXA	10	Other complications following immunization, not elsewhere classified, initial encounter
T882XXA	10	Shock due to anesthesia, initial encounter
T883XXA	10	Malignant hyperthermia due to anesthesia, initial encounter
T8852XA	10	Failed moderate sedation during procedure, initial encounter
T888XXA	10	Other specified complications of surgical and medical care, not elsewhere classified, initial encounter
T889XXA	10	Complication of surgical and medical care, unspecified, initial encounter
T889XXS	10	Complication of surgical and medical care, unspecified, sequela
Y848	10	Other medical procedures as the cause of abnormal reaction of the patient, or of later complication, without mention of misadventure at the time of the procedure
Y92230	10	Patient room in hospital as the place of occurrence of the external cause
Y929	10	Unspecified place or not applicable
Z1801	10	Retained depleted uranium fragments
Z1809	10	Other retained radioactive fragments
Z283	10	Underimmunization status
Z430	10	Encounter for attention to tracheostomy
Z45018	10	Encounter for adjustment and management of other part of cardiac pacemaker
Z4502	10	Encounter for adjustment and management of automatic implantable cardiac defibrillator
Z4509	10	Encounter for adjustment and management of other cardiac device
Z4681	10	Encounter for fitting and adjustment of insulin pump
Z4901	10	Encounter for fitting and adjustment of extracorporeal dialysis catheter
Z4902	10	Encounter for fitting and adjustment of peritoneal dialysis catheter
Z4931	10	Encounter for adequacy testing for hemodialysis
Z4932	10	Encounter for adequacy testing for peritoneal dialysis
Z515	10	Encounter for palliative care
Z66	10	Do not resuscitate
Z7901	10	Long term (current) use of anticoagulants
Z7902	10	Long term (current) use of antithrombotics/antiplatelets
Z794	10	Long term (current) use of insulin
Z853	10	Personal history of malignant neoplasm of breast
Z86718	10	Personal history of other venous thrombosis and embolism
Z8673	10	Personal history of transient ischemic attack (TIA), and cerebral infarction without residual deficits
Z8701	10	Personal history of pneumonia (recurrent)
Z8709	10	Personal history of other diseases of the respiratory system
Z87821	10	Personal history of retained foreign body fully removed
Z87891	10	Personal history of nicotine dependence
Z9115	10	Patient's noncompliance with renal dialysis
Z9283	10	Personal history of failed moderate sedation
Z930	10	Tracheostomy status
Z940	10	Kidney transplant status
Z942	10	Lung transplant status
Z944	10	Liver transplant status
Z950	10	Presence of cardiac pacemaker
Z951	10	Presence of aortocoronary bypass graft
Z955	10	Presence of coronary angioplasty implant and graft
Z95810	10	Presence of automatic (implantable) cardiac defibrillator
Z95818	10	Presence of other cardiac implants and grafts
Z959	10	Presence of cardiac and vascular implant and graft, unspecified
Z9641	10	Presence of insulin pump (external) (internal)
Z9861	10	Coronary angioplasty status
Z9884	10	Bariatric surgery status
Z9911	10	Dependence on respirator [ventilator] status
Z9912	10	Encounter for respirator [ventilator] dependence during power failure
Z992	10	Dependence on renal dialysis
Z9981	10	Dependence on supplemental oxygen
"""

D_ICD_PROCEDURES = """\
3897	9	Central venous catheter placement with guidance
966	9	Enteral infusion of concentrated nutritional substances
9671	9	Continuous invasive mechanical ventilation for less than 96 consecutive hours
3893	9	Venous catheterization, not elsewhere classified
3961	9	Extracorporeal circulation auxiliary to open heart surgery
5491	9	Percutaneous abdominal drainage
9604	9	Insertion of endotracheal tube
3891	9	Arterial catheterization
4513	9	Other endoscopy of small intestine
9427	9	Other electroshock therapy
3324	9	Closed [endoscopic] biopsy of bronchus
3615	9	Single internal mammary-coronary artery bypass
9672	9	Continuous invasive mechanical ventilation for 96 consecutive hours or more
9915	9	Parenteral infusion of concentrated nutritional substances
8847	9	Arteriography of other intra-abdominal arteries
8856	9	Coronary arteriography using two catheters
3722	9	Left heart cardiac catheterization
8604	9	Other incision with drainage of skin and subcutaneous tissue
8841	9	Arteriography of cerebral arteries
8874	9	Diagnostic ultrasound of digestive system
0045	9	Insertion of one vascular stent
0221	9	Insertion or replacement of external ventricular drain [EVD]
0331	9	Spinal tap
3613	9	(Aorto)coronary bypass of three coronary arteries
3721	9	Right heart cardiac catheterization
3995	9	Hemodialysis
4131	9	Biopsy of bone marrow
4311	9	Percutaneous [endoscopic] gastrostomy [PEG]
4523	9	Colonoscopy
4573	9	Open and other right hemicolectomy
02HV33Z	10	Insertion of Infusion Device into Superior Vena Cava, Percutaneous Approach
0BH17EZ	10	Insertion of Endotracheal Airway into Trachea, Via Natural or Artificial Opening
3E0G76Z	10	Introduction of Nutritional Substance into Upper GI, Via Natural or Artificial Opening
5A1955Z	10	Respiratory Ventilation, Greater than 96 Consecutive Hours
5A1945Z	10	Respiratory Ventilation, 24-96 Consecutive Hours
5A1D70Z	10	Performance of Urinary Filtration, Intermittent, Less than 6 Hours Per Day
02H633Z	10	Insertion of Infusion Device into Right Atrium, Percutaneous Approach
0W9G3ZX	10	Drainage of Peritoneal Cavity, Percutaneous Approach, Diagnostic
B211YZZ	10	Fluoroscopy of Multiple Coronary Arteries using Other Contrast
0DJ08ZZ	10	Inspection of Upper Intestinal Tract, Via Natural or Artificial Opening Endoscopic
B548ZZA	10	Ultrasonography of Superior Vena Cava, Guidance
0DJD8ZZ	10	Inspection of Lower Intestinal Tract, Via Natural or Artificial Opening Endoscopic
0W9G3ZZ	10	Drainage of Peritoneal Cavity, Percutaneous Approach
5A1221Z	10	Performance of Cardiac Output, Continuous
0W9930Z	10	Drainage of Right Pleural Cavity with Drainage Device, Percutaneous Approach
3E04305	10	Introduction of Other Antineoplastic into Central Vein, Percutaneous Approach
5A1D60Z	10	Performance of Urinary Filtration, Multiple
02100Z9	10	Bypass Coronary Artery, One Artery from Left Internal Mammary, Open Approach
03VG3DZ	10	Restriction of Intracranial Artery with Intraluminal Device, Percutaneous Approach
07DR3ZX	10	Extraction of Iliac Bone Marrow, Percutaneous Approach, Diagnostic
0B9D8ZX	10	Drainage of Right Middle Lung Lobe, Via Natural or Artificial Opening Endoscopic, Diagnostic
0BC78ZZ	10	Extirpation of Matter from Left Main Bronchus, Via Natural or Artificial Opening Endoscopic
0BCJ8ZZ	10	Extirpation of Matter from Left Lower Lung Lobe, Via Natural or Artificial Opening Endoscopic
0BJ08ZZ	10	Inspection of Tracheobronchial Tree, Via Natural or Artificial Opening Endoscopic
0LBW0ZZ	10	Excision of Left Foot Tendon, Open Approach
3E0H76Z	10	Introduction of Nutritional Substance into Lower GI, Via Natural or Artificial Opening
04L23DZ	10	Occlusion of Gastric Artery with Intraluminal Device, Percutaneous Approach
05HM33Z	10	Insertion of Infusion Device into Right Internal Jugular Vein, Percutaneous Approach
06BP4ZZ	10	Excision of Right Saphenous Vein, Percutaneous Endoscopic Approach
06CD3ZZ	10	Extirpation of Matter from Left Common Iliac Vein, Percutaneous Approach
"""
# fmt: on

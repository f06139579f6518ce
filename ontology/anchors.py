"""The ontology names the code itself is built on, declared once and checked against the ontology.

Most of the schema is data: the loaders take labels and properties from their mapping files, the
API walks the relations the ontology declares. But some classes, relationships and properties are
named in the code — the enterprise and its region code, the assessment the reasoning writes, the
knowledge-base links the recommender follows. They are listed here, and nowhere else, and checked
when this module is imported: an ontology edit that renames or removes one fails loudly at start-up
(:class:`AnchorError` naming every missing name) instead of quietly reading nothing.

Names written inside Cypher text are checked as well, when the statement is sent
(`riskgraph.graph.cypher`); properties written through the store are checked by
`graph.values.encode_properties`.
"""
from __future__ import annotations

from typing import NamedTuple

from riskgraph.ontology.errors import RiskGraphError
from riskgraph.ontology.model import Ontology, load_ontology


class AnchorError(RiskGraphError, RuntimeError):
    """The ontology lacks a class, relationship, property or concept the code is built on."""


class Prop(NamedTuple):
    """A property the code reads on one class (and its subclasses): (class, property name)."""

    cls: str
    name: str


# ---------------------------------------------------------------- classes (node labels)
ENTERPRISE = "Enterprise"
REGION = "Region"
INDUSTRY = "Industry"
CHEMICAL = "Chemical"
HAZARD_SOURCE = "HazardSource"
RISK_POINT = "RiskPoint"
RISK_ANALYSIS_UNIT = "RiskAnalysisUnit"
RISK_EVENT = "RiskEvent"
CONTROL_MEASURE = "ControlMeasure"
HIDDEN_DANGER = "HiddenDanger"
RECTIFICATION = "Rectification"
INSPECTION = "Inspection"
MONITORING_ALARM = "MonitoringAlarm"
NATURAL_DISASTER_POINT = "NaturalDisasterRiskPoint"
RESCUE_TEAM = "RescueTeam"
WAREHOUSE = "Warehouse"
SUPPLY = "Supply"
SHELTER = "Shelter"
PUBLIC_REPORT = "PublicReport"
#: what a confirmed public report can become besides a hidden danger or a disaster risk point
INSPECTION_LEAD = "InspectionLead"
#: what the reasoning and the recommender write
ASSESSMENT = "Assessment"
#: the latest complete run of one method over one subject label (reasoning/run_stamps.py)
ASSESSMENT_RUN = "AssessmentRun"
RECOMMENDATION = "Recommendation"
#: the control-measure knowledge base
CONTROL_MEASURE_TYPE = "ControlMeasureType"
HAZARD_PATTERN = "HazardPattern"
HAZARD_CONCEPT = "HazardConcept"
STANDARD_CLAUSE = "StandardClause"
#: provenance and bookkeeping the loaders write
SOURCE_RECORD = "SourceRecord"
QUARANTINED_ROW = "QuarantinedRow"
CHANGE_EVENT = "ChangeEvent"
#: per source system and load: rows read, loaded, quarantined, changed (GET /sources)
SOURCE_LOAD = "SourceLoad"
#: per source file: the SHA-256 and mapping version of its last complete load (unchanged files are skipped)
LOADED_FILE = "LoadedFile"
#: the preset dictionary a source file's records are packed against (graph/packed_content.py)
CONTENT_DICTIONARY = "ContentDictionary"
SENSOR = "Sensor"
#: what enterprise self-service writes (workflows/: checks, analysis versions, reminders)
INSPECTION_TASK = "InspectionTask"
INSPECTION_RECORD = "InspectionRecord"
RISK_ANALYSIS = "RiskAnalysis"
REMINDER = "Reminder"

LICENCE = "Licence"
PERSON = "Person"
#: entity resolution's review queue: a fact waiting for a person to say which enterprise it is about
REVIEW_ITEM = "ReviewItem"
#: a hidden danger the control-measure knowledge base has no measure for (for its maintainers)
KNOWLEDGE_GAP = "KnowledgeGap"
ACCIDENT = "Accident"

CLASSES = (
    ENTERPRISE, REGION, INDUSTRY, CHEMICAL, HAZARD_SOURCE, RISK_POINT, RISK_ANALYSIS_UNIT, RISK_EVENT,
    CONTROL_MEASURE, HIDDEN_DANGER, RECTIFICATION, INSPECTION, MONITORING_ALARM, NATURAL_DISASTER_POINT,
    RESCUE_TEAM, WAREHOUSE, SUPPLY, SHELTER, PUBLIC_REPORT, ASSESSMENT, ASSESSMENT_RUN, RECOMMENDATION, CONTROL_MEASURE_TYPE,
    HAZARD_PATTERN, HAZARD_CONCEPT, STANDARD_CLAUSE, SOURCE_RECORD, QUARANTINED_ROW, CHANGE_EVENT, LICENCE, PERSON,
    REVIEW_ITEM, KNOWLEDGE_GAP, INSPECTION_TASK, INSPECTION_RECORD, RISK_ANALYSIS, REMINDER, ACCIDENT,
    INSPECTION_LEAD, SOURCE_LOAD, SENSOR, LOADED_FILE, CONTENT_DICTIONARY,
)

# ---------------------------------------------------------------- relationship types
PART_OF = "PART_OF"
BROADER_INDUSTRY = "BROADER_INDUSTRY"
DERIVED_FROM = "DERIVED_FROM"
HAS_RISK_POINT = "HAS_RISK_POINT"
HAS_HAZARD_SOURCE = "HAS_HAZARD_SOURCE"
HAS_HIDDEN_DANGER = "HAS_HIDDEN_DANGER"
CONCERNS = "CONCERNS"
ASSESSES = "ASSESSES"
RECOMMENDS = "RECOMMENDS"
RECOMMENDED_FOR = "RECOMMENDED_FOR"
#: knowledge-base links
MITIGATES_ACCIDENT = "MITIGATES_ACCIDENT"
ADDRESSES_FACTOR = "ADDRESSES_FACTOR"
APPLIES_TO_CATEGORY = "APPLIES_TO_CATEGORY"
APPLIES_TO_PROCESS = "APPLIES_TO_PROCESS"
APPLIES_TO_EQUIPMENT = "APPLIES_TO_EQUIPMENT"
APPLIES_TO_INDUSTRY = "APPLIES_TO_INDUSTRY"
REMEDIES = "REMEDIES"
CITES = "CITES"
PATTERN_SOURCE = "PATTERN_SOURCE"
REVIEWS = "REVIEWS"
ANSWERED_BY = "ANSWERED_BY"
SOURCE_INDUSTRY = "SOURCE_INDUSTRY"
GAP_FOR = "GAP_FOR"
#: public reports: the one a report repeats, the report a confirmed finding keeps as evidence, where things lie
DUPLICATE_OF = "DUPLICATE_OF"
EVIDENCED_BY = "EVIDENCED_BY"
LOCATED_IN = "LOCATED_IN"
STORED_IN = "STORED_IN"
#: the IoT chain live ingest writes: (Sensor)-[RAISED]->(MonitoringAlarm)
RAISED = "RAISED"

RELATIONSHIP_TYPES = (
    PART_OF, BROADER_INDUSTRY, DERIVED_FROM, HAS_RISK_POINT, HAS_HIDDEN_DANGER, CONCERNS, ASSESSES, RECOMMENDS,
    RECOMMENDED_FOR, MITIGATES_ACCIDENT, ADDRESSES_FACTOR, APPLIES_TO_CATEGORY, APPLIES_TO_PROCESS,
    APPLIES_TO_EQUIPMENT, APPLIES_TO_INDUSTRY, REMEDIES, CITES, PATTERN_SOURCE, REVIEWS,
    ANSWERED_BY, SOURCE_INDUSTRY, GAP_FOR, DUPLICATE_OF, EVIDENCED_BY, LOCATED_IN, STORED_IN,
    HAS_HAZARD_SOURCE, RAISED,
)

# ---------------------------------------------------------------- properties
#: shared by every geo-located class (no domain): the GB/T 2260 code a node lies in
REGION_CODE = "regionCode"
DEADLINE = Prop(HIDDEN_DANGER, "deadline")
DANGER_STATE = Prop(HIDDEN_DANGER, "state")
DANGER_GRADE = Prop(HIDDEN_DANGER, "grade")
INSPECTED_ON = Prop(INSPECTION, "inspectedOn")
MAJOR_HAZARD_LEVEL = Prop(HAZARD_SOURCE, "majorHazardLevel")
ASSESSMENT_METHOD = Prop(ASSESSMENT, "method")
ASSESSMENT_TIME = Prop(ASSESSMENT, "computedAt")
ASSESSMENT_SCORE = Prop(ASSESSMENT, "score")
RISK_COLOUR = Prop(ENTERPRISE, "riskColour")
TAGS = Prop(ENTERPRISE, "tags")
INDUSTRY_CODE = Prop(ENTERPRISE, "industryCode")
SUPERVISION_INDUSTRY = Prop(ENTERPRISE, "supervisionIndustry")
LON = Prop(ENTERPRISE, "lon")
LAT = Prop(ENTERPRISE, "lat")
#: how an enterprise's point was found and how far off it may be (loaders/locate.py)
LOCATION_METHOD = Prop(ENTERPRISE, "locationMethod")
LOCATION_ACCURACY = Prop(ENTERPRISE, "locationAccuracy")
PARK_CODE = Prop(ENTERPRISE, "parkCode")
REGION_LEVEL = Prop(REGION, "regionLevel")
#: the coordinate system a source gave before conversion to WGS 84 (shared: no domain)
SOURCE_CRS = "sourceCrs"
ADDRESS = Prop(ENTERPRISE, "address")
LEGAL_REP = Prop(ENTERPRISE, "legalRepresentative")
PHONE = Prop(PERSON, "phone")
EMPLOYEES = Prop(ENTERPRISE, "employees")

PROPERTIES = (
    Prop(ENTERPRISE, REGION_CODE), DEADLINE, DANGER_STATE, DANGER_GRADE, INSPECTED_ON, MAJOR_HAZARD_LEVEL,
    ASSESSMENT_METHOD, ASSESSMENT_TIME, RISK_COLOUR, TAGS, INDUSTRY_CODE, SUPERVISION_INDUSTRY, LON, LAT, ADDRESS,
    LEGAL_REP, PHONE, EMPLOYEES, LOCATION_METHOD, LOCATION_ACCURACY, Prop(ENTERPRISE, SOURCE_CRS),
    PARK_CODE, REGION_LEVEL, ASSESSMENT_SCORE,
)

# ---------------------------------------------------------------- concepts (SKOS notations)
HIDDEN_DANGER_STATES = "HiddenDangerState"
#: the hidden-danger state from which a danger counts as rectified (the scheme ranks its life cycle)
RECTIFIED_STATE = "RECTIFIED"

#: the rectification loop's other states (workflows/hidden_dangers.py): accepted, and closed (销号)
ACCEPTED_STATE = "VERIFIED"
CLOSED_STATE = "CLOSED"

#: 企业规模 by 从业人员 (vocabularies.ttl EnterpriseScale, with rg:minEmployees / rg:maxEmployees)
ENTERPRISE_SCALES = "EnterpriseScale"

CONCEPTS = ((HIDDEN_DANGER_STATES, RECTIFIED_STATE), (HIDDEN_DANGER_STATES, ACCEPTED_STATE),
            (HIDDEN_DANGER_STATES, CLOSED_STATE))


def missing(ontology: Ontology) -> list[str]:
    """Every anchor the ontology does not declare, in words (empty when all are there)."""
    out = [f"class {c}" for c in CLASSES if c not in ontology.classes or ontology.classes[c].abstract]
    types = set(ontology.relationship_types)
    out += [f"relationship type {t}" for t in RELATIONSHIP_TYPES if t not in types]
    out += [f"property {p.cls}.{p.name}" for p in PROPERTIES
            if p.cls not in ontology.classes or p.name not in ontology.properties_of(p.cls)]
    out += [f"concept {scheme}/{notation}" for scheme, notation in CONCEPTS
            if scheme not in ontology.vocabularies or notation not in ontology.vocabularies[scheme]]
    return out


def check(ontology: Ontology) -> None:
    """Refuse an ontology that lacks any name the code is built on."""
    lacking = missing(ontology)
    if lacking:
        raise AnchorError(f"the ontology lacks what the code is built on: {', '.join(lacking)}")


check(load_ontology())

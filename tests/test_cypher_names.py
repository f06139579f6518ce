"""Names in Cypher are checked against the ontology; the names the code is built on are declared once.

The unit tests read statements without a store; the store tests show the check sits on the one
path every project statement takes (and not on the analysts' own queries).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from rdflib import RDF

from riskgraph.graph.cypher import CypherNameError, check_cypher, cypher_problems, names_in
from riskgraph.ontology import anchors
from riskgraph.ontology.model import ONTOLOGY_FILES, RG, Ontology, load_ontology, read_turtle

ROOT = Path(__file__).resolve().parents[1]
ONTO = load_ontology()


#: every package of the project's own code (the generator is test data, not project code)
PROJECT_FOLDERS = tuple(sorted(p.name for p in (ROOT / "riskgraph").iterdir() if p.is_symlink() and p.name != "synth"))

def refused(query: str) -> str:
    with pytest.raises(CypherNameError) as caught:
        check_cypher(query, ONTO)
    return str(caught.value)


# ---------------------------------------------------------------- the three kinds of name
def test_a_misspelt_label_is_refused_by_name():
    message = refused("MATCH (e:Enterprize) RETURN e.name")
    assert "unknown node label 'Enterprize'" in message
    assert "MATCH (e:Enterprize)" in message  # the statement is shown


def test_a_misspelt_relationship_type_is_refused_by_name():
    message = refused("MATCH (e:Enterprise)-[:HAS_RISK_PONT]->(r:RiskPoint) RETURN r.id")
    assert "unknown relationship type 'HAS_RISK_PONT'" in message


def test_a_misspelt_property_is_refused_by_name():
    assert "unknown property 'regoinCode' (in e.regoinCode)" in refused(
        "MATCH (e:Enterprise) WHERE e.regoinCode STARTS WITH $r RETURN e.uscc")
    # in a pattern's property map, in SET, in ORDER BY, on an unlabelled variable, on a relationship
    assert "unknown property 'usc'" in refused("UNWIND $rows AS row MERGE (n:Enterprise {usc: row.k}) SET n += row.p")
    assert "'nmae'" in refused("MATCH (n:Region) SET n.nmae = $x")
    assert "'nmae'" in refused("MATCH (n:Region) RETURN n ORDER BY n.nmae")
    assert "'nmae'" in refused("MATCH (:Enterprise)-[:HAS_RISK_POINT]->(r) RETURN r.nmae")
    assert "'nmae'" in refused("MATCH (a)-[r:ASSESSES]->(b) RETURN r.nmae")
    assert "'nmae'" in refused("MATCH (n:Enterprise) RETURN n {.uscc, .nmae}")


def test_a_property_of_another_class_is_refused():
    problems = cypher_problems("MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) RETURN e.deadline, h.deadline",
                               ONTO)
    assert problems == ["property 'deadline' is not a property of Enterprise (in e.deadline)"]


def test_every_problem_is_named_at_once():
    message = refused("MATCH (e:Enterprize)-[:OWNS]->(x:Region) RETURN x.nmae")
    assert "'Enterprize'" in message and "'OWNS'" in message and "'nmae'" in message


def test_quoted_and_chinese_names_are_read_too():
    assert "unknown node label '企业'" in refused("MATCH (e:`企业`) RETURN e")
    assert "unknown node label '企业'" in refused("MATCH (e:企业) RETURN e")
    assert "'HAS RISK'" in refused("MATCH (e)-[:`HAS RISK`]->() RETURN e")
    assert "'na me'" in refused("MATCH (e:Enterprise) RETURN e.`na me`")


def test_label_expressions_and_variable_length_types():
    assert "'NOPE'" in refused("MATCH (e)-[:HAS_RISK_POINT|NOPE*1..3]->(n) RETURN n")
    assert "'NOPE'" in refused("MATCH (e)-[:HAS_RISK_POINT|:NOPE]->(n) RETURN n")
    assert "'Nope'" in refused("MATCH (n) WHERE n:Enterprise OR n:Nope RETURN n")
    assert "'Nope'" in refused("MATCH (n:Region:Nope) RETURN n")


# ---------------------------------------------------------------- what is not a graph name
def test_the_project_s_own_shapes_pass():
    for query in (
        "UNWIND $rows AS row MERGE (n:`Enterprise` {`uscc`: row.k}) SET n += row.p RETURN count(n) AS c",
        "UNWIND $rows AS row MATCH (a:Enterprise {uscc: row.f}) MATCH (b:Region {code: row.t}) "
        "MERGE (a)-[r:LOCATED_IN]->(b) SET r += row.p RETURN row.i AS i",
        "CALL db.idx.fulltext.queryNodes('Enterprise', $query) YIELD node, score "
        "RETURN properties(node) AS p, score ORDER BY score DESC LIMIT $limit",
        "CREATE FULLTEXT INDEX `rg_ft_Enterprise_nameTokens` IF NOT EXISTS FOR (n:`Enterprise`) "
        "ON EACH [n.`nameTokens`] OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace'}}",
        "CREATE INDEX FOR (n:`HiddenDanger`) ON (n.`deadlineMs`)",
        "MATCH (e:Enterprise)-[:HAS_SENSOR]->(:Sensor)-[:RAISED]->(a:MonitoringAlarm) WHERE a.occurredAtMs >= $since "
        "WITH e, a, CASE WHEN a.handledAtMs IS NULL THEN 0 ELSE 1 END AS handled "
        "RETURN e.regionCode AS region, count(a) AS n, collect({id: a.id, level: a.alarmLevel}) AS xs",
        "MATCH (n:Enterprise) WHERE any(l IN labels(n) WHERE l IN $labels) AND n.name = 'x.nmae' "
        "RETURN n {.name, score: 1}, {unknownKey: n.uscc} AS m // n.nmae in a comment",
    ):
        assert cypher_problems(query, ONTO) == [], query


def test_companions_the_store_adds_are_known():
    assert cypher_problems("MATCH (h:HiddenDanger) WHERE h.deadlineMs < $t RETURN h.foundOnMs", ONTO) == []
    assert cypher_problems("MATCH (e:Enterprise) RETURN e.nameTokens", ONTO) == []
    # a time companion of a property that is not a time is not
    assert "'nameMs'" in refused("MATCH (e:Enterprise) RETURN e.nameMs")


def test_names_in_lists_what_the_checker_reads():
    found = set(names_in("MATCH (e:Enterprise {uscc: $k})-[:HAS_RISK_POINT]->(r) UNWIND $xs AS x "
                         "RETURN r.name, x.notAProperty"))
    assert found == {("label", "Enterprise"), ("type", "HAS_RISK_POINT"), ("property", "uscc"), ("property", "name")}


# ---------------------------------------------------------------- on the store
def test_the_store_refuses_a_misspelt_property_before_running_it(store):
    store.upsert_nodes("Region", [{"code": "130102", "name": "长安区"}])
    assert store.read("MATCH (r:Region) RETURN r.name AS n") == [{"n": "长安区"}]
    with pytest.raises(CypherNameError, match="'nmae'"):
        store.read("MATCH (r:Region) RETURN r.nmae AS n")
    with pytest.raises(CypherNameError, match="'nmae'"):
        store.execute("MATCH (r:Region) SET r.nmae = 'x'")
    assert "nmae" not in store.get_node("Region", "130102")


def test_analysts_own_queries_are_theirs(store):
    store.upsert_nodes("Region", [{"code": "130102", "name": "长安区"}])
    result = store.analyst_query("MATCH (r:Region) RETURN r.nmae AS n")
    assert result.rows == [[None]]


def test_no_project_code_sends_cypher_around_the_check():
    """Only the store's `_send` (and the unchecked analyst entry) may call a backend's `_run`."""
    offenders = []
    for folder in PROJECT_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"\._run\(|\.ro_query\(|_graph\.query\(|tx\.run\(", line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    allowed = re.compile(r"^graph/(store|falkordb_backend|neo4j_backend)\.py:")
    assert [o for o in offenders if not allowed.match(o)] == []
    store_calls = [o for o in offenders if o.startswith("graph/store.py")]
    assert len(store_calls) == 2, store_calls  # _send and analyst_query


def _statements_in_the_code() -> list[tuple[str, str]]:
    """(where, text) of every string literal in the project's code that looks like Cypher; the
    `{…}` of an f-string becomes `__ANY__`, a name the checker does not know and problems about it
    are ignored (what is spliced in is checked when the statement is sent)."""
    looks_like_cypher = re.compile(r"\b(MATCH|MERGE|UNWIND)\b|\)-\[|\]->\(|<-\[")
    found = []
    for folder in (*PROJECT_FOLDERS, "notebooks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = set()
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
                    first = node.body[0]
                    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                        skip.add(id(first.value))  # docstrings
                if isinstance(node, ast.JoinedStr):
                    skip.update(id(v) for v in node.values)
            for node in ast.walk(tree):
                if isinstance(node, ast.JoinedStr):
                    text = "".join(v.value if isinstance(v, ast.Constant) else "__ANY__" for v in node.values)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                    text = node.value
                else:
                    continue
                if looks_like_cypher.search(text):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


def test_every_statement_written_in_the_code_names_only_ontology_names():
    """A static pass over the code's Cypher, beside the check every statement gets when it is sent:
    it also covers statements no test happens to send."""
    statements = _statements_in_the_code()
    assert len(statements) > 80  # the store, loaders, reasoning, recommender, API and CLI all have some
    problems = [f"{where}: {p}" for where, text in statements
                for p in cypher_problems(text, ONTO) if "__ANY__" not in p]
    assert problems == []


# ---------------------------------------------------------------- the anchors
def test_the_anchors_are_all_in_the_ontology():
    assert anchors.missing(ONTO) == []
    assert ONTO.key_of(anchors.ENTERPRISE) == "uscc"
    assert anchors.DEADLINE.name in ONTO.properties_of(anchors.DEADLINE.cls)


def test_an_ontology_without_an_anchor_is_refused_by_name():
    graph = read_turtle(ONTOLOGY_FILES)
    graph.remove((RG.deadline, None, None))
    graph.remove((RG.PublicReport, RDF.type, None))
    graph.remove((RG.recommends, None, None))
    lacking = anchors.missing(Ontology(graph))
    assert {"property HiddenDanger.deadline", "relationship type RECOMMENDS"} <= set(lacking)
    assert "class PublicReport" in lacking
    with pytest.raises(anchors.AnchorError, match="HiddenDanger.deadline"):
        anchors.check(Ontology(graph))


def test_no_module_declares_an_anchor_again():
    """The names `ontology/anchors.py` declares are assigned nowhere else."""
    declared = {name for name in vars(anchors) if name.isupper()}
    again = []
    for folder in PROJECT_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "ontology" / "anchors.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                m = re.match(r"([A-Z_]+)\s*=\s*[\"(]", line)
                if m and m.group(1) in declared:
                    again.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert again == []

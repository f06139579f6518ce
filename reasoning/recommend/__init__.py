"""Control-measure recommendations from the risk knowledge graph — explained, cited and measured.

- `kb`: the knowledge base in `ontology/control_measures.ttl` (measures typed by the hierarchy of
  controls, their applicability and sources, hidden-danger patterns) and `load_knowledge_base(store)`;
- `textmatch`: field language → knowledge-base entries (the terms are data in the Turtle);
- `facts`: batched reads of enterprises, risk points, own control measures, hidden dangers, rectifications;
- `engine`: rule paths, the blend with the learned part, presence and gap analysis, explanations;
- `learned`: nearest verified rectifications of similar hidden dangers (scikit-learn TF-IDF + cosine);
- `run`: `recommend_all(store)` writes Recommendation nodes; `evaluate`: hit@k / MRR on held-out records.

Parameters: `recommend.toml` (versioned).
"""
from riskgraph.reasoning.recommend.kb import knowledge_base, load_knowledge_base
from riskgraph.reasoning.recommend.run import recommend_all

__all__ = ["knowledge_base", "load_knowledge_base", "recommend_all"]

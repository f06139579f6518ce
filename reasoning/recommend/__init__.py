"""Control-measure recommendations from the risk knowledge graph — explained, cited and measured.

- `kb`: the knowledge base in `ontology/control_measures.ttl` (measures typed by the hierarchy of
  controls, their applicability, industries and sources; hidden-danger patterns, one per situation of
  each article of the 重大事故隐患判定标准, each answered by a measure citing it) and `load_knowledge_base(store)`;
- `textmatch`: field language → knowledge-base entries on jieba words, with synonyms (SKOS), negation
  and qualifiers (the terms are data in the Turtle);
- `facts`: batched reads of enterprises, risk points, own control measures, hidden dangers, rectifications;
- `engine`: evidence paths, industry scope, scoring, decisions apart, knowledge-base gaps, explanations;
- `learned`: nearest verified rectifications of similar hidden dangers of the same industry (TF-IDF + cosine);
- `run`: `recommend_all(store)` writes Recommendation and KnowledgeGap nodes; `evaluate`: hit@k / MRR
  on held-out generated records; `labelled`: the same on hidden dangers written from the standards' text.

Parameters: `recommend.toml` (versioned).
"""
from riskgraph.reasoning.recommend.kb import knowledge_base, load_knowledge_base
from riskgraph.reasoning.recommend.run import recommend_all

__all__ = ["knowledge_base", "load_knowledge_base", "recommend_all"]

"""Stage 3: EnrichedArticle -> a searchable store (embedded SQLite or Elasticsearch)."""
